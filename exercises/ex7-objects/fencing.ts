/**
 * Exercise 7, step 7: fencing from the object's side. An activation takes the next epoch
 * from a strict majority of its record's *primary* replicas (a compare-and-set on each), and
 * writes every new state with that epoch to a strict majority of them.
 * Stuck? `npm run hint -- ex7`
 */
import { RingError } from '../../shared/errors.js';
import type { RingNode } from '../../shared/node.js';
import { todo } from '../../shared/todo.js';
import type { Entry } from '../ex3-coordinator/kv_vnode.js';
import {
  askPrimaries,
  majority,
  N,
  newestFenced,
  primariesOf,
  type ClaimReply,
  type FencedPutReply,
} from './fence_types.js';

/** What {@link takeEpoch} won: the epoch, and the newest entry the granting majority held (null: none). */
export interface Claimed {
  readonly epoch: number;
  readonly entry: Entry | null;
}

/**
 * Step 7: take the next epoch for `key`. Ask its up primaries to grant `epoch` (start at 1);
 * done when a strict majority of N granted it; after refusals, try again above the highest
 * fence they reported.
 * @throws RingError `unavailable` when fewer than a majority of primaries are up, or no
 *   majority granted (timeout, or lost the race a few times).
 */
export async function takeEpoch(node: RingNode, key: string, timeoutMs: number): Promise<Claimed> {
  void node;
  void key;
  void timeoutMs;
  return todo(
    'ex7-objects',
    7,
    import.meta.url,
    `takeEpoch(${key}): claim an epoch from a strict majority of the primaries`,
  );
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
  void node;
  void entry;
  void epoch;
  void timeoutMs;
  todo(
    'ex7-objects',
    7,
    import.meta.url,
    `fencedWrite(${key}): a fenced_put accepted by a strict majority of the primaries`,
  );
}
