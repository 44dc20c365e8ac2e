/**
 * The key/value vnode: each partition keeps its keys in an in-memory map. With one vnode
 * per key (this exercise) a key lives on exactly one node; exercise 3 adds replicas.
 * Read README.md in this folder. Stuck? `npm run hint -- ex2` shows one more hint each time.
 */
import { todo } from '../../shared/todo.js';
import { reply, type Vnode, type VnodeContext, type VnodeModule } from '../../shared/vnode.js';

/** Requests the KV vnode understands. Keys are strings; values anything msgpack can carry. */
export type KvRequest =
  | { readonly type: 'store'; readonly key: string; readonly value: unknown }
  | { readonly type: 'fetch'; readonly key: string }
  | { readonly type: 'delete'; readonly key: string };

/** Replies of the KV vnode. `partition`/`node` say which vnode answered. */
export type KvReply =
  | { readonly ok: true; readonly partition: number; readonly node: string; readonly value?: unknown; readonly existed?: boolean }
  | { readonly ok: false; readonly reason: 'not_found'; readonly partition: number; readonly node: string };

/** One KV vnode. `data` is public so tests (and you, in the REPL) can look inside. */
export class KvVnode implements Vnode<KvRequest> {
  readonly data = new Map<string, unknown>();

  constructor(private readonly ctx: VnodeContext) {}

  handleCommand(request: KvRequest) {
    const where = { partition: this.ctx.partition, node: this.ctx.node };
    switch (request.type) {
      case 'store':
        this.data.set(request.key, request.value);
        return reply({ ok: true, ...where } satisfies KvReply);
      // Step 1: fetch answers the value, or not_found.
      case 'fetch':
        return todo('ex2-kv', 1, import.meta.url, "answer { type: 'fetch', key } with the value, or { ok: false, reason: 'not_found' }");
      // Step 2: delete removes the key and says whether it was there.
      case 'delete':
        return todo('ex2-kv', 2, import.meta.url, "remove the key and answer { ok: true, existed }");
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
  init: (ctx) => new KvVnode(ctx),
};
