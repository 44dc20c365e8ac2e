/**
 * Exercise 1, given: the messages of the ping service. The client (ping.ts) sends a
 * {@link PingRequest} to a vnode, the vnode (ping_vnode.ts) answers with a {@link Pong}.
 */

/** Requests the ping vnode understands. */
export type PingRequest = { readonly type: 'ping' } | { readonly type: 'ping_key'; readonly key: string };

/** What a ping vnode answers: the partition and node that handled the ping. */
export interface Pong {
  readonly pong: true;
  /** The partition of the vnode that answered, 0 to Q − 1. */
  readonly partition: number;
  /** The node that vnode runs on, e.g. `dev3@127.0.0.1`. */
  readonly node: string;
  /** The key that was hashed (ping_key only). */
  readonly key?: string;
}
