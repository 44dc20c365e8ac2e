/**
 * Active preference lists: which vnodes should handle a key right now (`riak_core_apl`).
 *
 * The preference list of a key is the ring walked clockwise from the key's partition; its
 * first N entries are the *primaries*. A primary whose node is down is replaced by a
 * *fallback*: the same partition, hosted on the next up node further along the ring. That
 * is Dynamo's sloppy quorum: writes still reach N vnodes while a node is away, and hinted
 * handoff later returns the data to the primary.
 */
import { responsiblePartition } from './chash.js';
import type { Ring } from './ring.js';

/** A vnode in an active preference list: partition `partition` hosted on `node`. */
export interface AplEntry {
  readonly partition: number;
  readonly node: string;
  /** `primary`: `node` owns `partition`. `fallback`: `node` stands in for a down owner. */
  readonly type: 'primary' | 'fallback';
}

/** Which nodes are up for a service (from the node watcher). */
export type UpNodes = ReadonlySet<string> | readonly string[];

const isUp = (up: UpNodes, node: string) =>
  Array.isArray(up) ? up.includes(node) : (up as ReadonlySet<string>).has(node);

/** A key as hash or as the partition its preference list starts at. */
export type DocIdx = { hash: bigint } | { partition: number };

/** The partition a preference list starts at: the first one after the key's hash. */
const startOf = (ring: Ring, at: DocIdx): number =>
  'hash' in at ? responsiblePartition(at.hash, ring.ringSize) : at.partition;

/**
 * The up primaries among the first `n` owners, in ring order
 * (riak: `riak_core_apl:get_primary_apl/3`). May be shorter than `n`. Looks at the `n`
 * successors of the key's partition only, never at the whole ring.
 * @throws RangeError if n < 1 or n > ring size.
 */
export function getPrimaryApl(ring: Ring, at: DocIdx, n: number, up: UpNodes): AplEntry[] {
  checkN(ring, n);
  const q = ring.ringSize;
  const start = startOf(ring, at);
  const result: AplEntry[] = [];
  for (let i = 0; i < n; i++) {
    const partition = (start + i) % q;
    const node = ring.owners[partition] as string;
    if (isUp(up, node)) result.push({ partition, node, type: 'primary' });
  }
  return result;
}

/**
 * Up primaries first, then one fallback per down primary (riak: `get_apl_ann/3`).
 *
 * For each down primary, in order, the fallback is the next entry after the first `n` whose
 * node is up; each such entry is used at most once. The fallback keeps the *down primary's
 * partition* (a fallback vnode is "partition P, hosted on node X"). As in riak, a fallback
 * node may also host one of the primaries when the cluster is small. The list is shorter
 * than `n` when there are not enough up nodes. Walks the ring from the key's partition only
 * as far as it must (`n` entries when every primary is up).
 * @throws RangeError if n < 1 or n > ring size.
 */
export function getApl(ring: Ring, at: DocIdx, n: number, up: UpNodes): AplEntry[] {
  checkN(ring, n);
  const q = ring.ringSize;
  const start = startOf(ring, at);
  const result: AplEntry[] = [];
  let down: number[] | undefined;
  for (let i = 0; i < n; i++) {
    const partition = (start + i) % q;
    const node = ring.owners[partition] as string;
    if (isUp(up, node)) result.push({ partition, node, type: 'primary' });
    else (down ??= []).push(partition);
  }
  if (!down) return result;
  let i = n;
  for (const partition of down) {
    while (i < q && !isUp(up, ring.owners[(start + i) % q] as string)) i++;
    if (i >= q) break;
    result.push({ partition, node: ring.owners[(start + i) % q] as string, type: 'fallback' });
    i++;
  }
  return result;
}

function checkN(ring: Ring, n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > ring.ringSize) {
    throw new RangeError(`n must be an integer between 1 and the ring size ${ring.ringSize}, got ${n}`);
  }
}
