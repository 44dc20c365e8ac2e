/**
 * Exercise 7, step 6: the store's vnode learns compare-and-set. It is exercise 4's KV vnode
 * (replicated, last-write-wins, handoff) plus two requests (fence_types.ts): `claim` raises
 * the key's fence to a higher epoch, `fenced_put` is a put that a replica refuses when it
 * holds a higher fence than the writer's epoch. Given: fenced_kv_base.ts (reading and raising
 * fences, merging what a handing-off replica held). Stuck? `npm run hint -- ex7`
 */
import { todo } from '../../shared/todo.js';
import { forward, isFoldRequest, reply, type FoldRequest, type Sender, type VnodeModule } from '../../shared/vnode.js';
import { Disk, SERVICE } from '../ex3-coordinator/kv_vnode.js';
import { FencedKvBase } from './fenced_kv_base.js';
import { FencedKvRequestSchema, type ClaimReply, type FencedKvRequest, type FencedPutReply } from './fence_types.js';

/** Exercise 4's KV vnode with a fence per key. */
export class FencedKvVnode extends FencedKvBase {
  /** Step 6: `claim` and `fenced_put`; every other request as exercise 4's vnode. */
  override handleCommand(request: FencedKvRequest, sender?: Sender) {
    switch (request.type) {
      case 'claim':
        return todo(
          'ex7-objects',
          6,
          import.meta.url,
          'claim: grant (and raise the fence) only if request.epoch is above the fence; reply a ClaimReply',
        );
      case 'fenced_put':
        return todo(
          'ex7-objects',
          6,
          import.meta.url,
          'fenced_put: refuse an epoch below the fence, else raise the fence and keep the newer entry; reply a FencedPutReply',
        );
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
    void forward;
    void reply;
    return todo(
      'ex7-objects',
      6,
      import.meta.url,
      `a ${request.type} during a handoff: apply it here, then forward it with held`,
    );
  }
}

/** The fenced KV service for one node, on `disk` (keep it across a restart to model durability). */
export function fencedKvService(disk: Disk = new Disk()): VnodeModule<FencedKvRequest> {
  return { service: SERVICE, requests: FencedKvRequestSchema, init: (ctx) => new FencedKvVnode(ctx, disk) };
}
