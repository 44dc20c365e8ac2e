/**
 * The ping client: hash something, find the vnode responsible for the hash, and ask it.
 */
import { chashKey } from '../../shared/chash.js';
import { RingError } from '../../shared/errors.js';
import type { RingNode } from '../../shared/node.js';
import type { Pong } from '../../exercises/ex1-ping/ping_types.js';

/**
 * Ping a vnode chosen by hashing the current time, like the original workshop's
 * `ping/0`: each call may land anywhere on the ring.
 * @throws RingError `unavailable` if the partition's owner is down.
 */
export async function ping(node: RingNode): Promise<Pong> {
  // Step 3: hash the time, pick the first primary, send ping.
  const hash = chashKey('ping', String(process.hrtime.bigint()));
  const [target] = node.getPrimaryApl({ hash }, 1, 'ping');
  if (!target) throw new RingError('unavailable', 'no up primary for this ping');
  return (await node.syncSpawnCommand(target, { type: 'ping' }, 'ping')) as Pong;
}

/**
 * Ping the vnode responsible for `key`: hash `{"ping", key}` with `chashKey`, take the first
 * up primary of its preference list, and send it `{ type: 'ping_key', key }`.
 * The same key always reaches the same vnode while the ring does not change.
 * @throws RingError `unavailable` if the key's primary is down.
 */
export async function pingKey(node: RingNode, key: string): Promise<Pong> {
  // Step 2: hash the key, pick the first primary, send ping_key.
  const hash = chashKey('ping', key);
  const [target] = node.getPrimaryApl({ hash }, 1, 'ping');
  if (!target) throw new RingError('unavailable', `no up primary for key "${key}"`);
  return (await node.syncSpawnCommand(target, { type: 'ping_key', key }, 'ping')) as Pong;
}
