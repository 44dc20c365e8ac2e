import { describe, expect, it } from 'vitest';
import { runAdmin } from '../../cli/admin.js';
import { testSeed } from '../../harness/seed.js';
import { D1, D2, D3, everyAcknowledgedWriteReadsBack, row, scenarioResources, seesDown } from './scenario.js';
import { recordingIo } from '../../harness/tool_io.js';

const res = scenarioResources();
const COOKIE = 'scenario-faults';

describe('scenario faults by hand', () => {
  it('npm run admin -- freeze dev2 then crash dev3 under load: dev2 is seen down and back, dev3 exits; every acknowledged write (N=3, W=2) reads back (R=2)', async () => {
    const seed = testSeed('scenario faults by hand');
    const cluster = await res.start(3, { cookie: COOKIE });
    const io = recordingIo();
    const admin = (...args: string[]) => runAdmin([...args, '--node', cluster.addr(D1), '--cookie', COOKIE], io);
    const load = res.workload({
      seed,
      clients: 4,
      keysPerClient: 20,
      targets: () => [D1].map((n) => cluster.httpUrl(n)),
    });
    load.start();
    await load.acknowledgedMore(50);

    expect(await admin('freeze', 'dev2', '4000'), io.out()).toBe(0);
    expect(io.out()).toContain(`${D2} is frozen for 4000 ms`);
    await cluster.wait('dev1 to see the frozen dev2 unreachable', async () => seesDown(await cluster.status(D1), D2), {
      logsOf: [D1, D2],
    });
    await cluster.wait(
      'dev2 to wake up and dev1 to see it up again',
      async () => row(await cluster.status(D1), D2)?.up,
      {
        timeoutMs: 30_000,
        logsOf: [D1, D2],
      },
    );
    expect(cluster.running()).toEqual([D1, D2, D3]); // frozen, not gone
    await load.acknowledgedMore(50);
    // One fault at a time: while dev2 was frozen, writes went to fallbacks, and in a 3-node
    // ring a fallback can sit on dev3 next to dev3's own replica, so a W=2 write may have both
    // its copies on dev3. Crashing dev3 before hinted handoff brought them back to dev2 would
    // lose such writes: sloppy quorum's known limit, not a bug (this test found it that way).
    await cluster.waitTransfersDone();
    cluster.note('dev2 is back and hinted handoff drained');

    expect(await admin('crash', 'dev3'), io.out()).toBe(0);
    await cluster.wait('dev3 to exit', () => !cluster.running().includes(D3), { timeoutMs: 10_000, logsOf: [D3] });
    await cluster.wait('dev1 to see dev3 unreachable', async () => seesDown(await cluster.status(D1), D3), {
      logsOf: [D1],
    });
    await load.acknowledgedMore(50);
    await everyAcknowledgedWriteReadsBack(cluster, [load], [D1, D2]);
  });
});
