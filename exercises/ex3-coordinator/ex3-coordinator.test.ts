/**
 * ex3-coordinator: quorum reads and writes over the active preference list.
 * Runs against exercises/ (npm test -- ex3) or solutions/ (npm run test:solutions -- ex3).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { fetch, ping, remove, store, type QuorumError } from '@ex/ex3-coordinator/coordinator.js';
import { Disk, kvService, newVersion, type Entry, type KvVnode } from '@ex/ex3-coordinator/kv_vnode.js';
import { chashKey } from '../../shared/chash.js';
import { NOT_FOUND, Workload } from '../../shared/harness/checker.js';
import { TestCluster } from '../../shared/harness/cluster.js';
import { Nemesis } from '../../shared/harness/nemesis.js';
import { testSeed } from '../../shared/harness/seed.js';
import { waitFor } from '../../shared/harness/wait.js';
import type { RingNode } from '../../shared/node.js';
import { preflist } from '../../shared/ring.js';

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

/** A cluster whose nodes keep their "disk" across kill/restart (a crash, not a wipe). */
async function start(size = 4): Promise<TestCluster> {
  const disks = new Map<string, Disk>();
  const disk = (name: string) => disks.get(name) ?? disks.set(name, new Disk()).get(name)!;
  return (cluster = await TestCluster.start({ size, services: (name) => [kvService(disk(name))] }));
}

/** The N primaries of `key`, in order (partition and owner). */
const primaries = (node: RingNode, key: string, n = 3) => preflist(node.ring, chashKey('kv', key)).slice(0, n);

/** The entry `node`'s vnode for `partition` holds for `key` (undefined if none or not started). */
async function stored(node: RingNode, partition: number, key: string): Promise<Entry | undefined> {
  const w = node.vnodes.running('kv').find((v) => v.id.partition === partition);
  return w?.run((v) => (v as unknown as KvVnode).get(key));
}

const seeDown = (c: TestCluster, victim: string) =>
  waitFor(`every other node to see ${victim} down`, () => c.nodes.every((n) => n.name === victim || !n.upNodes('kv').includes(victim)));
const seeAllUp = (c: TestCluster) =>
  waitFor('every node to see every node up', () => c.nodes.every((n) => n.upNodes('kv').length === c.nodes.length), { timeoutMs: 10_000 });

describe('ex3-coordinator: quorums', () => {
  it('stores with N=3, W=2 and reads back with R=2 from every node', async () => {
    const c = await start();
    const w = await store(c.node(0), 'planet', { name: 'mars' }, { n: 3, w: 2 });
    expect(w.answered.length).toBeGreaterThanOrEqual(2);
    for (const node of c.nodes) {
      expect(await fetch(node, 'planet', { n: 3, r: 2 })).toMatchObject({ found: true, value: { name: 'mars' } });
    }
    expect(await fetch(c.node(1), 'no-such-planet')).toMatchObject({ found: false });
  });

  it('deletes: a delete is newer than the value it removes', async () => {
    const c = await start();
    await store(c.node(0), 'doomed', 1, { w: 3 });
    await remove(c.node(1), 'doomed', { w: 2 });
    expect(await fetch(c.node(2), 'doomed', { r: 3 })).toMatchObject({ found: false });
    await store(c.node(3), 'doomed', 2);
    expect(await fetch(c.node(0), 'doomed', { r: 2 })).toMatchObject({ found: true, value: 2 });
  });

  it('rejects an invalid quorum before sending anything, naming the bad value', async () => {
    const c = await start(2);
    const node = c.node(0);
    const cases: [Parameters<typeof store>[3], string][] = [
      [{ n: 3, w: 4 }, 'w'],
      [{ n: 3, w: 0 }, 'w'],
      [{ n: 0, w: 1 }, 'n'],
      [{ n: 65, w: 2 }, 'n'],
      [{ n: 3, w: 1.5 }, 'w'],
    ];
    for (const [opts, param] of cases) {
      await expect(store(node, 'k', 'v', opts)).rejects.toMatchObject({ name: 'QuorumParamError', param, message: expect.stringContaining(param) });
    }
    await expect(fetch(node, 'k', { n: 2, r: 3 })).rejects.toMatchObject({ name: 'QuorumParamError', param: 'r' });
    await expect(fetch(node, 'k', { n: 3, r: 0 })).rejects.toMatchObject({ name: 'QuorumParamError', param: 'r' });
    expect(c.nodes.flatMap((n) => n.vnodes.running('kv'))).toEqual([]); // nothing was sent
  });

  it('pings 3 distinct partitions', async () => {
    const c = await start();
    const pongs = await ping(c.node(2), 3);
    expect(pongs).toHaveLength(3);
    expect(new Set(pongs.map((p) => p.partition)).size).toBe(3);
  });
});

