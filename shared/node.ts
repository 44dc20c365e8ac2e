/**
 * A ring node: one member of a cluster, composing the transport, node watcher, ring manager,
 * gossip, claimant, vnode master and handoff manager. This is what `riak_core` is to an
 * Erlang release, and what every exercise builds on.
 *
 *     const node = await RingNode.start({ name: 'dev1@127.0.0.1', cookie: 'workshop', services: [pingService] });
 *     await other.join(node.addr); await node.commit();
 *
 * Admin operations (join, leave, remove, plan, commit, clear) may be called on any node: they
 * are forwarded to the claimant. `down` runs on the node it is called on, so it works when the
 * claimant itself is the node that died (after which the next member takes over as claimant).
 *
 * This module is wiring: each job lives in its own module, and RingNode's methods delegate to
 * it. Coverage requests: coverage.ts (`CoverageFsm`); application messages: messaging.ts; the
 * RPC methods of the claimant and the admin tools: admin_rpc.ts.
 */
import { getApl, getPrimaryApl, type AplEntry, type DocIdx } from './apl.js';
import { DEFAULT_RING_SIZE, validateRingSize } from './chash.js';
import { registerAdminRpc, type PlanView } from './admin_rpc.js';
import { Claimant, TransferReporter } from './claimant.js';
import {
  memberStatus as renderMemberStatus,
  memberStatusData,
  ringStatus as renderRingStatus,
  ringStatusData,
  type MemberRow,
  type RingStatusData,
} from './console.js';
import { connectAdmin } from './admin_client.js';
import { CoverageFsm, type CoverageOptions, type CoverageResult } from './coverage.js';
import { NodeDownError, RingError, TimeoutError } from './errors.js';
import { Gossip } from './gossip.js';
import { HandoffManager, type HandoffOptions } from './handoff.js';
import { createLogger, type Logger } from './log.js';
import { Messaging, type Subscriber } from './messaging.js';
import { NodeWatcher } from './node_watcher.js';
import { fresh, isReady, looksLikeRing, markSeen, memberStatus, members, type Ring } from './ring.js';
import { ringProblem } from './wire.js';
import type { TSchema } from '@sinclair/typebox';
import { RingManager } from './ring_manager.js';
import { Rpc } from './rpc.js';
import { Transport, type Frame, type PeerRole } from './transport.js';
import type { Sender, VnodeId, VnodeModule } from './vnode.js';
import { VnodeMaster } from './vnode_master.js';

/** Timing knobs, all in ms. Defaults suit both tests and a laptop cluster. */
export interface NodeTiming {
  /** Heartbeat period (default 250). */
  heartbeatMs?: number;
  /** Peer considered down after this long without a frame (default 1500). */
  downAfterMs?: number;
  /** Minimum time between two ring broadcasts (default 20). */
  gossipMinIntervalMs?: number;
  /** Period of random anti-entropy gossip (default 1000). */
  gossipPeriodMs?: number;
  /** Period of the claimant's tick (default 100). */
  claimantTickMs?: number;
  /** Period of the handoff manager's tick (default 200). */
  handoffTickMs?: number;
}

/** Options of {@link RingNode.start}. */
export interface RingNodeOptions {
  /** Node name, `name@host` by convention, e.g. `dev1@127.0.0.1`. Unique in the cluster. */
  name: string;
  /** Shared secret of the cluster (like Erlang's cookie). */
  cookie: string;
  /** Address to bind (default `127.0.0.1`). Use `0.0.0.0` only to let another machine join. */
  host?: string;
  /** Address other nodes should dial (default `host`, or 127.0.0.1 when binding 0.0.0.0). */
  advertiseHost?: string;
  /** Port for node-to-node traffic (default 0: ephemeral). */
  port?: number;
  /** Q for a fresh ring (default 64). A joining node adopts the cluster's. */
  ringSize?: number;
  /** Vnode services to run (each registered with the vnode master and the node watcher). */
  services?: readonly VnodeModule[];
  /** Start from this ring instead of a fresh one (e.g. read back from a ring file). */
  ring?: Ring;
  /** Save the ring here after every change. */
  ringFile?: string;
  /** Claim's target_n_val (default 4). */
  targetN?: number;
  /** Largest frame accepted from a peer, in bytes (default 8 MiB). */
  maxFrameBytes?: number;
  timing?: NodeTiming;
  /** Handoff tuning (batch sizes, concurrency, inactivity, retry); its tick is `timing.handoffTickMs`. */
  handoff?: HandoffOptions;
  /** Source of randomness for gossip target choice (default Math.random). */
  random?: () => number;
  log?: Logger;
}

