/**
 * riak_test verify_leave on node processes: under load, a member (dev2 or dev3, picked by the
 * seed) leaves; its partitions are handed off, it ends up out of the ring (exiting, then gone)
 * and alone in a cluster of its own, and nothing acknowledged is lost.
 */
import { describe, expect, it } from 'vitest';
import { prng, testSeed } from '../../harness/seed.js';
import { D1, D2, D3, everyAcknowledgedWriteReadsBack, memberNames, scenarioResources } from './scenario.js';

const res = scenarioResources();

describe('scenario verify_leave', () => {
  it('a member leaves under load and hands its data off; every acknowledged write (N=3, W=2) reads back (R=2)', async () => {
    const seed = testSeed('scenario verify_leave');
    const leaver = prng(seed).pick([D2, D3]);
    const stay = [D1, D2, D3].filter((n) => n !== leaver);
    const cluster = await res.start(3);
    // Clients never write through the leaver: once out, it is a cluster of its own whose
    // acknowledgements mean nothing to this one.
    const load = res.workload({
      seed,
      clients: 6,
      keysPerClient: 20,
      targets: () => stay.map((n) => cluster.httpUrl(n)),
    });
    load.start();
    await load.acknowledgedMore(100);

    await cluster.admin(leaver, 'admin.leave', { node: leaver });
    const plan = (await cluster.commit(D1, { retryOn: ['ring_not_ready'] })) as { transfers: number };
    cluster.note(`${leaver} leaves: ${plan.transfers} transfers planned`);
    expect(plan.transfers).toBeGreaterThan(0);
    await cluster.waitSettled({ nodes: stay, members: 2, timeoutMs: 60_000, logsOf: [...stay, leaver] });
    await cluster.wait(
      `${leaver} to be out of the ring (exiting, then gone) and alone in a cluster of its own`,
      async () => {
        const [a, b, gone] = await Promise.all([...stay.map((n) => cluster.status(n)), cluster.status(leaver)]);
        return (
          [a, b].every((s) => s !== undefined && !memberNames(s).includes(leaver)) &&
          memberNames(gone!).join() === leaver
        );
      },
      { logsOf: [...stay, leaver] },
    );
    for (const n of stay)
      expect((await cluster.status(n)).members.map((m) => [m.node, m.status, m.ringPercent])).toEqual(
        stay.map((m) => [m, 'valid', 50]),
      );
    cluster.note(`${leaver} is out; ${stay.join(' and ')} own 50% each`);
    await load.acknowledgedMore(100);
    await everyAcknowledgedWriteReadsBack(cluster, [load], stay);
  });
});
