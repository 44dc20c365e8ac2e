/**
 * ex3-coordinator: quorum reads and writes over the active preference list.
 * Runs against exercises/ (npm test -- ex3) or solutions/ (npm run test:solutions -- ex3).
 */
import { afterAll, describe, expect, it, type TestContext } from 'vitest';
import { fetch, newest, ping, remove, store, type QuorumError } from '@ex/ex3-coordinator/coordinator.js';
import { Disk, kvService, newVersion, type Entry, type KvRequest, type KvVnode, type Version } from './kv_vnode.js';
import { chashKey } from '../../shared/chash.js';
import { NOT_FOUND, Workload } from '../../shared/harness/checker.js';
import { inspectVnode } from '../../shared/harness/inspect.js';
import { TestCluster } from '../../shared/harness/cluster.js';
import { Nemesis } from '../../shared/harness/nemesis.js';
import { testSeed } from '../../shared/harness/seed.js';
import { waitFor } from '../../shared/harness/wait.js';
import type { NodeTiming, RingNode } from '../../shared/node.js';
import { preflist } from '../../shared/ring.js';
import type { VnodeModule } from '../../shared/vnode.js';

// Some describe blocks run concurrently (describe.concurrent), and so do the tests that have a
// cluster of their own: most of their time is waiting (deadlines, down detection), which overlaps.
// Tests on a shared cluster run one after the other (it.sequential) where they could see each
// other's requests (the reply-handler leak check counts every request of the node). The failing
// replica test and the checker run alone: the first waits for remote replies within a 300 ms
// deadline, which other tests' cluster starts could delay on a busy laptop; the second keeps
// clients busy the whole time.
let clusters = 0;
/** A cookie of its own per cluster: a node of one test never talks to another's on a recycled port. */
const cookie = () => `ex3-${++clusters}`;

/**
 * Healthy 4-node clusters for the tests that never break a node (each uses its own keys): one
 * for the quorum tests, one for the merge tests (which run at the same time), and one with a
 * node down for the sloppy-quorum tests. Started on first use, stopped at the end.
 */
const healthy = new Map<string, Promise<TestCluster>>();
let oneDown: Promise<{ c: TestCluster; victim: string }> | undefined;
afterAll(async () => {
  await Promise.all([...[...healthy.values()].map((c) => c.then((c) => c.stop())), oneDown?.then(({ c }) => c.stop())]);
});
const healthyCluster = (group: 'quorums' | 'merging') => {
  let c = healthy.get(group);
  if (!c) healthy.set(group, (c = TestCluster.start({ size: 4, services: () => [kvService()], cookie: cookie() })));
  return c;
};
/** 4 nodes, the second primary of the key `sloppy` killed and seen down by the others. */
const oneDownCluster = () =>
  (oneDown ??= (async () => {
    const disks = new Map<string, Disk>();
    const c = await TestCluster.start({
      size: 4,
      services: (name) => [kvService(disks.get(name) ?? disks.set(name, new Disk()).get(name))],
      cookie: cookie(),
    });
    const victim = primaries(c.node(0), 'sloppy')[1]!.node;
    await c.kill(victim);
    await seeDown(c, victim);
    return { c, victim };
  })());

interface StartOptions {
  /** Over TEST_TIMING (shared/harness/cluster.ts). */
  timing?: NodeTiming;
  /** The node's services, given its disk (default: the kv service on that disk). */
  services?: (name: string, disk: Disk) => readonly VnodeModule[];
}

/**
 * A cluster of the test `t` alone, stopped when it ends, whose nodes keep their "disk" across
 * kill/restart (a crash, not a wipe).
 */
async function start(t: TestContext, size = 4, opts: StartOptions = {}): Promise<TestCluster> {
  const disks = new Map<string, Disk>();
  const disk = (name: string) => disks.get(name) ?? disks.set(name, new Disk()).get(name)!;
  const services = opts.services ?? ((_name: string, d: Disk) => [kvService(d)]);
  const c = await TestCluster.start({
    size,
    timing: opts.timing,
    services: (name) => services(name, disk(name)),
    cookie: cookie(),
  });
  t.onTestFinished(() => c.stop());
  return c;
}

