/**
 * ex5-http: the replicated store behind an HTTP API (fastify), one server per node.
 * Runs against exercises/ (npm test -- ex5) or solutions/ (npm run test:solutions -- ex5).
 */
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { describe, expect, it, type TestContext } from 'vitest';
import { coordinatorError, routes } from '@ex/ex5-http/http.js';
import { SERVICE } from '../ex3-coordinator/kv_vnode.js';
import { kvService, type KvVnode } from '../../solutions/ex4-handoff/kv_vnode.js';
import { chashKey } from '../../shared/chash.js';
import { inspectVnode } from '../../shared/harness/inspect.js';
import { TestCluster } from '../../shared/harness/cluster.js';
import { Nemesis } from '../../shared/harness/nemesis.js';
import { testSeed } from '../../shared/harness/seed.js';
import { waitFor } from '../../shared/harness/wait.js';
import type { NodeTiming, RingNode } from '../../shared/node.js';
import { preflist } from '../../shared/ring.js';
import { MAX_JSON_DEPTH } from './api.js';
import { buildServer, type ServerOptions } from './server.js';

// The tests run concurrently (describe.concurrent), each on a cluster and servers of its own:
// most of their time is waiting (deadlines, slow links), which overlaps.

/** The HTTP servers started on each node of the running tests' clusters (closed when its test ends). */
const serversOf = new Map<RingNode, FastifyInstance[]>();

