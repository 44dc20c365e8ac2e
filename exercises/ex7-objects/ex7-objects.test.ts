/**
 * ex7-objects: one live object per key, with epoch fencing.
 * Runs against exercises/ (npm test -- ex7) or solutions/ (npm run test:solutions -- ex7).
 */
import { afterAll, describe, expect, it, type TestContext } from 'vitest';
import { fencedKvService, type FencedKvVnode } from '@ex/ex7-objects/fenced_kv_vnode.js';
import { objectService, type ObjectVnode } from '@ex/ex7-objects/object_vnode.js';
import { callObject } from '@ex/ex7-objects/objects.js';
import { Disk, newVersion, type Entry } from '../ex3-coordinator/kv_vnode.js';
import type { ClaimReply, FencedPutReply } from './fence_types.js';
import { ObjectError, SERVICE, stateKey, type CallResult, type TodoState } from './object_types.js';
import { objectKey } from './object_vnode_base.js';
import { objectRoutes } from './http_objects.js';
import { buildServer } from '../ex5-http/server.js';
import { chashKey, responsiblePartition } from '../../shared/chash.js';
import { RingError, ringErrorCode } from '../../shared/errors.js';
import { expectRingError } from '../../shared/harness/expect_error.js';
import { inspectVnode } from '../../shared/harness/inspect.js';
import { TestCluster } from '../../shared/harness/cluster.js';
import { Nemesis } from '../../shared/harness/nemesis.js';
import { prng, testSeed } from '../../shared/harness/seed.js';
import { AbortWait, waitFor } from '../../shared/harness/wait.js';
import type { RingNode } from '../../shared/node.js';
import { preflist } from '../../shared/ring.js';

// Every test has a cluster of its own (or shares one only with tests that use other objects),
// and the tests run concurrently: most of their time is waiting (down detection, handoff).
// Small rings (16 partitions) and short idle times keep the suite fast.
let clusters = 0;
/**
 * A cookie of its own per cluster, and per process: a node of one test (or of a suite running
 * next to this one) never talks to another's that got its port after it.
 */
const cookie = () => `ex7-${process.pid}-${++clusters}`;

interface StartOptions {
  size?: number;
  fenced?: boolean;
  idleMs?: number;
  /** Deadline of the object vnodes' store requests (default 1000 ms). */
  storeTimeoutMs?: number;
  /**
   * Down detection: how long a silent peer takes to be seen down (default TEST_TIMING's 600 ms).
   * Clusters where no node fails wait longer, so that a machine too busy to send heartbeats
   * on time does not look like a fault to them.
   */
  downAfterMs?: number;
}

/**
 * A cluster of `size` nodes running the fenced store and the object service; each node keeps
 * its store's "disk" across kill/restart (a crash, not a wipe).
 */
async function startObjects(opts: StartOptions = {}): Promise<TestCluster> {
  const disks = new Map<string, Disk>();
  const disk = (name: string) => disks.get(name) ?? disks.set(name, new Disk()).get(name)!;
  let cluster: TestCluster | undefined;
  const node = (name: string): RingNode => {
    if (!cluster) throw new Error('the cluster is not started yet');
    return cluster.node(name);
  };
  cluster = await TestCluster.start({
    size: opts.size ?? 4,
    ringSize: 16,
    cookie: cookie(),
    timing: opts.downAfterMs === undefined ? undefined : { downAfterMs: opts.downAfterMs },
    services: (name) => [
      fencedKvService(disk(name)),
      objectService({
        node,
        fenced: opts.fenced ?? true,
        idleMs: opts.idleMs ?? 30_000,
        storeTimeoutMs: opts.storeTimeoutMs ?? 1000,
      }),
    ],
  });
  return cluster;
}

async function start(t: TestContext, opts: StartOptions = {}): Promise<TestCluster> {
  const c = await startObjects(opts);
  t.onTestFinished(() => c.stop());
  return c;
}

/**
 * Store deadline of the object vnodes in the tests where no call may fail: long enough that
 * only a lost request misses it, however busy the machine (the others use 1000 or 500 ms).
 */
const STORE_SLOW = 5000;

let shared: Promise<TestCluster> | undefined;
/**
 * One healthy cluster for the tests that never break a node (each uses its own objects),
 * without fencing: steps 1-5 are enough for them.
 */
const healthy = () =>
  (shared ??= startObjects({ idleMs: 150, fenced: false, downAfterMs: 5000, storeTimeoutMs: STORE_SLOW }));
