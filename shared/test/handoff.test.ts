/**
 * The handoff manager with a minimal service: at most `concurrency` transfers leave a node at
 * once, a vnode that never goes idle still hands off, and a service that cannot hand off
 * leaves its transfers pending (visible in ring_status) without breaking anything.
 */
import { stripVTControlCharacters } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { TestCluster } from '../harness/cluster.js';
import { Nemesis } from '../harness/nemesis.js';
import { testSeed } from '../harness/seed.js';
import { waitFor } from '../harness/wait.js';
import { forward, isFoldRequest, reply, type Vnode, type VnodeModule } from '../vnode.js';

type Req = { type: 'put'; key: string; value: string } | { type: 'get'; key: string };

/** A bag of strings per partition; with `handoff: false` it has data but no handoff callbacks. */
function bag(handoff: boolean): VnodeModule<Req> {
  return {
    service: 'bag',
    init() {
      const data = new Map<string, string>();
      const handle = (r: Req) => {
        if (r.type === 'put') data.set(r.key, r.value);
        return reply(r.type === 'get' ? (data.get(r.key) ?? null) : 'ok');
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
        },
        handleHandoffCommand(r, sender) {
          if (isFoldRequest(r)) {
            let acc = r.acc0;
            for (const [k, v] of data) acc = r.foldFun(k, v, acc);
            return reply(acc);
          }
          if (r.type === 'put') {
            data.set(r.key, r.value);
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
    for (let i = 0; i < perPartition; i++) await n.syncCommand({ partition: p, node: n.name }, { type: 'put', key: `k${i}`, value: `p${p}-${i}` }, 'bag');
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
    await waitFor('the ring to settle', () => {
      most = Math.max(most, c.node(0).handoff.running().length);
      return c.nodes.every((n) => n.isSettled());
    }, { timeoutMs: 45_000, intervalMs: 5 });
    expect(most).toBe(2);
    const ring = c.node(0).ring;
    for (let p = 0; p < ring.ringSize; p++) {
      const owner = ring.owners[p]!;
      expect(await c.node(0).syncCommand({ partition: p, node: owner }, { type: 'get', key: 'k7' }, 'bag')).toBe(`p${p}-7`);
    }
    expect(c.node(0).handoff.stats.itemsSent).toBe(32 * 20);
  });

  it('a vnode that never goes idle still hands off (after maxWaitMs)', { timeout: 60_000 }, async () => {
    const c = (cluster = await TestCluster.start({ size: 1, services: () => [bag(true)], handoff: { inactivityMs: 60_000, maxWaitMs: 300 } }));
    await fill(c, 2);
    const dev2 = await c.addNode();
    let stop = false;
    const busy = (async () => {
      // Keep every partition busy: with inactivityMs of a minute, only maxWaitMs can start handoff.
      for (let i = 0; !stop && i < 100_000; i++) {
        await c.node(0).syncCommand({ partition: i % 64, node: c.node(0).name }, { type: 'get', key: 'k0' }, 'bag').catch(() => undefined);
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
    await waitFor('the handoff to be tried and refused', () => /cannot hand it off/.test(c.node(0).handoff.stats.lastError ?? ''));
    const status = stripVTControlCharacters(c.node(0).ringStatus());
    expect(status).toContain('Owner:      dev1@127.0.0.1');
    expect(status).toContain('Next Owner: dev2@127.0.0.1');
    expect(status).toMatch(/Waiting on: \[bag\]/);
    expect(c.node(0).ring.next.length).toBe(32);
    expect(await c.node(0).syncCommand({ partition: 1, node: c.node(0).name }, { type: 'get', key: 'k0' }, 'bag')).toBe('p1-0');
  });
});
