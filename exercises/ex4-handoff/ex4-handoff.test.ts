/**
 * ex4-handoff: data moves when the ring changes (ownership handoff) and when a primary comes
 * back (hinted handoff), while the store keeps answering.
 * Runs against exercises/ (npm test -- ex4) or solutions/ (npm run test:solutions -- ex4).
 *
 * Results are checked replica by replica, on the nodes' disks: a quorum read merges replicas
 * and would hide one that is stale or empty.
 */
import { describe, expect, it, type TestContext } from 'vitest';
import { fetch, remove, store, type QuorumError } from '../../solutions/ex3-coordinator/coordinator.js';
import { Disk, type Entry } from '../ex3-coordinator/kv_vnode.js';
import { kvService, type KvVnode } from '@ex/ex4-handoff/kv_vnode.js';
import { chashKey } from '../../shared/chash.js';
import { isBalanced } from '../../shared/claim.js';
import { inspectVnode } from '../../shared/harness/inspect.js';
import { TestCluster, type TestClusterOptions } from '../../shared/harness/cluster.js';
import { Nemesis } from '../../shared/harness/nemesis.js';
import { testSeed } from '../../shared/harness/seed.js';
import { AbortWait, waitFor } from '../../shared/harness/wait.js';
import type { RingNode } from '../../shared/node.js';
import { members, memberStatus, preflist, type Ring } from '../../shared/ring.js';
import type { Frame, LinkVerdict } from '../../shared/transport.js';

// The tests run one at a time: they are busy (thousands of writes and reads, transfers), and
// run together on a 2-core laptop they would starve the heartbeats of one another's nodes.

/** Every node's current disk, by name (a non-durable restart gets a new one). */
type Disks = Map<string, Disk>;

/**
 * Sees every frame between the nodes of the current cluster: records the transfers opened,
 * can delay the handoff batches of one partition, and leaves the rest to a nemesis, if any.
 */
class Wire {
  /** Every `handoff.open` sent: a transfer of a vnode that said it was not empty. */
  readonly opened: { from: string; to: string; partition: number }[] = [];
  nemesis?: Nemesis;
  /** While set, the handoff batches of `partition` (by default the first partition whose batch is seen) are delayed by `delayMs`. */
  hold?: { delayMs: number; partition?: number };

  readonly filter = (from: string, to: string, frame: Frame): LinkVerdict => {
    const call =
      frame.t === 'call' ? (frame as Frame & { method?: unknown; args?: { partition?: number } }) : undefined;
    if (call?.method === 'handoff.open') this.opened.push({ from, to, partition: call.args?.partition ?? -1 });
    if (call?.method === 'handoff.data' && this.hold && this.hold.delayMs > 0) {
      this.hold.partition ??= call.args?.partition;
      if (call.args?.partition === this.hold.partition) return { delayMs: this.hold.delayMs };
    }
    return this.nemesis?.verdict(from, to, frame) ?? 'deliver';
  };
}
/** What {@link start} gives a test: its cluster, the nodes' disks and the wire between them. */
interface World {
  readonly c: TestCluster;
  readonly disks: Disks;
  readonly wire: Wire;
}

/** A nemesis for `c` whose verdicts go through the wire. */
function nemesisFor({ c, wire }: World, seed: number): Nemesis {
  const nemesis = new Nemesis(c, seed); // installs itself as the link filter
  wire.nemesis = nemesis;
  c.setLinkFilter(wire.filter);
  return nemesis;
}

let clusters = 0;
/**
 * A cluster of `size` nodes for the test `t` alone, stopped when it ends. Nodes keep their Disk
 * across kill/restart when `durable`; otherwise a restart is empty. Each cluster has its own
 * cookie, so a node of one test never talks to a node of another that got a recycled port.
 */
async function start(t: TestContext, size: number, durable: boolean, extra: TestClusterOptions = {}): Promise<World> {
  const disks: Disks = new Map();
  const wire = new Wire();
  const services = (name: string) => {
    if (!durable || !disks.has(name)) disks.set(name, new Disk());
    return [kvService(disks.get(name))];
  };
  const c = await TestCluster.start({ size: 1, services, cookie: `ex4-${++clusters}`, ...extra });
  t.onTestFinished(() => c.stop());
  c.setLinkFilter(wire.filter);
  const others: RingNode[] = [];
  for (let i = 1; i < size; i++) others.push(await c.addNode());
  if (others.length > 0) {
    await joinAll(c, others);
    await settle(c); // forming moves (empty) partitions: a handoff already
  }
  return { c, disks, wire };
}

