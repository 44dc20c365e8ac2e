/**
 * What the process scenarios share: a cluster and workloads that are always cleaned up, the
 * final "every acknowledged write reads back" step, and small status predicates.
 */
import { afterEach, expect } from 'vitest';
import { finalCheck, HttpWorkload, type CheckReport, type HttpWorkloadOptions } from '../../harness/http_workload.js';
import { nodeName, ProcessCluster, type NodeStatus, type ProcessClusterOptions } from '../../harness/processes.js';

/** Full names of dev1..dev4. */
export const D1 = nodeName('dev1');
export const D2 = nodeName('dev2');
export const D3 = nodeName('dev3');
export const D4 = nodeName('dev4');

/**
 * Pause of each client between two writes, in ms: a steady load that leaves this 2-core
 * machine some CPU for the nodes' heartbeats and handoffs.
 */
export const LOAD_PAUSE_MS = 10;

/**
 * The scenario's resources; `afterEach` stops the workloads and kills every node, whether the
 * test passed or not. Call once at the top of a scenario file.
 */
export function scenarioResources(): {
  start(size: number, opts?: ProcessClusterOptions): Promise<ProcessCluster>;
  /** A workload (not started), paced by {@link LOAD_PAUSE_MS} unless `opts.pauseMs` says otherwise. */
  workload(opts: HttpWorkloadOptions): HttpWorkload;
} {
  let cluster: ProcessCluster | undefined;
  const loads: HttpWorkload[] = [];
  afterEach(async (ctx) => {
    // A failure that did not come with the nodes' logs (an admin call refused, an assertion):
    // print them, before the nodes and their logs go.
    const result = ctx.task.result;
    if (cluster && result?.state === 'fail' && !result.errors?.some((e) => String(e.message).includes('--- last '))) {
      console.log(cluster.withLogs(new Error('the scenario failed; the nodes said:'), cluster.names(), 40).message);
    }
    await Promise.all(loads.splice(0).map((l) => l.stop()));
    await cluster?.stop();
    cluster = undefined;
  });
  return {
    start: async (size, opts) => (cluster = await ProcessCluster.start(size, opts)),
    workload: (opts) => {
      const load = new HttpWorkload({ pauseMs: LOAD_PAUSE_MS, ...opts });
      loads.push(load);
      return load;
    },
  };
}

/**
 * The last step of every scenario: stop the workloads, read every written key back (R=2,
 * N=3) through `readers` and require a value each history allows. Prints the counts.
 * @throws Error (with the log tails of `readers`) if a key reads back a value its history
 *   does not allow, gets no answer, or nothing was acknowledged or checked.
 */
export async function everyAcknowledgedWriteReadsBack(
  cluster: ProcessCluster,
  loads: readonly HttpWorkload[],
  readers: readonly string[],
): Promise<CheckReport[]> {
  await Promise.all(loads.map((l) => l.stop()));
  const urls = readers.map((n) => cluster.httpUrl(n));
  const reports: CheckReport[] = [];
  for (const load of loads) {
    try {
      reports.push(await finalCheck(load.history, () => urls));
    } catch (err) {
      throw cluster.withLogs(err, readers);
    }
  }
  const sum = (f: (r: CheckReport) => number) => reports.reduce((n, r) => n + f(r), 0);
  cluster.note(
    `every acknowledged write (N=3, W=2) reads back (R=2): ${sum((r) => r.acknowledged)} acknowledged, ${sum((r) => r.failed)} failed or timed out, ${sum((r) => r.checked)} keys checked (through ${readers.join(', ')})`,
  );
  for (const r of reports) {
    expect(r.acknowledged).toBeGreaterThan(0);
    expect(r.checked).toBeGreaterThan(0);
    expect(r.checked).toBe(r.keys);
  }
  return reports;
}

/** The member row of `node` in a status, if it is a member (not invalid). */
export const row = (s: NodeStatus, node: string) => s.members.find((m) => m.node === node);

/** True if the status's node sees `node` unreachable. */
export const seesDown = (s: NodeStatus, node: string) =>
  s.ring.unreachable.includes(node) || row(s, node)?.up === false;

/** Member names of a status, sorted. */
export const memberNames = (s: NodeStatus) => s.members.map((m) => m.node).sort();