/**
 * Deadline of the requests whose deadline is not what a test is about: generous, so that a
 * busy machine makes a test slow, not wrong. (The deadline tests use 300 ms.)
 */
const SLOW = 5000;

/** The N primaries of `key`, in order (partition and owner). */
const primaries = (node: RingNode, key: string, n = 3) => preflist(node.ring, chashKey('kv', key)).slice(0, n);

/** The first of `count` generated keys that satisfies `ok` (throws if none does). */
function findKey(prefix: string, ok: (key: string) => boolean, count = 1000): string {
  for (let i = 0; i < count; i++) if (ok(`${prefix}-${i}`)) return `${prefix}-${i}`;
  throw new Error(`no key ${prefix}-0..${count - 1} fits this test`);
}

/** The entry `node`'s vnode for `partition` holds for `key` (undefined if none or not started). */
async function stored(node: RingNode, partition: number, key: string): Promise<Entry | undefined> {
  return inspectVnode(node, 'kv', partition, (v: KvVnode) => v.get(key));
}

/** Wait until every one of `key`'s first `n` primaries holds `value`. */
async function everyReplicaHolds(c: TestCluster, key: string, value: unknown, n = 3): Promise<void> {
  const replicas = primaries(c.node(0), key, n);
  expect(replicas).toHaveLength(n);
  await waitFor(
    `all ${n} replicas of "${key}" to hold ${JSON.stringify(value)} (a write goes to all N vnodes, not only the W it waits for)`,
    async () => {
      for (const p of replicas) if ((await stored(c.node(p.node), p.partition, key))?.value !== value) return false;
      return true;
    },
    { timeoutMs: SLOW },
  );
}

const seeDown = (c: TestCluster, victim: string) =>
  waitFor(`every other node to see ${victim} down`, () =>
    c.nodes.every((n) => n.name === victim || !n.upNodes('kv').includes(victim)),
  );
const seeAllUp = (c: TestCluster) =>
  waitFor('every node to see every node up', () => c.nodes.every((n) => n.upNodes('kv').length === c.nodes.length), {
    timeoutMs: 10_000,
  });

/** How a request ended, and when (`performance.now()`). */
interface Outcome {
  readonly at: number;
  /** The QuorumError it failed with, `'succeeded'`, or `'no answer'` if it had not settled 3 s after its deadline. */
  readonly result: QuorumError | 'succeeded' | 'no answer';
}
/**
 * How `request` (with deadline `timeoutMs`) ends. Anything but a QuorumError (a stub's message)
 * fails the test as it is; a coordinator without a timer of its own never settles: 'no answer'.
 */
function outcome(request: Promise<unknown>, timeoutMs: number): Promise<Outcome> {
  let guard: NodeJS.Timeout | undefined;
  const ended = request.then(
    () => ({ at: performance.now(), result: 'succeeded' as const }),
    (err: unknown) => {
      if ((err as Error | undefined)?.name !== 'QuorumError') throw err;
      return { at: performance.now(), result: err as QuorumError };
    },
  );
  const hung = new Promise<Outcome>(
    (resolve) => (guard = setTimeout(() => resolve({ at: performance.now(), result: 'no answer' }), timeoutMs + 3000)),
  );
  return Promise.race([ended, hung]).finally(() => clearTimeout(guard));
}

/**
 * The error `request` fails with, to match with toMatchObject. A stub's NotImplementedError is
 * rethrown as it is, so the failure shows its whole message (exercise, step, file) rather than a
 * diff of an error vitest cuts short. `what` names the request if it does not fail at all.
 */
async function rejection(request: Promise<unknown>, what: string): Promise<unknown> {
  try {
    await request;
  } catch (err) {
    if ((err as Error | undefined)?.name === 'NotImplementedError') throw err;
    return err;
  }
  return expect.fail(`${what}: expected it to fail, it succeeded`);
}

