/**
 * The ping client: hash something, find the vnode responsible for the hash, and ask it.
 * Read README.md in this folder. Stuck? `npm run hint -- ex1` shows one more hint each time.
 */
import { chashKey } from '../../shared/chash.js';
import { RingError } from '../../shared/errors.js';
import type { RingNode } from '../../shared/node.js';
import { todo } from '../../shared/todo.js';
import type { Pong } from './ping_types.js';

/**
 * Ping a vnode chosen by hashing the current time, like the original workshop's
 * `ping/0`: each call may land anywhere on the ring.
 * @throws RingError `unavailable` if the partition's owner is down.
 */
export async function ping(node: RingNode): Promise<Pong> {
  // Step 3: hash the time, pick the first primary, send ping.
  void node;
  return todo(
    'ex1-ping',
    3,
    import.meta.url,
    "implement ping(node): send { type: 'ping' } to the first up primary of a hash of the current time",
  );
}

/**
 * Ping the vnode responsible for `key`: hash `{"ping", key}` with `chashKey`, take the first
 * up primary of its preference list, and send it `{ type: 'ping_key', key }`.
 * The same key always reaches the same vnode while the ring does not change.
 * @throws RingError `unavailable` if the key's primary is down.
 */
export async function pingKey(node: RingNode, key: string): Promise<Pong> {
  // Step 2: hash the key, pick the first primary, send ping_key.
  void node;
  return todo(
    'ex1-ping',
    2,
    import.meta.url,
    `implement pingKey(node, "${key}"): send { type: 'ping_key', key } to the first up primary of the key's hash under the bucket 'ping'`,
  );
}