export type { PlanView } from './admin_rpc.js';

export class RingNode {
  readonly name: string;
  readonly log: Logger;
  readonly transport: Transport;
  readonly watcher: NodeWatcher;
  readonly rpc: Rpc;
  readonly manager: RingManager;
  readonly gossip: Gossip;
  readonly claimant: Claimant;
  readonly vnodes: VnodeMaster;
  readonly handoff: HandoffManager;
  /** Batches this node's "transfer complete" reports to the claimant. */
  readonly transferReports: TransferReporter;
  private readonly messaging: Messaging;
  private readonly coverageFsm: CoverageFsm;
  private claimantTimer?: NodeJS.Timeout;
  private stopped = false;

  private constructor(
    private readonly opts: RingNodeOptions,
    initial: Ring,
  ) {
    this.name = opts.name;
    this.log = opts.log ?? createLogger(opts.name);
    const timing = opts.timing ?? {};
    this.transport = new Transport({
      node: opts.name,
      host: opts.host,
      port: opts.port,
      cookie: opts.cookie,
      advertiseHost: opts.advertiseHost,
      log: this.log,
      maxFrameBytes: opts.maxFrameBytes,
      heartbeatMs: timing.heartbeatMs,
      downAfterMs: timing.downAfterMs,
      heartbeat: () => this.watcher.heartbeat(),
    });
    this.watcher = new NodeWatcher(this.transport);
    const send = (node: string, frame: Frame) => this.transport.send(node, frame);
    this.rpc = new Rpc(opts.name, send, this.log, this.transport.refusals);
    this.manager = new RingManager(initial, opts.ringFile);
    this.gossip = new Gossip(
      {
        self: opts.name,
        manager: this.manager,
        send,
        isUp: (n) => this.watcher.isUp(n),
        log: this.log,
        random: opts.random,
        refusals: this.transport.refusals,
      },
      { minIntervalMs: timing.gossipMinIntervalMs, periodMs: timing.gossipPeriodMs },
    );
    this.claimant = new Claimant(opts.name, this.manager, (n) => this.watcher.isUp(n), this.log, {
      targetN: opts.targetN,
    });
    this.vnodes = new VnodeMaster({
      node: opts.name,
      ringSize: () => this.manager.ring.ringSize,
      send,
      log: this.log,
      forwardTo: (service, partition) => this.handoff.forwardTo(service, partition),
      notify: (node, topic, payload) => this.notify(node, topic, payload),
      refusals: this.transport.refusals,
    });
    this.handoff = new HandoffManager(
      {
        node: opts.name,
        ring: () => this.manager.ring,
        vnodes: this.vnodes,
        rpc: this.rpc,
        log: this.log,
        isUp: (node, service) => this.watcher.isUp(node) && this.watcher.services(node).includes(service),
        // Queued and sent in batches, one call per round (the reporter retries on its own).
        transferComplete: async (partition, nextOwner, services) =>
          this.transferReports.report(partition, nextOwner, services),
      },
      { tickMs: timing.handoffTickMs, ...opts.handoff },
    );
    this.transferReports = new TransferReporter({
      self: opts.name,
      ring: () => this.manager.ring,
      call: (node, method, args) => this.rpc.call(node, method, args),
      log: this.log,
      retryMs: timing.handoffTickMs ?? 200,
    });
    this.messaging = new Messaging(opts.name, send, this.log);
    this.coverageFsm = new CoverageFsm({
      ring: () => this.manager.ring,
      upNodes: (service) => this.upNodes(service),
      vnodes: this.vnodes,
    });
    for (const module of opts.services ?? []) this.registerService(module);
  }

  /**
   * Start a node: bind its port, start gossip, ticks and services.
   * @throws RangeError for a bad ring size; the listen error (e.g. EADDRINUSE) if the port is taken.
   */
  static async start(opts: RingNodeOptions): Promise<RingNode> {
    const ringSize = opts.ringSize ?? DEFAULT_RING_SIZE;
    validateRingSize(ringSize);
    if (opts.ring && !looksLikeRing(opts.ring)) throw new Error('opts.ring is not a ring');
    // The address is known only after listen; a fresh ring gets it right after.
    const node = new RingNode(opts, opts.ring ?? fresh(ringSize, opts.name, ''));
    await node.transport.listen();
    node.updateOwnAddr();
    node.wire();
    return node;
  }

  /** `host:port` other nodes and admin tools connect to (the advertised host). */
  get addr(): string {
    return this.transport.addr;
  }

  /** The current ring. */
  get ring(): Ring {
    return this.manager.ring;
  }

