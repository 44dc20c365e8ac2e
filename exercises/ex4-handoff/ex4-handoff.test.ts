/**
 * ex4-handoff: data moves when the ring changes (ownership handoff) and when a primary comes
 * back (hinted handoff), while the store keeps answering.
 * Runs against exercises/ (npm test -- ex4) or solutions/ (npm run test:solutions -- ex4).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { fetch, store } from '@ex/ex4-handoff/coordinator.js';
import { Disk, kvService, type KvVnode } from '@ex/ex4-handoff/kv_vnode.js';
import { chashKey } from '../../shared/chash.js';
import { isBalanced } from '../../shared/claim.js';
import { TestCluster, type TestClusterOptions } from '../../shared/harness/cluster.js';
import { Nemesis } from '../../shared/harness/nemesis.js';
import { testSeed } from '../../shared/harness/seed.js';
import { AbortWait, waitFor } from '../../shared/harness/wait.js';
import type { RingNode } from '../../shared/node.js';
import { members, memberStatus, preflist } from '../../shared/ring.js';

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

/** Nodes keep their Disk across kill/restart when `durable`; otherwise a restart is empty. */
async function start(size: number, durable: boolean, extra: TestClusterOptions = {}): Promise<TestCluster> {
  const disks = new Map<string, Disk>();
  const services = (name: string) => {
    if (!durable || !disks.has(name)) disks.set(name, new Disk());
    return [kvService(disks.get(name))];
  };
  const c = (cluster = await TestCluster.start({ size: 1, services, ...extra }));
  const others: RingNode[] = [];
  for (let i = 1; i < size; i++) others.push(await c.addNode());
  if (others.length > 0) {
    await joinAll(c, others);
    await settle(c); // forming moves (empty) partitions: a handoff already
  }
  return c;
}

/** Stop waiting at once with the vnode's own error if a handoff callback is unfinished (a stub). */
function failOnStub(c: TestCluster): void {
  const stub = c.nodes.map((n) => n.handoff.stats.lastError).find((e) => e?.includes('is not done yet'));
  if (stub) throw new AbortWait(stub);
}
async function settle(c: TestCluster, timeoutMs = 30_000): Promise<void> {
  await waitFor('every transfer to finish and the ring to settle', () => {
    failOnStub(c);
    return c.nodes.every((n) => n.isSettled() && members(n.ring).length === c.nodes.length);
  }, { timeoutMs });
  await c.waitSettled({ timeoutMs });
}

/** Run `fn` over `items`, `width` at a time. */
async function inBatches<T>(items: readonly T[], width: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map((x, j) => fn(x, i + j)));
}

async function joinAll(c: TestCluster, newcomers: readonly RingNode[]): Promise<void> {
  for (const n of newcomers) await n.join(c.node(0).addr);
  await c.commitWhenReady(c.node(0));
}

const keys = (n: number, prefix = 'key') => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

/** What `node`'s kv vnode for `partition` holds for `key` (undefined: nothing or no vnode). */
async function held(node: RingNode, partition: number, key: string) {
  const w = node.vnodes.running('kv').find((v) => v.id.partition === partition);
  return w?.run((v) => (v as unknown as KvVnode).data.get(key));
}

describe('ex4-handoff: ownership handoff', () => {
  it('5,000 keys on one node: two nodes join, nothing is lost, ownership is balanced, old vnodes are emptied', { timeout: 90_000 }, async () => {
    const c = await start(1, false);
    const all = keys(5000);
    await inBatches(all, 100, async (k, i) => void (await store(c.node(0), k, i, { n: 3, w: 2 })));
    await joinAll(c, [await c.addNode(), await c.addNode()]);
    await settle(c);
    const ring = c.node(0).ring;
    expect(isBalanced(ring.owners, c.names)).toBe(true);
    for (const node of c.nodes) {
      await inBatches(all, 250, async (k, i) => {
        const r = await fetch(node, k, { n: 3, r: 2 });
        if (!r.found || r.value !== i) throw new Error(`${k} via ${node.name}: expected ${i}, got ${JSON.stringify(r)}`);
      });
    }
    // dev1 gave partitions away: its vnodes for them are gone or empty.
    const dev1 = c.node(0);
    for (const w of dev1.vnodes.running('kv')) {
      if (ring.owners[w.id.partition] !== dev1.name) expect(await w.run((v) => (v as unknown as KvVnode).data.size)).toBe(0);
    }
    expect(c.nodes.reduce((n, x) => n + x.handoff.stats.itemsReceived, 0)).toBeGreaterThan(5000);
  });

  it('a node leaves a 3-node cluster holding data: nothing is lost, it ends invalid and on its own', { timeout: 60_000 }, async () => {
    const c = await start(3, false);
    const all = keys(600);
    await inBatches(all, 100, async (k, i) => void (await store(c.node(0), k, i)));
    const leaver = c.node(2);
    await leaver.leave();
    await c.commitWhenReady(c.node(0));
    await waitFor('dev3 to be gone', () => {
      failOnStub(c);
      return memberStatus(c.node(0).ring, leaver.name) === 'invalid' && c.node(0).isSettled() && c.node(1).isSettled();
    }, { timeoutMs: 30_000 });
    expect(members(leaver.ring)).toEqual([leaver.name]);
    for (const node of [c.node(0), c.node(1)]) {
      await inBatches(all, 200, async (k, i) => expect(await fetch(node, k, { r: 2 })).toMatchObject({ found: true, value: i }));
    }
  });
});

