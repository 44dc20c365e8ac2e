/**
 * Look inside a running vnode, as `sys:get_state/1` does to a riak_core vnode process: the
 * function runs in the vnode's worker queue, between two requests, so it sees a consistent
 * state. For tests and the REPL only; services never reach into each other's vnodes.
 */
import type { RingNode } from '../node.js';
import type { Vnode } from '../vnode.js';

/**
 * Run `look` on the vnode of `service` for `partition` on `node`, typed as the test's vnode
 * class `V` (e.g. `KvVnode`).
 * @returns what `look` returns, or undefined when that vnode is not running on `node` (never
 *   started there, handed off, or the node has no such service).
 */
export async function inspectVnode<V, T>(
  node: RingNode,
  service: string,
  partition: number,
  look: (vnode: V) => T,
): Promise<T | undefined> {
  const worker = node.vnodes.running(service).find((w) => w.id.partition === partition);
  return worker?.run((vnode: Vnode) => look(vnode as unknown as V));
}

/**
 * Run `look` on every running vnode of `service` on `node`, in partition order.
 * @returns one `{ partition, value }` per running vnode.
 */
export async function inspectVnodes<V, T>(
  node: RingNode,
  service: string,
  look: (vnode: V) => T,
): Promise<{ partition: number; value: T }[]> {
  const workers = node.vnodes.running(service).sort((a, b) => a.id.partition - b.id.partition);
  return Promise.all(
    workers.map(async (w) => ({
      partition: w.id.partition,
      value: await w.run((vnode: Vnode) => look(vnode as unknown as V)),
    })),
  );
}