  private updateOwnAddr(): void {
    const ring = this.manager.ring;
    const me = ring.members[this.name];
    if (me && me.addr !== this.addr) {
      // Our own entry is ours to describe; it changes only our address.
      // Not versioned: if the port changed across a restart, peers learn it from our next
      // join; devrel and the test harness restart nodes on the same port.
      this.manager.set({ ...ring, members: { ...ring.members, [this.name]: { ...me, addr: this.addr } } }, true);
    }
  }

  private wire(): void {
    this.transport.on('frame', (from: string, frame: Frame, role: PeerRole, reply: (f: Frame) => void) => {
      if (this.rpc.handleFrame(from, frame, role, reply)) return;
      if (role !== 'node')
        return void this.log.warn(`client ${from} sent a "${frame.t}" frame; only calls are allowed`);
      if (
        this.gossip.handleFrame(from, frame) ||
        this.vnodes.handleFrame(from, frame) ||
        this.messaging.handleFrame(frame)
      )
        return;
      this.log.warn(`ignoring unknown frame "${frame.t}" from ${from}`);
    });
    // A node that dialled us can be dialled back: replies and heartbeats need our own link.
    // Not a member (yet): dialled back with backoff and forgotten if unreachable (transport.ts).
    this.transport.on('hello', (node: string, addr: string, role: PeerRole) => {
      if (role === 'node' && addr) {
        const member = (this.manager.ring.members[node]?.status ?? 'invalid') !== 'invalid';
        this.transport.addPeer(node, addr, { transient: !member });
      }
    });
    this.manager.on('ring', (ring: Ring, prev: Ring) => this.ringChanged(ring, prev));
    this.manager.on('save_error', (err: Error, attempt: number) => {
      if (attempt === 1 || attempt % 20 === 0)
        this.log.warn(`cannot save the ring file (${err.message}); trying again (attempt ${attempt})`);
    });
    // A link that opened: a ring gossip could not send to it goes now (a joiner learns the commit).
    this.watcher.on('up', (node: string) => this.gossip.peerUp(node));
    registerAdminRpc(this);
    this.gossip.start();
    this.handoff.start();
    this.claimantTimer = setInterval(() => this.claimantTick(), this.opts.timing?.claimantTickMs ?? 100);
    this.claimantTimer.unref();
    this.syncPeers(this.manager.ring);
  }

  private claimantTick(): void {
    try {
      this.claimant.maybeTakeOver();
      this.claimant.tick();
    } catch (err) {
      this.log.error(`claimant tick failed: ${(err as Error).stack ?? err}`);
    }
  }

  private ringChanged(ring: Ring, prev: Ring): void {
    // The claimant tells members it just removed, before their links go: gossip no longer
    // reaches them (riak's claimant does the same for exiting nodes it makes invalid).
    if (ring.claimant === this.name) {
      for (const node of members(prev)) {
        if (node !== this.name && memberStatus(ring, node) === 'invalid') this.gossip.sendRing(node, 'sync', ring);
      }
    }
    this.syncPeers(ring);
    const status = memberStatus(ring, this.name);
    const before = memberStatus(prev, this.name);
    if (status !== before) this.log.info(`member status ${before} -> ${status}`);
    // An exiting member stays in gossip until it is invalid: it must still see the versions
    // that finish the plan, or the ring is never ready again (riak_core_ring_handler ignores
    // `exiting`; the claimant's maybe_remove_exiting makes it invalid).
    if (status === 'invalid' && before !== 'invalid') this.leaveRing(status);
    this.claimantTick();
    this.handoff.ringChanged(ring);
  }

  /** Keep a connection to every member, and none to former members. */
  private syncPeers(ring: Ring): void {
    const wanted = new Set<string>();
    for (const [node, m] of Object.entries(ring.members)) {
      if (node === this.name || m.status === 'invalid' || !m.addr) continue;
      wanted.add(node);
      this.transport.addPeer(node, m.addr);
    }
    for (const node of this.transport.peerNames()) {
      if (!wanted.has(node) && ring.members[node]?.status === 'invalid') this.transport.removePeer(node);
    }
  }

  /**
   * We are no longer a member (left, or removed): tell the claimant we saw it,
   * drop our vnodes' data and start over as a cluster of one, like a fresh riak node.
   */
  private leaveRing(status: string): void {
    const ring = this.manager.ring;
    this.gossip.sendRing(ring.claimant, 'report', markSeen(ring, this.name));
    this.log.info(`left the cluster (${status}); starting over as a cluster of one`);
    for (const service of this.vnodes.services()) {
      for (const w of this.vnodes.running(service)) {
        void w.stop('left cluster');
        this.vnodes.forget(service, w.id.partition);
      }
    }
    setImmediate(() => {
      if (this.stopped) return;
      this.handoff.reset();
      this.manager.set(fresh(ring.ringSize, this.name, this.addr, ring.clusterName));
      for (const node of this.transport.peerNames()) this.transport.removePeer(node);
    });
  }