/** Stop waiting at once with the vnode's own error if a handoff callback is unfinished (a stub). */
function failOnStub(c: TestCluster): void {
  const stub = c.nodes.map((n) => n.handoff.stats.lastError).find((e) => e?.includes('is not done yet'));
  if (stub) throw new AbortWait(stub);
}
async function settle(c: TestCluster, timeoutMs = 30_000): Promise<void> {
  await waitFor(
    'every transfer to finish and the ring to settle',
    () => {
      failOnStub(c);
      return c.nodes.every((n) => n.isSettled() && members(n.ring).length === c.nodes.length);
    },
    { timeoutMs },
  );
  await c.waitSettled({ timeoutMs });
}

/** Run `fn` over `items`, `width` at a time. */
async function inBatches<T>(
  items: readonly T[],
  width: number,
  fn: (item: T, i: number) => Promise<void>,
): Promise<void> {
  for (let i = 0; i < items.length; i += width)
    await Promise.all(items.slice(i, i + width).map((x, j) => fn(x, i + j)));
}

async function joinAll(c: TestCluster, newcomers: readonly RingNode[]): Promise<void> {
  for (const n of newcomers) await n.join(c.node(0).addr);
  await c.commitWhenReady(c.node(0));
}

/**
 * Deadline of the requests that set a test up or check its result: generous, so that a busy
 * machine makes a test slow, not wrong (the coordinator's deadlines are ex3's subject).
 */
const SLOW = 5000;

const keys = (n: number, prefix = 'key') => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

/** The N=3 primaries of `key` in `ring`. */
const primaries = (ring: Ring, key: string) => preflist(ring, chashKey('kv', key)).slice(0, 3);

/** What `node`'s kv vnode for `partition` holds for `key` (undefined: nothing or no vnode). */
async function held(node: RingNode, partition: number, key: string) {
  return inspectVnode(node, 'kv', partition, (v: KvVnode) => v.data.get(key));
}

/** A failed request's message, with the first error a vnode answered (e.g. an unfinished step). */
function why(err: Error): string {
  const failed = ((err as Partial<QuorumError>).replies ?? []).flatMap((r) =>
    r.reply.ok ? [] : [r.reply.error.message],
  );
  return failed.length > 0 ? `${err.message}; ${failed.length} vnode(s) failed: ${failed[0]}` : err.message;
}

/** Expected content of a replica: a value, or a tombstone. */
const TOMBSTONE = Symbol('tombstone');
const describeEntry = (e: Entry | undefined) =>
  e === undefined ? 'nothing' : e.deleted ? 'a tombstone' : JSON.stringify(e.value);

/**
 * Every replica (the 3 primaries in `ring`, read from their disks) of every key in `expected`
 * that does not hold the expected value or tombstone, and how many replicas were checked.
 */
function staleReplicas(
  disks: Disks,
  ring: Ring,
  expected: Iterable<readonly [string, unknown]>,
): { checked: number; stale: string[] } {
  let checked = 0;
  const stale: string[] = [];
  for (const [key, want] of expected) {
    for (const p of primaries(ring, key)) {
      checked++;
      const entry = disks.get(p.node)?.partition(p.partition).get(key);
      const ok =
        want === TOMBSTONE ? entry?.deleted === true : entry !== undefined && !entry.deleted && entry.value === want;
      if (!ok)
        stale.push(
          `${key} on ${p.partition}@${p.node}: expected ${want === TOMBSTONE ? 'a tombstone' : JSON.stringify(want)}, holds ${describeEntry(entry)}`,
        );
    }
  }
  return { checked, stale };
}

/** Assert that every replica of every key holds what `expected` says. */
function expectEveryReplica(
  disks: Disks,
  ring: Ring,
  expected: Iterable<readonly [string, unknown]>,
  count: number,
): void {
  const { checked, stale } = staleReplicas(disks, ring, expected);
  expect(stale.slice(0, 5), `${stale.length} of ${checked} replicas do not hold the newest write`).toEqual([]);
  expect(checked).toBe(count * 3);
}