afterAll(async () => {
  await (await shared)?.stop();
});

/** The home (first entry of the active preference list) `node` sees for an object. */
const homeOf = (node: RingNode, objectType: string, id: string) =>
  node.getApl({ hash: chashKey(objectType, id) }, 1, SERVICE)[0];

/** The live activations of an object on every running node: activation names. */
async function liveActivations(c: TestCluster, objectType: string, id: string): Promise<string[]> {
  const names: string[] = [];
  for (const n of c.nodes) {
    for (const w of n.vnodes.running(SERVICE)) {
      const name = await inspectVnode(
        n,
        SERVICE,
        w.id.partition,
        (v: ObjectVnode) => v.live()[objectKey(objectType, id)],
      );
      if (name) names.push(name);
    }
  }
  return names;
}

/**
 * Deadline of the calls whose deadline is not what a test is about: generous, so that a busy
 * machine makes a test slow, not wrong.
 */
const SLOW = 10_000;

const inc = (node: RingNode, id: string, timeoutMs = SLOW) =>
  callObject(node, 'counter', id, { op: 'inc' }, { timeoutMs });
const value = async (node: RingNode, id: string) =>
  (await callObject(node, 'counter', id, { op: 'get' }, { timeoutMs: SLOW })).reply;

/** Expect `promise` to fail with an ObjectError of `code`; any other error is rethrown as it is. */
async function expectObjectError(promise: Promise<unknown>, code: string, what: string): Promise<void> {
  let answer: unknown;
  try {
    answer = await promise;
  } catch (err) {
    if (err instanceof ObjectError && err.code === code) return;
    throw err;
  }
  expect.fail(`${what}: expected an ObjectError "${code}", got an answer: ${JSON.stringify(answer)}`);
}

/**
 * What clients saw of one counter: every acknowledged increment (the value it answered, the
 * epoch and activation that ran it) and how many calls failed (their outcome is unknown: an
 * increment may have been stored and not acknowledged).
 */
class CounterHistory {
  readonly acked: { value: number; epoch: number; activation: string }[] = [];
  failed = 0;
  readonly errors = new Map<string, number>();
  /** The first few distinct errors, with their messages. */
  readonly messages = new Set<string>();
  /** An unfinished step's error: the clients stop, and {@link until} fails with its message. */
  fatal: Error | undefined;

  ok(r: CallResult): void {
    this.acked.push({ value: r.reply as number, epoch: r.epoch, activation: r.activation });
  }

  fail(err: unknown): void {
    this.failed++;
    const what = ringErrorCode(err) ?? (err as Error).name;
    if (this.messages.size < 5) this.messages.add(`${what}: ${(err as Error).message}`);
    this.errors.set(what, (this.errors.get(what) ?? 0) + 1);
    // A stub's message must reach the test as it is.
    if ((err as Error).name === 'NotImplementedError' || /step \d+ is not done yet/.test((err as Error).message)) {
      this.fatal = err as Error;
      throw err;
    }
  }

  /** The failed calls, for messages: how many of each code, and the first few distinct errors. */
  failures(): string {
    if (this.failed === 0) return 'none';
    return `${JSON.stringify(Object.fromEntries(this.errors))}, e.g. ${[...this.messages].join(' | ')}`;
  }

  /** Wait until `enough()` (e.g. so many acknowledgements); fails at once if a client hit an unfinished step. */
  async until(what: string, enough: () => boolean, timeoutMs = 10_000): Promise<void> {
    await waitFor(
      what,
      () => {
        if (this.fatal) throw new AbortWait(this.fatal.message);
        return enough();
      },
      { timeoutMs },
    );
  }

  /**
   * The violations of "every acknowledged increment is counted exactly once, and no two
   * activations acknowledge in the same epoch", given the counter's `final` value.
   */
  violations(final: number): string[] {
    const out: string[] = [];
    const seen = new Map<number, string>();
    for (const a of this.acked) {
      const other = seen.get(a.value);
      if (other !== undefined)
        out.push(`value ${a.value} acknowledged twice (by ${other} and ${a.activation}): an increment was lost`);
      seen.set(a.value, a.activation);
      if (a.value > final) out.push(`value ${a.value} was acknowledged, the counter ended at ${final}`);
    }
    if (final < this.acked.length)
      out.push(`${this.acked.length} increments acknowledged, the counter ended at ${final}`);
    if (final > this.acked.length + this.failed)
      out.push(`the counter ended at ${final}, more than the ${this.acked.length + this.failed} increments attempted`);
    const byEpoch = new Map<number, Set<string>>();
    for (const a of this.acked) byEpoch.set(a.epoch, (byEpoch.get(a.epoch) ?? new Set()).add(a.activation));
    for (const [epoch, acts] of byEpoch)
      if (acts.size > 1) out.push(`epoch ${epoch} acknowledged by ${acts.size} activations: ${[...acts].join(', ')}`);
    return out;
  }
}

