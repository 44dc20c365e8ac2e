/**
 * The vnode master (`riak_core_vnode_master`): finds or starts the vnode for a partition,
 * delivers commands to vnodes on this or other nodes, and routes replies back to senders.
 *
 * Requests and replies between nodes are frames:
 *   `{t: 'vnode_cmd', service, partition, request, sender}`             → the target node's worker
 *   `{t: 'vnode_cov', service, partition, partitions, request, sender}` → the same, a coverage request
 *   `{t: 'vnode_reply', ref, reply}`                                    → the sender's node
 * Commands and coverage requests for a partition this node has handed off (see
 * `MasterLinks.forwardTo`) are forwarded, unchanged, to the new owner, which answers the
 * original sender (riak: the vnode's forwarding state).
 * Local deliveries are deep copies that equal what the msgpack wire would deliver ({@link wireCopy}),
 * so a vnode never shares an object with its caller (share-nothing, like Erlang messages) and
 * sees the same values whether its caller is local or remote.
 */
import { randomUUID } from 'node:crypto';
import { Packr } from 'msgpackr';
import { NodeDownError, TimeoutError, RemoteError } from './errors.js';
import type { Logger } from './log.js';
import type { Frame } from './frame.js';
import { problem, type Refusals, type VnodeCmdFrame, type VnodeCovFrame, type VnodeReplyFrame } from './wire.js';
import { VnodeWorker, type Sender, type VnodeId, type VnodeModule, type VnodeReply } from './vnode.js';

const packr = new Packr({ useRecords: false, moreTypes: false });
/** Deep copy through msgpack: what a message looks like after crossing the wire. */
const roundTrip = (value: unknown): unknown => packr.unpack(packr.pack(value));

/**
 * A deep copy of `value` equal to what it looks like after crossing the wire (a msgpack round
 * trip with the frame codec's options), without encoding plain data: plain objects, arrays,
 * well-formed strings, numbers, booleans, null and undefined are copied directly (-0 becomes 0,
 * array holes become undefined, as msgpack does); any other subtree (Map, Set, Date, bytes,
 * bigint, class instances, a lone surrogate, a `__proto__` key) goes through msgpack itself.
 * (Node ≥ 20 has `String.prototype.isWellFormed`.)
 * Shares no object with `value`. @throws what msgpack throws for values it cannot encode.
 */
export function wireCopy<T>(value: T): T {
  return (value === undefined ? value : copyValue(value)) as T;
}

function copyValue(v: unknown): unknown {
  switch (typeof v) {
    case 'number':
      return v === 0 ? 0 : v;
    case 'boolean':
    case 'undefined':
      return v;
    case 'string':
      return wellFormed(v) ? v : roundTrip(v);
    case 'object': {
      if (v === null) return null;
      const proto = Object.getPrototypeOf(v);
      if (proto === Array.prototype) {
        const a = v as unknown[];
        const out = new Array(a.length);
        for (let i = 0; i < a.length; i++) out[i] = copyValue(a[i]);
        return out;
      }
      if (proto === Object.prototype || proto === null) {
        const out: Record<string, unknown> = {};
        for (const k in v as Record<string, unknown>) {
          if (k === '__proto__' || !wellFormed(k)) return roundTrip(v);
          out[k] = copyValue((v as Record<string, unknown>)[k]);
        }
        return out;
      }
      return roundTrip(v);
    }
    default:
      return roundTrip(v);
  }
}

/** False for a string with a lone surrogate, which msgpack's UTF-8 replaces with U+FFFD. */
const wellFormed = (s: string) => (s as string & { isWellFormed(): boolean }).isWellFormed();

const copy = wireCopy;

/** Handler of replies arriving for a sender. */
export type ReplyHandler = (reply: VnodeReply) => void;