/**
 * Partitions whose data is still on `node`'s disk although `ring` gives them to another node
 * (a vnode that handed its data off must delete it), as "partition: n entries".
 */
function leftovers(disks: Disks, ring: Ring, node: string): string[] {
  const disk = disks.get(node);
  if (!disk) throw new Error(`no disk for ${node}`);
  return ring.owners.flatMap((owner, p) =>
    owner !== node && disk.partition(p).size > 0 ? [`${p}: ${disk.partition(p).size} entries`] : [],
  );
}

describe('ex4-handoff: ownership handoff', () => {
  it('1,500 keys on one node: two nodes join, nothing is lost, every replica moves, ownership is balanced, the old owner keeps no copy', {
    timeout: 90_000,
  }, async (ctx) => {
    const w = await start(ctx, 1, false);
    const { c, disks } = w;
    const all = keys(1500);
    await inBatches(all, 100, async (k, i) => void (await store(c.node(0), k, i, { n: 3, w: 2, timeoutMs: SLOW })));
    const dev1 = c.node(0);
    const before = c.node(0).ring.owners.filter((_, p) => disks.get(dev1.name)!.partition(p).size > 0).length;
    expect(before).toBe(64); // dev1 held data in every partition
    await joinAll(c, [await c.addNode(), await c.addNode()]);
    await settle(c);
    const ring = c.node(0).ring;
    expect(isBalanced(ring.owners, c.names)).toBe(true);
    expectEveryReplica(
      disks,
      ring,
      all.map((k, i) => [k, i] as const),
      all.length,
    );
    // And through every node, the way a client sees it (every 10th key: the replicas are checked above).
    const sample = all.flatMap((k, i) => (i % 10 === 0 ? [[k, i] as const] : []));
    for (const node of c.nodes) {
      let read = 0;
      await inBatches(sample, 100, async ([k, i]) => {
        const r = await fetch(node, k, { n: 3, r: 2, timeoutMs: SLOW });
        if (!r.found || r.value !== i)
          throw new Error(`${k} via ${node.name}: expected ${i}, got ${JSON.stringify(r)}`);
        read++;
      });
      expect(read).toBe(sample.length);
    }
    // dev1 gave partitions away: their data is gone from its disk (delete() emptied the vnodes).
    const givenAway = ring.owners.filter((o) => o !== dev1.name).length;
    expect(givenAway).toBeGreaterThan(30);
    expect(leftovers(disks, ring, dev1.name), `partitions dev1 gave away whose data it still holds`).toEqual([]);
    expect(c.nodes.reduce((n, x) => n + x.handoff.stats.itemsReceived, 0)).toBeGreaterThan(all.length);
  });

  it('a node leaves a 3-node cluster holding data: nothing is lost, it keeps no copy, ends invalid and on its own; empty vnodes were never transferred', {
    timeout: 60_000,
  }, async (ctx) => {
    const w = await start(ctx, 3, false);
    const { c, disks, wire } = w;
    // Forming the cluster moved partitions that held nothing: isEmpty() said so, no transfer opened.
    expect(
      wire.opened,
      'transfers opened while forming a cluster that holds no data (an empty vnode has nothing to hand off)',
    ).toEqual([]);
    const all = keys(600);
    await inBatches(all, 100, async (k, i) => void (await store(c.node(0), k, i, { timeoutMs: SLOW })));
    const leaver = c.node(2);
    await leaver.leave();
    await c.commitWhenReady(c.node(0));
    await waitFor(
      'dev3 to be gone',
      () => {
        failOnStub(c);
        return (
          memberStatus(c.node(0).ring, leaver.name) === 'invalid' && c.node(0).isSettled() && c.node(1).isSettled()
        );
      },
      { timeoutMs: 30_000 },
    );
    expect(members(leaver.ring)).toEqual([leaver.name]);
    const ring = c.node(0).ring;
    expectEveryReplica(
      disks,
      ring,
      all.map((k, i) => [k, i] as const),
      all.length,
    );
    expect(wire.opened.filter((t) => t.from === leaver.name).length, 'transfers the leaver opened').toBeGreaterThan(0);
    expect(leftovers(disks, ring, leaver.name), 'partitions the leaver handed off whose data it still holds').toEqual(
      [],
    );
    for (const node of [c.node(0), c.node(1)]) {
      await inBatches(all, 100, async (k, i) =>
        expect(await fetch(node, k, { r: 2, timeoutMs: SLOW })).toMatchObject({ found: true, value: i }),
      );
    }
  });
});

