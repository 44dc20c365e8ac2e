/**
 * riak_test verify_down on node processes: the claimant (dev1) is SIGKILLed under load; an
 * operator on dev2 marks it down, removes it and commits; the survivors settle on a ring of
 * two; a restarted dev1 (same ring file) must not take the survivors' ring back.
 */
import { describe, expect, it } from 'vitest';
import { testSeed } from '../../harness/seed.js';
import { D1, D2, D3, everyAcknowledgedWriteReadsBack, memberNames, scenarioResources, seesDown } from './scenario.js';

const res = scenarioResources();

describe('scenario verify_down', () => {
  it('the claimant dies under load; down + remove + commit from dev2; a restarted dev1 stays out; every acknowledged write (N=3, W=2) reads back (R=2)', async () => {
    const seed = testSeed('scenario verify_down');
    const cluster = await res.start(3);
    let reachable = [D1, D2, D3];
    const load = res.workload({
      seed,
      clients: 6,
      keysPerClient: 20,
      targets: () => reachable.map((n) => cluster.httpUrl(n)),
    });
    load.start();
    await load.acknowledgedMore(100);

    reachable = [D2, D3];
    await cluster.kill(D1);
    await cluster.wait(
      'dev2 and dev3 to see dev1 unreachable',
      async () => seesDown(await cluster.status(D2), D1) && seesDown(await cluster.status(D3), D1),
      { logsOf: [D2, D3] },
    );

    // riak-admin down dev1, then cluster remove dev1 + commit, all through dev2.
    await cluster.admin(D2, 'admin.down', { node: D1 });
    await cluster.wait('dev2 to take over as claimant', async () => (await cluster.status(D2)).ring.claimant === D2, {
      logsOf: [D2],
    });
    await cluster.admin(D2, 'admin.remove', { node: D1 });
    await cluster.commit(D2, { retryOn: ['ring_not_ready'] });
    const settled = await cluster.waitSettled({ nodes: [D2, D3], members: 2 });
    for (const s of settled) {
      expect(s.ring.claimant).toBe(D2);
      expect(s.ring.ringSize).toBe(64);
      expect(s.members.map((m) => [m.node, m.status, m.ringPercent])).toEqual([
        [D2, 'valid', 50],
        [D3, 'valid', 50],
      ]);
    }
    cluster.note('dev2 and dev3 settled: 2 valid members, 50% each, claimant dev2');
    await load.acknowledgedMore(100);
    await everyAcknowledgedWriteReadsBack(cluster, [load], [D2, D3]);

    // dev1 comes back with the ring it had: it must learn it was removed, not claim the cluster.
    await cluster.restart(D1);
    await cluster.wait(
      'dev1 to end up alone in a cluster of its own, dev2 and dev3 keeping theirs',
      async () => {
        const [s1, s2, s3] = await Promise.all([cluster.status(D1), cluster.status(D2), cluster.status(D3)]);
        return (
          memberNames(s1).join() === D1 &&
          s1.ring.claimant === D1 &&
          [s2, s3].every((s) => s.settled && s.ring.claimant === D2 && memberNames(s).join() === [D2, D3].join())
        );
      },
      { logsOf: [D1, D2, D3] },
    );
    cluster.note('restarted dev1 is alone; dev2 and dev3 still have claimant dev2 and 2 members');
    await everyAcknowledgedWriteReadsBack(cluster, [load], [D2, D3]);
  });
});
