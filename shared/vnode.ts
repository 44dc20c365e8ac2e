/**
 * The vnode behaviour (`riak_core_vnode`) and the worker that runs one vnode.
 *
 * A vnode is the service's state for one partition on one node. Its worker handles one
 * message at a time, in arrival order, like an Erlang process; callbacks may be async and
 * the next message waits until the previous one has finished. Workers start lazily, on the
 * first message for their partition — including on a node that does not own the partition
 * (a *fallback* vnode, which holds data for a down primary).
 */
import type { TSchema } from '@sinclair/typebox';
import { partitionIndex } from './chash.js';
import type { WireError } from './errors.js';
import type { Logger } from './log.js';

/** Identifies a vnode: partition `partition` hosted on node `node`. */
export interface VnodeId {
  readonly partition: number;
  readonly node: string;
}

/**
 * Where a vnode's reply goes (riak's `sender()`): a reference registered by the requester on
 * `node`. `null` means nobody waits for a reply (riak's `ignore`).
 */
export type Sender = { readonly node: string; readonly ref: string } | null;

/** A reply arriving at a sender: which vnode answered, and its value or the error it raised. */
export type VnodeReply =
  | { readonly from: VnodeId; readonly ok: true; readonly value: unknown }
  | { readonly from: VnodeId; readonly ok: false; readonly error: WireError };

/** What a vnode gets at start: who it is, and how to answer requests later. */
export interface VnodeContext {
  readonly service: string;
  readonly partition: number;
  /** riak's partition index (0 ≤ index < 2^160), for display. */
  readonly index: bigint;
  /** The node this vnode runs on. */
  readonly node: string;
  readonly ringSize: number;
  /** Send a reply to a sender later, after returning {@link noreply} (riak: `riak_core_vnode:reply/2`). */
  reply(sender: Sender, value: unknown): void;
  /**
   * Send `payload` to whatever subscribed to `topic` on `node` (ourselves included), e.g. a
   * chat room's vnode pushing a line to the node where a member is connected. Fire and forget:
   * a frame to an unreachable node is lost (Erlang's `!`). @returns false if `node` is not connected.
   */
  notify(node: string, topic: string, payload: unknown): boolean;
  readonly log: Logger;
}

/** Result of a command callback (riak: `{reply, R, S} | {noreply, S} | {stop, Reason, S}`). */
export type CommandResult =
  | { readonly reply: unknown }
  | { readonly noreply: true }
  | { readonly stop: string; readonly reply?: unknown };

/** Extra results of `handleHandoffCommand`: pass the request to the handoff target, or drop it. */
export type HandoffCommandResult = CommandResult | { readonly forward: true } | { readonly drop: true };

/** Answer the sender now. */
export const reply = (value: unknown): CommandResult => ({ reply: value });
/** Answer later with `ctx.reply(sender, …)`, or never. */
export const noreply = (): CommandResult => ({ noreply: true });
/** Stop this vnode after (optionally) replying; `terminate` is called with `reason`. */
export const stop = (reason: string, value?: unknown): CommandResult =>
  value === undefined ? { stop: reason } : { stop: reason, reply: value };
/** While handing off: let the target vnode handle this request. */
export const forward = (): HandoffCommandResult => ({ forward: true });
/** While handing off: ignore this request. */
export const drop = (): HandoffCommandResult => ({ drop: true });

/**
 * The request the handoff sender passes to `handleHandoffCommand` to walk the vnode's data
 * (riak: `?FOLD_REQ{foldfun, acc0}`). Call `foldFun(key, value, acc)` for every item, passing
 * each call's result to the next, and reply with the final accumulator. The fold is
 * synchronous: it only collects items; they are streamed to the target afterwards, outside
 * the vnode, so the vnode keeps serving while data moves.
 */
export interface FoldRequest {
  readonly type: '__fold_req__';
  readonly foldFun: (key: unknown, value: unknown, acc: unknown) => unknown;
  readonly acc0: unknown;
}

/** True if `request` is the handoff fold request. */
export const isFoldRequest = (request: unknown): request is FoldRequest =>
  typeof request === 'object' && request !== null && (request as FoldRequest).type === '__fold_req__';

/**
 * The callbacks of one vnode, returned by {@link VnodeModule.init}. Only `handleCommand`
 * is required; the handoff callbacks are needed once data must move (exercise 4).
 */
