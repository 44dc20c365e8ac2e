/**
 * Vnodes and the vnode master (riak_core_vnode, riak_core_vnode_master): lazy start, one
 * command at a time, replies through senders, errors, fallback vnodes, deadlines; commands
 * and coverage requests for a handed-off partition forwarded to its new owner.
 */
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster } from '../harness/cluster.js';
import { testSeed } from '../harness/seed.js';
import { waitFor } from '../harness/wait.js';
import { createLogger } from '../log.js';
import { forward, noreply, reply, VnodeWorker, type Sender, type VnodeModule, type VnodeReply } from '../vnode.js';
import { VnodeMaster, wireCopy } from '../vnode_master.js';

type Req =
  | { type: 'echo'; value: unknown }
  | { type: 'slow'; id: number }
  | { type: 'later'; value: unknown }
  | { type: 'boom' }
  | { type: 'mutate'; value: { n: number } }
  | { type: 'scribble'; value: { deep: { n: number; list: number[] } } }
  | { type: 'get' }
  | { type: 'silent' }
  | { type: 'shout'; to: string; text: string };

/** Records what the vnodes of one node saw. */
const probe = { concurrent: 0, maxConcurrent: 0, order: [] as number[], inits: [] as string[] };

const testService = (): VnodeModule<Req> => ({
  service: 'test',
  init(ctx) {
    probe.inits.push(`${ctx.partition}@${ctx.node}`);
    let stored: unknown;
    return {
      async handleCommand(req, sender) {
        switch (req.type) {
          case 'echo':
            return reply({ value: req.value, partition: ctx.partition, node: ctx.node });
          case 'slow': {
            probe.concurrent++;
            probe.maxConcurrent = Math.max(probe.maxConcurrent, probe.concurrent);
            await new Promise((r) => setImmediate(r)); // yield: another command could interleave here
            probe.order.push(req.id);
            probe.concurrent--;
            return reply(req.id);
          }
          case 'later':
            setImmediate(() => ctx.reply(sender, { later: req.value }));
            return noreply();
          case 'boom':
            throw new Error('vnode exploded');
          case 'mutate':
            stored = req.value;
            return reply('ok');
          case 'scribble': // changes what it received, keeps it, and answers with the same object
            req.value.deep.n = -1;
            req.value.deep.list.push(-1);
            stored = req.value;
            return reply(req.value);
          case 'get':
            return reply(stored);
          case 'silent':
            return noreply();
          case 'shout':
            return reply(ctx.notify(req.to, 'shouts', { text: req.text, from: `${ctx.partition}@${ctx.node}` }));
        }
      },
    };
  },
});

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await TestCluster.start({ size: 2, services: () => [testService()] });
});
afterAll(() => cluster?.stop());

const dev1 = () => cluster.node(0);
const dev2 = () => cluster.node(1);

