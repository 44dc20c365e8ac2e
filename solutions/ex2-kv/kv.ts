/**
 * The KV client: any node can serve any key by sending the request to the key's vnode.
 * One copy per key (N = 1): the first primary of the key's preference list.
 */
import type { AplEntry } from '../../shared/apl.js';
import { chashKey } from '../../shared/chash.js';
import { RingError } from '../../shared/errors.js';
import type { RingNode } from '../../shared/node.js';
import { BUCKET, type FetchResult, type KvReply } from '../../exercises/ex2-kv/kv_types.js';

/**
 * The vnode responsible for `key`: the first up primary of its preference list.
 * @throws RingError `unavailable` when that primary's node is down (with N = 1 there is no other copy).
 */
export function vnodeFor(node: RingNode, key: string): AplEntry {
  // Step 2: the first up primary of the key's hash under BUCKET, or unavailable.
  const [target] = node.getPrimaryApl({ hash: chashKey(BUCKET, key) }, 1, 'kv');
  if (!target) throw new RingError('unavailable', `the vnode for key "${key}" is on a node that is down`);
  return target;
}

/** Store `value` under `key`. @throws RingError `unavailable`; TimeoutError. */
export async function store(node: RingNode, key: string, value: unknown): Promise<void> {
  // Step 3: send store to the key's vnode.
  await node.syncSpawnCommand(vnodeFor(node, key), { type: 'store', key, value }, 'kv');
}

/**
 * Read `key`. @returns `{ found: true, value }` or `{ found: false }`.
 * @throws RingError `unavailable`; TimeoutError.
 */
export async function fetch(node: RingNode, key: string): Promise<FetchResult> {
  // Step 4: send fetch to the key's vnode and turn its reply into a FetchResult.
  const r = (await node.syncSpawnCommand(vnodeFor(node, key), { type: 'fetch', key }, 'kv')) as KvReply;
  return r.ok ? { found: true, value: r.value } : { found: false };
}

/**
 * Delete `key`. @returns true if it existed.
 * @throws RingError `unavailable`; TimeoutError.
 */
export async function remove(node: RingNode, key: string): Promise<boolean> {
  // Step 5: send delete to the key's vnode and answer whether the key existed.
  const r = (await node.syncSpawnCommand(vnodeFor(node, key), { type: 'delete', key }, 'kv')) as KvReply;
  return r.ok && r.existed === true;
}