/** A kv service whose vnodes fail every put and get (a replica with a broken disk); pings still work. */
function brokenKv(disk: Disk): VnodeModule<KvRequest> {
  const kv = kvService(disk);
  return {
    service: kv.service,
    init: async (ctx) => {
      const vnode = await kv.init(ctx);
      return {
        handleCommand: (request, sender) => {
          if (request.type !== 'ping') throw new Error(`disk full on ${ctx.node}`);
          return vnode.handleCommand(request, sender);
        },
      };
    },
  };
}

describe.concurrent('ex3-coordinator: quorums', () => {
  it.sequential('a write returns after exactly W acknowledgements (W=1, 2, 3) and still reaches all N replicas', async () => {
    const c = await healthyCluster('quorums');
    const coordinator = c.node(0);
    for (const w of [1, 2, 3]) {
      const key = `planet-w${w}`;
      const result = await store(coordinator, key, `mars-${w}`, { n: 3, w, timeoutMs: SLOW });
      expect(result.answered, `store with W=${w}: answered`).toHaveLength(w);
      const mine = primaries(coordinator, key).map((p) => p.partition);
      expect(new Set(result.answered.map((a) => a.partition)).size, `store with W=${w}: one answer per replica`).toBe(
        w,
      );
      for (const a of result.answered)
        expect(mine, `store with W=${w}: ${a.partition}@${a.node} is a replica of ${key}`).toContain(a.partition);
      // Decided, so the request id is released at once: later replies are dropped by the runtime.
      expect(
        coordinator.vnodes.waitingSenders,
        `store with W=${w}: reply handlers still registered after it returned`,
      ).toBe(0);
      await everyReplicaHolds(c, key, `mars-${w}`);
    }
    // N=1 is a valid quorum too: one replica, one acknowledgement.
    const single = await store(coordinator, 'planet-n1', 'pluto', { n: 1, w: 1, timeoutMs: SLOW });
    expect(
      single.answered.map((a) => a.partition),
      'store with N=1, W=1',
    ).toEqual([primaries(coordinator, 'planet-n1')[0]?.partition]);
  });

  it.sequential('reads back with R=2 from every node; R=3 hears from all three replicas; a missing key is not found', async () => {
    const c = await healthyCluster('quorums');
    const w = await store(c.node(0), 'planet', { name: 'mars' }, { n: 3, w: 3, timeoutMs: SLOW });
    expect(w.answered).toHaveLength(3);
    for (const node of c.nodes) {
      const read = await fetch(node, 'planet', { n: 3, r: 2, timeoutMs: SLOW });
      expect(read, `fetch via ${node.name}`).toMatchObject({
        found: true,
        value: { name: 'mars' },
        version: w.version,
      });
      expect(read.answered, `fetch via ${node.name} with R=2: answered`).toHaveLength(2);
    }
    expect(c.nodes).toHaveLength(4);
    const all = await fetch(c.node(1), 'planet', { n: 3, r: 3, timeoutMs: SLOW });
    expect(all.answered, 'fetch with R=3: answered').toHaveLength(3);
    expect(all.entries.map((e) => e.from.partition).sort()).toEqual(
      primaries(c.node(0), 'planet')
        .map((p) => p.partition)
        .sort(),
    );
    expect(all.entries.map((e) => e.entry?.value)).toEqual([{ name: 'mars' }, { name: 'mars' }, { name: 'mars' }]);
    expect(await fetch(c.node(1), 'no-such-planet', { timeoutMs: SLOW })).toMatchObject({ found: false });
  });

  it.sequential('each reply counts for its own replica: with N=5 on 4 nodes (one node holds two replicas) all 5 partitions answer', async () => {
    const c = await healthyCluster('quorums');
    const key = 'crowded';
    const replicas = primaries(c.node(0), key, 5);
    expect(new Set(replicas.map((p) => p.node)).size).toBeLessThan(5); // some node really holds two of them
    const written = await store(c.node(0), key, 'five', { n: 5, w: 5, timeoutMs: SLOW });
    expect(written.answered.map((a) => `${a.partition}@${a.node}`).sort()).toEqual(
      replicas.map((p) => `${p.partition}@${p.node}`).sort(),
    );
    const read = await fetch(c.node(1), key, { n: 5, r: 5, timeoutMs: SLOW });
    expect(read.answered.map((a) => `${a.partition}@${a.node}`).sort()).toEqual(
      replicas.map((p) => `${p.partition}@${p.node}`).sort(),
    );
    expect(read.entries.map((e) => e.entry?.value)).toEqual(['five', 'five', 'five', 'five', 'five']);
  });

  it.sequential('deletes: a delete is newer than the value it removes', async () => {
    const c = await healthyCluster('quorums');
    await store(c.node(0), 'doomed', 1, { w: 3, timeoutMs: SLOW });
    const gone = await remove(c.node(1), 'doomed', { w: 2, timeoutMs: SLOW });
    const read = await fetch(c.node(2), 'doomed', { r: 3, timeoutMs: SLOW });
    expect(read).toMatchObject({ found: false, version: gone.version });
    expect(read).not.toHaveProperty('value');
    await store(c.node(3), 'doomed', 2, { timeoutMs: SLOW });
    expect(await fetch(c.node(0), 'doomed', { r: 2, timeoutMs: SLOW })).toMatchObject({ found: true, value: 2 });
  });

  it('rejects an invalid quorum before sending anything, naming the bad value', async (t) => {
    const c = await start(t, 2);
    const node = c.node(0);
    const cases: [Parameters<typeof store>[3], string][] = [
      [{ n: 3, w: 4 }, 'w'],
      [{ n: 3, w: 0 }, 'w'],
      [{ n: 0, w: 1 }, 'n'],
      [{ n: 65, w: 2 }, 'n'],
      [{ n: 3, w: 1.5 }, 'w'],
      [{ n: 3, w: 2, timeoutMs: 0 }, 'timeoutMs'],
    ];
    for (const [opts, param] of cases) {
      const what = `store ${JSON.stringify(opts)}`;
      expect(await rejection(store(node, 'k', 'v', opts), what), what).toMatchObject({
        name: 'QuorumParamError',
        param,
        message: expect.stringContaining(param),
      });
    }
    for (const opts of [
      { n: 2, r: 3 },
      { n: 3, r: 0 },
    ]) {
      const what = `fetch ${JSON.stringify(opts)}`;
      expect(await rejection(fetch(node, 'k', opts), what), what).toMatchObject({
        name: 'QuorumParamError',
        param: 'r',
      });
    }
    expect(c.nodes.flatMap((n) => n.vnodes.running('kv'))).toEqual([]); // nothing was sent
  });

  it.sequential('pings 3 distinct partitions', async () => {
    const c = await healthyCluster('quorums');
    const pongs = await ping(c.node(2), 3, SLOW);
    expect(pongs).toHaveLength(3);
    expect(new Set(pongs.map((p) => p.partition)).size).toBe(3);
  });
});

