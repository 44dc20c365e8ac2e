/**
 * Exercise 7, given: the plumbing of an object vnode. It keeps the live objects of one
 * partition (`active`, by {@link objectKey}), names each activation, keeps the idle timers
 * (which your `startIdleTimer` sets) and does the handoff. Your ObjectVnode (object_vnode.ts)
 * extends it with what happens on a call, on activation and when an object goes idle.
 *
 * A vnode handles one request at a time (shared/vnode.ts), and `handleCommand` may be async:
 * while a call awaits the store, the next call to this partition waits. That is what makes the
 * calls to one object run strictly one after the other.
 */
import type { RingNode } from '../../shared/node.js';
import { forward, type HandoffCommandResult, type Vnode, type VnodeContext } from '../../shared/vnode.js';
import type { Activation, ObjectServiceOptions } from './object_types.js';

/** The key of an object in a vnode's `active` map. */
export const objectKey = (objectType: string, id: string): string => `${objectType}/${id}`;

/** Activations made by this process: names stay unique when a vnode or a node starts again. */
let made = 0;

/** Defaults of {@link ObjectServiceOptions}. */
export const OBJECT_DEFAULTS = { fenced: true, idleMs: 30_000, storeTimeoutMs: 1000 } as const;

/** The object vnode's plumbing: live objects, their names, idle timers and handoff. */
export abstract class ObjectVnodeBase implements Vnode {
  /** The live objects of this partition on this node, by {@link objectKey}. */
  readonly active = new Map<string, Activation>();
  /** Activations made by this vnode so far. */
  activations = 0;
  protected readonly fenced: boolean;
  protected readonly idleMs: number;
  protected readonly storeTimeoutMs: number;
  /** The idle timer of each live object, by object key. */
  protected readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(
    protected readonly ctx: VnodeContext,
    private readonly opts: ObjectServiceOptions,
  ) {
    this.fenced = opts.fenced ?? OBJECT_DEFAULTS.fenced;
    this.idleMs = opts.idleMs ?? OBJECT_DEFAULTS.idleMs;
    this.storeTimeoutMs = opts.storeTimeoutMs ?? OBJECT_DEFAULTS.storeTimeoutMs;
  }

  /** The node this vnode runs on: the store is reached through it. */
  protected get node(): RingNode {
    return this.opts.node(this.ctx.node);
  }

  /** A fresh activation name, `<node>/<partition>/<n>`, n counting the activations of this process. */
  protected nextName(): string {
    this.activations++;
    return `${this.ctx.node}/${this.ctx.partition}/${++made}`;
  }

  /** One call to an object of this partition (yours, step 4). */
  abstract handleCommand(request: unknown, sender: unknown): ReturnType<Vnode['handleCommand']>;

  /** Names of the live activations here, by object key (tests and the REPL look with this). */
  live(): Record<string, string> {
    return Object.fromEntries([...this.active].map(([k, a]) => [k, a.name]));
  }

  /** Stop the idle timer of `key` (a call is running). */
  protected stopIdleTimer(key: string): void {
    clearTimeout(this.timers.get(key));
    this.timers.delete(key);
  }

  /** (Re)start the idle timer of `key`: after `idleMs` without calls, {@link deactivate} it (yours, step 5). */
  protected abstract startIdleTimer(key: string): void;

  /**
   * Forget the live object `key` (its state is in the store already: every call wrote it
   * before answering). The next call activates it again, from the store.
   */
  deactivate(key: string, why: string): void {
    this.stopIdleTimer(key);
    const a = this.active.get(key);
    if (!a) return;
    this.active.delete(key);
    this.ctx.log.debug(`objects partition ${this.ctx.partition}: ${a.name} (${key}) deactivated: ${why}`);
  }

  /** Deactivate every live object. */
  protected deactivateAll(why: string): void {
    for (const key of [...this.active.keys()]) this.deactivate(key, why);
  }

  terminate(): void {
    this.deactivateAll('vnode stopped');
  }

  // Handoff. An object vnode keeps no data the store does not have (every call wrote its state
  // before answering), so there is nothing to send: the runtime goes straight to `delete()`,
  // which deactivates every object here, and forwards later calls to the new home, which
  // activates each object on its next call. A call that arrives while a handoff runs goes there too.

  isEmpty(): boolean {
    return true;
  }

  delete(): void {
    this.deactivateAll('handed off');
  }

  handleHandoffCommand(): HandoffCommandResult {
    return forward();
  }
}