describe('ex4-handoff: hinted handoff', () => {
  it('writes that went to fallbacks return to the restarted primary; the fallbacks keep no copy', {
    timeout: 60_000,
  }, async (ctx) => {
    const w = await start(ctx, 4, false);
    const { c, disks } = w;
    const victim = 'dev2@127.0.0.1';
    await c.kill(victim);
    await waitFor('the others to see dev2 down', () => c.nodes.every((n) => !n.upNodes('kv').includes(victim)));
    const written = keys(200, 'hint').filter((k) => primaries(c.node(0).ring, k).some((e) => e.node === victim));
    const fallbacks = new Set<string>();
    for (const k of written) {
      const r = await store(c.node(0), k, `v-${k}`, { n: 3, w: 3, timeoutMs: SLOW });
      for (const a of r.answered) if (a.type === 'fallback') fallbacks.add(`${a.partition}@${a.node}`);
    }
    expect(written.length).toBeGreaterThan(50);
    expect(fallbacks.size).toBeGreaterThan(0);
    const primary = await c.restart(victim); // empty: a new Disk
    await waitFor(
      'dev2 to hold every write, and the fallback vnodes to be gone',
      async () => {
        failOnStub(c);
        for (const k of written) {
          const mine = primaries(primary.ring, k).filter((e) => e.node === victim);
          for (const e of mine) if ((await held(primary, e.partition, k))?.value !== `v-${k}`) return false;
        }
        return [...fallbacks].every((f) => {
          const at = f.indexOf('@');
          const [p, node] = [Number(f.slice(0, at)), f.slice(at + 1)];
          return !c
            .node(node)
            .vnodes.running('kv')
            .some((w) => w.id.partition === p);
        });
      },
      { timeoutMs: 30_000 },
    );
    expect(c.nodes.some((n) => n.handoff.stats.completed > 0)).toBe(true);
    const ring = c.node(0).ring;
    expectEveryReplica(
      disks,
      ring,
      written.map((k) => [k, `v-${k}`] as const),
      written.length,
    );
    for (const node of c.names)
      expect(leftovers(disks, ring, node), `fallback data still on ${node}'s disk after handing it back`).toEqual([]);
  });

  it('after a split where both sides wrote, every replica ends with the newest write: the primary keeps its newer values and gets the values and deletes it missed', {
    timeout: 60_000,
  }, async (ctx) => {
    const w = await start(ctx, 4, true);
    const { c, disks } = w;
    const victim = 'dev2@127.0.0.1';
    const ring = c.node(0).ring;
    const ks = keys(300, 'split').filter((k) => primaries(ring, k).some((p) => p.node === victim));
    // One of dev2's partitions whose keys are all deleted during the split: its fallback holds tombstones only.
    const gone = primaries(ring, ks[0]!).find((p) => p.node === victim)!.partition;
    const deleted = ks.filter((k) => primaries(ring, k).some((p) => p.partition === gone));
    const rest = ks.filter((k) => !deleted.includes(k));
    const theirs = rest.filter((_, i) => i % 2 === 0); // written during the split by the majority only
    const mine = rest.filter((_, i) => i % 2 === 1); // written by the majority, then (newer) by dev2
    expect(
      [deleted.length, theirs.length, mine.length].every((n) => n >= 5),
      `${deleted.length}/${theirs.length}/${mine.length} keys`,
    ).toBe(true);
    await inBatches(ks, 50, async (k) => void (await store(c.node(0), k, 'v0', { w: 3, timeoutMs: SLOW })));

    const nemesis = nemesisFor(w, testSeed('ex4 split'));
    nemesis.isolate(victim);
    await waitFor('both sides to see the split', () =>
      c.nodes.every((n) => (n.name === victim ? n.upNodes('kv').length === 1 : !n.upNodes('kv').includes(victim))),
    );
    const majority = c.node(0);
    await inBatches(rest, 25, async (k) => void (await store(majority, k, 'v1', { w: 3, timeoutMs: SLOW })));
    await inBatches(deleted, 25, async (k) => void (await remove(majority, k, { w: 3, timeoutMs: SLOW })));
    // dev2 takes newer writes on its own side: its primary vnode and its own fallbacks.
    await inBatches(mine, 25, async (k) => void (await store(c.node(victim), k, 'v2', { w: 3, timeoutMs: SLOW })));
    nemesis.heal();

    await waitFor(
      'every fallback vnode to hand its data back and stop',
      () => {
        failOnStub(c);
        const ring = c.node(0).ring;
        return c.nodes.every(
          (n) =>
            n.upNodes('kv').length === 4 &&
            n.handoff.running().length === 0 &&
            n.vnodes.running('kv').every((w) => ring.owners[w.id.partition] === n.name),
        );
      },
      { timeoutMs: 30_000 },
    );
    const expected = [
      ...theirs.map((k) => [k, 'v1'] as const),
      ...mine.map((k) => [k, 'v2'] as const),
      ...deleted.map((k) => [k, TOMBSTONE] as const),
    ];
    expectEveryReplica(disks, ring, expected, ks.length);
    for (const node of c.names)
      expect(leftovers(disks, ring, node), `fallback data still on ${node}'s disk after handing it back`).toEqual([]);
  });
});

