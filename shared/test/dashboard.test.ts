// The dashboard's HTTP side (dashboard.ts) on a real 3-node cluster with the ex5 API on each
// node (buildServer registers it): the page and its assets, the state (members, counts,
// handoffs), a key's preference list, the SVG, pushed events, the operator actions and errors.
// The page itself runs in Chromium in dashboard.browser.test.ts.
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../exercises/ex5-http/server.js';
import { kvService as stubKvService } from '../../exercises/ex4-handoff/kv_vnode.js';
import { kvService } from '../../solutions/ex4-handoff/kv_vnode.js';
import { coordinatorError, routes } from '../../solutions/ex5-http/http.js';
import { getApl } from '../apl.js';
import { chashKey } from '../chash.js';
import { registerDashboard, type DashboardState, type KeyInfo } from '../dashboard.js';
import { TestCluster } from '../harness/cluster.js';
import { waitFor } from '../harness/wait.js';

const Q = 16;
let cluster: TestCluster;
const urls: string[] = [];
const servers: { close(): Promise<unknown> }[] = [];

beforeAll(async () => {
  cluster = await TestCluster.start({ size: 3, ringSize: Q, services: () => [kvService()] });
  for (const node of cluster.nodes) {
    const app = buildServer(node, { routes, coordinatorError });
    servers.push(app);
    urls.push(await app.listen({ host: '127.0.0.1', port: 0 }));
  }
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await cluster?.stop();
});

async function json<T = unknown>(method: string, url: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as T };
}

const state = async (i = 0) => (await json<DashboardState>('GET', `${urls[i]}/api/dashboard/state`)).body;

/** The server-sent events of `url`, parsed, until `stop` returns true for one (then the stream is closed). */
async function events<T>(url: string, stop: (data: T) => boolean, timeoutMs: number): Promise<T> {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(new Error(`no matching event within ${timeoutMs} ms`)), timeoutMs);
  try {
    const res = await fetch(url, { signal: ctl.signal });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const decoder = new TextDecoder();
    let buffered = '';
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      buffered += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffered.indexOf('\n\n')) >= 0) {
        const frame = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        const data = frame
          .split('\n')
          .filter((l) => l.startsWith('data: '))
          .map((l) => l.slice(6))
          .join('\n');
        if (frame.includes('event: state') && stop(JSON.parse(data) as T)) return JSON.parse(data) as T;
      }
    }
    throw new Error('the event stream ended');
  } finally {
    clearTimeout(timer);
    ctl.abort();
  }
}

