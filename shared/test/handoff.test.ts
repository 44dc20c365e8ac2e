/**
 * The handoff manager with a minimal service: at most `concurrency` transfers leave a node at
 * once, a node receiving from several senders takes part in at most `concurrency` transfers
 * (in + out, riak's handoff_concurrency), the inbound slot protocol (open, refuse with
 * max_concurrency, close, expiry of a silent sender), a vnode that never goes idle still
 * hands off, and a service that cannot hand off leaves its transfers pending (visible in
 * ring_status) without breaking anything.
 */
import { stripVTControlCharacters } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { performance } from 'node:perf_hooks';
import { RingError } from '../errors.js';
import { HandoffManager } from '../handoff.js';
import { TestCluster } from '../harness/cluster.js';
import { Nemesis } from '../harness/nemesis.js';
import { testSeed } from '../harness/seed.js';
import { waitFor } from '../harness/wait.js';
import { createLogger } from '../log.js';
import { fresh } from '../ring.js';
import { Rpc } from '../rpc.js';
import type { Frame } from '../transport.js';
import { forward, isFoldRequest, reply, type Vnode, type VnodeModule } from '../vnode.js';
import { VnodeMaster } from '../vnode_master.js';

type Req =
  | { type: 'put'; key: string; value: string }
  | { type: 'get'; key: string }
  | { type: 'fill'; n: number; tag: string }
  | { type: 'count' };

/**
 * A bag of strings per partition; with `handoff: false` it has data but no handoff callbacks.
 * `onData(partition)` is called for every handoff item this vnode applies.
 */
function bag(handoff: boolean, onData?: (partition: number) => void): VnodeModule<Req> {
  return {
    service: 'bag',
    init(ctx) {
      const data = new Map<string, string>();
      const handle = (r: Req) => {
        if (r.type === 'put') data.set(r.key, r.value);
        if (r.type === 'fill') for (let i = 0; i < r.n; i++) data.set(`k${i}`, `${r.tag}-${i}`);
        return reply(r.type === 'get' ? (data.get(r.key) ?? null) : r.type === 'count' ? data.size : 'ok');
      };
      const vnode: Vnode<Req> = { handleCommand: handle, isEmpty: () => data.size === 0 };
      if (!handoff) return vnode;
      return {
        ...vnode,
        delete: () => data.clear(),
        encodeHandoffItem: (k, v) => Buffer.from(JSON.stringify([k, v])),
        handleHandoffData: (b) => {
          const [k, v] = JSON.parse(Buffer.from(b).toString()) as [string, string];
          data.set(k, v);
          onData?.(ctx.partition);
        },
        handleHandoffCommand(r, _sender) {
          if (isFoldRequest(r)) {
            let acc = r.acc0;
            for (const [k, v] of data) acc = r.foldFun(k, v, acc);
            return reply(acc);
          }
          if (r.type === 'put' || r.type === 'fill') {
            handle(r);
            return forward();
          }
          return handle(r);
        },
      };
    },
  };
}

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

/** Put one item into every partition's vnode on node 0. */
async function fill(c: TestCluster, perPartition = 20): Promise<void> {
  const n = c.node(0);
  for (let p = 0; p < n.ring.ringSize; p++) {
    for (let i = 0; i < perPartition; i++)
      await n.syncCommand({ partition: p, node: n.name }, { type: 'put', key: `k${i}`, value: `p${p}-${i}` }, 'bag');
  }
}