describe('ex3-coordinator: sloppy quorum', () => {
  it('with one node down, a W=3 write succeeds through a fallback that really holds the value', async () => {
    const c = await start();
    const key = 'sloppy';
    const [, second] = primaries(c.node(0), key);
    const victim = second!.node;
    await c.kill(victim);
    await seeDown(c, victim);
    const coordinator = c.nodes[0]!;
    const result = await store(coordinator, key, 'still here', { n: 3, w: 3 });
    const fallbacks = result.answered.filter((a) => a.type === 'fallback');
    expect(fallbacks).toEqual([expect.objectContaining({ partition: second!.partition })]);
    expect(fallbacks[0]!.node).not.toBe(victim);
    const holder = c.node(fallbacks[0]!.node);
    expect(await stored(holder, fallbacks[0]!.partition, key)).toMatchObject({ value: 'still here', deleted: false });
    const read = await fetch(coordinator, key, { r: 3 });
    expect(read).toMatchObject({ found: true, value: 'still here' });
    expect(read.answered.map((a) => a.type).sort()).toEqual(['fallback', 'primary', 'primary']);
  });

  it('a partition that leaves too few vnodes reachable fails with a typed timeout, not a hang', async () => {
    const c = await start();
    const coordinator = c.node(0);
    // A key none of whose primaries lives on the coordinator: once cut off, nobody answers.
    const key = Array.from({ length: 500 }, (_, i) => `cut-${i}`).find((k) => primaries(coordinator, k).every((p) => p.node !== coordinator.name))!;
    // A key with exactly one replica on the coordinator: one answer is not W=2.
    const mine = Array.from({ length: 500 }, (_, i) => `own-${i}`).find(
      (k) => primaries(coordinator, k).filter((p) => p.node === coordinator.name).length === 1,
    )!;
    const nemesis = new Nemesis(c, testSeed('ex3 partition'));
    nemesis.isolate(coordinator.name);
    // Everything timed starts together, right after the cut and long before the coordinator
    // could notice the others are gone (then it would pick local fallbacks: sloppy quorum).
    const failed = (p: Promise<unknown>) => p.then(() => 'succeeded', (e: unknown) => e) as Promise<QuorumError>;
    const t0 = performance.now();
    const [err, readErr, one] = await Promise.all([
      failed(store(coordinator, key, 'lost?', { n: 3, w: 2, timeoutMs: 300 })),
      failed(fetch(coordinator, key, { r: 2, timeoutMs: 300 })),
      failed(store(coordinator, mine, 'half', { n: 3, w: 2, timeoutMs: 300 })),
    ]);
    const elapsed = performance.now() - t0;
    expect(err).toMatchObject({ name: 'QuorumError', code: 'timeout', needed: 2 });
    expect(err.asked).toHaveLength(3);
    expect(err.answered).toEqual([]);
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(300 + 1500);
    expect(readErr).toMatchObject({ code: 'timeout', needed: 2 });
    expect(one).toMatchObject({ code: 'timeout', needed: 2 });
    expect(one.answered).toEqual([expect.objectContaining({ node: coordinator.name, type: 'primary' })]);
    expect(one.replies).toHaveLength(1);
    // W=1 and R=1 are satisfied by the coordinator's own vnode.
    await store(coordinator, mine, 'one is enough', { n: 3, w: 1, timeoutMs: 300 });
    expect(await fetch(coordinator, mine, { n: 3, r: 1, timeoutMs: 300 })).toMatchObject({ found: true, value: 'one is enough' });
  });
});

