/**
 * In-process test clusters: K ring nodes in this process, each on its own loopback port,
 * talking over real WebSockets. Tests form them, wait for conditions with deadlines, and
 * kill and restart nodes.
 *
 *     const cluster = await TestCluster.start({ size: 3, services: () => [pingService] });
 *     ...
 *     await cluster.stop();
 */
import { commitWhenReady } from '../commit.js';
import { ringErrorCode } from '../errors.js';
import { createLogger } from '../log.js';
import type { HandoffOptions } from '../handoff.js';
import { RingNode, type NodeTiming } from '../node.js';
import type { Frame, LinkVerdict } from '../transport.js';
import { members, type Ring } from '../ring.js';
import * as vc from '../vclock.js';
import type { VnodeModule } from '../vnode.js';
import { waitFor, type WaitOptions } from './wait.js';

/** Timing for tests: fast failure detection and gossip so suites stay short. */
export const TEST_TIMING: Required<NodeTiming> = {
  heartbeatMs: 100,
  downAfterMs: 600,
  gossipMinIntervalMs: 10,
  gossipPeriodMs: 300,
  claimantTickMs: 50,
  handoffTickMs: 100,
};

/** Handoff for tests: short inactivity and retry so transfers start and recover quickly. */
export const TEST_HANDOFF: HandoffOptions = {
  inactivityMs: 50,
  retryMs: 200,
  batchTimeoutMs: 2000,
  progressEveryMs: 500,
};

/** Options of {@link TestCluster.start}. */
export interface TestClusterOptions {
  /** Number of nodes (default 3). */
  size?: number;
  /**
   * Services for each node; called at every node start (also after a restart) with the
   * node's name, so a test can hand a restarted node the same "disk" it had before.
   */
  services?: (node: string) => readonly VnodeModule[];
  /** Q (default 64). */
  ringSize?: number;
  /** Cookie shared by the nodes (default `test-cookie`). */
  cookie?: string;
  /** Join the nodes into one ring and wait until it settles (default true). */
  form?: boolean;
  timing?: NodeTiming;
  /** Handoff tuning, over {@link TEST_HANDOFF}. */
  handoff?: HandoffOptions;
  /** Deadline for forming (default 15 000 ms). */
  formTimeoutMs?: number;
}

interface Slot {
  name: string;
  port: number;
  node?: RingNode;
  /** The ring the node held when killed: what a riak node would read back from its ring file. */
  savedRing?: Ring;
}

/** A cluster of in-process nodes named `dev1@127.0.0.1`, `dev2@127.0.0.1`, … */
/** Decides the fate of a frame from node `from` to node `to` (the nemesis installs one). */
export type ClusterLinkFilter = (from: string, to: string, frame: Frame) => LinkVerdict;

export class TestCluster {
  private readonly slots: Slot[] = [];
  private filter?: ClusterLinkFilter;

  private constructor(private readonly opts: TestClusterOptions) {}