describe('ex4-handoff: failures and requests during transfers', () => {
  it('a transfer whose receiver is killed midway is cancelled and retried: nothing lost, nothing stale', {
    timeout: 90_000,
  }, async (ctx) => {
    const seed = testSeed('ex4 receiver killed');
    const w = await start(ctx, 1, true, { handoff: { batchItems: 2, retryMs: 300 } });
    const { c, disks } = w;
    const all = keys(600);
    await inBatches(all, 100, async (k) => void (await store(c.node(0), k, 'stale', { timeoutMs: SLOW })));
    await inBatches(all, 100, async (k, i) => void (await store(c.node(0), k, i, { timeoutMs: SLOW })));
    const nemesis = nemesisFor(w, seed);
    const receiver = await c.addNode();
    // Slow, small batches: a partition takes several windows of batches (handoff's batchWindow),
    // so the kill below lands while a transfer has sent part of its items and not the rest.
    nemesis.latency(c.node(0).name, receiver.name, 100);
    await joinAll(c, [receiver]);
    await waitFor(
      'dev2 to receive part of a partition while dev1 still sends the rest',
      () => {
        failOnStub(c);
        return (
          receiver.handoff.stats.itemsReceived > 0 &&
          c
            .node(0)
            .handoff.running()
            .some((t) => t.target === receiver.name && t.sentItems > 0 && t.sentItems < t.items)
        );
      },
      { timeoutMs: 30_000 },
    );
    await c.kill(receiver.name);
    if (c.node(0).ring.next.length === 0)
      throw new Error(
        'this machine is too slow for this test: every transfer finished before dev2 could be killed midway',
      );
    await waitFor('dev1 to cancel a transfer', () => c.node(0).handoff.stats.failed > 0, { timeoutMs: 15_000 });
    expect(c.node(0).ring.next.length).toBeGreaterThan(0); // the transfers were not all done
    await waitFor('dev1 to see dev2 down', () => !c.node(0).upNodes('kv').includes(receiver.name));
    expect(await fetch(c.node(0), all[0]!, { r: 2, timeoutMs: SLOW })).toMatchObject({ found: true, value: 0 }); // still serving
    nemesis.heal();
    await c.restart(receiver.name);
    await settle(c, 60_000);
    const ring = c.node(0).ring;
    expectEveryReplica(
      disks,
      ring,
      all.map((k, i) => [k, i] as const),
      all.length,
    );
    expect(leftovers(disks, ring, c.node(0).name), 'partitions dev1 handed off whose data it still holds').toEqual([]);
    // And through every node, the way a client sees it (every 5th key: the replicas are checked above).
    const sample = all.flatMap((k, i) => (i % 5 === 0 ? [[k, i] as const] : []));
    for (const node of c.nodes) {
      let read = 0;
      await inBatches(sample, 100, async ([k, i]) => {
        const r = await fetch(node, k, { r: 2, timeoutMs: SLOW });
        if (!r.found || r.value !== i)
          throw new Error(`${k} via ${node.name}: expected ${i}, got ${JSON.stringify(r)}`);
        read++;
      });
      expect(read).toBe(sample.length);
    }
  });

  it('during a transfer, reads are answered by the sender and writes reach the new owner, where later batches do not undo them', {
    timeout: 90_000,
  }, async (ctx) => {
    const w = await start(ctx, 2, false, { handoff: { batchItems: 5 } });
    const { c, disks, wire } = w;
    const all = keys(600);
    await inBatches(all, 100, async (k) => void (await store(c.node(0), k, 'before', { w: 3, timeoutMs: SLOW })));
    // Hold the batches of the first partition to start moving: each arrives 500 ms after it was sent.
    const hold: { delayMs: number; partition?: number } = { delayMs: 500 };
    wire.hold = hold;
    const newcomer = await c.addNode();
    await joinAll(c, [newcomer]);
    const sending = await waitFor(
      'a transfer to send its first batch',
      () => {
        failOnStub(c);
        if (hold.partition === undefined) return undefined;
        return c.nodes
          .flatMap((n) => n.vnodes.running('kv'))
          .find((w) => w.id.partition === hold.partition && w.handoffTarget !== undefined);
      },
      { timeoutMs: 15_000 },
    );
    const moving = sending.id.partition;
    const target = sending.handoffTarget!;
    const ringBefore = c.node(0).ring;
    const ofMoving = all.filter((k) => primaries(ringBefore, k).some((p) => p.partition === moving));
    const readOnly = ofMoving.filter((_, i) => i % 2 === 0);
    const rewritten = ofMoving.filter((_, i) => i % 2 === 1);
    expect(readOnly.length).toBeGreaterThan(3);
    expect(rewritten.length).toBeGreaterThan(3);

    // Reads: partition `moving` answers from the sender, which has every key; the target has
    // not received them yet.
    const fromMoving: string[] = [];
    await inBatches(readOnly, 20, async (k, i) => {
      fromMoving[i] = await fetch(c.node(0), k, { r: 3, timeoutMs: SLOW }).then(
        (r) => `${k}: ${describeEntry(r.entries.find((e) => e.from.partition === moving)?.entry ?? undefined)}`,
        (err: Error) => `${k}: the read failed: ${why(err)}`,
      );
    });
    expect(fromMoving).toEqual(readOnly.map((k) => `${k}: "before"`));
    // Writes with W=3: nothing is down, so the replica being handed off must acknowledge too.
    const failures: string[] = [];
    await inBatches(rewritten, 20, async (k, i) => {
      await store(c.node(i % 2), k, `during-${k}`, { w: 3, timeoutMs: SLOW }).catch(
        (err: Error) => void failures.push(`${k}: ${why(err)}`),
      );
    });
    expect(failures.slice(0, 3), 'W=3 writes to the partition being handed off').toEqual([]);
    if (sending.handoffTarget !== target || sending.forwardingTo !== undefined) {
      throw new Error(
        `this machine is too slow for this test: the transfer of partition ${moving} ended before the reads and writes made during it were done`,
      );
    }
    hold.delayMs = 0; // let the rest of the transfer go
    // Every other key is rewritten while the other partitions move.
    const others = all.filter((k) => !ofMoving.includes(k));
    await inBatches(others, 20, async (k, i) => {
      await store(c.node(i % 2), k, `during-${k}`, { w: 3, timeoutMs: SLOW }).catch(
        (err: Error) => void failures.push(`${k}: ${why(err)}`),
      );
    });
    expect(failures.slice(0, 3), 'W=3 writes while the other partitions move').toEqual([]);
    await settle(c, 60_000);
    expect(c.node(0).ring.owners[moving]).toBe(target);
    const ring = c.node(0).ring;
    const expected = all.map((k) => [k, readOnly.includes(k) ? 'before' : `during-${k}`] as const);
    expectEveryReplica(disks, ring, expected, all.length);
    for (const node of c.names)
      expect(leftovers(disks, ring, node), `partitions ${node} handed off whose data it still holds`).toEqual([]);
  });
});