describe('ex3-coordinator: failures', () => {
  it('a replica that fails is not an acknowledgement: W=3 times out listing its error, W=2 succeeds without it', async (t) => {
    const broken = 'dev2@127.0.0.1';
    const c = await start(t, 4, { services: (name, disk) => [name === broken ? brokenKv(disk) : kvService(disk)] });
    const coordinator = c.node(0);
    const key = findKey('fragile', (k) => {
      const ps = primaries(coordinator, k);
      return new Set(ps.map((p) => p.node)).size === 3 && ps.some((p) => p.node === broken);
    });
    const bad = primaries(coordinator, key).find((p) => p.node === broken)!;
    const [all, allRead] = (
      await Promise.all([
        outcome(store(coordinator, key, 'needs three', { n: 3, w: 3, timeoutMs: 300 }), 300),
        outcome(fetch(coordinator, key, { n: 3, r: 3, timeoutMs: 300 }), 300),
      ])
    ).map((o) => o.result);
    expect(all, 'a W=3 store with one replica failing').toMatchObject({
      name: 'QuorumError',
      code: 'timeout',
      op: 'store',
      needed: 3,
    });
    const err = all as QuorumError;
    expect(err.answered.map((a) => a.partition).sort(), 'answered: only the two healthy replicas').toEqual(
      primaries(coordinator, key)
        .filter((p) => p.node !== broken)
        .map((p) => p.partition)
        .sort(),
    );
    expect(err.replies, 'replies: every reply, the failure included').toHaveLength(3);
    expect(err.replies.find((r) => !r.reply.ok)).toMatchObject({
      from: { partition: bad.partition, node: broken },
      reply: { ok: false, error: { message: expect.stringContaining('disk full') } },
    });
    expect(allRead, 'an R=3 fetch with one replica failing').toMatchObject({
      name: 'QuorumError',
      code: 'timeout',
      op: 'fetch',
      needed: 3,
    });
    const two = await store(coordinator, key, 'two is enough', { n: 3, w: 2, timeoutMs: SLOW });
    expect(two.answered.map((a) => a.node)).not.toContain(broken);
    const read = await fetch(coordinator, key, { n: 3, r: 2, timeoutMs: SLOW });
    expect(read).toMatchObject({ found: true, value: 'two is enough' });
    expect(read.answered.map((a) => a.node)).not.toContain(broken);
  });
});