  /**
   * Start `size` nodes on 127.0.0.1 with ephemeral ports and (unless `form: false`) join them
   * into one ring and wait until it has settled.
   * @throws if a node fails to start or the ring does not settle within `formTimeoutMs`.
   */
  static async start(opts: TestClusterOptions = {}): Promise<TestCluster> {
    const cluster = new TestCluster(opts);
    try {
      for (let i = 0; i < (opts.size ?? 3); i++) await cluster.addNode();
      if (opts.form ?? true) await cluster.form(cluster.nodes, opts.formTimeoutMs);
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  /** Running nodes, in name order. */
  get nodes(): RingNode[] {
    return this.slots.flatMap((s) => (s.node ? [s.node] : []));
  }

  /** Names of every node ever started here (running or killed). */
  get names(): string[] {
    return this.slots.map((s) => s.name);
  }

  /** A running node by index (0-based, in start order) or name. @throws if it is not running. */
  node(which: number | string): RingNode {
    const slot = typeof which === 'number' ? this.slots[which] : this.slots.find((s) => s.name === which);
    if (!slot?.node) throw new Error(`node ${which} is not running`);
    return slot.node;
  }

  /** Start one more node (not joined to anything). */
  async addNode(): Promise<RingNode> {
    const slot: Slot = { name: `dev${this.slots.length + 1}@127.0.0.1`, port: 0 };
    this.slots.push(slot);
    return this.boot(slot);
  }

  private async boot(slot: Slot): Promise<RingNode> {
    const node = await RingNode.start({
      name: slot.name,
      cookie: this.opts.cookie ?? 'test-cookie',
      host: '127.0.0.1',
      port: slot.port,
      ringSize: this.opts.ringSize,
      services: this.opts.services?.(slot.name) ?? [],
      ring: slot.savedRing,
      timing: { ...TEST_TIMING, ...this.opts.timing },
      handoff: { ...TEST_HANDOFF, ...this.opts.handoff },
      log: createLogger(slot.name),
    });
    // Every frame this node sends passes the cluster's current filter (nemesis), if any.
    node.transport.setLinkFilter((to, frame) => this.filter?.(slot.name, to, frame) ?? 'deliver');
    slot.node = node;
    slot.port = Number(node.addr.split(':').pop());
    return node;
  }

  /** Install (or clear) the filter every node's outgoing frames pass; survives restarts. */
  setLinkFilter(filter: ClusterLinkFilter | undefined): void {
    this.filter = filter;
  }

  /**
   * Join `joiners` to the ring of the first node in `joiners` (or of `seed`), commit, and
   * wait until every node agrees and the ring has settled. Uses only the public admin API.
   */
  async form(joiners: readonly RingNode[], timeoutMs = 15_000, seed?: RingNode): Promise<void> {
    const [first, ...rest] = seed ? [seed, ...joiners] : joiners;
    if (!first) return;
    for (const n of rest) await n.join(first.addr);
    if (rest.length > 0) await this.commitWhenReady(first, timeoutMs);
    await this.waitSettled({ timeoutMs });
  }

  /**
   * Commit staged changes through `via`, retrying while it fails (see {@link commitWhenReady}):
   * while the claimant answers `ring_not_ready`, and while `via` cannot reach it yet.
   * @throws Error `timed out after <ms> ms waiting for a commit the claimant accepts` (with the
   *   last error unless it was `ring_not_ready`) after `timeoutMs` (default 15 000).
   */
  async commitWhenReady(via: RingNode, timeoutMs = 15_000): Promise<void> {
    await commitWhenReady(() => via.commit(), {
      timeoutMs,
      retryOn: 'any',
      intervalMs: 20,
      timeoutError: (last) =>
        new Error(
          `timed out after ${timeoutMs} ms waiting for a commit the claimant accepts${ringErrorCode(last) === 'ring_not_ready' ? '' : ` (last error: ${last.message})`}`,
        ),
    });
  }

  /**
   * Wait until every running node holds the same ring version, that ring's members are
   * exactly the running nodes (or `expectMembers`), and each node sees it settled.
   */
  async waitSettled(opts: WaitOptions & { expectMembers?: readonly string[] } = {}): Promise<void> {
    await waitFor(
      'the ring to settle on every node',
      () => {
        const nodes = this.nodes;
        const first = nodes[0];
        if (!first) return true;
        const expected = [...(opts.expectMembers ?? nodes.map((n) => n.name))].sort();
        return nodes.every(
          (n) =>
            vc.equal(n.ring.vclock, first.ring.vclock) &&
            n.ring.clusterId === first.ring.clusterId &&
            members(n.ring).join() === expected.join() &&
            n.isSettled(),
        );
      },
      { timeoutMs: opts.timeoutMs ?? 15_000 },
    );
  }

  /** Wait until every running node agrees on the ring version (a weaker condition). */
  async waitConverged(opts: WaitOptions = {}): Promise<void> {
    await waitFor(
      'every node to hold the same ring',
      () => {
        const [first, ...rest] = this.nodes;
        return (
          !first ||
          rest.every((n) => vc.equal(n.ring.vclock, first.ring.vclock) && n.ring.clusterId === first.ring.clusterId)
        );
      },
      opts,
    );
  }

  /**
   * Stop a node abruptly: its vnodes' in-memory data is gone, its ring is kept (as riak keeps
   * a ring file). Other nodes notice through missing heartbeats.
   */
  async kill(which: number | string): Promise<void> {
    const node = this.node(which);
    const slot = this.slots.find((s) => s.node === node) as Slot;
    slot.savedRing = node.ring;
    slot.node = undefined;
    await node.stop();
  }

  /** Start a killed node again on its old port with its saved ring (its vnodes start empty). */
  async restart(which: number | string): Promise<RingNode> {
    const slot = typeof which === 'number' ? this.slots[which] : this.slots.find((s) => s.name === which);
    if (!slot) throw new Error(`no node ${which}`);
    if (slot.node) throw new Error(`${slot.name} is running`);
    return this.boot(slot);
  }

  /** Stop every node. Safe to call twice. */
  async stop(): Promise<void> {
    await Promise.all(
      this.slots.map(async (s) => {
        const n = s.node;
        s.node = undefined;
        await n?.stop();
      }),
    );
  }
}
