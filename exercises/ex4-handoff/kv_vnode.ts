/**
 * Exercise 4: the KV vnode of exercise 3 (exercises/ex3-coordinator/kv_vnode.ts: requests, LWW
 * rules, the Disk, the handoff items' encoding), plus the handoff callbacks you write here, so that its data can move when
 * the ring changes (ownership handoff) or when a primary comes back (hinted handoff).
 * The runtime calls them (shared/handoff.ts; riak_core_handoff_sender and _receiver):
 * `handoffStarting`, then a fold over every entry, each one through `encodeHandoffItem`; on the
 * new owner `handleHandoffData` per item; then `handoffFinished` and `delete` on the old owner.
 * Read README.md in this folder: steps 1-5. Stuck? `npm run hint -- ex4`.
 */
import { todo } from '../../shared/todo.js';
import {
  forward,
  isFoldRequest,
  reply,
  type FoldRequest,
  type HandoffCommandResult,
  type Sender,
  type VnodeModule,
} from '../../shared/vnode.js';
import {
  compareVersions,
  decodeHandoffItem,
  Disk,
  encodeHandoffItem,
  KvRequestSchema,
  KvVnode as ReplicatedKvVnode,
  SERVICE,
  type Entry,
  type KvRequest,
} from '../ex3-coordinator/kv_vnode.js';

/** The KV vnode with handoff: exercise 3's vnode plus the callbacks below. */
export class KvVnode extends ReplicatedKvVnode {
  // Step 2: keep the node you are handing off to in a field, e.g. `handingOffTo`, while a
  // handoff runs (for logs and the REPL).

  /** Step 1: nothing to hand off? */
  override isEmpty(): boolean {
    return todo('ex4-handoff', 1, import.meta.url, 'isEmpty(): true when this vnode holds no entries');
  }

  /** Step 1: drop every entry; called after the data reached its new home. */
  delete(): void {
    todo('ex4-handoff', 1, import.meta.url, 'delete(): drop every entry of this vnode');
  }

  /** Step 4: one item for the wire: the key and its entry (version included). */
  encodeHandoffItem(key: unknown, entry: unknown): Uint8Array {
    void key;
    void entry;
    void encodeHandoffItem;
    return todo('ex4-handoff', 4, import.meta.url, 'encodeHandoffItem(key, entry): the item [key, entry] for the wire');
  }

  /**
   * Step 4: apply one item from a handoff sender. A malformed item is refused (RingError
   * `bad_request`) and stores nothing. Idempotent and order-free: keep whichever entry is
   * newer, exactly as a put does, so a retried or late batch never brings an old value back.
   */
  handleHandoffData(data: Uint8Array): void {
    void data;
    void decodeHandoffItem;
    todo(
      'ex4-handoff',
      4,
      import.meta.url,
      'handleHandoffData(data): decode [key, entry] and keep it only if it is newer than ours',
    );
  }

  /**
   * Steps 3 and 5: requests while handing off.
   * - the fold request (step 3): call foldFun for every entry and reply with the accumulator;
   * - a put (step 5): apply it here *and* forward it, so the target has it whether or not the fold
   *   already passed this key (the target's reply answers the coordinator);
   * - a get or ping: answer from here, we still have everything.
   */
  handleHandoffCommand(request: KvRequest | FoldRequest, sender: Sender): HandoffCommandResult {
    void sender;
    void forward;
    if (isFoldRequest(request))
      todo(
        'ex4-handoff',
        3,
        import.meta.url,
        'answer the fold request: call request.foldFun(key, entry, acc) for every entry, reply(acc)',
      );
    return todo(
      'ex4-handoff',
      5,
      import.meta.url,
      `a ${request.type} arrived during a handoff: answer gets here, apply puts here and forward() them`,
    );
  }

  /** Step 2: a handoff to `target` is about to start. */
  handoffStarting(target: string): boolean {
    void target;
    return todo('ex4-handoff', 2, import.meta.url, 'handoffStarting(target): note the target and return true');
  }

  /** Step 2: the handoff failed; we keep our data and serve as before. */
  handoffCancelled(): void {
    todo('ex4-handoff', 2, import.meta.url, 'handoffCancelled(): forget the target; the data stays and keeps serving');
  }

  /** Step 2: every item reached `target`. */
  handoffFinished(target: string): void {
    void target;
    todo('ex4-handoff', 2, import.meta.url, 'handoffFinished(target): forget the target');
  }
}

/**
 * The KV service for one node. Pass the same `disk` when the node restarts to keep its data
 * (a crash that keeps the disk); a new Disk models a node that lost everything.
 */
export function kvService(disk: Disk = new Disk()): VnodeModule<KvRequest> {
  return { service: SERVICE, requests: KvRequestSchema, init: (ctx) => new KvVnode(ctx, disk) };
}
