/**
 * Rows `put`, `get` (and `put-redis`): the finished ex3 coordinator on a 3-node in-process
 * TestCluster (N=3, W=2 / R=2, 64 requests in flight from one node), against a node→node RPC
 * echo on the same transport (RingNode's Rpc, 64 in flight), and a local redis-server when one
 * is on the PATH. Repetitions interleave the three.
 */
import { closedLoop, type LoadResult } from './load.js';
import { startRedis, onPath, type Redis } from './redis.js';
import { cleanup, messageOf, withDeadline, type StepContext } from './runner.js';
import { formatRate } from './stats.js';

const IN_FLIGHT = 64;
/** A small JSON value, as a client of the store would write. */
const VALUE = 'v'.repeat(100);

export async function benchKv(ctx: StepContext): Promise<void> {
  const { progress, results } = ctx;
  const rt = await ctx.runtime();
  const reps = ctx.reps ?? (ctx.quick ? 2 : 5);
  const durationMs = ctx.quick ? 1000 : 2000;
  const step = 'kv';
  progress.line(step, 'forming a 3-node cluster (ex3 KV vnodes)');
  const cluster = await withDeadline(
    'forming a 3-node cluster',
    60_000,
    rt.cluster.TestCluster.start({ size: 3, services: () => [rt.kv3.kvService()] }),
  );
  let redis: Redis | undefined;
  try {
    const [a, b] = cluster.nodes as [(typeof cluster.nodes)[0], (typeof cluster.nodes)[0]];
    b.rpc.handle('bench.echo', (args) => args);
    const binary = onPath('redis-server');
    if (binary) {
      redis = await startRedis(binary);
      progress.line(step, `redis-server found (${binary}): comparing with SET`);
    } else {
      results.note('put-redis', 'skipped: redis-server is not on the PATH');
      progress.line(step, 'redis-server is not on the PATH: the redis row is skipped');
    }
    let written = 0; // keys k0 … k(written-1) exist: puts write new keys, gets read those
    const put = () => rt.coordinator.store(a, `k${written++}`, VALUE, { n: 3, w: 2 });
    const get = (i: number) => rt.coordinator.fetch(a, `k${(i * 7919) % Math.max(1, written)}`, { n: 3, r: 2 });
    const rpc = (i: number) => a.rpc.call(b.name, 'bench.echo', { key: `k${i}`, value: VALUE });
    const set = (i: number) => (redis as Redis).set(`k${i}`, VALUE);
    const run = async (what: string, op: (i: number) => Promise<unknown>, ms: number): Promise<LoadResult> => {
      const r = await withDeadline(what, ms + 30_000, closedLoop(op, IN_FLIGHT, ms));
      if (r.errors > 0) progress.warn(step, `${what}: ${r.errors} errors (first: ${r.firstError})`);
      return r;
    };
    progress.line(step, `warming up; then ${reps} interleaved repetitions of ${durationMs} ms each`);
    await run('warm-up put', put, 300);
    await run('warm-up get', get, 300);
    await run('warm-up rpc', rpc, 300);
    for (let rep = 1; rep <= reps; rep++) {
      const r = await run('node→node rpc', rpc, durationMs);
      results.addAnchor('rpc', r.perSecond);
      const p = await run('coordinated put', put, durationMs);
      results.add('put', p.perSecond);
      if (p.errors > 0) results.note('put', `${p.errors} puts failed in rep ${rep} (${p.firstError})`);
      const g = await run('coordinated get', get, durationMs);
      results.add('get', g.perSecond);
      if (g.errors > 0) results.note('get', `${g.errors} gets failed in rep ${rep} (${g.firstError})`);
      let line = `rep ${rep}/${reps}: put ${formatRate(p.perSecond)}, get ${formatRate(g.perSecond)}, rpc ${formatRate(r.perSecond)}`;
      if (redis) {
        const s = await run('redis SET', set, durationMs);
        results.add('put-redis', p.perSecond);
        results.addAnchor('redis', s.perSecond);
        line += `, redis SET ${formatRate(s.perSecond)}`;
      }
      progress.line(step, line);
    }
  } catch (err) {
    results.note(['put', 'get'], messageOf(err));
    throw err;
  } finally {
    if (redis) await cleanup(progress, step, 'stopping redis-server', 5000, () => (redis as Redis).stop());
    await cleanup(progress, step, 'stopping the cluster', 15_000, () => cluster.stop());
  }
}
