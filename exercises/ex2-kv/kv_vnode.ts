/**
 * The key/value vnode: each partition keeps its keys in an in-memory map. With one vnode
 * per key (this exercise) a key lives on exactly one node; exercise 3 adds replicas.
 * Read README.md in this folder; the requests and replies are given in kv_types.ts.
 * Stuck? `npm run hint -- ex2`
 */
import { todo } from '../../shared/todo.js';
import { reply, type Vnode, type VnodeContext, type VnodeModule } from '../../shared/vnode.js';
import { KvRequestSchema, type KvReply, type KvRequest } from './kv_types.js';

/** One KV vnode. `data` is public so tests (and you, in the REPL) can look inside. */
export class KvVnode implements Vnode<KvRequest> {
  readonly data = new Map<string, unknown>();

  constructor(private readonly ctx: VnodeContext) {}

  // Step 1: store, fetch and delete on `data`; every reply names this vnode (partition, node).
  handleCommand(request: KvRequest) {
    return todo(
      'ex2-kv',
      1,
      import.meta.url,
      `handle ${request.type} "${request.key}": answer store, fetch and delete from this.data, every reply naming this vnode's partition and node`,
    );
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