describe('handoff manager', () => {
  it('never runs more than 2 transfers out of a node at once, and moves everything', { timeout: 60_000 }, async () => {
    const c = (cluster = await TestCluster.start({ size: 1, services: () => [bag(true)], handoff: { batchItems: 5 } }));
    await fill(c);
    const nemesis = new Nemesis(c, testSeed('handoff concurrency'));
    const dev2 = await c.addNode();
    nemesis.latency(c.node(0).name, dev2.name, 5);
    await dev2.join(c.node(0).addr);
    await c.commitWhenReady(c.node(0));
    let most = 0;
    await waitFor(
      'the ring to settle',
      () => {
        most = Math.max(most, c.node(0).handoff.running().length);
        return c.nodes.every((n) => n.isSettled());
      },
      { timeoutMs: 45_000, intervalMs: 5 },
    );
    expect(most).toBe(2);
    const ring = c.node(0).ring;
    for (let p = 0; p < ring.ringSize; p++) {
      const owner = ring.owners[p]!;
      expect(await c.node(0).syncCommand({ partition: p, node: owner }, { type: 'get', key: 'k7' }, 'bag')).toBe(
        `p${p}-7`,
      );
    }
    expect(c.node(0).handoff.stats.itemsSent).toBe(32 * 20);
  });

  it('keeps a window of batches in flight per transfer, never more; a batch lost midway cancels, and the retry moves everything', {
    timeout: 60_000,
  }, async () => {
    const window = 3;
    const c = (cluster = await TestCluster.start({
      size: 1,
      services: () => [bag(true)],
      handoff: { batchItems: 5, batchWindow: window, batchTimeoutMs: 400 },
    }));
    await fill(c); // 20 items per partition: 4 batches each
    const dev1 = c.node(0).name;
    const partitionOf = new Map<string, number>(); // handoff.data call id → partition, until acked
    const inFlight = new Map<number, number>();
    let most = 0;
    let seenOf: number | undefined;
    let batchesOfLost = 0;
    let lost = false;
    c.setLinkFilter((from, _to, frame: Frame) => {
      if (frame.t === 'call' && frame.method === 'handoff.data') {
        const p = (frame.args as { partition: number }).partition;
        seenOf ??= p;
        if (p === seenOf && ++batchesOfLost === 2 && !lost) {
          lost = true;
          return 'drop'; // the second batch of the first transfer never arrives
        }
        partitionOf.set(frame.id as string, p);
        inFlight.set(p, (inFlight.get(p) ?? 0) + 1);
        most = Math.max(most, inFlight.get(p) as number);
        return { delayMs: 5 }; // acks take a while: the sender keeps sending meanwhile
      }
      if (frame.t === 'return' && from !== dev1 && partitionOf.has(frame.id as string)) {
        const p = partitionOf.get(frame.id as string) as number;
        partitionOf.delete(frame.id as string);
        inFlight.set(p, (inFlight.get(p) as number) - 1);
      }
      return 'deliver';
    });
    const dev2 = await c.addNode();
    await dev2.join(c.node(0).addr);
    await c.commitWhenReady(c.node(0));
    await c.waitSettled({ timeoutMs: 45_000 });
    expect(lost).toBe(true);
    expect(most).toBe(window);
    expect(c.node(0).handoff.stats.failed).toBeGreaterThanOrEqual(1);
    const ring = c.node(0).ring;
    for (let p = 0; p < ring.ringSize; p++) {
      const owner = ring.owners[p] as string;
      for (const k of [0, 7, 19])
        expect(await c.node(0).syncCommand({ partition: p, node: owner }, { type: 'get', key: `k${k}` }, 'bag')).toBe(
          `p${p}-${k}`,
        );
    }
  });

  it('a vnode that never goes idle still hands off (after maxWaitMs)', { timeout: 60_000 }, async () => {
    const c = (cluster = await TestCluster.start({
      size: 1,
      services: () => [bag(true)],
      handoff: { inactivityMs: 60_000, maxWaitMs: 300 },
    }));
    await fill(c, 2);
    const dev2 = await c.addNode();
    let stop = false;
    const busy = (async () => {
      // Keep every partition busy: with inactivityMs of a minute, only maxWaitMs can start handoff.
      for (let i = 0; !stop && i < 100_000; i++) {
        await c
          .node(0)
          .syncCommand({ partition: i % 64, node: c.node(0).name }, { type: 'get', key: 'k0' }, 'bag')
          .catch(() => undefined);
      }
    })();
    await dev2.join(c.node(0).addr);
    await c.commitWhenReady(c.node(0));
    try {
      await c.waitSettled({ timeoutMs: 45_000 });
    } finally {
      stop = true;
      await busy;
    }
    expect(c.node(0).handoff.stats.completed).toBeGreaterThanOrEqual(32);
  });

  it('a service that cannot hand off keeps its transfers pending, visibly, and keeps serving', async () => {
    const c = (cluster = await TestCluster.start({ size: 1, services: () => [bag(false)] }));
    await fill(c, 1);
    const dev2 = await c.addNode();
    await dev2.join(c.node(0).addr);
    await c.commitWhenReady(c.node(0));
    await waitFor('the handoff to be tried and refused', () =>
      /cannot hand it off/.test(c.node(0).handoff.stats.lastError ?? ''),
    );
    const status = stripVTControlCharacters(c.node(0).ringStatus());
    expect(status).toContain('Owner:      dev1@127.0.0.1');
    expect(status).toContain('Next Owner: dev2@127.0.0.1');
    expect(status).toMatch(/Waiting on: \[bag\]/);
    expect(c.node(0).ring.next.length).toBe(32);
    expect(await c.node(0).syncCommand({ partition: 1, node: c.node(0).name }, { type: 'get', key: 'k0' }, 'bag')).toBe(
      'p1-0',
    );
  });
});

/** Most intervals [first, last] that overlap at one instant (touching ends do not overlap). */
function maxOverlap(intervals: readonly (readonly [number, number])[]): number {
  const events = intervals
    .flatMap(([a, b]) => [[a, 1] as const, [b, -1] as const])
    .sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let now = 0;
  let most = 0;
  for (const [, d] of events) most = Math.max(most, (now += d));
  return most;
}

