/**
 * Rows `gossip-16/32/64` and `form-64`, on in-process TestClusters with {@link ROOM_TIMING}
 * (heartbeats every second, as on a room of laptops; not the test timing's 100 ms: 64 nodes
 * sharing one event loop would spend it on 40k heartbeats a second, all-to-all like Erlang
 * distribution, and see each other down). A repetition at size N: a fresh node joins a settled ring of
 * N - 1 (join, then commit through dev1, retried while the ring is not ready), timed from the
 * accepted commit until every node holds the same ring with the N members and sees it settled
 * (polled every 5 ms); then it leaves again (not timed) so the next repetition starts from
 * N - 1. `form-64`: 64 fresh nodes, 63 joins and one commit, until settled. Joins are retried
 * when one fails (a seed busy with 63 in-process peers can miss a 3 s handshake deadline). Anchor: a one-hop
 * broadcast of the cluster's ring (msgpack) to N - 1 plain ws peers in the same process.
 */
import { startBroadcastPeers, type BroadcastPeers } from './broadcast.js';
import { NOT_RUN, QUICK_SKIPPED, type AnchorId } from './rows.js';
import { cleanup, messageOf, withDeadline, type StepContext } from './runner.js';
import type { Runtime } from './runtime.js';
import { formatMs } from './stats.js';

type Cluster = Awaited<ReturnType<Runtime['cluster']['TestCluster']['start']>>;
type Node = Cluster['nodes'][number];

/** Deadline of one join or leave (ms). */
const STEP_MS = 180_000;
/** Deadline of forming a cluster: 63 joins, one commit, settling (ms). */
const FORM_MS = 600_000;
/** Node timing of the gossip rows (ms): one heartbeat a second, down after 60 s of silence. */
const ROOM_TIMING = { heartbeatMs: 1000, downAfterMs: 60_000, gossipPeriodMs: 1000 };
/** Broadcasts per repetition (each is a sample of the anchor). */
const BROADCASTS = 5;

/** Every running node holds the same ring, with exactly `expected` as members, and sees it settled. */
function settled(rt: Runtime, nodes: readonly Node[], expected: readonly string[]): boolean {
  const first = nodes[0];
  if (!first) return true;
  const want = [...expected].sort().join();
  return nodes.every(
    (n) =>
      rt.vclock.equal(n.ring.vclock, first.ring.vclock) &&
      n.ring.clusterId === first.ring.clusterId &&
      rt.ring.members(n.ring).join() === want &&
      n.isSettled(),
  );
}

async function waitSettled(rt: Runtime, cluster: Cluster, what: string, nodes?: () => Node[]): Promise<void> {
  await rt.wait.waitFor(
    what,
    () => {
      const ns = nodes?.() ?? cluster.nodes;
      return settled(
        rt,
        ns,
        ns.map((n) => n.name),
      );
    },
    { timeoutMs: STEP_MS, intervalMs: 5 },
  );
}

/**
 * `node.join(seedAddr)`, retried until `deadline` (Date.now() ms) when it fails: a seed busy
 * with 63 in-process peers may miss the 3 s handshake deadline of one attempt.
 * @throws the last join error at the deadline.
 */
