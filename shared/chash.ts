/**
 * Consistent hashing, as in riak_core's `chash` and `riak_core_util:chash_key/1`.
 *
 * Keys hash onto a circle of 2^160 points (SHA-1). A ring of Q partitions splits the circle
 * into Q equal arcs; partition number p starts at index p * 2^160 / Q. A hash is owned by the
 * partition whose index comes *after* it (the successor rule of `chash:next_index/2`), so
 * partition p owns the arc [index(p-1), index(p)), wrapping round: partition 0 owns the top arc.
 *
 * Hashes and indices are bigints in [0, 2^160); partition numbers and ring sizes are numbers.
 */
import { createHash } from 'node:crypto';

/** Size of the key space: 2^160, one past the largest SHA-1 value (`chash` RINGTOP). */
export const RING_TOP: bigint = 2n ** 160n;

/** riak_core's default `ring_creation_size`. */
export const DEFAULT_RING_SIZE = 64;
export const MIN_RING_SIZE = 8;
export const MAX_RING_SIZE = 1024;

/**
 * Checks a ring size Q. Powers of two keep every arc the same size (2^160 / Q is exact).
 * @throws RangeError(`ring size must be a power of two between 8 and 1024, got ${q}`)
 */
export function validateRingSize(q: number): void {
  const ok = Number.isInteger(q) && q >= MIN_RING_SIZE && q <= MAX_RING_SIZE && (q & (q - 1)) === 0;
  if (!ok) throw new RangeError(`ring size must be a power of two between 8 and 1024, got ${q}`);
}

/** A binary as riak_core stores it: strings become their UTF-8 bytes (lone surrogates → U+FFFD). */
function toBytes(x: string | Uint8Array): Buffer {
  return typeof x === 'string' ? Buffer.from(x, 'utf8') : Buffer.from(x);
}

/** BINARY_EXT: tag 109, 4-byte big-endian length, then the bytes. */
function binaryExt(bytes: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header[0] = 0x6d;
  header.writeUInt32BE(bytes.length, 1);
  return Buffer.concat([header, bytes]);
}

/**
 * Erlang's `term_to_binary({Bucket, Key})` with both elements as binaries:
 * 0x83 (format version), 0x68 0x02 (SMALL_TUPLE_EXT, arity 2), then two BINARY_EXTs.
 * Strings are encoded as UTF-8, like `unicode:characters_to_binary/1`.
 * These are the exact bytes riak_core hashes, so keys land on the same partitions as in Riak.
 */
export function termToBinary(bucket: string | Uint8Array, key: string | Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([0x83, 0x68, 0x02]), binaryExt(toBytes(bucket)), binaryExt(toBytes(key))]);
}

/**
 * `riak_core_util:chash_key/1` (via `chash:key_of/1`): SHA-1 of `term_to_binary({Bucket, Key})`,
 * read as a big-endian unsigned integer. Returns a bigint in [0, 2^160).
 */
export function chashKey(bucket: string | Uint8Array, key: string | Uint8Array): bigint {
  const digest = createHash('sha1').update(termToBinary(bucket, key)).digest('hex');
  return BigInt(`0x${digest}`);
}

/**
 * `chash:ring_increment/1`: the width of one partition's arc, 2^160 / q (exact, q is a power of two).
 * @throws RangeError if q is not a valid ring size (see validateRingSize).
 */
export function ringIncrement(q: number): bigint {
  validateRingSize(q);
  return RING_TOP / BigInt(q);
}

/**
 * Index (bigint in [0, 2^160)) of partition number `partition`: partition * 2^160 / q.
 * @throws RangeError if partition is not an integer in 0..q-1, or q is not a valid ring size.
 */
export function partitionIndex(partition: number, q: number): bigint {
  const inc = ringIncrement(q);
  if (!Number.isInteger(partition) || partition < 0 || partition >= q) {
    throw new RangeError(`partition must be an integer in 0..${q - 1}, got ${partition}`);
  }
  return BigInt(partition) * inc;
}

/**
 * Partition number (0..q-1) responsible for a hash, by `chash:next_index/2`:
 * ((hash div inc) + 1) rem q. A hash exactly on index(k) therefore belongs to partition k+1.
 * @throws RangeError if hash is outside [0, 2^160), or q is not a valid ring size.
 */
export function responsiblePartition(hash: bigint, q: number): number {
  const inc = ringIncrement(q);
  if (hash < 0n || hash >= RING_TOP) throw new RangeError(`hash must be in [0, 2^160), got ${hash}`);
  return Number((hash / inc + 1n) % BigInt(q));
}

/**
 * Partition number of an exact partition index (the inverse of partitionIndex).
 * @throws RangeError if index is outside [0, 2^160) or not a multiple of 2^160 / q,
 *   or q is not a valid ring size.
 */
export function indexToPartition(index: bigint, q: number): number {
  const inc = ringIncrement(q);
  if (index < 0n || index >= RING_TOP || index % inc !== 0n) {
    throw new RangeError(`not a partition index for ring size ${q}: ${index}`);
  }
  return Number(index / inc);
}

/**
 * A hash or index as 40 lowercase hex digits, zero padded, for logs and fixtures.
 * @throws RangeError if hash is outside [0, 2^160).
 */
export function hashToHex(hash: bigint): string {
  if (hash < 0n || hash >= RING_TOP) throw new RangeError(`hash must be in [0, 2^160), got ${hash}`);
  return hash.toString(16).padStart(40, '0');
}
