/**
 * The ping service's vnode. Every partition answers pings with who it is, so you can see
 * where a key lands on the ring. Read README.md in this folder; the requests and the Pong
 * are given in ping_types.ts. Stuck? `npm run hint -- ex1`
 */
import { todo } from '../../shared/todo.js';
import { reply, type VnodeModule } from '../../shared/vnode.js';
import { PingRequestSchema, type PingRequest, type Pong } from './ping_types.js';

/** The ping vnode service (riak: the workshop's `rc_example_vnode`). */
export const pingService: VnodeModule<PingRequest> = {
  service: 'ping',
  requests: PingRequestSchema,
  init: (ctx) => ({
    // Step 1: answer ping and ping_key with a Pong naming this vnode (ping_key: and the key).
    handleCommand(request) {
      return todo(
        'ex1-ping',
        1,
        import.meta.url,
        `answer ${JSON.stringify(request)} with a Pong naming this vnode's partition and node (and the key, for ping_key)`,
      );
    },
  }),
};
