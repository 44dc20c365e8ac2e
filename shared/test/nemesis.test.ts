/**
 * The nemesis (test harness fault injection): partitions cut both directions and heal,
 * latency delays a link, drops follow the seed, kills and restarts are recorded.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TestCluster, TEST_TIMING } from '../harness/cluster.js';
import { Nemesis } from '../harness/nemesis.js';
import { testSeed } from '../harness/seed.js';
import { waitFor } from '../harness/wait.js';
import type { VnodeModule } from '../vnode.js';

const echo: VnodeModule = { service: 'echo', init: () => ({ handleCommand: (r: unknown) => ({ reply: r }) }) };
const seed = testSeed('nemesis');

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

const [D1, D2, D3] = ['dev1@127.0.0.1', 'dev2@127.0.0.1', 'dev3@127.0.0.1'] as const;

describe('nemesis', () => {
  it('a partition cuts both directions; heal restores the links', async () => {
    const c = (cluster = await TestCluster.start({ size: 3, services: () => [echo] }));
    const nemesis = new Nemesis(c, seed);
    nemesis.partition([[D1, D2], [D3]]);
    await waitFor(
      'each side to see the other down',
      () =>
        !c.node(0).watcher.isUp(D3) &&
        !c.node(1).watcher.isUp(D3) &&
        !c.node(2).watcher.isUp(D1) &&
        !c.node(2).watcher.isUp(D2),
    );
    expect(c.node(0).watcher.isUp(D2)).toBe(true);
    await expect(c.node(0).syncCommand({ partition: 0, node: D3 }, 'hi', 'echo', 300)).rejects.toMatchObject({
      code: 'timeout',
    });
    await expect(c.node(2).syncCommand({ partition: 0, node: D1 }, 'hi', 'echo', 300)).rejects.toMatchObject({
      code: 'timeout',
    });
    nemesis.heal();
    await waitFor('everyone to see everyone up', () => c.nodes.every((n) => n.upNodes().length === 3));
    expect(await c.node(0).syncCommand({ partition: 0, node: D3 }, 'back', 'echo', 2000)).toBe('back');
    expect(nemesis.history.map((e) => e.what)).toEqual([`partition [${D1} ${D2}] | [${D3}]`, 'heal']);
    expect(nemesis.dropped).toBeGreaterThan(0);
  });

  it('a cut link stays cut when the nodes redial each other (a new link sends no heartbeat through the cut)', async () => {
    const c = (cluster = await TestCluster.start({ size: 3, services: () => [echo] }));
    const nemesis = new Nemesis(c, seed);
    nemesis.partition([[D1, D2], [D3]]);
    // Redials start as soon as one side sees the other down: listen for them from the cut on.
    const hellos = new Set<string>();
    c.node(0).transport.on('hello', (n: string) => hellos.add(`${n}>${D1}`));
    c.node(2).transport.on('hello', (n: string) => hellos.add(`${n}>${D3}`));
    await waitFor('each side to see the other down', () => !c.node(0).watcher.isUp(D3) && !c.node(2).watcher.isUp(D1));
    const ups: string[] = [];
    c.node(0).transport.on('up', (n: string) => ups.push(`${D1} saw ${n} up`));
    c.node(2).transport.on('up', (n: string) => ups.push(`${D3} saw ${n} up`));
    // Each side dropped its silent link and dials again; the first heartbeat on the new link
    // used to bypass the filter, and the other side saw the cut peer up for downAfterMs.
    await waitFor(
      'dev1 and dev3 to redial each other across the cut',
      () => hellos.has(`${D1}>${D3}`) && hellos.has(`${D3}>${D1}`),
    );
    const until = Date.now() + 5 * TEST_TIMING.heartbeatMs;
    await waitFor('five heartbeat periods after the redials', () => Date.now() >= until);
    expect(ups).toEqual([]);
  });

  it('nodes left out of every group form one group together', async () => {
    const c = (cluster = await TestCluster.start({ size: 3, services: () => [echo] }));
    const nemesis = new Nemesis(c, seed);
    nemesis.isolate(D1);
    expect(nemesis.verdict(D2, D3, { t: 'x' })).toBe('deliver');
    expect(nemesis.verdict(D2, D1, { t: 'x' })).toBe('drop');
    expect(nemesis.verdict(D1, D3, { t: 'x' })).toBe('drop');
    expect(() => nemesis.partition([[D1], [D1, D2]])).toThrow(/two groups/);
  });

  it('latency delays every frame on a link by at least the given time', async () => {
    const c = (cluster = await TestCluster.start({ size: 2, services: () => [echo] }));
    const nemesis = new Nemesis(c, seed);
    nemesis.latency(D1, D2, 150);
    const t0 = performance.now();
    expect(await c.node(0).syncCommand({ partition: 1, node: D2 }, 'slow', 'echo', 5000)).toBe('slow');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(145);
  });

  it('drops follow the seed: the same seed drops the same frames', () => {
    const fake = { setLinkFilter: () => undefined } as unknown as TestCluster;
    const run = (s: number) => {
      const n = new Nemesis(fake, s);
      n.drop(0.3);
      return Array.from({ length: 2000 }, () => n.verdict(D1, D2, { t: 'x' }));
    };
    const a = run(seed);
    expect(run(seed)).toEqual(a);
    const dropped = a.filter((v) => v === 'drop').length;
    expect(dropped).toBeGreaterThan(400); // 600 expected; far outside these bounds is a broken PRNG
    expect(dropped).toBeLessThan(800);
    expect(() => new Nemesis(fake, seed).drop(1.5)).toThrow(RangeError);
  });

  it('kill and restart go through the cluster and are recorded', async () => {
    const c = (cluster = await TestCluster.start({ size: 3, services: () => [echo] }));
    const nemesis = new Nemesis(c, seed);
    await nemesis.kill(D2);
    await waitFor('dev1 to see dev2 down', () => !c.node(0).watcher.isUp(D2));
    await nemesis.restart(D2);
    await c.waitSettled();
    expect(nemesis.history.map((e) => e.what)).toEqual([`kill ${D2}`, `restart ${D2}`]);
  });
});
