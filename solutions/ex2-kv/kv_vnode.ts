/**
 * The key/value vnode: each partition keeps its keys in an in-memory map. With one vnode
 * per key (this exercise) a key lives on exactly one node; exercise 3 adds replicas.
 */
import { reply, type Vnode, type VnodeContext, type VnodeModule } from '../../shared/vnode.js';
import { KvRequestSchema, type KvReply, type KvRequest } from '../../exercises/ex2-kv/kv_types.js';

/** One KV vnode. `data` is public so tests (and you, in the REPL) can look inside. */
export class KvVnode implements Vnode<KvRequest> {
  readonly data = new Map<string, unknown>();

  constructor(private readonly ctx: VnodeContext) {}

  // Step 1: store, fetch and delete on `data`; every reply names this vnode (partition, node).
  handleCommand(request: KvRequest) {
    const where = { partition: this.ctx.partition, node: this.ctx.node };
    switch (request.type) {
      case 'store':
        this.data.set(request.key, request.value);
        return reply({ ok: true, ...where } satisfies KvReply);
      // fetch answers the value, whatever it is, or not_found.
      case 'fetch':
        return reply(
          (this.data.has(request.key)
            ? { ok: true, value: this.data.get(request.key), ...where }
            : { ok: false, reason: 'not_found', ...where }) satisfies KvReply,
        );
      // delete removes the key and says whether it was there.
      case 'delete': {
        const existed = this.data.delete(request.key);
        return reply({ ok: true, existed, ...where } satisfies KvReply);
      }
      default:
        throw new Error(`unknown kv request ${JSON.stringify(request)}`);
    }
  }

  isEmpty(): boolean {
    return this.data.size === 0;
  }
}

/** The KV vnode service. */
export const kvService: VnodeModule<KvRequest> = {
  service: 'kv',
  requests: KvRequestSchema,
  init: (ctx) => new KvVnode(ctx),
};