describe.concurrent('ex3-coordinator: sloppy quorum', () => {
  it('with one node down, a W=3 write succeeds through a fallback that really holds the value', async () => {
    const { c, victim } = await oneDownCluster();
    const key = 'sloppy';
    const coordinator = c.nodes[0]!;
    const second = primaries(coordinator, key)[1]!;
    expect(second.node).toBe(victim);
    const result = await store(coordinator, key, 'still here', { n: 3, w: 3, timeoutMs: SLOW });
    const fallbacks = result.answered.filter((a) => a.type === 'fallback');
    expect(fallbacks).toEqual([expect.objectContaining({ partition: second.partition })]);
    expect(fallbacks[0]!.node).not.toBe(victim);
    const holder = c.node(fallbacks[0]!.node);
    expect(await stored(holder, fallbacks[0]!.partition, key)).toMatchObject({ value: 'still here', deleted: false });
    const read = await fetch(coordinator, key, { r: 3, timeoutMs: SLOW });
    expect(read).toMatchObject({ found: true, value: 'still here' });
    expect(read.answered.map((a) => a.type).sort()).toEqual(['fallback', 'primary', 'primary']);
  });

  it('more replicas than there are live vnodes fails at once as unavailable, saying how many were available', async () => {
    const { c, victim } = await oneDownCluster();
    const coordinator = c.nodes[0]!;
    const ring = coordinator.ring;
    const live = ring.owners.filter((o) => o !== victim).length; // every partition of a live node, no fallback left
    expect(live).toBeLessThan(ring.ringSize);
    const [write, read] = (
      await Promise.all([
        outcome(store(coordinator, 'everywhere', 'x', { n: ring.ringSize, w: ring.ringSize, timeoutMs: 2000 }), 2000),
        outcome(fetch(coordinator, 'everywhere', { n: ring.ringSize, r: live + 1, timeoutMs: 2000 }), 2000),
      ])
    ).map((o) => o.result);
    expect(write).toMatchObject({
      name: 'QuorumError',
      code: 'unavailable',
      op: 'store',
      needed: ring.ringSize,
      asked: [],
      answered: [],
      replies: [],
    });
    expect((write as QuorumError).message).toContain(`only ${live} vnodes available, ${ring.ringSize} needed`);
    expect(read).toMatchObject({ name: 'QuorumError', code: 'unavailable', op: 'fetch', needed: live + 1, asked: [] });
    expect((read as QuorumError).message).toContain(`only ${live} vnodes available, ${live + 1} needed`);
    // Every operation names itself in the error.
    const [del, pings] = (
      await Promise.all([
        outcome(remove(coordinator, 'everywhere', { n: ring.ringSize, w: ring.ringSize, timeoutMs: 2000 }), 2000),
        outcome(ping(coordinator, ring.ringSize, 2000), 2000),
      ])
    ).map((o) => o.result);
    expect(del).toMatchObject({ name: 'QuorumError', code: 'unavailable', op: 'delete', needed: ring.ringSize });
    expect(pings).toMatchObject({ name: 'QuorumError', code: 'unavailable', op: 'ping', needed: ring.ringSize });
    // Exactly as many live vnodes as needed is enough.
    expect(
      (await store(coordinator, 'everywhere', 'y', { n: ring.ringSize, w: live, timeoutMs: SLOW })).answered,
    ).toHaveLength(live);
  });

  it('a partition that leaves too few vnodes reachable fails with a typed timeout at its deadline, not a hang', async (t) => {
    // Down detection far beyond the 300 ms deadlines: the coordinator must still count the
    // cut-off nodes as up when it sends, or it would pick local fallbacks (sloppy quorum).
    const downAfterMs = 5000;
    const c = await start(t, 4, { timing: { downAfterMs } });
    await seeAllUp(c);
    const coordinator = c.node(0);
    // A key none of whose primaries lives on the coordinator: once cut off, nobody answers.
    const key = findKey('cut', (k) => primaries(coordinator, k).every((p) => p.node !== coordinator.name));
    // A key with exactly one replica on the coordinator: one answer is not W=2.
    const mine = findKey(
      'own',
      (k) => primaries(coordinator, k).filter((p) => p.node === coordinator.name).length === 1,
    );
    const nemesis = new Nemesis(c, testSeed('ex3 partition'));
    nemesis.isolate(coordinator.name);
    const cutAt = performance.now();
    const seen = coordinator.upNodes('kv');
    if (seen.length !== c.nodes.length) {
      throw new Error(
        `this machine is too slow for this test: ${Math.round(performance.now() - cutAt)} ms after the cut, ${coordinator.name} ` +
          `already counts only ${seen.join(', ')} as up (down detection: ${downAfterMs} ms); the requests must leave before that`,
      );
    }
    const deadline = 300;
    const t0 = performance.now();
    const requests = [
      outcome(store(coordinator, key, 'lost?', { n: 3, w: 2, timeoutMs: deadline }), deadline),
      outcome(fetch(coordinator, key, { r: 2, timeoutMs: deadline }), deadline),
      outcome(store(coordinator, mine, 'half', { n: 3, w: 2, timeoutMs: deadline }), deadline),
    ] as const;
    // A timer started with the requests: on a busy machine it fires late exactly like theirs.
    const reference = new Promise<number>((resolve) => setTimeout(() => resolve(performance.now()), deadline));
    const [store1, read1, half1] = await Promise.all(requests);
    const referenceAt = await reference;
    expect(store1.result).toMatchObject({ name: 'QuorumError', code: 'timeout', op: 'store', needed: 2 });
    const err = store1.result as QuorumError;
    expect(err.asked).toEqual(primaries(coordinator, key).map((p) => ({ ...p, type: 'primary' })));
    expect(err.answered).toEqual([]);
    expect(read1.result).toMatchObject({ name: 'QuorumError', code: 'timeout', op: 'fetch', needed: 2 });
    expect(half1.result).toMatchObject({ name: 'QuorumError', code: 'timeout', needed: 2 });
    const one = half1.result as QuorumError;
    expect(one.answered).toEqual([expect.objectContaining({ node: coordinator.name, type: 'primary' })]);
    expect(one.replies).toHaveLength(1);
    for (const [what, r] of [
      ['store', store1],
      ['fetch', read1],
      ['half store', half1],
    ] as const) {
      expect(r.at - t0, `${what}: failed before its ${deadline} ms deadline`).toBeGreaterThanOrEqual(deadline - 10);
      expect(
        r.at - referenceAt,
        `${what}: failed this long after a ${deadline} ms timer started with it (not at its own deadline)`,
      ).toBeLessThan(250);
    }
    // W=1 and R=1 are satisfied by the coordinator's own vnode.
    await store(coordinator, mine, 'one is enough', { n: 3, w: 1, timeoutMs: SLOW });
    expect(await fetch(coordinator, mine, { n: 3, r: 1, timeoutMs: SLOW })).toMatchObject({
      found: true,
      value: 'one is enough',
    });
  });
});

