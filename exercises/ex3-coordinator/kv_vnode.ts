/**
 * The replicated KV vnode (given: you write the coordinator, not this). Exercise 4 extends it
 * with the handoff callbacks (exercises/ex4-handoff/kv_vnode.ts); exercise 5 lists keys with its
 * coverage handler.
 *
 * Every write carries a {@link Version}; a vnode keeps, per key, the entry with the newest
 * version it has seen, and ignores older ones. That is *last-write-wins* (LWW): replicas
 * that saw writes in different orders still agree, because they all keep the newest.
 * A delete is a write too: a *tombstone* entry, so that it beats older values on merge.
 *
 * What LWW cannot do: two concurrent writes to one key (neither saw the other) both claim
 * to be "the" value, and the one with the older timestamp silently disappears; clocks that
 * drift make a later write look older. Riak KV keeps both as *siblings*, ordered by vector
 * clocks, and lets the application merge them. We keep it simple on purpose.
 *
 * Listing keys is a *coverage* request (riak: `handle_coverage/4`, used from exercise 5): the
 * node asks a set of vnodes that together hold every key space once (`node.coverage`), and tells
 * each vnode which key spaces it answers for. A vnode holds the keys of N key spaces (it is the
 * 1st, 2nd, … Nth replica for them), so it must filter, or every key would be listed N times.
 *
 * Data lives in a {@link Disk}: a per-node store that survives the vnode (and, in tests, a
 * node crash and restart) the way riak's backends (bitcask, leveldb) survive on disk.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Packr } from 'msgpackr';
import { chashKey, responsiblePartition } from '../../shared/chash.js';
import { RingError } from '../../shared/errors.js';
import { reply, type Sender, type Vnode, type VnodeContext, type VnodeModule } from '../../shared/vnode.js';
import { BoundedValue as boundedValue, problem } from '../../shared/wire.js';

// --- what a vnode accepts (schemas: the types below are derived from them) ---------------
// A peer with the cookie may run half-finished code: the vnode master checks every request
// against KvRequestSchema, and handoff items are checked when decoded, so nothing malformed
// is ever stored (a non-string key stored once would break listing keys for good).

/** Longest key a request or handoff item may carry, in characters. */
export const MAX_KEY_LENGTH = 1024;
/**
 * Deepest nesting of a stored value: arrays and objects inside each other (a scalar is 0,
 * `[]` is 1, `[[1]]` is 2). Above exercise 5's HTTP limit (32), so whatever HTTP accepts fits,
 * also wrapped once more (exercise 7's `{ state, epoch }` records).
 */
export const MAX_VALUE_DEPTH = 64;

/** Any value msgpack carries, nested at most `maxDepth` deep (shared/wire.ts `BoundedValue`). */
export const BoundedValue = (maxDepth: number = MAX_VALUE_DEPTH) => boundedValue(maxDepth);

/** A key: a string of at most {@link MAX_KEY_LENGTH} characters. */
export const KeySchema = Type.String({ maxLength: MAX_KEY_LENGTH });

/**
 * Version of a write: when (`t`, µs since the epoch, from the coordinator's clock), where
 * (`node` that coordinated it) and a counter (`seq`, one per process) to order writes the same
 * node made in the same microsecond. Compared in that order.
 */
export const VersionSchema = Type.Object({
  t: Type.Readonly(Type.Number()),
  node: Type.Readonly(Type.String({ maxLength: 255 })),
  seq: Type.Readonly(Type.Number()),
});
/** See {@link VersionSchema}. */
export type Version = Static<typeof VersionSchema>;

/**
 * What a vnode stores for a key. `deleted` entries are tombstones. Other properties pass
 * (exercise 7's fenced entries add an `epoch`).
 */
export const EntrySchema = Type.Object({
  value: Type.Readonly(BoundedValue()),
  version: Type.Readonly(VersionSchema),
  deleted: Type.Readonly(Type.Boolean()),
});
/** See {@link EntrySchema}. */
export type Entry = Static<typeof EntrySchema>;

/** Requests of the KV vnode: what `kvService` passes as its `requests`. */
export const KvRequestSchema = Type.Union([
  Type.Object({ type: Type.Literal('put'), key: KeySchema, entry: EntrySchema }),
  Type.Object({ type: Type.Literal('get'), key: KeySchema }),
  Type.Object({ type: Type.Literal('ping') }),
  /** A coverage request (`node.coverage`), answered by `handleCoverage` with a {@link KeysReply}. */
  Type.Object({ type: Type.Literal('keys') }),
]);
/** Requests of the KV vnode (see {@link KvRequestSchema}). */
export type KvRequest = Readonly<Static<typeof KvRequestSchema>>;

// --- handoff items ---------------------------------------------------------------------

const packr = new Packr({ useRecords: false, moreTypes: false });

/** One handoff item for the wire: `[key, entry]`, msgpack-encoded (the version travels inside the entry). */
export function encodeHandoffItem(key: string, entry: Entry): Uint8Array {
  return packr.pack([key, entry]);
}

/**
 * A decoder of handoff items `[key, entry]` whose entry fits `entrySchema` (exercise 7's
 * fenced entries use their own). The decoder throws RingError `bad_request` naming what is
 * wrong when the bytes are not msgpack or the item does not fit: the item is never applied.
 */