describe('ex3-coordinator: merging replies', () => {
  /** Put `entry` straight into one vnode, bypassing the coordinator, to build divergent replicas. */
  const plant = (c: TestCluster, at: { partition: number; node: string }, key: string, entry: Entry) =>
    c.node(0).syncCommand(at, { type: 'put', key, entry }, 'kv');

  it('a value beats not found', async () => {
    const c = await start();
    const [p1] = primaries(c.node(0), 'lonely');
    await plant(c, p1!, 'lonely', { value: 'only here', version: newVersion('test'), deleted: false });
    const read = await fetch(c.node(1), 'lonely', { r: 3 });
    expect(read).toMatchObject({ found: true, value: 'only here' });
    expect(read.answered).toHaveLength(3);
  });

  it('between values the newest version wins; a newer tombstone means not found', async () => {
    const c = await start();
    const [p1, p2, p3] = primaries(c.node(0), 'contested');
    const v1 = newVersion('test');
    const v2 = newVersion('test');
    await plant(c, p1!, 'contested', { value: 'old', version: v1, deleted: false });
    await plant(c, p2!, 'contested', { value: 'old', version: v1, deleted: false });
    await plant(c, p3!, 'contested', { value: 'new', version: v2, deleted: false });
    expect(await fetch(c.node(2), 'contested', { r: 3 })).toMatchObject({ found: true, value: 'new', version: v2 });
    await plant(c, p1!, 'contested', { value: null, version: newVersion('test'), deleted: true });
    expect(await fetch(c.node(3), 'contested', { r: 3 })).toMatchObject({ found: false });
  });
});

describe('ex3-coordinator: checker (Jepsen style)', () => {
  it('never loses an acknowledged write while one node at a time is killed or cut off', { timeout: 60_000 }, async () => {
    const seed = testSeed('ex3 checker');
    const c = await start(4);
    const nemesis = new Nemesis(c, seed);
    let faulty: string | undefined;
    let sloppy = 0; // acknowledged writes that a fallback helped to acknowledge
    // Clients talk to the healthy side. (A client stuck with a cut-off node writes only to
    // that node's fallbacks; those writes come back with hinted handoff in exercise 4.)
    const workload = new Workload<RingNode>({
      seed,
      clients: 4,
      keysPerClient: 3,
      maxOps: 50_000,
      coordinators: () => c.nodes.filter((n) => n.name !== faulty),
      ops: {
        write: async (node, key, value) => {
          const r = await store(node, key, value, { n: 3, w: 2, timeoutMs: 500 });
          if (r.answered.some((a) => a.type === 'fallback')) sloppy++;
        },
        read: async (node, key) => {
          const r = await fetch(node, key, { n: 3, r: 2, timeoutMs: 500 });
          return r.found ? (r.value as string) : NOT_FOUND;
        },
      },
    });
    workload.start();
    try {
      await workload.progress(50);
      for (let round = 0; round < 4; round++) {
        const victim = nemesis.pick(c.names);
        faulty = victim;
        const kill = nemesis.int(2) === 0;
        if (kill) await nemesis.kill(victim);
        else nemesis.isolate(victim);
        await seeDown(c, victim); // from here on, writes go to fallbacks
        await workload.progress(100);
        // The last fault ends with the clients stopped: the victim's replicas stay stale, so
        // the final reads below must merge correctly to pass.
        if (round === 3) await workload.stop();
        if (kill) await nemesis.restart(victim);
        else nemesis.heal();
        await seeAllUp(c);
        const healed = performance.now();
        faulty = undefined;
        if (round === 3) break;
        await workload.drained(healed); // no operation spans two faults
        await workload.progress(50);
      }
    } finally {
      await workload.stop();
      nemesis.heal();
    }
    await seeAllUp(c);
    // Read every key through every node: a node that was down answers first from its own
    // (possibly stale) vnodes, which is where a wrong merge shows.
    const problems: string[] = [];
    for (const via of c.nodes) {
      const finals = new Map<string, string | typeof NOT_FOUND>();
      for (const key of workload.history.writtenKeys()) {
        const r = await fetch(via, key, { n: 3, r: 2, timeoutMs: 2000 });
        finals.set(key, r.found ? (r.value as string) : NOT_FOUND);
      }
      problems.push(...workload.history.check(finals).map((p) => `via ${via.name}: ${p}`));
    }
    const { acknowledged, failed, completed } = workload.history;
    console.log(
      `[ex3 checker] seed ${seed}: ${completed} ops, ${acknowledged} writes acknowledged (${sloppy} through a fallback), ${failed} failed; ` +
        `nemesis: ${nemesis.history.map((e) => e.what).join(', ')}`,
    );
    expect(acknowledged).toBeGreaterThan(100);
    expect(sloppy).toBeGreaterThan(0); // the faults really forced sloppy quorums
    expect(workload.phantomReads).toEqual([]);
    expect(problems).toEqual([]);
  });
});