describe('vnode workers', () => {
  it('start lazily, on the first command for their partition', async () => {
    expect(
      dev1()
        .vnodes.running('test')
        .some((w) => w.id.partition === 5),
    ).toBe(false);
    await dev1().syncCommand({ partition: 5, node: dev1().name }, { type: 'echo', value: 1 }, 'test');
    expect(
      dev1()
        .vnodes.running('test')
        .some((w) => w.id.partition === 5),
    ).toBe(true);
    expect(probe.inits.filter((i) => i === `5@${dev1().name}`)).toHaveLength(1);
  });

  it('handle one command at a time, in arrival order', async () => {
    probe.maxConcurrent = 0;
    probe.order = [];
    const target = { partition: 7, node: dev2().name };
    const ids = Array.from({ length: 25 }, (_, i) => i);
    const replies = await Promise.all(ids.map((id) => dev1().syncCommand(target, { type: 'slow', id }, 'test')));
    expect(replies).toEqual(ids);
    expect(probe.order).toEqual(ids);
    expect(probe.maxConcurrent).toBe(1);
  });

  it('can answer later through the sender (noreply + ctx.reply)', async () => {
    const answer = await dev2().syncCommand({ partition: 3, node: dev1().name }, { type: 'later', value: 'x' }, 'test');
    expect(answer).toEqual({ later: 'x' });
  });

  it('report a callback error to the caller with its message, and keep running', async () => {
    const target = { partition: 9, node: dev2().name };
    await expect(dev1().syncCommand(target, { type: 'boom' }, 'test')).rejects.toThrow('vnode exploded');
    expect(await dev1().syncCommand(target, { type: 'echo', value: 2 }, 'test')).toMatchObject({ value: 2 });
  });

  it('share nothing with the caller: a request is copied, as if it crossed the wire', async () => {
    const value = { n: 1 };
    const target = { partition: 11, node: dev1().name };
    await dev1().syncCommand(target, { type: 'mutate', value }, 'test');
    value.n = 99;
    expect(await dev1().syncCommand(target, { type: 'get' }, 'test')).toEqual({ n: 1 });
  });

  it('share nothing with the caller either way: what a local vnode changes or answers is its own copy', async () => {
    const value = { deep: { n: 1, list: [1, 2] } };
    const target = { partition: 12, node: dev1().name };
    const answer = (await dev1().syncCommand(target, { type: 'scribble', value }, 'test')) as typeof value;
    expect(value).toEqual({ deep: { n: 1, list: [1, 2] } }); // the vnode changed its copy only
    expect(answer).toEqual({ deep: { n: -1, list: [1, 2, -1] } });
    expect(answer).not.toBe(value);
    expect(answer.deep).not.toBe(value.deep);
    answer.deep.list.length = 0; // the caller changing the answer does not reach the vnode's state
    expect(await dev1().syncCommand(target, { type: 'get' }, 'test')).toEqual({ deep: { n: -1, list: [1, 2, -1] } });
  });

  it('a local vnode receives exactly what a remote one would (the msgpack wire), whatever the value', async () => {
    const shared = { s: 1 };
    const value = {
      map: new Map([['k', 1]]),
      date: new Date(0),
      bytes: Buffer.from('ab'),
      typed: new Uint8Array([1, 2]),
      undef: undefined,
      minusZero: -0,
      // biome-ignore lint/suspicious/noSparseArray: a hole is what is tested
      holes: [1, , 3],
      surrogate: 'a\ud800b',
      twice: [shared, shared],
      klass: new (class Point {
        x = 1;
      })(),
    };
    const local = await dev1().syncCommand({ partition: 13, node: dev1().name }, { type: 'echo', value }, 'test');
    const remote = await dev1().syncCommand({ partition: 13, node: dev2().name }, { type: 'echo', value }, 'test');
    expect((local as { value: unknown }).value).toStrictEqual((remote as { value: unknown }).value);
    const got = (local as { value: typeof value }).value;
    expect(got.twice[0]).not.toBe(got.twice[1]); // two copies, as after the wire
  });

  it('run as fallbacks: any node can host any partition on demand', async () => {
    const ring = dev1().ring;
    const notOwned = ring.owners.findIndex((o) => o !== dev2().name);
    const answer = await dev1().syncCommand(
      { partition: notOwned, node: dev2().name },
      { type: 'echo', value: 'f' },
      'test',
    );
    expect(answer).toEqual({ value: 'f', partition: notOwned, node: dev2().name });
  });
});

describe('notifications from vnodes', () => {
  it('reach the subscribers of a topic on the named node, remote or local', async () => {
    const heard: unknown[] = [];
    const off = dev1().subscribe('shouts', (p) => heard.push(p));
    await dev2().syncCommand(
      { partition: 6, node: dev2().name },
      { type: 'shout', to: dev1().name, text: 'hello' },
      'test',
    );
    await dev1().syncCommand(
      { partition: 6, node: dev1().name },
      { type: 'shout', to: dev1().name, text: 'local' },
      'test',
    );
    await waitFor('both shouts', () => heard.length === 2);
    expect(heard).toContainEqual({ text: 'hello', from: `6@${dev2().name}` });
    expect(heard).toContainEqual({ text: 'local', from: `6@${dev1().name}` });
    off();
    expect(
      await dev2().syncCommand(
        { partition: 6, node: dev2().name },
        { type: 'shout', to: 'nobody@127.0.0.1', text: 'x' },
        'test',
      ),
    ).toBe(false);
  });
});

