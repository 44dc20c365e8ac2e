/**
 * Exercise 4: the KV vnode of exercise 3 (exercises/ex3-coordinator/kv_vnode.ts: requests, LWW
 * rules, the Disk, the handoff items' encoding), plus the handoff callbacks you write here, so that its data can move when
 * the ring changes (ownership handoff) or when a primary comes back (hinted handoff).
 * The runtime calls them (shared/handoff.ts; riak_core_handoff_sender and _receiver):
 * `handoffStarting`, then a fold over every entry, each one through `encodeHandoffItem`; on the
 * new owner `handleHandoffData` per item; then `handoffFinished` and `delete` on the old owner.
 */
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
} from '../../exercises/ex3-coordinator/kv_vnode.js';

/** The KV vnode with handoff: exercise 3's vnode plus the callbacks below. */
export class KvVnode extends ReplicatedKvVnode {
  /** Node we are handing off to, while a handoff runs (for logs and the REPL). */
  handingOffTo: string | undefined;

  /** Step 1: nothing to hand off? */
  override isEmpty(): boolean {
    return this.data.size === 0;
  }

  /** Step 1: drop every entry; called after the data reached its new home. */
  delete(): void {
    this.data.clear();
  }

  /** Step 4: one item for the wire: the key and its entry (version included). */
  encodeHandoffItem(key: unknown, entry: unknown): Uint8Array {
    return encodeHandoffItem(key as string, entry as Entry);
  }

  /**
   * Step 4: apply one item from a handoff sender. A malformed item is refused (RingError
   * `bad_request`) and stores nothing. Idempotent and order-free: keep whichever entry is
   * newer, exactly as a put does, so a retried or late batch never brings an old value back.
   */
  handleHandoffData(data: Uint8Array): void {
    const [key, entry] = decodeHandoffItem(data);
    const mine = this.data.get(key);
    if (!mine || compareVersions(entry.version, mine.version) > 0) this.data.set(key, entry);
  }

  /**
   * Steps 3 and 5: requests while handing off.
   * - the fold request (step 3): call foldFun for every entry and reply with the accumulator;
   * - a put (step 5): apply it here *and* forward it, so the target has it whether or not the fold
   *   already passed this key (the target's reply answers the coordinator);
   * - a get or ping: answer from here, we still have everything.
   */
  handleHandoffCommand(request: KvRequest | FoldRequest, sender: Sender): HandoffCommandResult {
    if (isFoldRequest(request)) {
      let acc = request.acc0;
      for (const [key, entry] of this.data) acc = request.foldFun(key, entry, acc);
      return reply(acc);
    }
    if (request.type === 'put') {
      this.handleCommand(request);
      return forward();
    }
    return this.handleCommand(request, sender);
  }

  /** Step 2: a handoff to `target` is about to start. */
  handoffStarting(target: string): boolean {
    this.handingOffTo = target;
    return true;
  }

  /** Step 2: the handoff failed; we keep our data and serve as before. */
  handoffCancelled(): void {
    this.ctx.log.info(
      `kv partition ${this.ctx.partition}: handoff to ${this.handingOffTo} cancelled, keeping the data`,
    );
    this.handingOffTo = undefined;
  }

  /** Step 2: every item reached `target`. */
  handoffFinished(target: string): void {
    this.ctx.log.debug(`kv partition ${this.ctx.partition}: handoff to ${target} finished`);
    this.handingOffTo = undefined;
  }
}

/**
 * The KV service for one node. Pass the same `disk` when the node restarts to keep its data
 * (a crash that keeps the disk); a new Disk models a node that lost everything.
 */
export function kvService(disk: Disk = new Disk()): VnodeModule<KvRequest> {
  return { service: SERVICE, requests: KvRequestSchema, init: (ctx) => new KvVnode(ctx, disk) };
}