describe.concurrent('ex3-coordinator: merging replies', () => {
  /** Put `entry` straight into one vnode, bypassing the coordinator, to build divergent replicas. */
  const plant = (c: TestCluster, at: { partition: number; node: string }, key: string, entry: Entry) =>
    c.node(0).syncCommand(at, { type: 'put', key, entry }, 'kv');

  it('newest() keeps the newest entry whatever order the replies come in; any entry beats "never seen"', () => {
    const at = (t: number, node = 'dev1@127.0.0.1', seq = 1): Version => ({ t, node, seq });
    const old: Entry = { value: 'old', version: at(1_000), deleted: false };
    const mid: Entry = { value: 'mid', version: at(1_000, 'dev2@127.0.0.1'), deleted: false }; // same time, later node
    const midSeq: Entry = { value: 'mid2', version: at(1_000, 'dev2@127.0.0.1', 2), deleted: false }; // same time and node, later seq
    const gone: Entry = { value: null, version: at(2_000), deleted: true };
    const permutations = <T>(xs: readonly T[]): T[][] =>
      xs.length <= 1
        ? [[...xs]]
        : xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
    let checked = 0;
    for (const order of permutations([null, old, mid])) {
      expect(newest(order), JSON.stringify(order)).toEqual(mid);
      checked++;
    }
    for (const order of permutations([old, midSeq, null, mid])) {
      expect(newest(order), JSON.stringify(order)).toEqual(midSeq);
      checked++;
    }
    for (const order of permutations([old, gone, midSeq, null])) {
      expect(newest(order), `a newer tombstone wins: ${JSON.stringify(order)}`).toEqual(gone);
      checked++;
    }
    expect(checked).toBe(6 + 24 + 24);
    expect(newest([null, null, null])).toBeNull();
    expect(newest([])).toBeNull();
  });

  it('a value beats not found', async () => {
    const c = await healthyCluster('merging');
    const [p1] = primaries(c.node(0), 'lonely');
    await plant(c, p1!, 'lonely', { value: 'only here', version: newVersion('test'), deleted: false });
    const read = await fetch(c.node(1), 'lonely', { r: 3, timeoutMs: SLOW });
    expect(read).toMatchObject({ found: true, value: 'only here' });
    expect(read.answered).toHaveLength(3);
  });

  it('between values the newest version wins; a newer tombstone means not found', async () => {
    const c = await healthyCluster('merging');
    const [p1, p2, p3] = primaries(c.node(0), 'contested');
    const v1 = newVersion('test');
    const v2 = newVersion('test');
    await plant(c, p1!, 'contested', { value: 'old', version: v1, deleted: false });
    await plant(c, p2!, 'contested', { value: 'old', version: v1, deleted: false });
    await plant(c, p3!, 'contested', { value: 'new', version: v2, deleted: false });
    expect(await fetch(c.node(2), 'contested', { r: 3, timeoutMs: SLOW })).toMatchObject({
      found: true,
      value: 'new',
      version: v2,
    });
    const v3 = newVersion('test');
    await plant(c, p1!, 'contested', { value: null, version: v3, deleted: true });
    expect(await fetch(c.node(3), 'contested', { r: 3, timeoutMs: SLOW })).toMatchObject({ found: false, version: v3 });
  });
});

describe('ex3-coordinator: checker (Jepsen style)', () => {
  it('never loses an acknowledged write while one node at a time is killed or cut off', {
    timeout: 60_000,
  }, async (t) => {
    const seed = testSeed('ex3 checker');
    const c = await start(t, 4);
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
    let reads = 0;
    for (const via of c.nodes) {
      const finals = new Map<string, string | typeof NOT_FOUND>();
      for (const key of workload.history.writtenKeys()) {
        const r = await fetch(via, key, { n: 3, r: 2, timeoutMs: 2000 });
        finals.set(key, r.found ? (r.value as string) : NOT_FOUND);
        reads++;
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
    expect(reads).toBeGreaterThanOrEqual(4); // the final reads really ran
    expect(workload.phantomReads).toEqual([]);
    expect(problems).toEqual([]);
  });
});
