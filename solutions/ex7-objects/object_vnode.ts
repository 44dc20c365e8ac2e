/**
 * Exercise 7, steps 3-5 and 7: the object vnode. The home vnode of an object activates it on
 * its first call (its state read from the replicated store), runs its calls one at a time,
 * writes each new state before it answers, and deactivates it when idle.
 * Given: object_vnode_base.ts (live objects, names, handoff).
 */
import { reply, type VnodeModule } from '../../shared/vnode.js';
import { newVersion } from '../../exercises/ex3-coordinator/kv_vnode.js';
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
} from '../../exercises/ex7-objects/object_types.js';
import { objectKey, ObjectVnodeBase } from '../../exercises/ex7-objects/object_vnode_base.js';
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
    const key = stateKey(objectType, id);
    let epoch = 0;
    let record: ObjectRecord | undefined;
    if (this.fenced) {
      const claimed = await takeEpoch(this.node, key, this.storeTimeoutMs);
      epoch = claimed.epoch;
      if (claimed.entry && !claimed.entry.deleted) record = claimed.entry.value as ObjectRecord;
    } else {
      const got = await fetch(this.node, key, { r: 2, timeoutMs: this.storeTimeoutMs });
      if (got.found) record = got.value as ObjectRecord;
    }
    const activation = { objectType, id, state: record ? record.state : initial(), epoch, name: this.nextName() };
    this.active.set(objectKey(objectType, id), activation);
    return activation;
  }

  /** Step 4 (step 7 when fenced): write `state` as the object's record, W=2. */
  async save(a: Activation, state: unknown): Promise<void> {
    const key = stateKey(a.objectType, a.id);
    const value: ObjectRecord = { state, epoch: a.epoch };
    if (!this.fenced) {
      await store(this.node, key, value, { w: 2, timeoutMs: this.storeTimeoutMs });
      return;
    }
    const entry = { value, version: newVersion(this.ctx.node), deleted: false };
    await fencedWrite(this.node, key, entry, a.epoch, this.storeTimeoutMs);
  }

  /**
   * Step 4: one call. Find (or activate) the object, run its handler, write the new state,
   * only then answer. A store failure deactivates the object and answers `unavailable`.
   */
  async handleCommand(request: CallRequest) {
    const type = TYPES[request.objectType];
    if (!type)
      return reply({
        ok: false,
        code: 'unknown_type',
        message: `no object type ${request.objectType}`,
      } satisfies CallOutcome);
    const key = objectKey(request.objectType, request.id);
    this.stopIdleTimer(key);
    try {
      const a = this.active.get(key) ?? (await this.activate(request.objectType, request.id, type.initial));
      const { state, reply: answer } = type.handle(a.state, request.call);
      await this.save(a, state);
      a.state = state;
      this.startIdleTimer(key);
      return reply({ ok: true, reply: answer, epoch: a.epoch, activation: a.name } satisfies CallOutcome);
    } catch (err) {
      if (err instanceof ObjectError) {
        if (this.active.has(key)) this.startIdleTimer(key);
        return reply({ ok: false, code: err.code, message: err.message } satisfies CallOutcome);
      }
      this.deactivate(key, `store failed: ${(err as Error).message}`);
      return reply({ ok: false, code: 'unavailable', message: (err as Error).message } satisfies CallOutcome);
    }
  }

  /** Step 5: (re)start the idle timer of `key`: after `idleMs` without calls, deactivate the object. */
  protected startIdleTimer(key: string): void {
    this.stopIdleTimer(key);
    const timer = setTimeout(() => this.deactivate(key, 'idle'), this.idleMs);
    timer.unref(); // an idle object must not keep the process alive
    this.timers.set(key, timer);
  }
}

/** The object service for one node. */
export function objectService(opts: ObjectServiceOptions): VnodeModule<CallRequest> {
  return { service: SERVICE, requests: CallRequestSchema, init: (ctx) => new ObjectVnode(ctx, opts) };
}