  // --- application messages (messaging.ts) ----------------------------------------------

  /**
   * Receive the payloads vnodes (or anyone) `notify` to `topic` on this node; with
   * `opts.payload`, a remote payload that does not fit that schema is dropped (messaging.ts).
   * @returns a function that unsubscribes.
   */
  subscribe(topic: string, handler: Subscriber, opts: { payload?: TSchema } = {}): () => void {
    return this.messaging.subscribe(topic, handler, opts);
  }

  /**
   * Send `payload` to `topic`'s subscribers on `node` (locally when `node` is us). Fire and
   * forget. @returns false if `node` is not connected.
   */
  notify(node: string, topic: string, payload: unknown): boolean {
    return this.messaging.notify(node, topic, payload);
  }

  // --- services and preference lists -----------------------------------------------------

  /** Run a vnode service here and advertise it (riak: `riak_core:register/1` + `service_up/2`). */
  registerService(module: VnodeModule): void {
    this.vnodes.register(module);
    this.watcher.serviceUp(module.service);
  }

  /** Up nodes (ourselves included), optionally only those offering `service`. */
  upNodes(service?: string): string[] {
    return this.watcher.upNodes(service);
  }

  /** Up primaries among the first `n` owners (riak: `riak_core_apl:get_primary_apl/3`). */
  getPrimaryApl(at: DocIdx, n: number, service: string): AplEntry[] {
    return getPrimaryApl(this.ring, at, n, this.upNodes(service));
  }

  /** Active preference list with fallbacks (riak: `riak_core_apl:get_apl_ann/3`). */
  getApl(at: DocIdx, n: number, service: string): AplEntry[] {
    return getApl(this.ring, at, n, this.upNodes(service));
  }

  /** Fire-and-forget command to vnodes (riak: `riak_core_vnode_master:command/4`). */
  command(preflist: readonly VnodeId[], request: unknown, sender: Sender, service: string): void {
    this.vnodes.command(preflist, request, sender, service);
  }

  /** Command one vnode and wait for its reply (riak: `sync_command/4`). See VnodeMaster. */
  syncCommand(target: VnodeId, request: unknown, service: string, timeoutMs?: number): Promise<unknown> {
    return this.vnodes.syncCommand(target, request, service, timeoutMs);
  }

  /** As {@link syncCommand} (riak: `sync_spawn_command/3`). */
  syncSpawnCommand(target: VnodeId, request: unknown, service: string, timeoutMs?: number): Promise<unknown> {
    return this.vnodes.syncSpawnCommand(target, request, service, timeoutMs);
  }

  /**
   * Ask every vnode of a coverage plan (`coveragePlan` over up primaries with replication `n`)
   * and gather their answers: the job of riak's `riak_core_coverage_fsm` (see
   * {@link CoverageFsm.run}). Each vnode's `handleCoverage(request, keyspaces, sender)` answers
   * for its key spaces only.
   * @returns the plan and one answer per plan vnode, in plan order.
   * @throws RingError `insufficient_vnodes`; TimeoutError (after `timeoutMs`, default 5000) if a
   *   vnode does not answer; RemoteError if one fails.
   */
  coverage(service: string, request: unknown, opts: CoverageOptions = {}): Promise<CoverageResult> {
    return this.coverageFsm.run(service, request, opts);
  }

  // --- membership (riak-admin cluster …) --------------------------------------------------

  /**
   * Stage this node joining the cluster of the node at `seedAddr` (`host:port`), like
   * `riak-admin cluster join`. The node becomes `joining`; `plan` + `commit` make it valid.
   * One attempt, with `opts.handshakeTimeoutMs` (default 3000) for the cookie handshake; join.ts
   * retries it.
   * @throws RingError `already_member` if this node is already in a cluster with others;
   *   connection errors if the seed cannot be reached or refuses our cookie.
   */
  async join(seedAddr: string, opts: { handshakeTimeoutMs?: number } = {}): Promise<void> {
    const others = members(this.ring).filter((n) => n !== this.name);
    if (others.length > 0)
      throw new RingError(
        'already_member',
        `${this.name} is already in a cluster with ${others.join(', ')}; leave it first`,
      );
    const conn = await connectAdmin(seedAddr, this.opts.cookie, this.name, opts);
    try {
      const ring = await conn.call('cluster.join_request', { node: this.name, addr: this.addr });
      const why = ringProblem(ring);
      if (why !== undefined)
        throw new Error(`${seedAddr} answered the join with a ring that is not well formed: ${why}`);
      this.gossip.adopt(markSeen(ring as Ring, this.name)); // the claimant's gossip brings it to everyone else
      this.log.info(`joining the cluster of ${conn.node} (claimant ${(ring as Ring).claimant})`);
    } finally {
      conn.close();
    }
  }