async function joinRetrying(node: Node, seedAddr: string, deadline: number): Promise<void> {
  for (;;) {
    try {
      return await node.join(seedAddr);
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/**
 * Join every node to the first, commit once, wait until settled (TestCluster.form, with retried
 * joins); `say` gets a line every 8 joins, so a slow formation shows how far it got.
 */
async function formAll(rt: Runtime, cluster: Cluster, say: (line: string) => void): Promise<void> {
  const t0 = performance.now();
  const deadline = Date.now() + FORM_MS;
  const [seed, ...rest] = cluster.nodes as [Node, ...Node[]];
  for (const [i, n] of rest.entries()) {
    await joinRetrying(n, seed.addr, deadline);
    if ((i + 1) % 8 === 0 && i + 1 < rest.length)
      say(`${i + 1}/${rest.length} joins staged after ${formatMs(performance.now() - t0)}`);
  }
  await cluster.commitWhenReady(seed, Math.max(1000, deadline - Date.now()));
  await waitSettled(rt, cluster, `${cluster.nodes.length} nodes to settle after forming`);
}

/** One node joins through `seed`; ms from the accepted commit until settled everywhere. */
async function timedJoin(rt: Runtime, cluster: Cluster): Promise<number> {
  const seed = cluster.node(0);
  const joiner = await cluster.addNode();
  await joinRetrying(joiner, seed.addr, Date.now() + STEP_MS);
  await cluster.commitWhenReady(seed, STEP_MS);
  const t0 = performance.now();
  await waitSettled(rt, cluster, `the ring to settle after ${joiner.name} joined`);
  return performance.now() - t0;
}

/** The last node leaves (not timed) and is stopped once the others settled without it. */
async function leaveOne(rt: Runtime, cluster: Cluster): Promise<void> {
  const nodes = cluster.nodes;
  const leaver = nodes[nodes.length - 1] as Node;
  const seed = cluster.node(0);
  await leaver.leave();
  await cluster.commitWhenReady(seed, STEP_MS);
  const others = () => cluster.nodes.filter((n) => n !== leaver);
  await waitSettled(rt, cluster, `the ring to settle after ${leaver.name} left`, others);
  await cluster.kill(leaver.name);
}

export async function benchGossip(ctx: StepContext): Promise<void> {
  const { progress, results } = ctx;
  const rt = await ctx.runtime();
  const sizes = ctx.sizes ?? (ctx.quick ? [16] : [16, 32, 64]);
  const reps = ctx.reps ?? (ctx.quick ? 2 : 3);
  for (const size of [16, 32, 64]) {
    if (sizes.includes(size)) continue;
    const rows = size === 64 ? [`gossip-${size}`, 'form-64'] : [`gossip-${size}`];
    results.note(rows, ctx.quick && !ctx.sizes ? QUICK_SKIPPED : NOT_RUN);
  }
  for (const size of sizes) {
    const step = `gossip${size}`;
    const row = `gossip-${size}`;
    const anchor = `broadcast${size}` as AnchorId;
    let cluster: Cluster | undefined;
    let peers: BroadcastPeers | undefined;
    try {
      if (size === 64) {
        progress.line(step, 'forming a 64-node cluster (63 joins, one commit): row form-64');
        cluster = await withDeadline(
          'starting 64 nodes',
          STEP_MS,
          rt.cluster.TestCluster.start({ size: 64, form: false, timing: ROOM_TIMING }),
        );
        const c = cluster;
        const t0 = performance.now();
        await withDeadline(
          'forming a 64-node cluster',
          FORM_MS + STEP_MS,
          formAll(rt, c, (line) => progress.line(step, line)),
        );
        const ms = performance.now() - t0;
        results.add('form-64', ms);
        progress.line(step, `formed 64 nodes in ${formatMs(ms)}`);
      } else {
        progress.line(step, `forming a ${size - 1}-node cluster (not timed)`);
        cluster = await withDeadline(
          `starting ${size - 1} nodes`,
          STEP_MS,
          rt.cluster.TestCluster.start({ size: size - 1, form: false, timing: ROOM_TIMING }),
        );
        const c = cluster;
        await withDeadline(
          `forming ${size - 1} nodes`,
          FORM_MS + STEP_MS,
          formAll(rt, c, (line) => progress.line(step, line)),
        );
      }
      const c = cluster;
      peers = await startBroadcastPeers(size - 1);
      for (let rep = 1; rep <= reps; rep++) {
        const ring = c.node(0).ring;
        const anchorMs: number[] = [];
        for (let i = 0; i < BROADCASTS; i++) {
          const ms = await withDeadline('a one-hop broadcast', 30_000, peers.broadcast(ring));
          anchorMs.push(ms);
          results.addAnchor(anchor, ms);
        }
        if (c.nodes.length === size) {
          progress.line(step, `rep ${rep}/${reps}: one node leaves first (not timed)`);
          await withDeadline('a node leaving', STEP_MS + 5000, leaveOne(rt, c));
        }
        const ms = await withDeadline(`a join at ${size} nodes`, STEP_MS + 5000, timedJoin(rt, c));
        results.add(row, ms);
        progress.line(
          step,
          `rep ${rep}/${reps}: join committed → settled at ${size} nodes in ${formatMs(ms)}; one-hop broadcast ${anchorMs.map(formatMs).join(', ')}`,
        );
      }
    } catch (err) {
      results.note(
        size === 64 && !results.rows().find((r) => r.spec.id === 'form-64')?.figure ? ['form-64', row] : row,
        messageOf(err),
      );
      progress.warn(step, messageOf(err));
    } finally {
      if (peers)
        await cleanup(progress, step, 'closing the broadcast peers', 10_000, () => (peers as BroadcastPeers).close());
      if (cluster) await cleanup(progress, step, `stopping ${size} nodes`, 60_000, () => (cluster as Cluster).stop());
    }
  }
}
