/**
 * Exercise 7, step 7: fencing from the object's side. An activation takes the next epoch
 * from a strict majority of its record's *primary* replicas (a compare-and-set on each), and
 * writes every new state with that epoch to a strict majority of them. Two activations can
 * then never both write: any two majorities share a replica, and that replica refuses the
 * older epoch once it granted the newer one.
 */
import { RingError } from '../../shared/errors.js';
import type { RingNode } from '../../shared/node.js';
import type { Entry } from '../../exercises/ex3-coordinator/kv_vnode.js';
import {
  askPrimaries,
  majority,
  N,
  newestFenced,
  primariesOf,
  type ClaimReply,
  type FencedPutReply,
} from '../../exercises/ex7-objects/fence_types.js';

/** What {@link takeEpoch} won: the epoch, and the newest entry the granting majority held (null: none). */
export interface Claimed {
  readonly epoch: number;
  readonly entry: Entry | null;
}

/** How many times {@link takeEpoch} asks again with a higher epoch after a refusal. */
const ATTEMPTS = 3;

/**
 * Step 7: take the next epoch for `key`. Ask its up primaries to grant `epoch` (start at 1);
 * done when a strict majority of N granted it; after refusals, try again above the highest
 * fence they reported.
 * @throws RingError `unavailable` when fewer than a majority of primaries are up, or no
 *   majority granted (timeout, or lost the race {@link ATTEMPTS} times).
 */
export async function takeEpoch(node: RingNode, key: string, timeoutMs: number): Promise<Claimed> {
  const need = majority(N);
  const primaries = primariesOf(node, key);
  if (primaries.length < need)
    throw new RingError('unavailable', `${key}: ${primaries.length} of ${N} primaries up, ${need} needed for an epoch`);
  let epoch = 1;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const got = await askPrimaries<ClaimReply>(
      node,
      primaries,
      { type: 'claim', key, epoch },
      (r) => r.granted,
      need,
      timeoutMs,
    );
    if (got.accepted.length >= need) return { epoch, entry: newestFenced(got.accepted.map((r) => r.entry)) };
    if (got.timedOut) break;
    epoch = Math.max(epoch, ...got.refused.map((r) => r.fence)) + 1;
  }
  throw new RingError('unavailable', `${key}: no majority of the primaries granted an epoch`);
}

/**
 * Step 7: write `entry` under `key` with `epoch` to the up primaries; done once a strict
 * majority accepted it.
 * @throws RingError `unavailable` when fewer than a majority accepted (a replica holds a
 *   newer epoch: this activation is stale; or too few primaries answered in time).
 */
export async function fencedWrite(
  node: RingNode,
  key: string,
  entry: Entry,
  epoch: number,
  timeoutMs: number,
): Promise<void> {
  const need = majority(N);
  const primaries = primariesOf(node, key);
  if (primaries.length < need)
    throw new RingError('unavailable', `${key}: ${primaries.length} of ${N} primaries up, ${need} needed to write`);
  const got = await askPrimaries<FencedPutReply>(
    node,
    primaries,
    { type: 'fenced_put', key, entry, epoch },
    (r) => r.accepted,
    need,
    timeoutMs,
  );
  if (got.accepted.length < need) {
    const newer = Math.max(0, ...got.refused.map((r) => r.fence));
    throw new RingError(
      'unavailable',
      newer > epoch
        ? `${key}: epoch ${epoch} is stale (a replica holds ${newer})`
        : `${key}: ${got.accepted.length} of ${need} needed primaries accepted the write`,
    );
  }
}