export interface Vnode<Req = unknown> {
  /** A request for this partition (riak: `handle_command/3`). */
  handleCommand(request: Req, sender: Sender): CommandResult | Promise<CommandResult>;
  /** A request while this vnode hands off, or the {@link FoldRequest} (riak: `handle_handoff_command/3`). */
  handleHandoffCommand?(
    request: Req | FoldRequest,
    sender: Sender,
  ): HandoffCommandResult | Promise<HandoffCommandResult>;
  /** Handoff to `targetNode` is about to start; return false to refuse for now (riak: `handoff_starting/2`). */
  handoffStarting?(targetNode: string): boolean | Promise<boolean>;
  /** The handoff failed or was cancelled; keep serving (riak: `handoff_cancelled/1`). */
  handoffCancelled?(): void | Promise<void>;
  /** Every item reached `targetNode` (riak: `handoff_finished/2`). */
  handoffFinished?(targetNode: string): void | Promise<void>;
  /** Apply one item from a handoff sender; must be idempotent (riak: `handle_handoff_data/2`). */
  handleHandoffData?(data: Uint8Array): void | Promise<void>;
  /** Serialise one item found by the fold (riak: `encode_handoff_item/2`). */
  encodeHandoffItem?(key: unknown, value: unknown): Uint8Array;
  /** True when there is nothing to hand off (riak: `is_empty/1`). */
  isEmpty?(): boolean | Promise<boolean>;
  /** Drop all data: called after a successful handoff (riak: `delete/1`). */
  delete?(): void | Promise<void>;
  /** The vnode stops (riak: `terminate/2`). */
  terminate?(reason: string): void | Promise<void>;
  /** A coverage request over `partitions`' key spaces (riak: `handle_coverage/4`). */
  handleCoverage?(request: Req, partitions: readonly number[], sender: Sender): CommandResult | Promise<CommandResult>;
}

/** A vnode service: its name and how to start one of its vnodes (riak: the callback module + `init/1`). */
export interface VnodeModule<Req = unknown> {
  /** Service name, e.g. `ping` or `kv`; also what the node watcher advertises. */
  readonly service: string;
  init(ctx: VnodeContext): Vnode<Req> | Promise<Vnode<Req>>;
  /**
   * The shape of this service's requests, commands and coverage requests alike (a TypeBox
   * schema, so the type `Req` can be derived from it with `Static`). The vnode master checks
   * every request against it before a vnode sees it, and answers one that fails with a
   * `bad_request` error: a peer's malformed command never reaches the vnode's state (riak has
   * no such check; our peers may run half-finished exercise code). Without it, any request passes.
   */
  readonly requests?: TSchema;
}

/** How the worker hands a finished command back to the vnode master. */
export type Deliver = (sender: Sender, reply: VnodeReply) => void;
/** How the worker passes a request on to the vnode of the same partition on `target`. */
export type Forward = (target: string, request: unknown, sender: Sender) => void;
/**
 * How the worker passes a coverage request (over the key spaces `partitions`) on to the vnode
 * of the same partition on `target`, whose answer goes to the original `sender`.
 */
export type ForwardCoverage = (target: string, request: unknown, partitions: readonly number[], sender: Sender) => void;

/**
 * Runs one vnode: starts it on first use and serialises every callback.
 * Errors thrown by a callback are logged and, for commands, sent to the sender as a
 * failed {@link VnodeReply}; the vnode keeps running (unlike Erlang's crash-and-restart,
 * so that a buggy exercise step shows its error instead of hanging the test).
 *
 * While {@link handoffTarget} is set, commands go to `handleHandoffCommand` (riak: the vnode
 * in handoff state) and a `forward` result passes the request to the target.
 */
export class VnodeWorker {
  readonly id: VnodeId;
  readonly ctx: VnodeContext;
  private vnode?: Vnode;
  private tail: Promise<unknown> = Promise.resolve();
  private stopped = false;
  /** Messages queued or running. */
  pending = 0;
  /** `Date.now()` of the last message handled (0: none yet); handoff uses it to find inactive vnodes. */
  lastActive = 0;
  /** Node this vnode is handing off to, while a handoff runs. */
  handoffTarget: string | undefined;
  /**
   * Set once a handoff finished and the data was deleted here: every later command and
   * coverage request, including those already queued, goes to this node instead of the
   * (empty) vnode (riak: the vnode's forwarding state, which forwards `riak_vnode_req_v1`
   * and `riak_coverage_req_v1` alike).
   */
  forwardingTo: string | undefined;