describe('vnode master', () => {
  it('command sends to every vnode of a preference list; replies say who answered', async () => {
    const got: VnodeReply[] = [];
    const sender = dev1().vnodes.newSender((r) => got.push(r), 5000);
    const apl = dev1().getApl({ partition: 0 }, 3, 'test');
    dev1().command(apl, { type: 'echo', value: 'all' }, sender, 'test');
    await waitFor('three replies', () => got.length === 3);
    dev1().vnodes.release(sender);
    expect(got.map((r) => `${r.from.partition}@${r.from.node}`).sort()).toEqual(
      apl.map((e) => `${e.partition}@${e.node}`).sort(),
    );
    expect(got.every((r) => r.ok)).toBe(true);
  });

  it('times out a sync command whose vnode never answers, and forgets the sender', async () => {
    const before = dev1().vnodes.waitingSenders;
    await expect(
      dev1().syncCommand({ partition: 1, node: dev2().name }, { type: 'silent' }, 'test', 200),
    ).rejects.toMatchObject({
      code: 'timeout',
    });
    expect(dev1().vnodes.waitingSenders).toBe(before);
  });

  it('drops a reply that arrives after its sender was released', async () => {
    const dropped = dev1().vnodes.droppedReplies;
    let calls = 0;
    const sender: Sender = dev1().vnodes.newSender(() => calls++);
    dev1().vnodes.release(sender);
    dev1().command([{ partition: 2, node: dev2().name }], { type: 'echo', value: 'late' }, sender, 'test');
    await waitFor('the late reply to be dropped', () => dev1().vnodes.droppedReplies === dropped + 1);
    expect(calls).toBe(0);
  });

  it('forgets a sender at its deadline: later replies are dropped, nothing leaks', async () => {
    const before = dev1().vnodes.waitingSenders;
    const dropped = dev1().vnodes.droppedReplies;
    const got: VnodeReply[] = [];
    const sender = dev1().vnodes.newSender((r) => got.push(r), 50);
    expect(dev1().vnodes.waitingSenders).toBe(before + 1);
    await waitFor('the sender to expire', () => dev1().vnodes.waitingSenders === before);
    dev1().command(
      [
        { partition: 4, node: dev2().name },
        { partition: 4, node: dev1().name },
      ],
      { type: 'echo', value: 'late' },
      sender,
      'test',
    );
    await waitFor('both late replies to be dropped', () => dev1().vnodes.droppedReplies === dropped + 2);
    expect(got).toEqual([]);
    expect(dev1().vnodes.waitingSenders).toBe(before);
  });

  it('rejects a sync command to a node that is not connected at once', async () => {
    await expect(
      dev1().syncCommand({ partition: 1, node: 'nobody@127.0.0.1' }, { type: 'echo', value: 1 }, 'test'),
    ).rejects.toMatchObject({
      code: 'node_down',
    });
  });

  it('answers an unknown service with an error instead of hanging', async () => {
    await expect(dev1().syncCommand({ partition: 1, node: dev2().name }, {}, 'no-such-service', 2000)).rejects.toThrow(
      /unknown vnode service/,
    );
  });
});

describe('vnode worker handoff states', () => {
  it('forwards commands queued behind the turn that deleted the data and started forwarding', async () => {
    const seen: string[] = [];
    const forwarded: string[] = [];
    const module: VnodeModule<{ k: string }> = {
      service: 'kv',
      init: () => ({
        handleCommand: (r) => {
          seen.push(`local ${r.k}`);
          return reply('local');
        },
        handleHandoffCommand: (r) => {
          seen.push(`handoff ${(r as { k: string }).k}`);
          return forward();
        },
        delete: () => void seen.push('delete'),
      }),
    };
    const w = new VnodeWorker(
      module,
      'a',
      0,
      64,
      createLogger('a'),
      () => undefined,
      (target, req) => forwarded.push(`${target} ${(req as { k: string }).k}`),
    );
    w.handoffTarget = 'b';
    void w.command({ k: 'during' }, null);
    // What the handoff manager does at the end of a transfer: one turn deletes and starts forwarding.
    const finished = w.run(async (v) => {
      await v.delete?.();
      w.forwardingTo = 'b';
      w.handoffTarget = undefined;
    });
    void w.command({ k: 'queued-behind-delete' }, null);
    await finished;
    await w.command({ k: 'later' }, null);
    expect(seen).toEqual(['handoff during', 'delete']);
    expect(forwarded).toEqual(['b during', 'b queued-behind-delete', 'b later']);
  });
});

