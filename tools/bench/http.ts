/**
 * Row `http-put`: PUT /api/store/:key?n=3&w=2 on one node of a 3-node in-process cluster,
 * served by ex5's given server with the finished routes (as exercises/app.ts's ex5 stage does),
 * against a bare fastify PUT route in the same process. The client is a worker process
 * (worker_http.ts) with 64 keep-alive connections, the same for both; repetitions interleave.
 */
import Fastify from 'fastify';
import { startChild, type Child } from './children.js';
import type { HttpLoadResult, HttpLoadSpec } from './http_client.js';
import { cleanup, messageOf, withDeadline, type StepContext } from './runner.js';
import { formatRate } from './stats.js';

const CONNECTIONS = 64;
const BODY = JSON.stringify('v'.repeat(100));

/** `http://127.0.0.1:1234` → host and port. */
function hostPort(url: string): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port) };
}

export async function benchHttp(ctx: StepContext): Promise<void> {
  const { progress, results } = ctx;
  const step = 'http';
  const rt = await ctx.runtime();
  const reps = ctx.reps ?? (ctx.quick ? 2 : 5);
  const durationMs = ctx.quick ? 1000 : 2000;
  progress.line(step, 'forming a 3-node cluster (ex5 stage: ping + ex4 KV vnodes) and its HTTP API on dev1');
  const cluster = await withDeadline(
    'forming a 3-node cluster',
    60_000,
    rt.cluster.TestCluster.start({ size: 3, services: () => [rt.ping.pingService, rt.kv4.kvService()] }),
  );
  const api = rt.server.buildServer(cluster.node(0), rt.http);
  const bare = Fastify({ logger: false });
  bare.put('/api/store/:key', async (request) => ({ key: (request.params as { key: string }).key, ok: true }));
  let client: Child | undefined;
  try {
    const apiUrl = await api.listen({ host: '127.0.0.1', port: 0 });
    const bareUrl = await bare.listen({ host: '127.0.0.1', port: 0 });
    client = startChild('worker_http.ts', []);
    const load = async (what: string, url: string, ms: number) => {
      const spec: HttpLoadSpec = {
        ...hostPort(url),
        method: 'PUT',
        pathPrefix: '/api/store/k',
        pathSuffix: '?n=3&w=2',
        body: BODY,
        connections: CONNECTIONS,
        durationMs: ms,
      };
      const r = await (client as Child).request<HttpLoadResult>('load', { spec }, ms + 30_000);
      const bad = Object.entries(r.statuses).filter(([s]) => !s.startsWith('2'));
      if (r.errors > 0 || bad.length > 0)
        progress.warn(
          step,
          `${what}: ${r.errors} socket errors${r.firstError ? ` (${r.firstError})` : ''}, statuses ${JSON.stringify(r.statuses)}`,
        );
      return r;
    };
    progress.line(step, `warming up; then ${reps} interleaved repetitions of ${durationMs} ms each`);
    await load('warm-up fastify', bareUrl, 300);
    await load('warm-up node', apiUrl, 300);
    for (let rep = 1; rep <= reps; rep++) {
      const a = await load('bare fastify', bareUrl, durationMs);
      results.addAnchor('fastify', a.perSecond);
      const p = await load('HTTP PUT', apiUrl, durationMs);
      results.add('http-put', p.perSecond);
      const bad = Object.entries(p.statuses).filter(([s]) => !s.startsWith('2'));
      if (bad.length > 0) results.note('http-put', `non-2xx answers in rep ${rep}: ${JSON.stringify(p.statuses)}`);
      progress.line(
        step,
        `rep ${rep}/${reps}: HTTP PUT ${formatRate(p.perSecond)}, bare fastify ${formatRate(a.perSecond)}`,
      );
    }
  } catch (err) {
    results.note('http-put', messageOf(err));
    throw err;
  } finally {
    if (client) await cleanup(progress, step, 'stopping the load client', 5000, () => (client as Child).stop());
    await cleanup(progress, step, 'closing the HTTP servers', 5000, () => Promise.all([api.close(), bare.close()]));
    await cleanup(progress, step, 'stopping the cluster', 15_000, () => cluster.stop());
  }
}