/** How the master reaches other nodes; provided by the node. */
export interface MasterLinks {
  readonly node: string;
  /** Ring size Q, for vnode contexts. */
  ringSize(): number;
  /** Send a frame; false if the node is not connected. */
  send(node: string, frame: Frame): boolean;
  /**
   * Consulted before a command or coverage request reaches a local vnode: when the partition
   * has been handed off, returns the node that now owns it so the request is forwarded there (ex4).
   */
  forwardTo?(service: string, partition: number): string | undefined;
  /** Deliver an application message to `topic` subscribers on `node` (see VnodeContext.notify). */
  notify?(node: string, topic: string, payload: unknown): boolean;
  /** Where refused requests are counted (the transport's); default: only logged. */
  refusals?: Refusals;
  log: Logger;
}

/** Default deadline of sync commands (ms). */
export const DEFAULT_TIMEOUT_MS = 5000;

/**
 * One node's vnode master, for every registered service. Also keeps the table of senders
 * waiting for replies (request ids with deadlines): a reply that arrives after its sender's
 * deadline, or for an unknown ref, is dropped without error.
 */
export class VnodeMaster {
  private readonly modules = new Map<string, VnodeModule>();
  private readonly workers = new Map<string, Map<number, VnodeWorker>>();
  private readonly senders = new Map<string, { handler: ReplyHandler; timer?: NodeJS.Timeout }>();
  /**
   * Sender refs are this master's random prefix plus a counter: unique across restarts of the
   * node (a late reply to a previous incarnation matches nothing), cheaper than a UUID each.
   */
  private readonly refPrefix = `${randomUUID()}:`;
  private refCount = 0;
  /** Replies dropped because nobody waited for them any more (for tests and debugging). */
  droppedReplies = 0;

  constructor(private readonly links: MasterLinks) {}

  /** Register a vnode service (riak: `riak_core:register(vnode_module, Mod)`). @throws Error if already registered. */
  register(module: VnodeModule): void {
    if (this.modules.has(module.service)) throw new Error(`service ${module.service} is already registered`);
    this.modules.set(module.service, module);
    this.workers.set(module.service, new Map());
  }

  /** Registered service names. */
  services(): string[] {
    return [...this.modules.keys()];
  }

  /**
   * The local worker of `service` for `partition`, started on demand
   * (riak: `get_vnode_pid/2`). @throws Error for an unknown service.
   */
  vnode(service: string, partition: number): VnodeWorker {
    const table = this.workers.get(service);
    const module = this.modules.get(service);
    if (!table || !module) throw new Error(`unknown vnode service "${service}" on ${this.links.node}`);
    let worker = table.get(partition);
    if (!worker || worker.isStopped) {
      worker = new VnodeWorker(
        module,
        this.links.node,
        partition,
        this.links.ringSize(),
        this.links.log,
        (s, r) => this.deliver(s, r),
        (target, request, sender) => this.links.send(target, { t: 'vnode_cmd', service, partition, request, sender }),
        (node, topic, payload) => this.links.notify?.(node, topic, payload) ?? false,
        (target, request, partitions, sender) =>
          this.links.send(target, { t: 'vnode_cov', service, partition, partitions: [...partitions], request, sender }),
      );
      table.set(partition, worker);
    }
    return worker;
  }

  /** Started local vnodes of `service`, by partition (for handoff, status and tests). */
  running(service: string): VnodeWorker[] {
    return [...(this.workers.get(service)?.values() ?? [])].filter((w) => !w.isStopped);
  }

  /** Forget a stopped or deleted vnode so the next request starts a fresh one. */
  forget(service: string, partition: number): void {
    this.workers.get(service)?.delete(partition);
  }

  // --- senders (request ids) -------------------------------------------------------------

