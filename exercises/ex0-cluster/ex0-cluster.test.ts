/**
 * ex0-cluster: three fresh nodes become one ring with the admin API; a node leaves.
 * Runs against exercises/ (npm test -- ex0) or solutions/ (npm run test:solutions -- ex0).
 */
import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it, type TestContext } from 'vitest';
import { formCluster, leaveCluster } from '@ex/ex0-cluster/cluster.js';
import { TestCluster } from '../../shared/harness/cluster.js';
import { waitFor } from '../../shared/harness/wait.js';
import type { RingNode } from '../../shared/node.js';
import { members, ownedPartitions } from '../../shared/ring.js';

// The tests run concurrently (describe.concurrent), each on a cluster of its own: most of their
// time is spent waiting for gossip, which overlaps well.
let clusters = 0;
/**
 * `size` fresh nodes, not joined, stopped when the test ends. Each cluster has its own cookie,
 * so a node of one test never talks to a node of another that got a recycled port.
 */
async function fresh({ onTestFinished }: TestContext, size: number): Promise<TestCluster> {
  const c = await TestCluster.start({ size, form: false, cookie: `ex0-${++clusters}` });
  onTestFinished(() => c.stop());
  return c;
}
const DEV = (i: number) => `dev${i}@127.0.0.1`;

/** The nodes (by name) that do not see a settled ring with exactly `expected` as members. */
const unsettled = (nodes: readonly RingNode[], expected: readonly string[]) =>
  nodes.filter((n) => !(n.isSettled() && members(n.ring).join() === [...expected].sort().join())).map((n) => n.name);

describe.concurrent('ex0-cluster: forming a ring', () => {
  it('joins three fresh nodes into one ring where every member is valid', async (ctx) => {
    const c = await fresh(ctx, 3);
    const plan = await formCluster(c.nodes);
    expect(plan.changes.map((ch) => `${ch.action} ${ch.node}`).sort()).toEqual([
      'join dev2@127.0.0.1',
      'join dev3@127.0.0.1',
    ]);
    for (const node of c.nodes) {
      expect(members(node.ring, ['valid'])).toEqual(['dev1@127.0.0.1', 'dev2@127.0.0.1', 'dev3@127.0.0.1']);
      expect(node.ring.next).toEqual([]);
      expect(node.ring.vclock).toEqual(c.node(0).ring.vclock);
    }
  });

  it('balances ownership: 64 partitions over 3 nodes is 22/21/21', async (ctx) => {
    const c = await fresh(ctx, 3);
    await formCluster(c.nodes);
    const counts = c.nodes.map((n) => ownedPartitions(c.node(0).ring, n.name).length).sort();
    expect(counts).toEqual([21, 21, 22]);
  });

  it('member_status shows three valid members at 34.4% / 32.8% / 32.8%', async (ctx) => {
    const c = await fresh(ctx, 3);
    await formCluster(c.nodes);
    const text = stripVTControlCharacters(c.node(2).memberStatus());
    const rows = text.split('\n').filter((l) => l.startsWith('valid'));
    expect(rows).toHaveLength(3);
    expect(rows.map((r) => r.match(/(\d+\.\d)%/)?.[1]).sort()).toEqual(['32.8', '32.8', '34.4']);
    expect(text).toContain('Valid:3 / Leaving:0 / Exiting:0 / Joining:0 / Down:0');
  });

  it('any node can be the seed: given dev3 first, dev1 and dev2 join dev3 and dev3 stays the claimant', async (ctx) => {
    const c = await fresh(ctx, 3);
    const [dev1, dev2, dev3] = c.nodes as [RingNode, RingNode, RingNode];
    const plan = await formCluster([dev3, dev1, dev2]);
    expect(plan.changes.map((ch) => `${ch.action} ${ch.node}`).sort()).toEqual([`join ${DEV(1)}`, `join ${DEV(2)}`]);
    expect(unsettled(c.nodes, c.names)).toEqual([]);
    for (const node of c.nodes) expect(node.ring.claimant).toBe(DEV(3));
  });

  it('returns only when every node sees the settled ring, not just the seed: dev3 cannot hear dev2 for a while', async (ctx) => {
    const c = await fresh(ctx, 3);
    const [dev1] = c.nodes as [RingNode];
    // dev2 and dev3 cannot exchange frames: both still talk to dev1, so dev1 (the seed and
    // claimant) settles, but dev3 does not see dev2 up, so dev3 cannot see a settled ring.
    let cut = true;
    const cutOff = new Set([`${DEV(2)}>${DEV(3)}`, `${DEV(3)}>${DEV(2)}`]);
    c.setLinkFilter((from, to) => (cut && cutOff.has(`${from}>${to}`) ? 'drop' : 'deliver'));
    // What formCluster left behind at the moment it returned: the nodes not (yet) settled.
    let leftUnsettled: string[] | undefined;
    let failed = false;
    const forming = formCluster(c.nodes).then(
      (plan) => {
        leftUnsettled = unsettled(c.nodes, c.names);
        return plan;
      },
      (err: unknown) => {
        failed = true;
        throw err;
      },
    );
    const seedSettled = waitFor(
      'the seed dev1 to see a settled ring with all three members',
      () => failed || unsettled([dev1], c.names).length === 0,
      {
        timeoutMs: 15_000,
      },
    );
    await Promise.race([forming, seedSettled]);
    await seedSettled;
    // The seed is settled; dev3 still cannot be. formCluster must keep waiting for it.
    const early = await waitFor(
      'formCluster to return (it must not, while dev3 cannot see dev2)',
      () => leftUnsettled,
      { timeoutMs: 300 },
    ).catch(() => undefined);
    expect(
      early,
      'formCluster returned while these nodes did not see a settled ring yet (did it wait for the seed alone?)',
    ).toBeUndefined();
    cut = false;
    const plan = await forming;
    expect(plan.changes).toHaveLength(2);
    expect(
      leftUnsettled,
      'nodes that did not see a settled ring with all three members when formCluster returned',
    ).toEqual([]);
  });
});

