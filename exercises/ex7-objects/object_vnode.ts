/**
 * Exercise 7, steps 3-5 and 7: the object vnode. The home vnode of an object activates it on
 * its first call (its state read from the replicated store), runs its calls one at a time,
 * writes each new state before it answers, and deactivates it when idle.
 * Given: object_vnode_base.ts (live objects, names, handoff). Stuck? `npm run hint -- ex7`
 */
import { todo } from '../../shared/todo.js';
import { reply, type VnodeModule } from '../../shared/vnode.js';
import { newVersion } from '../ex3-coordinator/kv_vnode.js';
import { fetch, store } from '../../solutions/ex3-coordinator/coordinator.js';
import {
  ObjectError,
  SERVICE,
  stateKey,
  type Activation,
  type CallOutcome,
  type CallRequest,
  CallRequestSchema,
  type ObjectRecord,
  type ObjectServiceOptions,
} from './object_types.js';
import { objectKey, ObjectVnodeBase } from './object_vnode_base.js';
import { fencedWrite, takeEpoch } from './fencing.js';
import { TYPES } from './objects.js';

/** The home of a set of objects: one per partition per node. */
export class ObjectVnode extends ObjectVnodeBase {
  /**
   * Step 3 (step 7 when fenced): bring `objectType`/`id` to life. Its state is what the store
   * holds under `stateKey`, or the type's initial state when it holds nothing.
   * @throws RingError `unavailable` (or a QuorumError) when the store cannot answer.
   */
  async activate(objectType: string, id: string, initial: () => unknown): Promise<Activation> {
    void objectType;
    void id;
    void initial;
    return todo(
      'ex7-objects',
      3,
      import.meta.url,
      'activate(type, id, initial): read the record under stateKey (R=2), register the activation in this.active',
    );
  }

  /** Step 4 (step 7 when fenced): write `state` as the object's record, W=2. */
  async save(a: Activation, state: unknown): Promise<void> {
    void a;
    void state;
    void newVersion;
    todo('ex7-objects', 4, import.meta.url, 'save(activation, state): store { state, epoch } under stateKey, W=2');
  }

  /**
   * Step 4: one call. Find (or activate) the object, run its handler, write the new state,
   * only then answer. A store failure deactivates the object and answers `unavailable`.
   */
  async handleCommand(request: CallRequest) {
    void request;
    return todo(
      'ex7-objects',
      4,
      import.meta.url,
      `handleCommand(call ${request.objectType}/${request.id}): activate if needed, handle, save, then reply a CallOutcome`,
    );
  }

  /** Step 5: (re)start the idle timer of `key`: after `idleMs` without calls, deactivate the object. */
  protected startIdleTimer(key: string): void {
    void key;
    todo(
      'ex7-objects',
      5,
      import.meta.url,
      'startIdleTimer(key): deactivate the object after this.idleMs without calls',
    );
  }
}

/** The object service for one node. */
export function objectService(opts: ObjectServiceOptions): VnodeModule<CallRequest> {
  return { service: SERVICE, requests: CallRequestSchema, init: (ctx) => new ObjectVnode(ctx, opts) };
}