  /**
   * Register a sender whose replies go to `handler`. With `timeoutMs`, the sender is removed
   * after that many ms; later replies to it are dropped. Call {@link release} when done.
   */
  newSender(handler: ReplyHandler, timeoutMs?: number): Exclude<Sender, null> {
    const ref = this.refPrefix + (++this.refCount).toString(36);
    const entry: { handler: ReplyHandler; timer?: NodeJS.Timeout } = { handler };
    if (timeoutMs !== undefined) {
      entry.timer = setTimeout(() => this.senders.delete(ref), timeoutMs);
      entry.timer.unref();
    }
    this.senders.set(ref, entry);
    return { node: this.links.node, ref };
  }

  /** Stop accepting replies for `sender`. */
  release(sender: Sender): void {
    if (!sender) return;
    const entry = this.senders.get(sender.ref);
    clearTimeout(entry?.timer);
    this.senders.delete(sender.ref);
  }

  /** Number of senders still waiting (a leak check for tests). */
  get waitingSenders(): number {
    return this.senders.size;
  }

  /** Route a reply to its sender, locally or over the wire (riak: `riak_core_vnode:reply/2`). */
  deliver(sender: Sender, reply: VnodeReply): void {
    if (!sender) return;
    if (sender.node === this.links.node) {
      const entry = this.senders.get(sender.ref);
      if (!entry) {
        this.droppedReplies++;
        return;
      }
      entry.handler(copy(reply));
    } else {
      this.links.send(sender.node, { t: 'vnode_reply', ref: sender.ref, reply });
    }
  }

  // --- commands -----------------------------------------------------------------------

  /**
   * Send `request` to every vnode in `preflist`; replies go to `sender`
   * (riak: `riak_core_vnode_master:command/4`). Fire-and-forget: a vnode on an unreachable
   * node simply never answers, so callers keep a deadline.
   */
  command(preflist: readonly VnodeId[], request: unknown, sender: Sender, service: string): void {
    for (const target of preflist) this.dispatch(target, service, request, sender);
  }