/** Start the HTTP API of `node` (of a cluster that {@link start} started) on an ephemeral loopback port; returns its base URL. */
async function serve(node: RingNode, opts?: ServerOptions): Promise<string> {
  const servers = serversOf.get(node);
  if (!servers) throw new Error('test setup: a node that start() did not start');
  const app = buildServer(node, { routes, coordinatorError }, opts);
  servers.push(app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

/**
 * Down detection of the test clusters: far above any deadline a test uses. A node that is
 * killed is noticed at once anyway (its connections close); one that is only cut off or slow
 * (the nemesis, or this machine being busy) still counts as up, so requests go to the primaries
 * the test expects instead of fallbacks, however slow this machine is.
 */
const TIMING: NodeTiming = { downAfterMs: 20_000 };

let clusters = 0;
/**
 * A 3-node cluster with one HTTP server per node: `urls[i]` serves `c.node(i)`; all stopped when
 * the test ends. Each cluster has its own cookie, so a node of one test never talks to a node of
 * another that got a recycled port.
 */
async function start({ onTestFinished }: TestContext): Promise<{ c: TestCluster; urls: string[] }> {
  const c = await TestCluster.start({
    size: 3,
    services: () => [kvService()],
    timing: TIMING,
    cookie: `ex5-${++clusters}`,
  });
  const servers: FastifyInstance[] = [];
  const nodes = c.nodes;
  for (const node of nodes) serversOf.set(node, servers);
  onTestFinished(async () => {
    for (const node of nodes) serversOf.delete(node);
    await Promise.all(servers.splice(0).map((s) => s.close()));
    await c.stop();
  });
  const urls: string[] = [];
  for (const node of c.nodes) urls.push(await serve(node));
  return { c, urls };
}

// biome-ignore lint/suspicious/noExplicitAny: a parsed JSON body, asserted with toMatchObject
type Json = any;
interface Answer {
  status: number;
  headers: Headers;
  body: Json;
}

/**
 * One HTTP request. `json` is sent as application/json; `raw` as is with content type `type`.
 * When `status` is given and the answer differs, throws with the response body in the message,
 * so an unfinished step's `ex5-http step N is not done yet: …` shows in the failure.
 */
async function http(
  method: string,
  url: string,
  opts: { json?: unknown; raw?: string; type?: string; status?: number } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  let body: string | undefined;
  if (opts.json !== undefined) {
    body = JSON.stringify(opts.json);
    headers['content-type'] = 'application/json';
  } else if (opts.raw !== undefined) {
    body = opts.raw;
    if (opts.type) headers['content-type'] = opts.type;
  }
  const res = await fetch(url, { method, headers, body });
  const text = await res.text();
  if (opts.status !== undefined && res.status !== opts.status) {
    // A quorum that timed out where none should: the code, or a machine too busy to answer in time.
    const slow =
      res.status === 503 && text.includes('"reason":"timeout"')
        ? ' (the replicas did not all answer before the deadline: if this machine is very busy, that can be slowness, run it again; if it fails every time, it is the code)'
        : '';
    throw new Error(`${method} ${url} answered ${res.status}, expected ${opts.status}: ${text}${slow}`);
  }
  let parsed: Json;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${method} ${url} answered ${res.status} with a body that is not JSON: ${text}`);
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

/** URL of `key` on the server at `base`, with an optional query (`?w=3`). */
const store = (base: string, key: string, query = '') => `${base}/api/store/${encodeURIComponent(key)}${query}`;

/** The error shape every error response has. */
const errorBody = (status: number, code: string, details: Record<string, unknown> = {}) => ({
  error: { status, code, message: expect.any(String), ...details },
});

const vnode = expect.objectContaining({
  partition: expect.any(Number),
  node: expect.any(String),
  type: expect.stringMatching(/^(primary|fallback)$/),
});

/** Extra delay of the slow links in the timeout test: longer than the coordinator's default deadline (1000 ms). */
const LATENCY_MS = 1200;

/** The N primaries of `key` (partition and owner). */
const primaries = (node: RingNode, key: string, n = 3) => preflist(node.ring, chashKey('kv', key)).slice(0, n);

/** The first `count` keys `<prefix>-0`, `<prefix>-1`, … for which `wanted` holds. @throws if there are not that many among 1000. */
function keysWhere(prefix: string, count: number, wanted: (key: string) => boolean): string[] {
  const found = Array.from({ length: 1000 }, (_, i) => `${prefix}-${i}`)
    .filter(wanted)
    .slice(0, count);
  if (found.length < count)
    throw new Error(`test setup: only ${found.length} of ${count} keys "${prefix}-…" found with the wanted replicas`);
  return found;
}

/**
 * The precondition of the tests that cut nodes off or slow them down: `node` still counts every
 * node as up, so it asked the primaries. If it does not, this machine was slower than the test
 * assumes ({@link TIMING}); say so instead of failing on the answers.
 */
function expectAllUp(node: RingNode, c: TestCluster, when: string): void {
  const down = c.names.filter((n) => !node.upNodes(SERVICE).includes(n));
  if (down.length > 0) {
    throw new Error(
      `too slow: ${when}, ${node.name} already counted ${down.join(', ')} as down (after ${TIMING.downAfterMs} ms of silence), ` +
        'so its requests went to fallbacks; this machine is too busy for this test, run it again',
    );
  }
}

/** Whether the vnode of `partition` on `node` holds `key` (a value or a tombstone). */
async function holds(node: RingNode, partition: number, key: string): Promise<boolean> {
  return (await inspectVnode(node, SERVICE, partition, (v: KvVnode) => v.get(key) !== undefined)) ?? false;
}

describe.concurrent('ex5-http: the store', () => {
  it('PUT on one node, GET from every node: the value, its version and who answered', async (t) => {
    const { urls } = await start(t);
    const put = await http('PUT', store(urls[0]!, 'planet'), { json: { name: 'mars', moons: 2 }, status: 200 });
    expect(put.body).toEqual({
      key: 'planet',
      version: expect.objectContaining({ node: 'dev1@127.0.0.1' }),
      answered: expect.any(Array),
    });
    expect(put.body.answered.length).toBeGreaterThanOrEqual(2); // W = 2 by default
    expect(put.body.answered).toEqual(expect.arrayContaining([vnode]));
    for (const base of urls) {
      const got = await http('GET', store(base, 'planet'), { status: 200 });
      expect(got.headers.get('content-type')).toMatch(/^application\/json/);
      expect(got.body).toEqual({
        key: 'planet',
        value: { name: 'mars', moons: 2 },
        version: put.body.version,
        answered: expect.any(Array),
      });
      expect(got.body.answered.length).toBeGreaterThanOrEqual(2); // R = 2 by default
      for (const a of got.body.answered) expect(a).toEqual(vnode);
    }
    // n, w and r in the query are passed to the coordinator.
    expect(
      (await http('PUT', store(urls[1]!, 'planet', '?n=3&w=3'), { json: 'all three', status: 200 })).body.answered,
    ).toHaveLength(3);
    expect((await http('GET', store(urls[2]!, 'planet', '?r=3&timeout=2000'), { status: 200 })).body).toMatchObject({
      value: 'all three',
    });
    expect((await http('GET', store(urls[0]!, 'planet', '?n=3&r=3'), { status: 200 })).body.answered).toHaveLength(3);
    // Any JSON value, under any key that is not a path: each written on one node, read on the next.
    const values: [string, unknown][] = [
      ['grüße aus köln', 'text'],
      ['a key with spaces & symbols?', 42],
      ['list', [1, 'two', { three: 3 }]],
      ['nothing', null],
      ['🪐', { nested: { deep: [true, false] } }],
    ];
    for (const [i, [key, value]] of values.entries()) {
      await http('PUT', store(urls[i % 3]!, key), { json: value, status: 200 });
      expect((await http('GET', store(urls[(i + 1) % 3]!, key), { status: 200 })).body).toMatchObject({ key, value });
    }
  });

  it('DELETE removes a key: GET answers 404 not_found, with who answered', async (t) => {
    const { urls } = await start(t);
    const put = await http('PUT', store(urls[0]!, 'doomed'), { json: 1, status: 200 });
    const del = await http('DELETE', store(urls[1]!, 'doomed'), { status: 200 });
    expect(del.body).toEqual({
      key: 'doomed',
      version: expect.objectContaining({ node: 'dev2@127.0.0.1' }),
      answered: expect.any(Array),
    });
    expect(del.body.answered.length).toBeGreaterThanOrEqual(2);
    expect(del.body.version).not.toEqual(put.body.version);
    const gone = await http('GET', store(urls[2]!, 'doomed', '?r=3'), { status: 404 });
    expect(gone.headers.get('content-type')).toMatch(/^application\/json/);
    expect(gone.body).toEqual(errorBody(404, 'not_found', { key: 'doomed', answered: expect.any(Array) }));
    expect(gone.body.error.answered).toHaveLength(3);
    // A later write brings the key back.
    await http('PUT', store(urls[2]!, 'doomed'), { json: 2, status: 200 });
    expect((await http('GET', store(urls[0]!, 'doomed'), { status: 200 })).body).toMatchObject({ value: 2 });
  });

  it('GET of a key that was never stored: 404 not_found', async (t) => {
    const { urls } = await start(t);
    const res = await http('GET', store(urls[1]!, 'no-such-planet'), { status: 404 });
    expect(res.body).toEqual(errorBody(404, 'not_found', { key: 'no-such-planet', answered: expect.any(Array) }));
    expect(res.body.error.answered.length).toBeGreaterThanOrEqual(2);
    for (const a of res.body.error.answered) expect(a).toEqual(vnode);
  });

  it('GET /api/keys lists exactly the live keys, each once, from every node', async (t) => {
    const { urls } = await start(t);
    const keys = Array.from({ length: 50 }, (_, i) => `key-${String(i).padStart(2, '0')}`);
    // W = 3: every replica has every write (and delete) before we list.
    for (const [i, key] of keys.entries())
      await http('PUT', store(urls[i % 3]!, key, '?w=3'), { json: i, status: 200 });
    const deleted = [keys[3]!, keys[17]!, keys[25]!, keys[40]!, keys[49]!];
    for (const key of deleted) await http('DELETE', store(urls[1]!, key, '?w=3'), { status: 200 });
    const live = keys.filter((k) => !deleted.includes(k)).sort();
    for (const base of urls) {
      expect((await http('GET', `${base}/api/keys`, { status: 200 })).body).toEqual({ keys: live });
    }
    expect((await http('GET', `${urls[0]}/api/keys?n=3&timeout=2000`, { status: 200 })).body).toEqual({ keys: live });
    expect((await http('GET', `${urls[0]}/api/keys?n=65`, { status: 400 })).body).toEqual(
      errorBody(400, 'invalid_param', { param: 'n' }),
    );
  });

  it('?n= is the number of copies: n=1 keeps a value on one vnode, n=2 on two; /api/keys?n=1 lists what was written with n=1', async (t) => {
    const { c, urls } = await start(t);
    const base = urls[0]!;
    const node = c.node(0);
    /** For each of the key's 3 primaries, in order: does its vnode hold the key? */
    const copies = (key: string) =>
      Promise.all(primaries(node, key).map((p) => holds(c.node(p.node), p.partition, key)));
    await http('PUT', store(base, 'single', '?n=1&w=1'), { json: 'one copy', status: 200 });
    await http('PUT', store(base, 'double', '?n=2&w=1'), { json: 'two copies', status: 200 });
    // A read of all 3 replicas from the same node: each vnode handled the writes before it.
    expect((await http('GET', store(base, 'single', '?n=3&r=3'), { status: 200 })).body).toMatchObject({
      value: 'one copy',
    });
    expect((await http('GET', store(base, 'double', '?n=3&r=3'), { status: 200 })).body).toMatchObject({
      value: 'two copies',
    });
    expect(await copies('single'), 'which of the 3 primaries hold "single" (written with n=1)').toEqual([
      true,
      false,
      false,
    ]);
    expect(await copies('double'), 'which of the 3 primaries hold "double" (written with n=2)').toEqual([
      true,
      true,
      false,
    ]);
    // Listing keys written with n=1 needs a plan with n=1: each key is on its first vnode only.
    const solo = Array.from({ length: 30 }, (_, i) => `solo-${String(i).padStart(2, '0')}`);
    for (const [i, key] of solo.entries())
      await http('PUT', store(urls[i % 3]!, key, '?n=1&w=1'), { json: i, status: 200 });
    const all = [...solo, 'single', 'double'].sort();
    for (const url of urls)
      expect((await http('GET', `${url}/api/keys?n=1`, { status: 200 })).body).toEqual({ keys: all });
  });
});

describe.concurrent('ex5-http: errors', () => {
  it('bad input → 400 invalid_param naming the parameter, before anything is sent', async (t) => {
    const { c, urls } = await start(t);
    const base = urls[0]!;
    const cases: [method: string, url: string, param: string][] = [
      ['PUT', store(base, 'k', '?w=0'), 'w'], // schema: w ≥ 1
      ['PUT', store(base, 'k', '?n=3&w=4'), 'w'], // coordinator: w ≤ n
      ['GET', store(base, 'k', '?r=abc'), 'r'], // schema: an integer
      ['GET', store(base, 'k', '?n=2&r=3'), 'r'], // coordinator: r ≤ n
      ['PUT', store(base, 'k', '?n=0'), 'n'], // schema: n ≥ 1
      ['DELETE', store(base, 'k', '?n=65'), 'n'], // coordinator: n ≤ ring size
      ['GET', store(base, 'k', '?timeout=0'), 'timeout'],
      ['PUT', store(base, 'k', '?quorum=2'), 'quorum'], // unknown parameters are rejected, not ignored
      ['PUT', store(base, 'bell\u0007'), 'key'], // a control character
      ['GET', store(base, 'line\nbreak'), 'key'],
      ['PUT', store(base, 'x'.repeat(513)), 'key'], // too long
      ['GET', `${base}/api/store/a%2Fb`, 'key'], // a slash
      ['GET', `${base}/api/keys?n=0`, 'n'],
    ];
    for (const [method, url, param] of cases) {
      const res = await http(method, url, method === 'PUT' ? { json: 'v', status: 400 } : { status: 400 });
      expect(res.body, `${method} ${url}`).toEqual(errorBody(400, 'invalid_param', { param }));
    }
    expect(c.nodes.flatMap((n) => n.vnodes.running('kv'))).toEqual([]); // no vnode was asked
    // The longest key allowed is fine.
    await http('PUT', store(base, 'x'.repeat(512)), { json: 'long', status: 200 });
  });

  it('a body that is not JSON → 415 (or 400 if it only claims to be); nothing is stored', async (t) => {
    const { urls } = await start(t);
    const res = await http('PUT', store(urls[0]!, 'typed'), { raw: 'hello', type: 'text/plain', status: 415 });
    expect(res.body).toEqual(errorBody(415, 'unsupported_media_type'));
    expect(
      (await http('PUT', store(urls[0]!, 'typed'), { raw: '{"oops', type: 'application/json', status: 400 })).body,
    ).toEqual(errorBody(400, 'invalid_body'));
    await http('GET', store(urls[1]!, 'typed'), { status: 404 });
    await http('PUT', store(urls[0]!, 'typed'), {
      raw: '"json"',
      type: 'application/json; charset=utf-8',
      status: 200,
    });
    expect((await http('GET', store(urls[1]!, 'typed'), { status: 200 })).body).toMatchObject({ value: 'json' });
  });

  it('a body over the limit → 413 body_too_large; one under it is stored', async (t) => {
    const { c } = await start(t);
    const base = await serve(c.node(0), { bodyLimit: 1024 });
    const res = await http('PUT', store(base, 'big'), { json: 'x'.repeat(2000), status: 413 });
    expect(res.body).toEqual(errorBody(413, 'body_too_large', { limit: 1024 }));
    await http('GET', store(base, 'big'), { status: 404 });
    await http('PUT', store(base, 'big'), { json: 'x'.repeat(1000), status: 200 });
    expect((await http('GET', store(base, 'big'), { status: 200 })).body.value).toHaveLength(1000);
  });

  it(`a body nested deeper than MAX_JSON_DEPTH (${MAX_JSON_DEPTH}) → 400 body_too_deep, nothing stored; the deepest allowed reads back whole`, async (t) => {
    const { urls } = await start(t);
    // Arrays and objects in turn, `depth` of them, around a string that only looks nested.
    const nested = (depth: number): unknown =>
      depth === 0 ? '[{"not" : ["nested"]}] \\' : depth % 2 ? [nested(depth - 1)] : { in: nested(depth - 1) };
    const deepest = nested(MAX_JSON_DEPTH);
    await http('PUT', store(urls[0]!, 'deepest', '?w=3'), { json: deepest, status: 200 });
    for (const base of urls)
      expect((await http('GET', store(base, 'deepest', '?r=3'), { status: 200 })).body.value).toEqual(deepest);
    const bodies: [string, string][] = [
      ['one level too deep', JSON.stringify(nested(MAX_JSON_DEPTH + 1))],
      ['1,000 deep', `${'['.repeat(1000)}${']'.repeat(1000)}`],
      ['100,000 deep', `${'{"a":['.repeat(50_000)}${']}'.repeat(50_000)}`],
    ];
    for (const [what, raw] of bodies) {
      const key = `deep-${what.split(' ')[0]}`;
      const res = await http('PUT', store(urls[0]!, key), { raw, type: 'application/json', status: 400 });
      expect(res.body, what).toEqual(errorBody(400, 'body_too_deep', { limit: MAX_JSON_DEPTH }));
      await http('GET', store(urls[1]!, key), { status: 404 });
    }
  });

  it('unknown routes → 404 JSON of the same shape, told apart from a missing key by its code', async (t) => {
    const { urls } = await start(t);
    for (const [method, path] of [
      ['GET', '/api/nope'],
      ['POST', '/api/store/k'],
      ['GET', '/api/store/a/b'],
      ['GET', '/'],
    ]) {
      const res = await http(method!, `${urls[0]}${path}`, { status: 404 });
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(res.body.error).toMatchObject({ status: 404, message: expect.any(String) });
      expect(res.body.error.code).not.toBe('not_found');
    }
    expect((await http('GET', store(urls[0]!, 'k'), { status: 404 })).body).toEqual(
      errorBody(404, 'not_found', { key: 'k', answered: expect.any(Array) }),
    );
  });

  it('too few vnodes answer → 503 quorum_not_reached with needed, asked, answered and the replies', async (t) => {
    // Down detection (TIMING) is far slower than the requests' 300 ms deadline: for the
    // coordinator the cut-off nodes stay up, so it asks them and waits, instead of picking
    // local fallbacks.
    const { c, urls } = await start(t);
    const coordinator = c.node(0);
    const base = urls[0]!;
    // With 3 nodes nearly every key has a replica on each node, so: with N = 2, a key neither
    // of whose primaries lives on the coordinator (once it is cut off, nobody answers), and
    // with N = 3, a key with exactly one replica on the coordinator (one answer is not W = 2).
    const [key] = keysWhere('cut', 1, (k) =>
      primaries(coordinator, k, 2).every((p) => p.node !== coordinator.name),
    ) as [string];
    const [mine] = keysWhere(
      'own',
      1,
      (k) => primaries(coordinator, k).filter((p) => p.node === coordinator.name).length === 1,
    ) as [string];
    const nemesis = new Nemesis(c, testSeed('ex5 partition'));
    nemesis.isolate(coordinator.name);
    const settled = await Promise.allSettled([
      http('PUT', store(base, key, '?n=2&w=2&timeout=300'), { json: 'lost?', status: 503 }),
      http('GET', store(base, key, '?n=2&r=2&timeout=300'), { status: 503 }),
      http('PUT', store(base, mine, '?w=2&timeout=300'), { json: 'half', status: 503 }),
    ]);
    expectAllUp(coordinator, c, 'when its answers came back');
    const [put, get, half] = settled.map((r) => {
      if (r.status === 'rejected') throw r.reason;
      return r.value;
    }) as [Answer, Answer, Answer];
    expect(put.headers.get('retry-after')).toBeTruthy();
    expect(put.body).toEqual(
      errorBody(503, 'quorum_not_reached', {
        reason: 'timeout',
        op: 'store',
        needed: 2,
        asked: expect.any(Array),
        answered: [],
        replies: [],
      }),
    );
    expect(put.body.error.asked).toEqual(primaries(coordinator, key, 2).map((p) => ({ ...p, type: 'primary' })));
    expect(get.body.error).toMatchObject({
      code: 'quorum_not_reached',
      reason: 'timeout',
      op: 'fetch',
      needed: 2,
      answered: [],
    });
    expect(half.body.error).toMatchObject({ code: 'quorum_not_reached', reason: 'timeout', needed: 2 });
    expect(half.body.error.asked).toHaveLength(3);
    expect(half.body.error.answered).toEqual([
      { partition: expect.any(Number), node: coordinator.name, type: 'primary' },
    ]);
    expect(half.body.error.replies).toEqual([{ ok: true, from: half.body.error.answered[0] }]);
    nemesis.heal();
    await waitFor('every node to see every node up', () => c.nodes.every((n) => n.upNodes(SERVICE).length === 3), {
      timeoutMs: 10_000,
    });
    await http('PUT', store(base, key, '?n=2&w=2'), { json: 'back', status: 200 });
  });

  it('?timeout= is the deadline: replicas that answer after 1.2 s serve timeout=8000 requests, a timeout=300 read gets 503', async (t) => {
    const { c, urls } = await start(t);
    const coordinator = c.node(0);
    const base = urls[0]!;
    // Keys neither of whose 2 primaries is on the coordinator: every answer crosses a slow link.
    const [toRead, toWrite, toDelete] = keysWhere('far', 3, (k) =>
      primaries(coordinator, k, 2).every((p) => p.node !== coordinator.name),
    ) as [string, string, string];
    await http('PUT', store(base, toRead, '?n=2&w=2'), { json: 'far away', status: 200 });
    await http('PUT', store(base, toDelete, '?n=2&w=2'), { json: 'doomed', status: 200 });
    const nemesis = new Nemesis(c, testSeed('ex5 latency'));
    for (const other of c.nodes.filter((n) => n !== coordinator))
      nemesis.latency(other.name, coordinator.name, LATENCY_MS);
    const timed = async (send: Promise<Answer>) => {
      const t0 = Date.now();
      return { ...(await send), ms: Date.now() - t0 };
    };
    const settled = await Promise.allSettled([
      timed(http('GET', store(base, toRead, '?n=2&r=2&timeout=8000'), { status: 200 })),
      timed(http('PUT', store(base, toWrite, '?n=2&w=2&timeout=8000'), { json: 'patience', status: 200 })),
      timed(http('DELETE', store(base, toDelete, '?n=2&w=2&timeout=8000'), { status: 200 })),
      timed(http('GET', store(base, toRead, '?n=2&r=2&timeout=300'), { status: 503 })),
    ]);
    expectAllUp(coordinator, c, 'when its answers came back');
    const [get, put, del, quick] = settled.map((r) => {
      if (r.status === 'rejected') throw r.reason;
      return r.value;
    }) as [Answer & { ms: number }, Answer & { ms: number }, Answer & { ms: number }, Answer & { ms: number }];
    // The links were slow: no answer could come back sooner (longer than the default 1000 ms).
    expect(get.ms).toBeGreaterThanOrEqual(LATENCY_MS - 50);
    expect(get.body).toMatchObject({ key: toRead, value: 'far away' });
    expect(get.body.answered).toHaveLength(2);
    expect(put.body.answered).toHaveLength(2);
    expect(del.body.answered).toHaveLength(2);
    expect(quick.body).toEqual(
      errorBody(503, 'quorum_not_reached', {
        reason: 'timeout',
        op: 'fetch',
        needed: 2,
        asked: expect.any(Array),
        answered: [],
        replies: [],
      }),
    );
    nemesis.heal();
  });

  it('more replicas than the live nodes can hold → 503 with reason unavailable, nothing asked; N=3 writes go on through a fallback', async (t) => {
    const { c, urls } = await start(t);
    const base = urls[0]!;
    const dead = c.names[2]!;
    const [hinted] = keysWhere('hinted', 1, (k) => primaries(c.node(0), k).some((p) => p.node === dead)) as [string];
    await c.kill(2);
    await waitFor(`${c.names[0]} to count ${dead} as down`, () => !c.node(0).upNodes(SERVICE).includes(dead), {
      timeoutMs: 10_000,
    });
    // n = 64 is every partition: the dead node's partitions have no other node to fall back on.
    const put = await http('PUT', store(base, 'everywhere', '?n=64&w=64'), { json: 1, status: 503 });
    expect(put.headers.get('retry-after')).toBeTruthy();
    expect(put.body).toEqual(
      errorBody(503, 'quorum_not_reached', {
        reason: 'unavailable',
        op: 'store',
        needed: 64,
        asked: [],
        answered: [],
        replies: [],
      }),
    );
    const get = await http('GET', store(base, 'everywhere', '?n=64&r=64'), { status: 503 });
    expect(get.body.error).toMatchObject({
      code: 'quorum_not_reached',
      reason: 'unavailable',
      op: 'fetch',
      needed: 64,
    });
    // Sloppy quorum: with N = 3 a fallback stands in for the dead primary, and W = 3 succeeds.
    const res = await http('PUT', store(base, hinted, '?w=3'), { json: 'sloppy', status: 200 });
    expect(res.body.answered).toHaveLength(3);
    expect(res.body.answered).toContainEqual({
      partition: expect.any(Number),
      node: expect.any(String),
      type: 'fallback',
    });
  });
});

describe.concurrent('ex5-http: ring and members', () => {
  it('GET /api/ring: 64 owners, ring ready, the claimant, nothing pending; the same on every node', async (t) => {
    const { c, urls } = await start(t);
    for (const [i, base] of urls.entries()) {
      const { body } = await http('GET', `${base}/api/ring`, { status: 200 });
      expect(body).toMatchObject({
        node: c.node(i).name,
        ringSize: 64,
        claimant: c.node(0).ring.claimant,
        ringReady: true,
        pending: [],
      });
      expect(body.owners).toEqual(c.node(0).ring.owners.map((node, partition) => ({ partition, node })));
    }
  });

  it('GET /api/members: 3 valid members, up, owning the whole ring between them', async (t) => {
    const { c, urls } = await start(t);
    const { body } = await http('GET', `${urls[2]}/api/members`, { status: 200 });
    expect(body.members.map((m: Json) => m.node)).toEqual([...c.names].sort());
    for (const m of body.members) expect(m).toMatchObject({ status: 'valid', up: true, pendingPercent: null });
    expect(body.members.reduce((sum: number, m: Json) => sum + m.ringPercent, 0)).toBeCloseTo(100);
  });
});
