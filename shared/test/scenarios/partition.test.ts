/**
 * A network partition on node processes: [dev1, dev2] | [dev3] under load, clients on both
 * sides. With sloppy quorum both sides keep acknowledging writes (fallback vnodes stand in
 * for the other side's primaries); after the heal the ring converges, hinted handoff drains,
 * and every acknowledged write reads back.
 */
import { describe, expect, it } from 'vitest';
import { testSeed } from '../../harness/seed.js';
import { D1, D2, D3, everyAcknowledgedWriteReadsBack, scenarioResources, seesDown } from './scenario.js';

const res = scenarioResources();

/** How long both sides keep writing while split, in ms. */
const SPLIT_MS = 4000;

describe('scenario partition', () => {
  it('[dev1 dev2] | [dev3] under load, both sides acknowledge, heal, hinted handoff drains; every acknowledged write (N=3, W=2) reads back (R=2)', async () => {
    const seed = testSeed('scenario partition');
    const cluster = await res.start(3);
    const majority = [D1, D2];
    const minority = [D3];
    // One workload per side (its own keys): each side's acknowledgements are counted apart.
    const left = res.workload({
      seed,
      clients: 4,
      keysPerClient: 20,
      keyPrefix: 'a',
      targets: () => majority.map((n) => cluster.httpUrl(n)),
    });
    const right = res.workload({
      seed: seed + 1,
      clients: 2,
      keysPerClient: 20,
      keyPrefix: 'b',
      targets: () => minority.map((n) => cluster.httpUrl(n)),
    });
    left.start();
    right.start();
    await Promise.all([left.acknowledgedMore(50), right.acknowledgedMore(50)]);

    await cluster.partition([majority, minority]);
    await cluster.wait('each side to see the other down', async () => {
      const [s1, s2, s3] = await Promise.all([cluster.status(D1), cluster.status(D2), cluster.status(D3)]);
      return seesDown(s1, D3) && seesDown(s2, D3) && seesDown(s3, D1) && seesDown(s3, D2) && !seesDown(s1, D2);
    });
    const split = Date.now();
    const before = [left.history.acknowledged, right.history.acknowledged];
    cluster.note('split: each side sees the other down');
    await Promise.all([left.acknowledgedMore(100), right.acknowledgedMore(100)]);
    await cluster.wait(`both sides to keep writing for ${SPLIT_MS} ms`, () => Date.now() - split >= SPLIT_MS);
    const during = [left.history.acknowledged - (before[0] ?? 0), right.history.acknowledged - (before[1] ?? 0)];
    cluster.note(`acknowledged while split: ${during[0]} on [dev1 dev2], ${during[1]} on [dev3]`);
    // The split must not have stopped either side: sloppy quorum.
    for (const n of during) expect(n).toBeGreaterThanOrEqual(100);

    await cluster.heal();
    const settled = await cluster.waitSettled({ members: 3 });
    const owners = await Promise.all([D1, D2, D3].map((n) => cluster.owners(n)));
    for (const o of owners) expect(o).toEqual(owners[0]);
    for (const s of settled) expect(s.ring.claimant).toBe(D1);
    await cluster.waitTransfersDone();
    cluster.note('healed: every node settled on the same ring, hinted handoff drained');
    await Promise.all([left.acknowledgedMore(50), right.acknowledgedMore(50)]);
    await everyAcknowledgedWriteReadsBack(cluster, [left, right], [D1, D2, D3]);
  });
});