describe.concurrent('ex0-cluster: leaving a ring', () => {
  it('a node leaves: the others stay valid and balanced, and it is on its own again', async (ctx) => {
    const c = await fresh(ctx, 4);
    await formCluster(c.nodes);
    const [dev1, , , dev4] = c.nodes;
    await leaveCluster(dev4!, dev1!);
    for (const node of c.nodes.slice(0, 3)) {
      expect(members(node.ring)).toEqual(['dev1@127.0.0.1', 'dev2@127.0.0.1', 'dev3@127.0.0.1']);
      expect(ownedPartitions(node.ring, 'dev4@127.0.0.1')).toEqual([]);
    }
    const counts = ['dev1', 'dev2', 'dev3'].map((n) => ownedPartitions(dev1!.ring, `${n}@127.0.0.1`).length).sort();
    expect(counts).toEqual([21, 21, 22]);
    expect(members(dev4!.ring)).toEqual(['dev4@127.0.0.1']);
    expect(dev1!.isSettled()).toBe(true);
  });

  it('leaving through a node that is not the claimant and hears gossip late: leaveCluster returns once that node no longer lists the leaver', async (ctx) => {
    const c = await fresh(ctx, 4);
    const [, dev2, , dev4] = c.nodes as [RingNode, RingNode, RingNode, RingNode];
    await formCluster(c.nodes);
    // Rings gossiped to dev2 arrive 200 ms late (everything else on time): right after the
    // commit, dev2 still holds the old ring, which was settled, with dev4 a valid member.
    c.setLinkFilter((_from, to, frame) => (to === dev2.name && frame.t === 'ring' ? { delayMs: 200 } : 'deliver'));
    await leaveCluster(dev4, dev2);
    expect(members(dev2.ring), 'the members of via (dev2) when leaveCluster returned').toEqual([
      DEV(1),
      DEV(2),
      DEV(3),
    ]);
    expect(dev2.isSettled(), 'via (dev2) sees a settled ring when leaveCluster returned').toBe(true);
    c.setLinkFilter(undefined);
    await waitFor('dev4 to start over alone', () => members(dev4.ring).join() === DEV(4));
  });

  it('leaving while the ring is not ready (a join was just staged, and no node has answered it yet): the commit is retried, and leaveCluster returns once via has settled', async (ctx) => {
    const c = await fresh(ctx, 5);
    const [dev1, dev2, dev3, dev4, dev5] = c.nodes as [RingNode, RingNode, RingNode, RingNode, RingNode];
    await formCluster([dev1, dev2, dev3, dev4]);
    // Until the claimant (dev1) has refused a commit as ring_not_ready, no gossiped ring reaches
    // it: it cannot learn that the others have seen its new ring, so it stays not ready for
    // sure, however slow this machine is. After that first refusal gossip flows again.
    let refusals = 0;
    const commit = dev1.claimant.commit.bind(dev1.claimant);
    dev1.claimant.commit = () => {
      try {
        return commit();
      } catch (err) {
        if ((err as { code?: string }).code === 'ring_not_ready') refusals++;
        throw err;
      }
    };
    c.setLinkFilter((_from, to, frame) =>
      to === dev1.name && frame.t === 'ring' && refusals === 0 ? 'drop' : 'deliver',
    );
    await dev5.join(dev1.addr); // a ring change: dev1's ring is not ready until the others answer
    await leaveCluster(dev4, dev1);
    expect(refusals, 'the claimant refused the first commit as ring_not_ready').toBeGreaterThan(0);
    expect(members(dev1.ring), 'dev1 still lists dev4 after leaveCluster returned').toEqual([
      DEV(1),
      DEV(2),
      DEV(3),
      DEV(5),
    ]);
    expect(
      dev1.isSettled(),
      "leaveCluster returned before via's ring had settled (ring ready, no transfers pending, every member valid)",
    ).toBe(true);
    expect(ownedPartitions(dev1.ring, DEV(4))).toEqual([]);
    c.setLinkFilter(undefined);
    await waitFor('dev4 to start over alone', () => members(dev4.ring).join() === DEV(4));
  });
});