/** Pause of a client between two calls, in ms. */
const THINK_MS = 3;

/**
 * `clients` loops incrementing counter `id` through the running nodes of `c` (round robin)
 * until `done()`; through `via()`'s nodes instead when given.
 */
async function incrementWhile(
  c: TestCluster,
  id: string,
  h: CounterHistory,
  done: () => boolean,
  clients = 4,
  via: () => RingNode[] = () => c.nodes,
  timeoutMs = 1500,
): Promise<void> {
  await Promise.all(
    Array.from({ length: clients }, async (_, k) => {
      for (let i = k; !done(); i++) {
        const nodes = via();
        const node = nodes[i % nodes.length] as RingNode;
        try {
          h.ok(await inc(node, id, timeoutMs));
        } catch (err) {
          h.fail(err);
        }
        // A client's think time (Jepsen's --rate): without it the clients take every cycle of a
        // busy machine, and the nodes' heartbeats come late enough to look like faults.
        await new Promise((resolve) => setTimeout(resolve, THINK_MS));
      }
    }),
  );
}

/** The counter's final value, read once the cluster has healed (retried while it recovers). */
const finalValue = (c: TestCluster, id: string) =>
  waitFor(
    `a read of counter ${id} after healing`,
    async () => {
      const r = await callObject(c.nodes[0] as RingNode, 'counter', id, { op: 'get' }, { timeoutMs: SLOW });
      return { value: r.reply as number };
    },
    { timeoutMs: 10_000 },
  );