export function handoffItemDecoder<T extends TSchema>(entrySchema: T): (data: Uint8Array) => [string, Static<T>] {
  const itemSchema = Type.Tuple([KeySchema, entrySchema]);
  return (data) => {
    let item: unknown;
    try {
      item = packr.unpack(data);
    } catch (err) {
      throw new RingError('bad_request', `handoff item is not msgpack: ${(err as Error).message}`);
    }
    const why = problem(itemSchema, item);
    if (why === undefined) return item as [string, Static<T>];
    throw new RingError('bad_request', `malformed handoff item: ${why}`);
  };
}

/**
 * Decode one item made by {@link encodeHandoffItem}.
 * @throws RingError `bad_request` if it is not msgpack of `[key, entry]` with a string key and a well-formed Entry.
 */
export const decodeHandoffItem: (data: Uint8Array) => [string, Entry] = handoffItemDecoder(EntrySchema);

/**
 * Replies: `put` → {@link PutReply}, `get` → {@link GetReply}, `ping` → {@link PingReply},
 * `keys` (coverage) → {@link KeysReply}.
 */
export interface PutReply {
  readonly ok: true;
  /** False if the vnode already had a newer entry (the write was older: ignored). */
  readonly applied: boolean;
}
export interface GetReply {
  /** The stored entry, or null if this vnode has never seen the key. */
  readonly entry: Entry | null;
}
export interface PingReply {
  readonly pong: true;
  readonly partition: number;
  readonly node: string;
}

/**
 * The live (not deleted) keys of the key spaces a coverage vnode was asked about, unsorted
 * (exercise 5's listKeys checks every reply against it: a peer's garbage is refused, not listed).
 */
export const KeysReplySchema = Type.Array(KeySchema);
/** See {@link KeysReplySchema}. */
export type KeysReply = Static<typeof KeysReplySchema>;

/** Bucket under which keys are hashed (`chashKey('kv', key)`), the coordinator's BUCKET. */
const BUCKET = 'kv';

/** -1 if a is older than b, 0 if equal, 1 if newer. */
export function compareVersions(a: Version, b: Version): number {
  if (a.t !== b.t) return a.t < b.t ? -1 : 1;
  if (a.node !== b.node) return a.node < b.node ? -1 : 1;
  return a.seq === b.seq ? 0 : a.seq < b.seq ? -1 : 1;
}

let seq = 0;
/** A fresh version for a write coordinated by `node`: the wall clock in µs plus a counter. */
export function newVersion(node: string): Version {
  return { t: Math.round((performance.timeOrigin + performance.now()) * 1000), node, seq: ++seq };
}

/** A node's "disk": one map of entries per partition. Keep it across restarts to model durability. */
export class Disk {
  private readonly partitions = new Map<number, Map<string, Entry>>();

  /** The entries of `partition` (created empty on first use). */
  partition(partition: number): Map<string, Entry> {
    let m = this.partitions.get(partition);
    if (!m) this.partitions.set(partition, (m = new Map()));
    return m;
  }

  /** Forget a partition's data (after handoff). */
  drop(partition: number): void {
    this.partitions.delete(partition);
  }
}

/** One KV vnode: the entries of one partition on one node. */
export class KvVnode implements Vnode<KvRequest> {
  readonly data: Map<string, Entry>;

  constructor(
    protected readonly ctx: VnodeContext,
    disk: Disk,
  ) {
    this.data = disk.partition(ctx.partition);
  }

  /** The stored entry for `key` (tests and the REPL look inside with this). */
  get(key: string): Entry | undefined {
    return this.data.get(key);
  }

  handleCommand(request: KvRequest, _sender?: Sender) {
    switch (request.type) {
      case 'put': {
        const mine = this.data.get(request.key);
        const applied = !mine || compareVersions(request.entry.version, mine.version) > 0;
        if (applied) this.data.set(request.key, request.entry);
        return reply({ ok: true, applied } satisfies PutReply);
      }
      case 'get':
        return reply({ entry: this.data.get(request.key) ?? null } satisfies GetReply);
      case 'ping':
        return reply({ pong: true, partition: this.ctx.partition, node: this.ctx.node } satisfies PingReply);
      case 'keys':
        throw new Error('keys is a coverage request: send it with node.coverage, not as a command');
      default:
        throw new Error(`unknown kv request ${JSON.stringify(request)}`);
    }
  }

  /**
   * `{ type: 'keys' }`: the live keys whose key space is in `keyspaces`. A key's key space is
   * the partition its preference list starts at, `responsiblePartition(chashKey('kv', key), Q)`.
   * Tombstones are left out: a deleted key is not listed.
   */
  handleCoverage(request: KvRequest, keyspaces: readonly number[], _sender: Sender) {
    if (request.type !== 'keys') throw new Error(`unknown kv coverage request ${JSON.stringify(request)}`);
    const wanted = new Set(keyspaces);
    const keys: KeysReply = [];
    for (const [key, entry] of this.data) {
      if (!entry.deleted && wanted.has(responsiblePartition(chashKey(BUCKET, key), this.ctx.ringSize))) keys.push(key);
    }
    return reply(keys);
  }

  isEmpty(): boolean {
    return this.data.size === 0;
  }
}

/** The service name the coordinator sends to. */
export const SERVICE = 'kv';

/**
 * The KV service for one node. Pass the same `disk` when the node restarts to keep its data
 * (a crash that keeps the disk); a new Disk models a node that lost everything.
 */
export function kvService(disk: Disk = new Disk()): VnodeModule<KvRequest> {
  return { service: SERVICE, requests: KvRequestSchema, init: (ctx) => new KvVnode(ctx, disk) };
}