describe('dashboard', () => {
  it('serves the page to browsers at / and /dashboard/, its assets, and the API’s 404 to API clients', async () => {
    const page = await fetch(`${urls[0]}/`, { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    expect(html).toContain('/dashboard/dashboard.js');
    expect(await (await fetch(`${urls[0]}/dashboard/`)).text()).toBe(html);
    for (const [file, type] of [
      ['dashboard.js', /^text\/javascript/],
      ['dashboard.css', /^text\/css/],
    ] as const) {
      const res = await fetch(`${urls[0]}/dashboard/${file}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(type);
    }
    // No CDN: every script and stylesheet the page names is served by the node.
    for (const m of html.matchAll(/(?:src|href)="([^"]+)"/g)) expect(m[1]).toMatch(/^\/dashboard\//);
    for (const path of ['/', '/dashboard/nope.js', '/dashboard/..%2Fdashboard.ts']) {
      const res = await json<{ error: { status: number; code: string } }>('GET', `${urls[0]}${path}`);
      expect(res.status).toBe(404);
      expect(res.body.error).toMatchObject({ status: 404, code: 'route_not_found' });
    }
  });

  it('state: members, claimant, owners, and every vnode’s item count (N = 3: each key on 3 primaries)', async () => {
    const keys = Array.from({ length: 40 }, (_, i) => `key-${i}`);
    for (const k of keys) {
      const res = await json('PUT', `${urls[1]}/api/store/${k}`, { v: k });
      expect(res.status).toBeLessThan(300);
    }
    const s = await waitFor(
      'every replica counted',
      async () => {
        const s = await state();
        const primary = s.vnodes.filter((v) => v.role === 'primary' && v.service === 'kv');
        return primary.reduce((n, v) => n + (v.items ?? 0), 0) === 3 * keys.length ? s : undefined;
      },
      { timeoutMs: 10_000 },
    );
    expect(s.node).toBe(cluster.node(0).name);
    expect(s.members.map((m) => [m.node, m.status, m.up])).toEqual(cluster.names.map((n) => [n, 'valid', true]));
    expect(s.members.filter((m) => m.claimant).map((m) => m.node)).toEqual([s.claimant]);
    expect(s.members.every((m) => m.services.includes('kv') && m.addr !== '')).toBe(true);
    expect(s.owners).toEqual(cluster.node(0).ring.owners);
    expect(s).toMatchObject({ ringSize: Q, ringReady: true, settled: true, missing: [], pending: [] });
    // Per partition, the owner's count; the sum over partitions counts each key N = 3 times.
    expect(s.items.reduce<number>((n, x) => n + (x ?? 0), 0)).toBe(3 * keys.length);
    for (const k of keys) {
      const apl = getApl(cluster.node(0).ring, { hash: chashKey('kv', k) }, 3, cluster.names);
      for (const e of apl)
        expect(s.vnodes.find((v) => v.node === e.node && v.partition === e.partition)?.items).toBeGreaterThan(0);
    }
  });

  it('a key: hash, partition and the active preference list, as getApl says; bad parameters are 400', async () => {
    const { status, body } = await json<KeyInfo>('GET', `${urls[2]}/api/dashboard/key/hello`);
    expect(status).toBe(200);
    const hash = chashKey('kv', 'hello');
    expect(body).toMatchObject({ key: 'hello', bucket: 'kv', n: 3, service: 'kv' });
    expect(body.hash).toBe(hash.toString(16).padStart(40, '0'));
    expect(body.preflist).toEqual(getApl(cluster.node(2).ring, { hash }, 3, cluster.names));
    expect(body.primaries).toHaveLength(3);
    expect(body.fallbacks).toEqual([]);
    const rooms = await json<KeyInfo>('GET', `${urls[0]}/api/dashboard/key/lobby?bucket=room&n=2`);
    expect(rooms.body).toMatchObject({ bucket: 'room', n: 2, service: null });
    expect(rooms.body.hash).toBe(chashKey('room', 'lobby').toString(16).padStart(40, '0'));
    for (const q of ['n=0', 'n=17', 'n=two']) {
      const bad = await json<{ error: { code: string; param: string } }>(
        'GET',
        `${urls[0]}/api/dashboard/key/hello?${q}`,
      );
      expect(bad.status).toBe(400);
      expect(bad.body.error).toMatchObject({ status: 400, code: 'invalid_param', param: 'n' });
    }
  });

  it('ring.svg: Q arcs, the key highlighted', async () => {
    const res = await fetch(`${urls[0]}/api/dashboard/ring.svg?key=hello&coverage=1`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^image\/svg\+xml/);
    const svg = await res.text();
    expect(svg.match(/class="arc[ "]/g)).toHaveLength(Q);
    expect(svg).toContain('class="key-point"');
    expect(svg.match(/class="pref primary"/g)).toHaveLength(3);
    expect(svg).toContain('class="cover"');
  });

  it('operator actions refuse what the cluster refuses, as 4xx JSON with the ring’s code', async () => {
    const up = cluster.node(1).name;
    const cases: [string, unknown, number, string][] = [
      ['down', { node: up }, 409, 'node_up'],
      ['down', {}, 400, 'invalid_param'],
      ['commit', {}, 409, 'nothing_staged'],
      ['remove', { node: 'nobody@nowhere' }, 409, 'not_member'],
      ['join', { addr: cluster.node(1).addr }, 409, 'already_member'],
    ];
    for (const [action, body, status, code] of cases) {
      const res = await json<{ error: { status: number; code: string } }>(
        'POST',
        `${urls[0]}/api/dashboard/${action}`,
        body,
      );
      expect([action, res.status, res.body.error]).toEqual([
        action,
        status,
        expect.objectContaining({ status, code, message: expect.any(String) }),
      ]);
    }
    // JSON bodies only: a cross-site form post (text/plain, no preflight) is refused.
    const form = await fetch(`${urls[0]}/api/dashboard/commit`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: '{}',
    });
    expect(form.status).toBe(415);
  });

  it('operator actions can be switched off', async () => {
    const app = Fastify();
    registerDashboard(app, cluster.node(0), { actions: 'none', root: false });
    try {
      const res = await app.inject({ method: 'POST', url: '/api/dashboard/plan', payload: {} });
      expect(res.statusCode).toBe(403);
      expect(res.json().error).toMatchObject({ status: 403, code: 'actions_not_allowed' });
      expect((await app.inject({ method: 'GET', url: '/', headers: { accept: 'text/html' } })).statusCode).toBe(404);
    } finally {
      await app.close();
    }
  });

  it('pushes the state when a node goes down; down, remove, plan and commit through the API take it out', async () => {
    const first = await events<DashboardState>(`${urls[0]}/api/dashboard/events`, () => true, 10_000);
    expect(first.members.map((m) => m.up)).toEqual([true, true, true]);
    const gone = cluster.node(2).name;
    const unreachable = events<DashboardState>(
      `${urls[0]}/api/dashboard/events`,
      (s) => s.members.some((m) => m.node === gone && !m.up),
      10_000,
    );
    await cluster.kill(2);
    const seen = await unreachable;
    expect(seen.members.find((m) => m.node === gone)).toMatchObject({ status: 'valid', up: false });
    expect(seen.ringReady).toBe(true); // ring_ready counts who has seen the ring, not who is up
    // riak-admin down, then cluster remove + plan + commit, all through the dashboard's API.
    expect((await json('POST', `${urls[0]}/api/dashboard/down`, { node: gone })).status).toBe(200);
    await waitFor('the down mark', async () => (await state()).members.find((m) => m.node === gone)?.status === 'down');
    expect((await json('POST', `${urls[0]}/api/dashboard/remove`, { node: gone })).status).toBe(200);
    const plan = await json<{ plan: { text: string; changes: { node: string; action: string }[] } }>(
      'POST',
      `${urls[1]}/api/dashboard/plan`,
      {},
    );
    expect(plan.status).toBe(200);
    expect(plan.body.plan.changes).toEqual([{ node: gone, action: 'remove' }]);
    expect(plan.body.plan.text).toContain(gone);
    const out = events<DashboardState>(
      `${urls[0]}/api/dashboard/events`,
      (s) => s.members.length === 2 && s.pending.length === 0 && s.ringReady && !s.owners.includes(gone),
      30_000,
    );
    expect((await json('POST', `${urls[0]}/api/dashboard/commit`, {})).status).toBe(200);
    const after = await out;
    expect(after.members.map((m) => m.node)).toEqual(cluster.names.slice(0, 2));
    expect(after.missing).toEqual([]);
  });
  it('join: a fresh node’s dashboard stages it joining the cluster; plan and commit make it a member', async () => {
    const fresh = await cluster.addNode();
    const app = buildServer(fresh, { routes, coordinatorError });
    servers.push(app);
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    const joined = await json<{ ok: boolean; message: string }>('POST', `${url}/api/dashboard/join`, {
      addr: cluster.node(0).addr,
    });
    expect(joined).toMatchObject({ status: 200, body: { ok: true } });
    // The joiner reaches the claimant once its link is up (until then: 503 claimant_unreachable).
    const plan = await waitFor('the plan through the joiner', async () => {
      const r = await json<{ plan?: { changes: unknown[] }; error?: { code: string } }>(
        'POST',
        `${url}/api/dashboard/plan`,
        {},
      );
      if (r.status === 503) return undefined;
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return r.body.plan;
    });
    expect(plan.changes).toEqual([{ node: fresh.name, action: 'join' }]);
    expect((await json('POST', `${url}/api/dashboard/commit`, {})).status).toBe(200);
    const s = await events<DashboardState>(
      `${urls[0]}/api/dashboard/events`,
      (s) => s.members.some((m) => m.node === fresh.name && m.status === 'valid') && s.pending.length === 0,
      30_000,
    );
    expect(s.owners).toContain(fresh.name);
    // A seed that does not answer: 502 unreachable, in the one error shape.
    const other = await cluster.addNode();
    const lone = buildServer(other, { routes, coordinatorError });
    servers.push(lone);
    const loneUrl = await lone.listen({ host: '127.0.0.1', port: 0 });
    const refused = await json<{ error: { code: string } }>('POST', `${loneUrl}/api/dashboard/join`, {
      addr: '127.0.0.1:1',
    });
    expect(refused.status).toBe(502);
    expect(refused.body.error).toMatchObject({ status: 502, code: 'unreachable', addr: '127.0.0.1:1' });
  });
});

describe('dashboard over unfinished code (npm start -- --exercises)', () => {
  it('counts what it can and says null where a stub cannot answer; the page and the ring still work', async () => {
    // ex4's stub: puts and gets work (exercise 3's vnode), the handoff callbacks (isEmpty, the fold) throw todo().
    const c = await TestCluster.start({ size: 1, ringSize: 8, services: () => [stubKvService()] });
    const app = buildServer(c.node(0), { routes, coordinatorError });
    try {
      const url = await app.listen({ host: '127.0.0.1', port: 0 });
      expect((await json('PUT', `${url}/api/store/k`, 'v')).status).toBe(200);
      const s = (await json<DashboardState>('GET', `${url}/api/dashboard/state`)).body;
      expect(s.vnodes.length).toBeGreaterThan(0);
      expect(s.vnodes.every((v) => v.items === null)).toBe(true);
      expect(s.items.filter((x) => x === null).length).toBe(s.vnodes.length);
      const svg = await (await fetch(`${url}/api/dashboard/ring.svg?key=k`)).text();
      expect(svg.match(/class="arc[ "]/g)).toHaveLength(8);
    } finally {
      await app.close();
      await c.stop();
    }
  });
});