describe.concurrent('ex7-objects: one live object per key', () => {
  it('the todo list refuses users who are not allowed, whatever node they call', async () => {
    const c = await healthy();
    const [n0, ...others] = c.nodes as [RingNode, ...RingNode[]];
    const todoCall = (n: RingNode, call: unknown) => callObject(n, 'todo', 'groceries', call, { timeoutMs: SLOW });
    expect((await todoCall(n0, { op: 'add', user: 'ada', text: 'milk' })).reply).toBe(0);
    await todoCall(n0, { op: 'allow', user: 'ada', who: 'bob' });
    for (const n of c.nodes) {
      await expectObjectError(
        todoCall(n, { op: 'add', user: 'eve', text: `eve was here (${n.name})` }),
        'refused',
        `eve adds an item through ${n.name}`,
      );
      await expectObjectError(
        todoCall(n, { op: 'allow', user: 'eve', who: 'eve' }),
        'refused',
        `eve allows herself through ${n.name}`,
      );
    }
    for (const n of others) await todoCall(n, { op: 'add', user: 'bob', text: `bread ${n.name}` });
    await todoCall(others[0] as RingNode, { op: 'done', user: 'bob', index: 0 });
    const list = (await todoCall(others[1] as RingNode, { op: 'get', user: 'eve' })).reply as TodoState;
    expect(list.allowed).toEqual(['ada', 'bob']);
    expect(list.items.map((i) => [i.by, i.done])).toEqual([['ada', true], ...others.map(() => ['bob', false])]);
    expect(
      list.items.some((i) => i.text.includes('eve')),
      'an item of eve was stored',
    ).toBe(false);
    // A refused call changes nothing, and a malformed one is a bad call, not a crash.
    await expectObjectError(todoCall(n0, { op: 'add', text: 'x' }), 'bad_call', 'add without user');
    await expectObjectError(
      callObject(n0, 'counter', 'c-bad', { op: 'mul' }, { timeoutMs: SLOW }),
      'bad_call',
      'an unknown counter op',
    );
    await expectObjectError(
      callObject(n0, 'nope', 'x', { op: 'get' }, { timeoutMs: SLOW }),
      'unknown_type',
      'a type nobody defined',
    );
  });

  it('over HTTP: POST /api/objects/:type/:id answers the reply; JSON errors 400, 403, 404, 415 and 503', async (t) => {
    const c = await healthy();
    const slowCall: typeof callObject = (n, type, id, call) => callObject(n, type, id, call, { timeoutMs: SLOW });
    const app = buildServer(c.node(1), { routes: objectRoutes(slowCall), coordinatorError: () => undefined });
    t.onTestFinished(() => app.close());
    const post = (url: string, body?: unknown, type = 'application/json') =>
      app.inject({
        method: 'POST',
        url,
        ...(body === undefined ? {} : { payload: JSON.stringify(body), headers: { 'content-type': type } }),
      });
    const ok = await post('/api/objects/counter/http-c1', { op: 'inc', by: 5 });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toMatchObject({ type: 'counter', id: 'http-c1', reply: 5, epoch: 0 });
    expect(ok.json().activation).toEqual(expect.any(String));
    await post('/api/objects/todo/http-list', { op: 'add', user: 'ada', text: 'milk' });
    const errors: [string, unknown, number, string][] = [
      ['/api/objects/todo/http-list', { op: 'add', user: 'eve', text: 'x' }, 403, 'refused'],
      ['/api/objects/counter/http-c1', { op: 'mul' }, 400, 'bad_call'],
      ['/api/objects/nope/x', { op: 'get' }, 404, 'unknown_type'],
      ['/api/objects/Counter!/x', { op: 'get' }, 400, 'invalid_param'],
      ['/api/objects/counter/http-c1', undefined, 400, 'invalid_body'],
    ];
    for (const [url, body, status, code] of errors) {
      const r = await post(url, body);
      expect([r.statusCode, r.json().error?.code], `POST ${url} ${JSON.stringify(body)}`).toEqual([status, code]);
    }
    const text = await post('/api/objects/counter/http-c1', 'inc', 'text/plain');
    expect(text.statusCode, 'a body that is not JSON').toBe(415);
    const down = buildServer(c.node(1), {
      routes: objectRoutes(() => Promise.reject(new RingError('unavailable', 'no majority of the primaries'))),
      coordinatorError: () => undefined,
    });
    t.onTestFinished(() => down.close());
    const r = await down.inject({ method: 'POST', url: '/api/objects/counter/x', payload: { op: 'inc' } });
    expect([r.statusCode, r.json().error?.code], 'a store without a majority').toEqual([503, 'unavailable']);
  });

  it('1,000 concurrent increments from every node: the counter ends at 1,000 and the replies are exactly 1..1,000', async () => {
    const c = await healthy();
    // 100 clients, 25 on each node, 10 increments each: 100 calls in flight at every moment.
    const replies = (
      await Promise.all(
        Array.from({ length: 100 }, async (_, k) => {
          const node = c.nodes[k % c.nodes.length] as RingNode;
          const mine: CallResult[] = [];
          for (let i = 0; i < 10; i++) mine.push(await inc(node, 'thousand'));
          return mine;
        }),
      )
    ).flat();
    const values = replies.map((r) => r.reply as number).sort((a, b) => a - b);
    expect(values).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    expect(new Set(replies.map((r) => r.activation)).size, 'activations that answered (one live object)').toBe(1);
    expect(await value(c.node(2), 'thousand')).toBe(1000);
  });

  it('an idle object is deactivated, and its next call activates it again from the store', async () => {
    const c = await healthy();
    const first = await inc(c.node(1), 'sleepy');
    await inc(c.node(2), 'sleepy');
    expect((await inc(c.node(3), 'sleepy')).reply).toBe(3);
    await waitFor(
      'counter sleepy to be deactivated after 150 ms without calls',
      async () => (await liveActivations(c, 'counter', 'sleepy')).length === 0,
      { timeoutMs: 5000 },
    );
    const again = await inc(c.node(0), 'sleepy');
    expect(again.reply, 'the state read back from the store, plus one').toBe(4);
    expect(again.activation, 'a new activation').not.toBe(first.activation);
  });

  it('the fenced store: claim is a compare-and-set on the epoch, and a write with an older epoch is refused', async () => {
    const c = await healthy();
    const key = stateKey('counter', 'fence-test');
    const [p] = preflist(c.node(0).ring, chashKey('kv', key));
    const at = { partition: p!.partition, node: p!.node };
    const send = (request: unknown) => c.node(1).syncCommand(at, request, 'kv', SLOW);
    const entry = (value: unknown): Entry => ({ value, version: newVersion('test'), deleted: false });
    expect(await send({ type: 'claim', key, epoch: 2 })).toEqual({ granted: true, fence: 2, entry: null });
    expect(((await send({ type: 'claim', key, epoch: 2 })) as ClaimReply).granted, 'the same epoch twice').toBe(false);
    expect(((await send({ type: 'claim', key, epoch: 1 })) as ClaimReply).fence, 'an older claim').toBe(2);
    expect((await send({ type: 'fenced_put', key, entry: entry('e2'), epoch: 2 })) as FencedPutReply).toEqual({
      accepted: true,
      fence: 2,
    });
    expect(((await send({ type: 'fenced_put', key, entry: entry('e1'), epoch: 1 })) as FencedPutReply).accepted).toBe(
      false,
    );
    const claimed = (await send({ type: 'claim', key, epoch: 5 })) as ClaimReply;
    expect(claimed.granted).toBe(true);
    expect(claimed.entry?.value, 'a claim answers with the entry the replica holds').toBe('e2');
    expect((await send({ type: 'fenced_put', key, entry: entry('e6'), epoch: 6 })) as FencedPutReply).toEqual({
      accepted: true,
      fence: 6,
    });
    expect(((await send({ type: 'fenced_put', key, entry: entry('e5'), epoch: 5 })) as FencedPutReply).accepted).toBe(
      false,
    );
    const held = await inspectVnode(c.node(at.node), 'kv', at.partition, (v: FencedKvVnode) => ({
      fence: v.fence(key),
      value: v.get(key)?.value,
    }));
    expect(held).toEqual({ fence: 6, value: 'e6' });
  });

  it('the home node killed mid-load: the object comes back on another node with its state, no acknowledged increment lost', async (t) => {
    const c = await start(t);
    const victim = homeOf(c.node(0), 'counter', 'phoenix')!.node;
    const h = new CounterHistory();
    let stop = false;
    const load = incrementWhile(c, 'phoenix', h, () => stop);
    await h.until('25 increments acknowledged before the kill', () => h.acked.length >= 25);
    const before = h.acked.length;
    await c.kill(victim);
    await h.until(
      `25 increments acknowledged after ${victim} was killed`,
      () => h.acked.length >= before + 25 && h.acked.at(-1)!.activation.split('/')[0] !== victim,
    );
    stop = true;
    await load;
    const { value: final } = await finalValue(c, 'phoenix');
    expect(h.violations(final)).toEqual([]);
    const after = h.acked.at(-1)!;
    expect(after.activation.startsWith(`${victim}/`), 'the last acknowledgement came from another node').toBe(false);
    expect(after.value, 'the new activation started from the stored state').toBeGreaterThan(before);
  });

  it('a join hands objects to the new node with calls in flight: none dropped, none run twice', async (t) => {
    const c = await start(t, { size: 3, downAfterMs: 5000, storeTimeoutMs: STORE_SLOW });
    // One counter per partition, so that whatever the new claim, some of them move.
    const ids: string[] = [];
    for (let i = 0; ids.length < 16; i++) {
      const p = responsiblePartition(chashKey('counter', `mover-${i}`), 16);
      if (!ids.some((id) => responsiblePartition(chashKey('counter', id), 16) === p)) ids.push(`mover-${i}`);
    }
    const histories = ids.map(() => new CounterHistory());
    let stop = false;
    // Clients call the three members only: until it has joined, a new node is a cluster of its
    // own (it owns every partition), and calls through it would reach a second, separate object.
    const members = c.nodes;
    const load = Promise.all(
      ids.map((id, i) =>
        incrementWhile(
          c,
          id,
          histories[i]!,
          () => stop,
          1,
          () => members,
        ),
      ),
    );
    const fatal = () => histories.find((h) => h.fatal)?.fatal;
    await waitFor('every counter to be called once', () => {
      if (fatal()) throw new AbortWait(fatal()!.message);
      return histories.every((h) => h.acked.length > 0);
    });
    const joiner = await c.addNode();
    await c.form([joiner], 15_000, c.node(0));
    const marks = histories.map((h) => h.acked.length);
    await waitFor('5 more increments of every counter after the join', () => {
      if (fatal()) throw new AbortWait(fatal()!.message);
      return histories.every((h, i) => h.acked.length >= marks[i]! + 5);
    });
    stop = true;
    await load;
    let moved = 0;
    for (const [i, id] of ids.entries()) {
      const h = histories[i]!;
      const { value: final } = await finalValue(c, id);
      expect(h.violations(final), `counter ${id}`).toEqual([]);
      expect(
        final,
        `counter ${id}: every call acknowledged (no call failed during the handoff; failures: ${h.failures()})`,
      ).toBe(h.acked.length);
      if (homeOf(c.node(0), 'counter', id)?.node === joiner.name) {
        moved++;
        expect(await liveActivations(c, 'counter', id), `counter ${id} lives on the new node only`).toEqual([
          expect.stringMatching(new RegExp(`^${joiner.name}/`)),
        ]);
      }
    }
    expect(moved, 'counters whose home moved to the new node').toBeGreaterThan(0);
  });

  it('the minority side of a partition answers unavailable instead of diverging', async (t) => {
    // Down detection in 1.5 s, not 0.6: the majority side must not take a late heartbeat of a
    // busy machine for a second fault (its one call here may not fail).
    const c = await start(t, { storeTimeoutMs: STORE_SLOW, downAfterMs: 1500 });
    const home = homeOf(c.node(0), 'counter', 'island')!.node;
    expect((await inc(c.node(home), 'island')).reply).toBe(1);
    const nemesis = new Nemesis(c, 0);
    nemesis.isolate(home);
    await waitFor(`${home} and the others to see each other down`, () =>
      c.nodes.every((n) => (n.name === home ? n.upNodes(SERVICE).length === 1 : !n.upNodes(SERVICE).includes(home))),
    );
    await expectRingError(inc(c.node(home), 'island'), 'unavailable', `an increment on the cut-off ${home}`);
    const other = c.nodes.find((n) => n.name !== home)!;
    const majority = await inc(other, 'island');
    expect(majority.reply, 'the majority side goes on from the stored state').toBe(2);
    await expectRingError(inc(c.node(home), 'island'), 'unavailable', `a second increment on the cut-off ${home}`);
    nemesis.detach();
    await waitFor('every node to see every node up', () => c.nodes.every((n) => n.upNodes(SERVICE).length === 4));
    const healed = await waitFor('an increment through the healed home', async () => inc(c.node(home), 'island'));
    expect(healed.reply).toBe(3);
  });
});

