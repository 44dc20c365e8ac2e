/**
 * The ping service's vnode. Every partition answers pings with who it is, so you can see
 * where a key lands on the ring. Read README.md in this folder.
 * Stuck? `npm run hint -- ex1` shows one more hint each time.
 */
import { todo } from '../../shared/todo.js';
import { reply, type VnodeModule } from '../../shared/vnode.js';

/** Requests the ping vnode understands. */
export type PingRequest = { readonly type: 'ping' } | { readonly type: 'ping_key'; readonly key: string };

/** What a ping vnode answers: the partition and node that handled the ping. */
export interface Pong {
  readonly pong: true;
  readonly partition: number;
  readonly node: string;
  /** The key that was hashed (ping_key only). */
  readonly key?: string;
}

/** The ping vnode service (riak: the workshop's `rc_example_vnode`). */
export const pingService: VnodeModule<PingRequest> = {
  service: 'ping',
  init(ctx) {
    return {
      handleCommand(request) {
        switch (request.type) {
          case 'ping':
            return reply({ pong: true, partition: ctx.partition, node: ctx.node } satisfies Pong);
          // Step 1: answer ping_key with the partition, the node and the key.
          case 'ping_key':
            return todo('ex1-ping', 1, import.meta.url, "answer { type: 'ping_key', key } with a Pong that includes the key");
          default:
            throw new Error(`unknown ping request ${JSON.stringify(request)}`);
        }
      },
    };
  },
};
