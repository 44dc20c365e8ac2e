/**
 * riak_test verify_handoff on node processes: three nodes hold a few thousand keys; dev4
 * joins, and is SIGKILLed while partitions are being handed off to it; restarted from its
 * ring file, the transfers are retried and complete, the ring settles with four members and
 * nothing acknowledged is lost (dev4's copies died with it, the other replicas remain).
 */
import { describe, expect, it } from 'vitest';
import { testSeed } from '../../harness/seed.js';
import type { NodeStatus } from '../../harness/processes.js';
import { D1, D2, D3, D4, everyAcknowledgedWriteReadsBack, scenarioResources } from './scenario.js';

const res = scenarioResources();

/** Small batches: a transfer of a partition's ~140 items takes several round trips. */
const BATCH_ITEMS = 10;
const PRELOAD_KEYS = 3000;

/**
 * Handoff to `target` under way: of the `planned` transfers to it, some are done (complete,
 * or already switched to it) and some not; or, failing that, one is running with items sent
 * and items left. @returns what was seen, or undefined.
 */
function midTransfer(statuses: readonly NodeStatus[], target: string, planned: number): string | undefined {
  const awaiting =
    statuses[0]?.ring.pending.filter((t) => t.nextOwner === target && t.status !== 'complete').length ?? 0;
  if (awaiting > 0 && awaiting < planned) return `${planned - awaiting} of ${planned} transfers to ${target} done`;
  const running = statuses
    .flatMap((s) => s.handoffs ?? [])
    .filter((h) => h.target === target && h.sentItems > 0 && h.sentItems < h.items);
  if (running.length > 0)
    return `${running.length} transfers to ${target} running (${running.map((h) => `${h.sentItems}/${h.items}`).join(', ')} items), none done`;
  return undefined;
}

describe('scenario verify_handoff', () => {
  it('a joining node dies during handoff, restarts and the transfers complete; every acknowledged write (N=3, W=2) reads back (R=2)', async () => {
    const seed = testSeed('scenario verify_handoff');
    const cluster = await res.start(3, { args: ['--handoff-batch-items', String(BATCH_ITEMS)] });
    const old = [D1, D2, D3];
    // Few hot keys: most vnodes are idle and hand off at once, a few are busy and wait (maxWaitMs).
    const load = res.workload({
      seed,
      clients: 4,
      keysPerClient: 5,
      targets: () => old.map((n) => cluster.httpUrl(n)),
    });
    const preloaded = await load.preload(
      PRELOAD_KEYS,
      old.map((n) => cluster.httpUrl(n)),
    );
    cluster.note(`preloaded ${preloaded} of ${PRELOAD_KEYS} keys`);
    expect(preloaded).toBe(PRELOAD_KEYS);
    load.start();
    await load.acknowledgedMore(50);

    const dev4 = await cluster.spawnNode();
    expect(dev4).toBe(D4);
    await cluster.join(D4, D1);
    await cluster.commit(D1, { retryOn: ['ring_not_ready'] });
    // The claimant's ring right after the commit: every transfer to dev4, none done yet.
    const planned = (await cluster.status(D1)).ring.pending.filter((t) => t.nextOwner === D4).length;
    cluster.note(`${planned} partitions to move to dev4`);
    expect(planned).toBeGreaterThan(1);
    const seen = await cluster.wait(
      'partitions to be in the middle of moving to dev4 (some transfers done, not all; or one running)',
      async () => midTransfer(await Promise.all(old.map((n) => cluster.status(n))), D4, planned),
      { logsOf: [D1, D4] },
    );
    await cluster.kill(D4);
    cluster.note(`killed dev4 with ${seen}`);
    await cluster.wait(
      'dev1 to see dev4 unreachable',
      async () => (await cluster.status(D1)).ring.unreachable.includes(D4),
      { logsOf: [D1] },
    );
    await load.acknowledgedMore(50);

    await cluster.restart(D4);
    const settled = await cluster.waitSettled({ members: 4, timeoutMs: 60_000 });
    for (const s of settled) {
      expect(s.ring.pending).toEqual([]);
      expect(s.members.map((m) => [m.node, m.status, m.ringPercent])).toEqual(
        [D1, D2, D3, D4].map((n) => [n, 'valid', 25]),
      );
    }
    await cluster.waitTransfersDone();
    cluster.note('4 members, 25% each, no transfer pending or running');
    await load.acknowledgedMore(50);
    await everyAcknowledgedWriteReadsBack(cluster, [load], [D1, D2, D3, D4]);
  });
});
