/**
 * The KV client: any node can serve any key by sending the request to the key's vnode.
 * One copy per key (N = 1): the first primary of the key's preference list.
 * Read README.md in this folder; BUCKET, the requests, replies and FetchResult are given in
 * kv_types.ts. Stuck? `npm run hint -- ex2`
 */
import type { AplEntry } from '../../shared/apl.js';
import { chashKey } from '../../shared/chash.js';
import { RingError } from '../../shared/errors.js';
import type { RingNode } from '../../shared/node.js';
import { todo } from '../../shared/todo.js';
import { BUCKET, type FetchResult, type KvReply } from './kv_types.js';

/**
 * The vnode responsible for `key`: the first up primary of its preference list.
 * @throws RingError `unavailable` when that primary's node is down (with N = 1 there is no other copy).
 */
export function vnodeFor(node: RingNode, key: string): AplEntry {
  // Step 2: the first up primary of the key's hash under BUCKET, or unavailable.
  void node;
  return todo(
    'ex2-kv',
    2,
    import.meta.url,
    `implement vnodeFor(node, "${key}"): the first up primary of the key's hash under BUCKET, or RingError unavailable`,
  );
}

/** Store `value` under `key`. @throws RingError `unavailable`; TimeoutError. */
export async function store(node: RingNode, key: string, value: unknown): Promise<void> {
  // Step 3: send store to the key's vnode.
  void node;
  void value;
  return todo(
    'ex2-kv',
    3,
    import.meta.url,
    `implement store(node, "${key}", value): send { type: 'store', key, value } to the key's vnode`,
  );
}

/**
 * Read `key`. @returns `{ found: true, value }` or `{ found: false }`.
 * @throws RingError `unavailable`; TimeoutError.
 */
export async function fetch(node: RingNode, key: string): Promise<FetchResult> {
  // Step 4: send fetch to the key's vnode and turn its reply into a FetchResult.
  void node;
  return todo(
    'ex2-kv',
    4,
    import.meta.url,
    `implement fetch(node, "${key}"): send { type: 'fetch', key } to the key's vnode, answer a FetchResult`,
  );
}

/**
 * Delete `key`. @returns true if it existed.
 * @throws RingError `unavailable`; TimeoutError.
 */
export async function remove(node: RingNode, key: string): Promise<boolean> {
  // Step 5: send delete to the key's vnode and answer whether the key existed.
  void node;
  return todo(
    'ex2-kv',
    5,
    import.meta.url,
    `implement remove(node, "${key}"): send { type: 'delete', key } to the key's vnode, answer whether it existed`,
  );
}
