/**
 * The KV client: any node can serve any key by sending the request to the key's vnode.
 * One copy per key (N = 1): the first primary of the key's preference list.
 * Read README.md in this folder. Stuck? `npm run hint -- ex2` shows one more hint each time.
 */
import type { AplEntry } from '../../shared/apl.js';
import { chashKey } from '../../shared/chash.js';
import { RingError } from '../../shared/errors.js';
import type { RingNode } from '../../shared/node.js';
import { todo } from '../../shared/todo.js';
import type { KvReply } from './kv_vnode.js';

/** Bucket under which KV keys are hashed: `chashKey('kv', key)`. */
export const BUCKET = 'kv';

/** Result of {@link fetch}. */
export type FetchResult = { readonly found: true; readonly value: unknown } | { readonly found: false };

/**
 * The vnode responsible for `key`: the first up primary of its preference list.
 * @throws RingError `unavailable` when that primary's node is down (with N = 1 there is no other copy).
 */
export function vnodeFor(node: RingNode, key: string): AplEntry {
  const [target] = node.getPrimaryApl({ hash: chashKey(BUCKET, key) }, 1, 'kv');
  if (!target) throw new RingError('unavailable', `the vnode for key "${key}" is on a node that is down`);
  return target;
}

/** Store `value` under `key`. @throws RingError `unavailable`; TimeoutError. */
export async function store(node: RingNode, key: string, value: unknown): Promise<void> {
  await node.syncSpawnCommand(vnodeFor(node, key), { type: 'store', key, value }, 'kv');
}

/**
 * Read `key`. @returns `{ found: true, value }` or `{ found: false }`.
 * @throws RingError `unavailable`; TimeoutError.
 */
export async function fetch(node: RingNode, key: string): Promise<FetchResult> {
  // Step 3: send fetch to the key's vnode and turn its KvReply into a FetchResult.
  void node;
  return todo('ex2-kv', 3, import.meta.url, `implement fetch(node, "${key}") next to store()`);
}

/**
 * Delete `key`. @returns true if it existed.
 * @throws RingError `unavailable`; TimeoutError.
 */
export async function remove(node: RingNode, key: string): Promise<boolean> {
  // Step 4: send delete to the key's vnode and answer whether the key existed.
  void node;
  return todo('ex2-kv', 4, import.meta.url, `implement remove(node, "${key}") next to store()`);
}
