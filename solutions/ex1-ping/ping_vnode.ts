/**
 * The ping service's vnode. Every partition answers pings with who it is, so you can see
 * where a key lands on the ring.
 */
import { reply, type VnodeModule } from '../../shared/vnode.js';
import { PingRequestSchema, type PingRequest, type Pong } from '../../exercises/ex1-ping/ping_types.js';

/** The ping vnode service (riak: the workshop's `rc_example_vnode`). */
export const pingService: VnodeModule<PingRequest> = {
  service: 'ping',
  requests: PingRequestSchema,
  init: (ctx) => ({
    // Step 1: answer ping and ping_key with a Pong naming this vnode (ping_key: and the key).
    handleCommand(request) {
      switch (request.type) {
        case 'ping':
          return reply({ pong: true, partition: ctx.partition, node: ctx.node } satisfies Pong);
        case 'ping_key':
          return reply({ pong: true, partition: ctx.partition, node: ctx.node, key: request.key } satisfies Pong);
        default:
          throw new Error(`unknown ping request ${JSON.stringify(request)}`);
      }
    },
  }),
};