describe('ex4-handoff: hinted handoff', () => {
  it('writes that went to fallbacks return to the restarted primary; the fallback vnodes are deleted', { timeout: 60_000 }, async () => {
    const c = await start(4, false);
    const victim = 'dev2@127.0.0.1';
    await c.kill(victim);
    await waitFor('the others to see dev2 down', () => c.nodes.every((n) => !n.upNodes('kv').includes(victim)));
    const written = keys(200, 'hint').filter((k) => preflist(c.node(0).ring, chashKey('kv', k)).slice(0, 3).some((e) => e.node === victim));
    const fallbacks = new Set<string>();
    for (const k of written) {
      const r = await store(c.node(0), k, `v-${k}`, { n: 3, w: 3 });
      for (const a of r.answered) if (a.type === 'fallback') fallbacks.add(`${a.partition}@${a.node}`);
    }
    expect(written.length).toBeGreaterThan(50);
    expect(fallbacks.size).toBeGreaterThan(0);
    const primary = await c.restart(victim); // empty: a new Disk
    await waitFor('dev2 to hold every write, and the fallback vnodes to be gone', async () => {
      failOnStub(c);
      for (const k of written) {
        const mine = preflist(primary.ring, chashKey('kv', k)).slice(0, 3).filter((e) => e.node === victim);
        for (const e of mine) if ((await held(primary, e.partition, k))?.value !== `v-${k}`) return false;
      }
      return [...fallbacks].every((f) => {
        const at = f.indexOf('@');
        const [p, node] = [Number(f.slice(0, at)), f.slice(at + 1)];
        return !c.node(node).vnodes.running('kv').some((w) => w.id.partition === p);
      });
    }, { timeoutMs: 30_000 });
    expect(c.nodes.some((n) => n.handoff.stats.completed > 0)).toBe(true);
  });
});

describe('ex4-handoff: failures and writes during transfers', () => {
  it('a transfer whose receiver is killed midway is cancelled and retried: nothing lost, nothing stale', { timeout: 90_000 }, async () => {
    const seed = testSeed('ex4 receiver killed');
    const c = await start(1, true, { handoff: { batchItems: 10, retryMs: 300 } });
    const all = keys(1500);
    await inBatches(all, 100, async (k) => void (await store(c.node(0), k, 'stale')));
    await inBatches(all, 100, async (k, i) => void (await store(c.node(0), k, i)));
    const nemesis = new Nemesis(c, seed);
    const receiver = await c.addNode();
    nemesis.latency(c.node(0).name, receiver.name, 15); // slow batches: the transfer takes a while
    await joinAll(c, [receiver]);
    await waitFor('dev2 to receive part of the data', () => {
      failOnStub(c);
      return receiver.handoff.stats.itemsReceived > 0;
    }, { timeoutMs: 30_000 });
    await c.kill(receiver.name);
    await waitFor('dev1 to cancel a transfer', () => c.node(0).handoff.stats.failed > 0, { timeoutMs: 15_000 });
    expect(c.node(0).ring.next.length).toBeGreaterThan(0); // the transfers were not all done
    expect(await fetch(c.node(0), all[0]!, { r: 2 })).toMatchObject({ found: true, value: 0 }); // still serving
    nemesis.heal();
    await c.restart(receiver.name);
    await settle(c, 60_000);
    for (const node of c.nodes) {
      await inBatches(all, 250, async (k, i) => {
        const r = await fetch(node, k, { r: 2 });
        if (!r.found || r.value !== i) throw new Error(`${k} via ${node.name}: expected ${i}, got ${JSON.stringify(r)}`);
      });
    }
  });

  it('writes made while partitions are moving are not lost', { timeout: 90_000 }, async () => {
    const seed = testSeed('ex4 writes during handoff');
    const c = await start(2, false, { handoff: { batchItems: 10 } });
    const all = keys(800);
    await inBatches(all, 100, async (k) => void (await store(c.node(0), k, 'before')));
    const nemesis = new Nemesis(c, seed);
    const newcomer = await c.addNode();
    for (const n of c.nodes) if (n !== newcomer) nemesis.latency(n.name, newcomer.name, 20);
    await joinAll(c, [newcomer]);
    await waitFor('a transfer to be running', () => {
      failOnStub(c);
      return c.nodes.some((n) => n.handoff.running().length > 0);
    }, { timeoutMs: 15_000 });
    let duringTransfer = 0;
    const acknowledged = new Map<string, string>();
    // Rewrite every key while the ring moves, with W=3: nothing is down, so every replica must
    // acknowledge, the one being handed off included (handleHandoffCommand must take the put).
    const failures: string[] = [];
    await inBatches(all, 20, async (k) => {
      if (c.nodes.some((n) => n.handoff.running().length > 0)) duringTransfer++;
      const value = `during-${k}`;
      await store(c.node(nemesis.int(2)), k, value, { w: 3, timeoutMs: 3000 }).then(
        () => void acknowledged.set(k, value),
        (err: Error) => void failures.push(`${k}: ${err.message}`),
      );
    });
    expect(failures.slice(0, 3)).toEqual([]);
    nemesis.heal();
    await settle(c, 60_000);
    expect(duringTransfer).toBeGreaterThan(0);
    expect(acknowledged.size).toBe(all.length);
    for (const node of c.nodes) {
      await inBatches([...acknowledged], 200, async ([k, v]) => {
        const r = await fetch(node, k, { r: 2 });
        if (!r.found || r.value !== v) throw new Error(`${k} via ${node.name}: expected ${v}, got ${JSON.stringify(r)}`);
      });
    }
  });
});