  /**
   * Call the claimant. @throws RingError `claimant_unreachable` (with what to do) when it is
   * not connected, or does not answer and is silent; whatever the claimant raises otherwise.
   */
  private async callClaimant(method: string, args: unknown = {}): Promise<unknown> {
    const claimant = this.ring.claimant;
    const unreachable = () =>
      new RingError(
        'claimant_unreachable',
        `the claimant ${claimant} is unreachable from ${this.name}; if it is gone, mark it down from any live member (down ${claimant}) and the next member takes over as claimant`,
      );
    try {
      return await this.rpc.call(claimant, method, args);
    } catch (err) {
      // Not connected, or connected but silent (a stopped process): either way, unreachable.
      if (err instanceof NodeDownError || (err instanceof TimeoutError && !this.watcher.isUp(claimant)))
        throw unreachable();
      throw err;
    }
  }

  /** Stage `node` (default: this node) leaving (riak: `cluster leave`). @throws RingError from the claimant. */
  async leave(node: string = this.name): Promise<void> {
    await this.callClaimant('claimant.stage_leave', { node });
  }

  /** Stage removing `node` without handoff (riak: `cluster remove`). @throws RingError from the claimant. */
  async remove(node: string): Promise<void> {
    await this.callClaimant('claimant.stage_remove', { node });
  }

  /**
   * Mark an unreachable member down, on this node's ring (riak: `riak-admin down`, i.e.
   * `riak_core:down/1`); gossip spreads it. Works without the claimant: if `node` was the
   * claimant, the next valid member takes over. See {@link Claimant.down} for the errors.
   */
  async down(node: string): Promise<void> {
    this.claimant.down(node);
  }

  /** What commit would do (riak: `cluster plan`). */
  async plan(): Promise<PlanView> {
    return (await this.callClaimant('claimant.plan')) as PlanView;
  }

  /** Apply the staged changes (riak: `cluster commit`). @throws RingError `nothing_staged`, `ring_not_ready`. */
  async commit(): Promise<PlanView> {
    return (await this.callClaimant('claimant.commit')) as PlanView;
  }

  /** Drop the staged changes (riak: `cluster clear`). */
  async clear(): Promise<void> {
    await this.callClaimant('claimant.clear');
  }

  // --- status ----------------------------------------------------------------------------

  /** riak's `member_status` table, as this node sees the ring. */
  memberStatus(): string {
    return renderMemberStatus(this.ring, (n) => this.watcher.isUp(n));
  }

  /** riak's `ring_status`, as this node sees the ring, plus the transfers leaving this node now. */
  ringStatus(): string {
    const text = renderRingStatus(this.ring, (n) => this.watcher.isUp(n), this.vnodes.services());
    const running = this.handoff.running();
    if (running.length === 0) return text;
    const lines = running.map(
      (t) =>
        `  ${t.kind.padEnd(9)} ${t.service} partition ${t.partition} -> ${t.target}: ${t.sentItems}/${t.items} items, ${(t.sentBytes / 1024).toFixed(1)} KiB`,
    );
    return [text, '', `Transfers leaving ${this.name} now:`, ...lines].join('\n');
  }

  /** member_status as data. */
  memberStatusData(): MemberRow[] {
    return memberStatusData(this.ring, (n) => this.watcher.isUp(n));
  }

  /** ring_status as data. */
  ringStatusData(): RingStatusData {
    return ringStatusData(this.ring, (n) => this.watcher.isUp(n));
  }

  /**
   * True when this node sees a settled cluster: every member `valid` and reachable, the
   * ring ready (every member has seen this version), and no transfers pending.
   */
  isSettled(): boolean {
    const ring = this.ring;
    const all = members(ring);
    return (
      isReady(ring) &&
      ring.next.length === 0 &&
      all.every((n) => ring.members[n]?.status === 'valid' && this.watcher.isUp(n))
    );
  }

  /** Stop the node: vnodes, timers, connections. Idempotent. Other nodes see it go down. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.claimantTimer);
    this.gossip.stop();
    this.transferReports.stop();
    this.manager.close();
    this.handoff.stop();
    this.rpc.close();
    await this.transport.close();
    await this.vnodes.stopAll('shutdown');
  }
}