describe('coverage requests for a handed-off partition', () => {
  const keysModule = (seen: string[]): VnodeModule => ({
    service: 'kv',
    init: () => ({
      handleCommand: () => reply('local'),
      handleCoverage: (_r, keyspaces) => {
        seen.push(`coverage ${keyspaces.join(',')}`);
        return reply([]);
      },
      delete: () => void seen.push('delete'),
    }),
  });

  it('a worker forwards a coverage request queued behind the turn that deleted the data and started forwarding', async () => {
    const seen: string[] = [];
    const forwarded: unknown[] = [];
    const w = new VnodeWorker(
      keysModule(seen),
      'a',
      5,
      64,
      createLogger('a'),
      () => undefined,
      () => undefined,
      () => false,
      (target, request, partitions, sender) => forwarded.push({ target, request, partitions, sender }),
    );
    const sender = { node: 'c', ref: 'r1' };
    const finished = w.run(async (v) => {
      await v.delete?.();
      w.forwardingTo = 'b';
    });
    void w.coverage({ type: 'keys' }, [4, 5], sender);
    await finished;
    await w.coverage({ type: 'keys' }, [5], null);
    expect(seen).toEqual(['delete']);
    expect(forwarded).toEqual([
      { target: 'b', request: { type: 'keys' }, partitions: [4, 5], sender },
      { target: 'b', request: { type: 'keys' }, partitions: [5], sender: null },
    ]);
  });

  it('the master forwards local and incoming coverage requests for a handed-off partition to the new owner, sender unchanged', async () => {
    const seen: string[] = [];
    const sent: { to: string; frame: Record<string, unknown> }[] = [];
    const master = new VnodeMaster({
      node: 'a',
      ringSize: () => 64,
      send: (to, frame) => {
        sent.push({ to, frame });
        return true;
      },
      forwardTo: (_service, partition) => (partition === 5 ? 'b' : undefined),
      log: createLogger('a'),
    });
    master.register(keysModule(seen));
    const sender = { node: 'c', ref: 'r1' };
    master.coverage({ partition: 5, node: 'a' }, [4, 5], { type: 'keys' }, sender, 'kv');
    master.handleFrame('c', {
      t: 'vnode_cov',
      service: 'kv',
      partition: 5,
      partitions: [5],
      request: { type: 'keys' },
      sender,
    });
    expect(sent).toEqual([
      {
        to: 'b',
        frame: { t: 'vnode_cov', service: 'kv', partition: 5, partitions: [4, 5], request: { type: 'keys' }, sender },
      },
      {
        to: 'b',
        frame: { t: 'vnode_cov', service: 'kv', partition: 5, partitions: [5], request: { type: 'keys' }, sender },
      },
    ]);
    expect(master.running('kv')).toEqual([]); // no vnode started for the handed-off partition
    // A partition that was not handed off is still answered here.
    master.coverage({ partition: 6, node: 'a' }, [6], { type: 'keys' }, null, 'kv');
    await waitFor('the local vnode to answer', () => seen.length === 1);
    expect(seen).toEqual(['coverage 6']);
  });
});

describe('wireCopy: the local copy of a command', () => {
  const packr = new Packr({ useRecords: false, moreTypes: false });
  const roundTrip = (v: unknown) => packr.unpack(packr.pack(v));
  /** Every object reachable from `v`. */
  const objectsOf = (v: unknown, into = new Set<object>()): Set<object> => {
    if (typeof v !== 'object' || v === null || into.has(v)) return into;
    into.add(v);
    if (v instanceof Map) for (const [k, x] of v) objectsOf(x, objectsOf(k, into));
    else if (v instanceof Set) for (const x of v) objectsOf(x, into);
    else for (const k of Object.keys(v)) objectsOf((v as Record<string, unknown>)[k], into);
    return into;
  };
  const seed = testSeed('wireCopy');

  it('equals a msgpack round trip and shares no object with the original, for any value', () => {
    fc.assert(
      fc.property(
        fc.anything({
          withBigInt: true,
          withBoxedValues: true,
          withDate: true,
          withMap: true,
          withSet: true,
          withNullPrototype: true,
          withSparseArray: true,
          // Not typed arrays: msgpackr packs some views of larger buffers differently from one call to the next.
          withTypedArray: false,
          withUnicodeString: true,
        }),
        (value) => {
          let expected: unknown;
          try {
            expected = roundTrip(value);
          } catch {
            expect(() => wireCopy(value)).toThrow(); // the message may differ: the first bad value found
            return;
          }
          const copied = wireCopy(value);
          expect(copied).toStrictEqual(expected);
          const originals = objectsOf(value);
          for (const o of objectsOf(copied)) expect(originals.has(o)).toBe(false);
        },
      ),
      { seed, numRuns: 300 },
    );
  });

  it('copies the odd cases as msgpack does: -0, holes, undefined, lone surrogates, __proto__ keys, non-plain objects', () => {
    const cases: unknown[] = [
      -0,
      [-0, 0.1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60, -(2 ** 31), 1e-320],
      // biome-ignore lint/suspicious/noSparseArray: a hole is what is tested
      [1, , 3],
      { a: undefined, b: [undefined] },
      'x\ud800y',
      { s: '\udc00' },
      JSON.parse('{"__proto__": {"polluted": true}, "k": 1}'),
      Object.assign(Object.create(null), { k: { n: 1 } }),
      { m: new Map([[1, { n: 1 }]]), d: new Date(5), b: Buffer.from('hi'), u: new Uint8Array([1, 2]) },
      { f: () => 1, n: 10n },
      [
        new (class {
          x = 1;
        })(),
      ],
    ];
    for (const value of cases) expect(wireCopy(value)).toStrictEqual(roundTrip(value));
    expect(wireCopy(undefined)).toBeUndefined();
  });
});