describe('ex7-objects: checker (Jepsen style)', () => {
  it('with fencing, every acknowledged increment counts once and no two activations acknowledge in one epoch, under partitions and kills', async (t) => {
    const seed = testSeed('ex7 checker');
    const random = prng(seed);
    // Short store deadlines: while a fault is on, calls fail fast instead of piling up.
    const c = await start(t, { storeTimeoutMs: 500 });
    const nemesis = new Nemesis(c, seed);
    const h = new CounterHistory();
    let stop = false;
    const load = incrementWhile(c, 'contested', h, () => stop, 6);
    await h.until('the first increments', () => h.acked.length >= 10);
    for (let round = 0; round < 2; round++) {
      // The first fault hits the node of the live object, so that it must move; the second
      // hits a node the seed picks.
      const home = homeOf(c.nodes[0] as RingNode, 'counter', 'contested')!.node;
      const victim = round === 0 ? home : nemesis.pick(c.names);
      const mark = h.acked.length;
      if (random.next() < 0.5) {
        nemesis.isolate(victim);
        await waitFor(`the others to see ${victim} down`, () =>
          c.nodes.every((n) => n.name === victim || !n.upNodes(SERVICE).includes(victim)),
        );
        await h.until(`increments on the majority side while ${victim} is cut off`, () => h.acked.length >= mark + 10);
        nemesis.heal();
      } else {
        await nemesis.kill(victim);
        await waitFor(`the others to see ${victim} down`, () =>
          c.nodes.every((n) => !n.upNodes(SERVICE).includes(victim)),
        );
        await h.until(`increments while ${victim} is down`, () => h.acked.length >= mark + 10);
        await nemesis.restart(victim);
      }
      await waitFor('every node to see every node up', () => c.nodes.every((n) => n.upNodes(SERVICE).length === 4));
    }
    const mark = h.acked.length;
    await h.until('increments after healing', () => h.acked.length >= mark + 10);
    stop = true;
    await load;
    const { value: final } = await finalValue(c, 'contested');
    console.log(
      `[ex7 checker] seed ${seed}: ${h.acked.length} acknowledged, ${h.failed} failed ${JSON.stringify(Object.fromEntries(h.errors))}, final ${final}, ${new Set(h.acked.map((a) => a.activation)).size} activations up to epoch ${Math.max(...h.acked.map((a) => a.epoch))}; ${nemesis.history.map((e) => e.what).join('; ')}`,
    );
    const violations = h.violations(final);
    expect(violations, `seed ${seed}:\n${violations.join('\n')}`).toEqual([]);
  });
});