  /**
   * Send `request` to one vnode and wait for its reply (riak: `sync_command/4`).
   * @throws NodeDownError if the target node is not connected; TimeoutError after `timeoutMs`;
   *   RemoteError (named like the original, with its code: `bad_request` for a request the
   *   service refused) if the vnode's callback threw.
   */
  syncCommand(target: VnodeId, request: unknown, service: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.release(sender);
        reject(new TimeoutError(`${service} command to partition ${target.partition} on ${target.node}`, timeoutMs));
      }, timeoutMs);
      const sender = this.newSender((reply) => {
        clearTimeout(timer);
        this.release(sender);
        if (reply.ok) resolve(reply.value);
        else reject(new RemoteError(reply.from.node, reply.error.name, reply.error.message, reply.error.code));
      });
      if (!this.dispatch(target, service, request, sender)) {
        clearTimeout(timer);
        this.release(sender);
        reject(new NodeDownError(target.node));
      }
    });
  }

  /**
   * Same contract as {@link syncCommand}. In riak, `sync_spawn_command/3` exists so that a
   * slow vnode does not block the master's mailbox; our master never blocks (every call is a
   * promise), so both are the same, kept under riak's name for the exercises.
   */
  syncSpawnCommand(
    target: VnodeId,
    request: unknown,
    service: string,
    timeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<unknown> {
    return this.syncCommand(target, request, service, timeoutMs);
  }

  /**
   * Send a coverage request to one vnode, covering the key spaces `partitions`
   * (riak: `coverage/5`). Replies go to `sender`. Like a command, a request for a partition
   * this node has handed off goes to the new owner, which answers `sender`.
   * @returns false if the target node is not connected.
   */
  coverage(target: VnodeId, partitions: readonly number[], request: unknown, sender: Sender, service: string): boolean {
    if (target.node === this.links.node) {
      this.localCoverage(service, target.partition, [...partitions], copy(request), sender);
      return true;
    }
    return this.links.send(target.node, {
      t: 'vnode_cov',
      service,
      partition: target.partition,
      partitions,
      request,
      sender,
    });
  }

  /** @returns false if the target node is known to be unreachable. */
  private dispatch(target: VnodeId, service: string, request: unknown, sender: Sender): boolean {
    if (target.node === this.links.node) {
      this.localCommand(service, target.partition, copy(request), sender);
      return true;
    }
    return this.links.send(target.node, { t: 'vnode_cmd', service, partition: target.partition, request, sender });
  }

  private localCommand(service: string, partition: number, request: unknown, sender: Sender): void {
    this.routeLocal(
      service,
      partition,
      sender,
      { t: 'vnode_cmd', service, partition, request, sender },
      (w) => void w.command(request, sender),
    );
  }

  /** A coverage request for a vnode here: forwarded if the partition was handed off, else queued. */
  private localCoverage(
    service: string,
    partition: number,
    partitions: readonly number[],
    request: unknown,
    sender: Sender,
  ): void {
    const frame = { t: 'vnode_cov', service, partition, partitions: [...partitions], request, sender };
    this.routeLocal(service, partition, sender, frame, (w) => void w.coverage(request, partitions, sender));
  }

  /**
   * Where a request for a local vnode goes: to the new owner (as `frame`) if the partition was
   * handed off (riak: the vnode's forwarding state), an error reply for an unknown service,
   * else `run` on the local worker.
   */
  private routeLocal(
    service: string,
    partition: number,
    sender: Sender,
    frame: Frame,
    run: (worker: VnodeWorker) => void,
  ): void {
    const forwardTo = this.links.forwardTo?.(service, partition);
    if (forwardTo && forwardTo !== this.links.node) {
      this.links.send(forwardTo, frame);
      return;
    }
    const module = this.modules.get(service);
    if (!module) {
      this.deliver(sender, {
        from: { partition, node: this.links.node },
        ok: false,
        error: { name: 'Error', message: `unknown vnode service "${service}" on ${this.links.node}` },
      });
      return;
    }
    // The service's schema first: a peer's malformed command never reaches the vnode's state.
    const why =
      partition >= this.links.ringSize()
        ? `partition ${partition} in a ring of ${this.links.ringSize()}`
        : module.requests && problem(module.requests, frame.request);
    if (why) {
      if (this.links.refusals)
        this.links.refusals.refuse('request', sender?.node ?? this.links.node, `${service}: ${why}`);
      else this.links.log.warn(`refused a malformed ${service} request: ${why}`);
      this.deliver(sender, {
        from: { partition, node: this.links.node },
        ok: false,
        error: { name: 'RingError', message: `malformed ${service} request: ${why}`, code: 'bad_request' },
      });
      return;
    }
    run(this.vnode(service, partition));
  }

  /**
   * Handle a frame addressed to the vnode master. @returns true if it was one of ours.
   */
  handleFrame(_from: string, frame: Frame): boolean {
    // Fields were checked by the transport (wire.ts); requests are checked in routeLocal.
    switch (frame.t) {
      case 'vnode_cmd': {
        const f = frame as VnodeCmdFrame;
        this.localCommand(f.service, f.partition, f.request, f.sender);
        return true;
      }
      case 'vnode_cov': {
        const f = frame as VnodeCovFrame;
        this.localCoverage(f.service, f.partition, f.partitions, f.request, f.sender);
        return true;
      }
      case 'vnode_reply': {
        const f = frame as VnodeReplyFrame;
        const entry = this.senders.get(f.ref);
        if (!entry) this.droppedReplies++;
        else entry.handler(f.reply as VnodeReply);
        return true;
      }
      default:
        return false;
    }
  }

  /** Stop every vnode (node shutdown). */
  async stopAll(reason: string): Promise<void> {
    const all = [...this.workers.values()].flatMap((t) => [...t.values()]);
    await Promise.all(all.map((w) => w.stop(reason)));
    for (const entry of this.senders.values()) clearTimeout(entry.timer);
    this.senders.clear();
  }
}
