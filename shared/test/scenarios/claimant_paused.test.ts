/**
 * The claimant paused (SIGSTOP) longer than failure detection: writes go on through dev2 and
 * dev3, an operator marks dev1 down from dev2 (dev2 takes over as claimant), then dev1 wakes
 * up (SIGCONT) with its old ring, in which it is the claimant. It must learn the newer ring
 * and not act as claimant: eventually every node says claimant dev2, dev1 valid again.
 */
import { describe, expect, it } from 'vitest';
import { testSeed } from '../../harness/seed.js';
import { D1, D2, D3, everyAcknowledgedWriteReadsBack, row, scenarioResources, seesDown } from './scenario.js';

const res = scenarioResources();

describe('scenario claimant paused', () => {
  it('SIGSTOP the claimant, down it from dev2, SIGCONT: dev2 stays claimant; every acknowledged write (N=3, W=2) reads back (R=2)', async () => {
    const seed = testSeed('scenario claimant paused');
    const cluster = await res.start(3);
    const load = res.workload({
      seed,
      clients: 6,
      keysPerClient: 20,
      targets: () => [D2, D3].map((n) => cluster.httpUrl(n)),
    });
    load.start();
    await load.acknowledgedMore(100);

    cluster.pause(D1);
    await cluster.wait(
      'dev2 and dev3 to see the paused dev1 unreachable',
      async () => seesDown(await cluster.status(D2), D1) && seesDown(await cluster.status(D3), D1),
      { logsOf: [D2, D3] },
    );
    await load.acknowledgedMore(100);

    await cluster.admin(D2, 'admin.down', { node: D1 });
    await cluster.wait(
      'dev2 and dev3 to agree: dev1 down, dev2 the claimant',
      async () => {
        const [s2, s3] = await Promise.all([cluster.status(D2), cluster.status(D3)]);
        return [s2, s3].every((s) => s.ring.claimant === D2 && row(s, D1)?.status === 'down');
      },
      { logsOf: [D2, D3] },
    );
    cluster.note('dev1 marked down from dev2; dev2 is the claimant');
    await load.acknowledgedMore(100);

    cluster.resume(D1);
    const settled = await cluster.waitSettled({ members: 3, timeoutMs: 30_000 });
    for (const s of settled) {
      expect(s.ring.claimant).toBe(D2);
      expect(s.members.map((m) => [m.node, m.status])).toEqual([D1, D2, D3].map((n) => [n, 'valid']));
    }
    const owners = await Promise.all([D1, D2, D3].map((n) => cluster.owners(n)));
    for (const o of owners) expect(o).toEqual(owners[0]);
    await cluster.waitTransfersDone();
    cluster.note('dev1 is back: valid, claimant dev2 on every node, hinted handoff drained');
    await load.acknowledgedMore(100);
    await everyAcknowledgedWriteReadsBack(cluster, [load], [D1, D2, D3]);
  });
});
