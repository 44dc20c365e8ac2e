/**
 * Exercise 7, step 6: the store's vnode learns compare-and-set. It is exercise 4's KV vnode
 * (replicated, last-write-wins, handoff) plus two requests (fence_types.ts): `claim` raises
 * the key's fence to a higher epoch, `fenced_put` is a put that a replica refuses when it
 * holds a higher fence than the writer's epoch. Given: fenced_kv_base.ts (reading and raising
 * fences, merging what a handing-off replica held).
 */
import { forward, isFoldRequest, reply, type FoldRequest, type Sender, type VnodeModule } from '../../shared/vnode.js';
import { Disk, SERVICE } from '../../exercises/ex3-coordinator/kv_vnode.js';
import { FencedKvBase } from '../../exercises/ex7-objects/fenced_kv_base.js';
import {
  FencedKvRequestSchema,
  type ClaimReply,
  type FencedKvRequest,
  type FencedPutReply,
} from '../../exercises/ex7-objects/fence_types.js';

/** Exercise 4's KV vnode with a fence per key. */
export class FencedKvVnode extends FencedKvBase {
  /** Step 6: `claim` and `fenced_put`; every other request as exercise 4's vnode. */
  override handleCommand(request: FencedKvRequest, sender?: Sender) {
    switch (request.type) {
      case 'claim': {
        if (request.held) this.merge(request.key, request.held);
        const held = this.fence(request.key);
        const granted = request.epoch > held;
        if (granted) this.raiseFence(request.key, request.epoch);
        return reply({
          granted,
          fence: Math.max(held, request.epoch),
          entry: this.entry(request.key),
        } satisfies ClaimReply);
      }
      case 'fenced_put': {
        if (request.held) this.merge(request.key, request.held);
        const held = this.fence(request.key);
        if (request.epoch < held) return reply({ accepted: false, fence: held } satisfies FencedPutReply);
        this.raiseFence(request.key, request.epoch);
        this.keepNewer(request.key, { ...request.entry, epoch: request.epoch });
        return reply({ accepted: true, fence: request.epoch } satisfies FencedPutReply);
      }
      default:
        return super.handleCommand(request, sender);
    }
  }

  /**
   * Step 6: during a handoff, a claim or a fenced put is applied here *and* forwarded, like
   * exercise 4's puts. The new owner may not have this key yet, so the request carries what we
   * held before applying it (`held`): the new owner merges that first and decides as we did.
   */
  override handleHandoffCommand(request: FencedKvRequest | FoldRequest, sender: Sender) {
    if (isFoldRequest(request) || (request.type !== 'claim' && request.type !== 'fenced_put'))
      return super.handleHandoffCommand(request, sender);
    const held = this.held(request.key);
    this.handleCommand(request);
    request.held = held; // forward() passes this very request on
    return forward();
  }
}

/** The fenced KV service for one node, on `disk` (keep it across a restart to model durability). */
export function fencedKvService(disk: Disk = new Disk()): VnodeModule<FencedKvRequest> {
  return { service: SERVICE, requests: FencedKvRequestSchema, init: (ctx) => new FencedKvVnode(ctx, disk) };
}