describe('handoff concurrency counts transfers in and out together (riak handoff_concurrency)', () => {
  it('a joining node receiving from three senders never has more than 2 transfers in at once; nothing is lost, refusals are not failures', {
    timeout: 60_000,
  }, async () => {
    const joiner = 'dev4@127.0.0.1';
    /** partition → [first, last] time (ms, performance.now) a handoff item was applied on the joiner. */
    const seen = new Map<number, [number, number]>();
    const onData = (p: number) => {
      const t = performance.now();
      const w = seen.get(p);
      if (w) w[1] = t;
      else seen.set(p, [t, t]);
    };
    const perPartition = 40;
    const c = (cluster = await TestCluster.start({
      size: 3,
      services: (name) => [bag(true, name === joiner ? onData : undefined)],
      handoff: { batchItems: 5 },
    }));
    const ring = c.node(0).ring;
    for (let p = 0; p < ring.ringSize; p++) {
      await c
        .node(0)
        .syncCommand({ partition: p, node: ring.owners[p]! }, { type: 'fill', n: perPartition, tag: `p${p}` }, 'bag');
    }
    // Slow every link into the joiner a little, so that each transfer takes a few round trips.
    const nemesis = new Nemesis(c, testSeed('handoff inbound concurrency'));
    const dev4 = await c.addNode();
    for (const n of c.nodes) if (n !== dev4) nemesis.latency(n.name, joiner, 5);
    await dev4.join(c.node(0).addr);
    await c.commitWhenReady(c.node(0));
    const senders = new Set(
      c
        .node(0)
        .ring.next.filter((t) => t.nextOwner === joiner)
        .map((t) => t.owner),
    );
    expect(senders.size).toBe(3);
    await waitFor('the ring to settle', () => c.nodes.every((n) => n.isSettled()), { timeoutMs: 45_000 });
    await c.waitSettled({ timeoutMs: 15_000 });
    const moved = [...seen.keys()];
    expect(moved.length).toBeGreaterThan(10);
    // Measured by the joiner's vnodes: at most 2 partitions were ever receiving at once.
    expect(maxOverlap([...seen.values()])).toBeLessThanOrEqual(2);
    expect(dev4.handoff.receiving()).toEqual([]); // every slot was closed
    // Nothing lost: every partition holds all its items on its (new) owner.
    const after = c.node(0).ring;
    for (let p = 0; p < after.ringSize; p++) {
      const owner = after.owners[p]!;
      expect(await c.node(0).syncCommand({ partition: p, node: owner }, { type: 'count' }, 'bag')).toBe(perPartition);
      expect(await c.node(0).syncCommand({ partition: p, node: owner }, { type: 'get', key: 'k7' }, 'bag')).toBe(
        `p${p}-7`,
      );
    }
    for (const p of moved) expect(after.owners[p]).toBe(joiner);
    // The senders were turned away (max_concurrency) and came back; none of it counts as a failure.
    const stats = c.nodes.map((n) => n.handoff.stats);
    expect(stats.reduce((n, s) => n + s.failed, 0)).toBe(0);
    expect(stats.reduce((n, s) => n + s.refused, 0)).toBeGreaterThan(0);
    expect(dev4.handoff.stats.refusedInbound).toBeGreaterThan(0);
  });

  /**
   * One receiver `r` (concurrency 2) and senders talking to it over in-memory RPC: the slot
   * protocol without a cluster. `r` also holds a fallback vnode of partition 3, whose owner
   * is `x`, so it has outbound work of its own.
   */
  function slotRig() {
    const rpcs = new Map<string, Rpc>();
    const log = createLogger('rig');
    const rpcOf = (name: string) => {
      const rpc = new Rpc(
        name,
        (to: string, frame: Frame) => {
          const peer = rpcs.get(to);
          if (!peer) return false;
          setImmediate(() =>
            peer.handleFrame(name, frame, 'node', (back) =>
              setImmediate(() => rpcs.get(name)?.handleFrame(to, back, 'node', () => undefined)),
            ),
          );
          return true;
        },
        log,
      );
      rpcs.set(name, rpc);
      return rpc;
    };
    const applied: number[] = [];
    const vnodes = new VnodeMaster({ node: 'r', ringSize: () => 8, send: () => false, log });
    vnodes.register(bag(true, (p) => applied.push(p)));
    const ring = { ...fresh(8, 'r', ''), owners: ['r', 'r', 'r', 'x', 'r', 'r', 'r', 'r'] };
    const r = new HandoffManager(
      // Jitter fixed at its middle: a refused target is asked again after refusedRetryMs = 5 s.
      {
        node: 'r',
        ring: () => ring,
        vnodes,
        rpc: rpcOf('r'),
        isUp: (n) => n === 'x',
        transferComplete: async () => undefined,
        log,
        random: () => 0.5,
      },
      { concurrency: 2, inactivityMs: 0, batchTimeoutMs: 5000, tickMs: 1000, retryMs: 1000, refusedRetryMs: 5000 },
    );
    /** Calls to `x`, which refuses every transfer (it is busy). */
    const xCalls: string[] = [];
    rpcOf('x').handle('handoff.open', (args) => {
      xCalls.push(`open ${(args as { partition: number }).partition}`);
      throw new RingError('max_concurrency', 'x is busy');
    });
    const s = (name: string) => rpcOf(name);
    const open = (from: Rpc, partition: number, timeoutMs = 5000) =>
      from.call('r', 'handoff.open', { service: 'bag', partition, timeoutMs }, 2000);
    const data = (from: Rpc, partition: number) =>
      from.call(
        'r',
        'handoff.data',
        { service: 'bag', partition, items: [Buffer.from(JSON.stringify([`k${partition}`, 'v']))] },
        2000,
      );
    const close = (from: Rpc, partition: number) =>
      from.call('r', 'handoff.close', { service: 'bag', partition }, 2000);
    return { r, vnodes, s, open, data, close, applied, xCalls };
  }

  it("a target grants concurrency slots, refuses more with max_concurrency, frees them on close and after a silent sender's batch timeout", async () => {
    const { r, s, open, data, close, applied } = slotRig();
    const [s1, s2, s3, s4] = ['s1', 's2', 's3', 's4'].map(s);
    await expect(open(s1!, 1)).resolves.toBe(true);
    const s2Opened = Date.now();
    await expect(open(s2!, 2, 150)).resolves.toBe(true); // s2's batch timeout: 150 ms
    await expect(open(s3!, 3)).rejects.toMatchObject({ code: 'max_concurrency' });
    await expect(open(s1!, 1)).resolves.toBe(true); // a retry re-opens its own slot, takes no second one
    expect(
      r
        .receiving()
        .map((t) => `${t.source} ${t.partition}`)
        .sort(),
    ).toEqual(['s1 1', 's2 2']);
    await expect(data(s1!, 1)).resolves.toBe(1);
    expect(applied).toEqual([1]);
    expect(r.receiving().find((t) => t.source === 's1')).toMatchObject({ items: 1 });
    await expect(close(s1!, 1)).resolves.toBe(true);
    await expect(open(s3!, 3)).resolves.toBe(true);
    // s2 sends nothing more (killed): after its batch timeout its slot goes to the next sender.
    await expect(open(s4!, 4)).rejects.toMatchObject({ code: 'max_concurrency' });
    await waitFor(
      "s2's silent slot to expire and s4 to get it",
      () =>
        open(s4!, 4).then(
          () => true,
          () => false,
        ),
      { timeoutMs: 5000 },
    );
    expect(Date.now() - s2Opened).toBeGreaterThanOrEqual(150);
    expect(
      r
        .receiving()
        .map((t) => t.source)
        .sort(),
    ).toEqual(['s3', 's4']);
    // s2 comes back: no slot any more and none free, so its batch is refused (and not applied).
    await expect(data(s2!, 2)).rejects.toMatchObject({ code: 'max_concurrency' });
    expect(applied).toEqual([1]);
    expect(r.stats.refusedInbound).toBeGreaterThanOrEqual(3);
  });

  it('a node whose inbound transfers fill its limit starts no transfer of its own; a refusal by its target is not a failure', async () => {
    const { r, vnodes, s, open, close, xCalls } = slotRig();
    // A fallback vnode here for partition 3, owned by x: hinted handoff work for r.
    await vnodes.vnode('bag', 3).command({ type: 'put', key: 'a', value: 'b' }, null);
    const [s1, s2] = ['s1', 's2'].map(s);
    await open(s1!, 1);
    await open(s2!, 2);
    r.tick();
    expect(r.running()).toEqual([]); // 2 in + 0 out: at the limit
    await close(s1!, 1); // frees a slot and ticks
    await waitFor('r to try its own transfer to x', () => xCalls.length > 0);
    await waitFor('the refused transfer to end', () => r.running().length === 0);
    expect(xCalls).toEqual(['open 3']);
    expect(r.stats).toMatchObject({ refused: 1, failed: 0 });
    expect(r.stats.lastError).toBeUndefined();
    // Refused a moment ago: the next tick does not ask x again at once.
    r.tick();
    expect(r.running()).toEqual([]);
    expect(xCalls).toEqual(['open 3']);
    expect(await vnodes.vnode('bag', 3).run((v) => v.isEmpty?.())).toBe(false); // the data stays here
    r.stop();
  });
});