  constructor(
    readonly module: VnodeModule,
    node: string,
    partition: number,
    ringSize: number,
    log: Logger,
    private readonly deliver: Deliver,
    private readonly forwardTo: Forward = () => undefined,
    notify: (node: string, topic: string, payload: unknown) => boolean = () => false,
    private readonly forwardCoverage: ForwardCoverage = () => undefined,
  ) {
    this.id = { partition, node };
    this.ctx = {
      service: module.service,
      partition,
      index: partitionIndex(partition, ringSize),
      node,
      ringSize,
      log,
      reply: (sender, value) => this.deliver(sender, { from: this.id, ok: true, value }),
      notify,
    };
  }

  /** True after `stop`. A stopped worker must be replaced by a fresh one. */
  get isStopped(): boolean {
    return this.stopped;
  }

  /**
   * Run `fn` with the vnode once every earlier message has been handled.
   * @throws whatever `fn` or the module's `init` throws.
   */
  run<T>(fn: (vnode: Vnode) => T | Promise<T>): Promise<T> {
    this.pending++;
    const result = this.tail.then(async () => {
      this.lastActive = Date.now();
      try {
        this.vnode ??= await this.module.init(this.ctx);
        return await fn(this.vnode);
      } finally {
        this.pending--;
        this.lastActive = Date.now();
      }
    });
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Queue a command; its reply (or error) goes to `sender`. Handoff mode is decided when it runs. */
  command(request: unknown, sender: Sender): Promise<HandoffCommandResult | undefined> {
    return this.run(async (vnode) => {
      if (this.forwardingTo !== undefined) {
        this.forwardTo(this.forwardingTo, request, sender);
        return { forward: true } as const;
      }
      const target = this.handoffTarget;
      const result =
        target !== undefined && vnode.handleHandoffCommand
          ? await vnode.handleHandoffCommand(request, sender)
          : await vnode.handleCommand(request, sender);
      if ('forward' in result) {
        if (target !== undefined) this.forwardTo(target, request, sender);
        else
          this.ctx.log.warn(
            `${this.module.service} vnode ${this.id.partition}: forward outside a handoff; request dropped`,
          );
      }
      this.settle(result, sender);
      return result;
    }).catch((err: unknown) => {
      this.ctx.log.error(
        `${this.module.service} vnode ${this.id.partition}: command failed: ${(err as Error)?.stack ?? err}`,
      );
      const error =
        err instanceof Error ? { name: err.name, message: err.message } : { name: 'Error', message: String(err) };
      this.deliver(sender, { from: this.id, ok: false, error });
      return undefined;
    });
  }

  /**
   * Queue a coverage request over the key spaces `partitions` (riak: `handle_coverage/4`);
   * its answer (or error) goes to `sender`. If {@link forwardingTo} is set when the request
   * runs (it was queued behind the handoff's `delete()`), it is passed on to that node's vnode
   * instead, which answers `sender` (riak: `vnode_coverage/4` in the forwarding state).
   */
  coverage(request: unknown, partitions: readonly number[], sender: Sender): Promise<void> {
    return this.run(async (vnode) => {
      if (this.forwardingTo !== undefined) {
        this.forwardCoverage(this.forwardingTo, request, partitions, sender);
        return;
      }
      if (!vnode.handleCoverage) throw new Error(`service ${this.module.service} does not implement handleCoverage`);
      this.settle(await vnode.handleCoverage(request, partitions, sender), sender);
    }).catch((err: unknown) => {
      const error =
        err instanceof Error ? { name: err.name, message: err.message } : { name: 'Error', message: String(err) };
      this.deliver(sender, { from: this.id, ok: false, error });
    });
  }

  private settle(result: HandoffCommandResult, sender: Sender): void {
    if ('reply' in result && result.reply !== undefined)
      this.deliver(sender, { from: this.id, ok: true, value: result.reply });
    if ('stop' in result) void this.stop(result.stop);
  }

  /** Stop the vnode: calls `terminate(reason)` after queued messages. Idempotent. */
  stop(reason: string): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.stopped = true;
    return this.run((vnode) => vnode.terminate?.(reason)).catch((err: unknown) => {
      this.ctx.log.warn(
        `${this.module.service} vnode ${this.id.partition}: terminate failed: ${(err as Error)?.message ?? err}`,
      );
    });
  }
}
