/**
 * The exercises' side of "validated at the boundary" (issue 19), on the finished code of
 * solutions/ and the given modules: every vnode service the exercises define refuses a
 * malformed request with `bad_request` before its vnode sees it (the `requests` schema each
 * service passes), every handoff receiver refuses a malformed item without storing any of it,
 * and exercise 7's HTTP route refuses a JSON body nested deeper than `MAX_JSON_DEPTH` (exercise
 * 5's suite proves the same for the store's routes, with the round trip of the deepest value).
 * In each case the good data is still there, unchanged, afterwards.
 */
import type { AddressInfo } from 'node:net';
import { pack } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pingService } from '../../solutions/ex1-ping/ping_vnode.js';
import { kvService as kvService2, type KvVnode as KvVnode2 } from '../../solutions/ex2-kv/kv_vnode.js';
import { fetch, store } from '../../solutions/ex3-coordinator/coordinator.js';
import { WebSocket } from 'ws';
import { kvService, type KvVnode } from '../../solutions/ex4-handoff/kv_vnode.js';
import { roomService, type RoomVnode } from '../../solutions/ex6-chat/room_vnode.js';
import { fencedKvService, type FencedKvVnode } from '../../solutions/ex7-objects/fenced_kv_vnode.js';
import { objectService } from '../../solutions/ex7-objects/object_vnode.js';
import { callObject } from '../../solutions/ex7-objects/objects.js';
import {
  encodeHandoffItem,
  MAX_KEY_LENGTH,
  MAX_VALUE_DEPTH,
  newVersion,
  type Entry,
} from '../../exercises/ex3-coordinator/kv_vnode.js';
import { listKeys } from '../../exercises/ex5-http/list_keys.js';
import { nestingDepth } from '../wire.js';
import { jsonDepth, MAX_JSON_DEPTH } from '../../exercises/ex5-http/api.js';
import { buildServer } from '../../exercises/ex5-http/server.js';
import { objectRoutes } from '../../exercises/ex7-objects/http_objects.js';
import { fenceEntry } from '../../exercises/ex7-objects/fence_types.js';
import { MAX_JSON_DEPTH as CHAT_MAX_JSON_DEPTH, startChatServer } from '../../exercises/ex6-chat/server.js';
import { ok } from '../../exercises/ex6-chat/protocol.js';
import { TestCluster } from '../harness/cluster.js';
import { inspectVnode } from '../harness/inspect.js';
import type { RingNode } from '../node.js';
import { reply, type VnodeId, type VnodeModule, type VnodeReply } from '../vnode.js';

/** `depth` arrays and objects in turn around a scalar: nestingDepth(nested(d)) === d. */
const nested = (depth: number): unknown => {
  let v: unknown = 'bottom';
  for (let d = 1; d <= depth; d++) v = d % 2 ? [v] : { in: v };
  return v;
};

/** A vnode of `node` on a partition `node` owns, for `service` (started by a first request). */
function ownPartition(node: RingNode): number {
  const p = node.ring.owners.indexOf(node.name);
  if (p < 0) throw new Error(`test setup: ${node.name} owns no partition`);
  return p;
}

let clusters = 0;
/** A 2-node cluster (Q = 8) running `services`; requests go from dev1 to a vnode of dev2, over the wire. */
async function cluster(services: () => readonly VnodeModule[]): Promise<TestCluster> {
  return TestCluster.start({ size: 2, ringSize: 8, cookie: `boundary-${++clusters}`, services: () => services() });
}

/** The reply of the vnode `target` to `request` of `service`, sent from `node`, as it came back (not turned into an error). */
function replyTo(node: RingNode, target: VnodeId, request: unknown, service: string): Promise<VnodeReply> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no reply to ${service} ${JSON.stringify(request)}`)), 5000);
    const sender = node.vnodes.newSender((reply) => {
      clearTimeout(timer);
      node.vnodes.release(sender);
      resolve(reply);
    }, 5000);
    node.command([target], request, sender, service);
  });
}

/**
 * Send each of `bad` as a request of `service` from dev1 to a vnode on dev2: each must be
 * answered with a `bad_request` error naming the service, the vnode never asked.
 */
async function expectRefused(c: TestCluster, service: string, bad: readonly unknown[]): Promise<void> {
  const target = { partition: ownPartition(c.node(1)), node: c.node(1).name };
  for (const request of bad) {
    const reply = await replyTo(c.node(0), target, request, service);
    expect(reply, `${service} request ${JSON.stringify(request)?.slice(0, 200)}`).toMatchObject({
      ok: false,
      error: { code: 'bad_request', message: expect.stringContaining(`malformed ${service} request`) },
    });
  }
}

describe('every vnode service of the exercises refuses a malformed request with bad_request', () => {
  it('ex1 ping: a key that is no string, or too long, or an unknown type; pings still answer', async () => {
    const c = await cluster(() => [pingService]);
    try {
      await expectRefused(c, 'ping', [
        { type: 'ping_key', key: { toString: 0 } },
        { type: 'ping_key', key: 'k'.repeat(MAX_KEY_LENGTH + 1) },
        { type: 'ping_key' },
        { type: 'pong' },
        5,
        null,
      ]);
      const target = { partition: ownPartition(c.node(1)), node: c.node(1).name };
      expect(await c.node(0).syncSpawnCommand(target, { type: 'ping_key', key: 'k' }, 'ping')).toMatchObject({
        pong: true,
        key: 'k',
      });
    } finally {
      await c.stop();
    }
  });

  it('ex2 kv: object keys, values nested too deep, unknown types refused; the stored value stays', async () => {
    const c = await cluster(() => [kvService2]);
    try {
      const target = { partition: ownPartition(c.node(1)), node: c.node(1).name };
      await c.node(0).syncSpawnCommand(target, { type: 'store', key: 'good', value: nested(MAX_JSON_DEPTH) }, 'kv');
      await expectRefused(c, 'kv', [
        { type: 'store', key: { a: 1 }, value: 1 },
        { type: 'store', key: 7, value: 1 },
        { type: 'store', key: 'good', value: nested(MAX_VALUE_DEPTH + 1) },
        { type: 'fetch', key: ['good'] },
        { type: 'delete' },
        { type: 'drop_all' },
      ]);
      const data = await inspectVnode(c.node(1), 'kv', target.partition, (v: KvVnode2) => [...v.data]);
      expect(data).toEqual([['good', nested(MAX_JSON_DEPTH)]]);
    } finally {
      await c.stop();
    }
  });

  it('ex3/ex4 kv: a put with an object key, a bare number or a malformed entry is refused; keys still list', async () => {
    const c = await cluster(() => [kvService()]);
    try {
      // The deepest value HTTP accepts, and exercise 7's record around it, pass.
      await store(c.node(0), 'deep', nested(MAX_JSON_DEPTH), { n: 2, w: 2 });
      await store(c.node(0), 'record', { state: nested(MAX_JSON_DEPTH), epoch: 1 }, { n: 2, w: 2 });
      await store(c.node(0), 'deepest', nested(MAX_VALUE_DEPTH), { n: 2, w: 2 });
      const entry = (value: unknown): Entry => ({ value, version: newVersion('dev1@127.0.0.1'), deleted: false });
      await expectRefused(c, 'kv', [
        { type: 'put', key: { toString: 0 }, entry: entry(1) },
        { type: 'put', key: 42, entry: entry(1) },
        { type: 'put', key: 'k'.repeat(MAX_KEY_LENGTH + 1), entry: entry(1) },
        { type: 'put', key: 'deep', entry: 17 },
        { type: 'put', key: 'deep', entry: { value: 1, deleted: false } },
        { type: 'put', key: 'deep', entry: { ...entry(1), version: { t: 'now', node: 'x', seq: 1 } } },
        { type: 'put', key: 'deep', entry: { ...entry(1), deleted: 'no' } },
        { type: 'put', key: 'deep', entry: entry(nested(MAX_VALUE_DEPTH + 1)) },
        { type: 'get', key: null },
        { type: 'scan' },
      ]);
      expect(await fetch(c.node(1), 'deep', { n: 2, r: 2 })).toMatchObject({ value: nested(MAX_JSON_DEPTH) });
      expect(await fetch(c.node(1), 'deepest', { n: 2, r: 2 })).toMatchObject({ value: nested(MAX_VALUE_DEPTH) });
      expect((await listKeys(c.node(0), { n: 2, timeoutMs: 5000 })).sort()).toEqual(['deep', 'deepest', 'record']);
    } finally {
      await c.stop();
    }
  });

  it('ex6 rooms: a member without a connection, a line that is no text, no up list: refused; the room stays', async () => {
    const c = await cluster(() => [roomService()]);
    try {
      const target = { partition: ownPartition(c.node(1)), node: c.node(1).name };
      const up = c.names;
      const ada = { name: 'ada', node: c.node(1).name, conn: 't.1' };
      const op = { room: 'lobby', up, broadcast: false };
      await c.node(0).syncSpawnCommand(target, { ...op, type: 'join', member: ada }, 'room');
      await expectRefused(c, 'room', [
        { ...op, type: 'join', member: { name: 'bob', node: c.node(1).name } },
        { ...op, type: 'say', member: ada, id: 'l1', at: 1, text: { rich: true } },
        { ...op, type: 'say', member: ada, id: 'l1', at: 'noon', text: 'hi' },
        { ...op, type: 'who', up: 'everyone' },
        { ...op, type: 'leave', member: ada, quiet: 'yes' },
        { ...op, type: 'kick', member: ada },
        { type: 'who', room: 42, up, broadcast: false },
      ]);
      const rooms = await inspectVnode(c.node(1), 'room', target.partition, (v: RoomVnode) =>
        [...v.rooms.values()].map((r) => ({ name: r.name, members: [...r.members.values()], history: r.history })),
      );
      expect(rooms).toEqual([{ name: 'lobby', members: [ada], history: [] }]);
    } finally {
      await c.stop();
    }
  });

  it('ex7 objects and fenced kv: malformed calls, claims and fenced puts are refused; the counter keeps counting', async () => {
    let c: TestCluster | undefined;
    const node = (name: string) => (c as TestCluster).node(name);
    c = await cluster(() => [fencedKvService(), objectService({ node, storeTimeoutMs: 2000 })]);
    try {
      expect((await callObject(c.node(0), 'counter', 'c1', { op: 'inc' })).reply).toBe(1);
      await expectRefused(c, 'objects', [
        { type: 'call', objectType: 'counter', id: 7, call: { op: 'inc' } },
        { type: 'call', objectType: { name: 'counter' }, id: 'c1', call: { op: 'inc' } },
        { type: 'call', objectType: 'counter', id: 'c1', call: nested(MAX_VALUE_DEPTH + 1) },
        { type: 'activate', objectType: 'counter', id: 'c1' },
      ]);
      const entry = { value: 1, version: newVersion('dev1@127.0.0.1'), deleted: false };
      await expectRefused(c, 'kv', [
        { type: 'claim', key: 'objects/counter/c1', epoch: 'high' },
        { type: 'claim', key: ['objects/counter/c1'], epoch: 99 },
        { type: 'fenced_put', key: 'objects/counter/c1', entry: 1, epoch: 99 },
        { type: 'fenced_put', key: 'objects/counter/c1', entry, epoch: 99, held: { fence: 'x' } },
        { type: 'claim', key: 'k', epoch: 2, held: { fence: 1, fenceEntry: 5, entry: null } },
      ]);
      expect((await callObject(c.node(1), 'counter', 'c1', { op: 'inc' })).reply).toBe(2);
    } finally {
      await c.stop();
    }
  });
});

describe('replies: exercise 5 lists keys only from replies that are lists of keys', () => {
  it('a peer whose vnodes answer the keys request with garbage: listKeys fails with bad_request, not a crash', async () => {
    const broken: VnodeModule = {
      service: 'kv',
      init: () => ({ handleCommand: () => reply(null), handleCoverage: () => reply([{ toString: 0 }, 42]) }),
    };
    const c = await TestCluster.start({
      size: 2,
      ringSize: 8,
      cookie: `boundary-${++clusters}`,
      services: (name) => (name === 'dev2@127.0.0.1' ? [broken] : [kvService()]),
    });
    try {
      const err = await listKeys(c.node(0), { n: 1, timeoutMs: 5000 }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'bad_request', message: expect.stringContaining('not a list of keys') });
    } finally {
      await c.stop();
    }
  });
});

describe('handoff items are checked when decoded: a malformed one is refused (bad_request), nothing of it stored', () => {
  let c: TestCluster;
  beforeAll(async () => {
    c = await TestCluster.start({
      size: 1,
      ringSize: 8,
      cookie: `boundary-${++clusters}`,
      services: () => [kvService(), roomService()],
    });
  });
  afterAll(() => c?.stop());

  /** Items no receiver may store: not msgpack of a pair, a non-string key, a bare number, a broken entry. */
  const garbage = [
    new Uint8Array([0xc1]),
    pack(42),
    pack([{ toString: 0 }, { value: 1, version: { t: 1, node: 'x', seq: 1 }, deleted: false }]),
    pack([7, { value: 1, version: { t: 1, node: 'x', seq: 1 }, deleted: false }]),
    pack(['k', 42]),
    pack(['k', { value: 1, version: { t: '1', node: 'x', seq: 1 }, deleted: false }]),
    pack(['k', { value: 1, deleted: false }]),
    pack(['k'.repeat(MAX_KEY_LENGTH + 1), { value: 1, version: { t: 1, node: 'x', seq: 1 }, deleted: false }]),
    pack(['k', { value: nested(MAX_VALUE_DEPTH + 1), version: { t: 1, node: 'x', seq: 1 }, deleted: false }]),
  ];

  /** Apply `items` one by one in a vnode of `service`, in its turn as the runtime's handoff.data does; the error of each. */
  async function apply(service: string, items: readonly Uint8Array[]): Promise<unknown[]> {
    const errors = await inspectVnode(
      c.node(0),
      service,
      0,
      async (v: { handleHandoffData(data: Uint8Array): void | Promise<void> }) => {
        const out: unknown[] = [];
        for (const item of items) {
          try {
            await v.handleHandoffData(item);
            out.push(undefined);
          } catch (err) {
            out.push(err);
          }
        }
        return out;
      },
    );
    if (!errors) throw new Error(`test setup: no ${service} vnode of partition 0 running`);
    return errors;
  }

  it('ex4 kv (exercise 3 decodes): a non-string key or a bare number is refused; the good items are applied, keys still list', async () => {
    const target = { partition: 0, node: c.node(0).name };
    const kept: Entry = { value: 'kept', version: newVersion('dev1@127.0.0.1'), deleted: false };
    await c.node(0).syncSpawnCommand(target, { type: 'put', key: 'kept', entry: kept }, 'kv');
    const good: Entry = { value: nested(MAX_JSON_DEPTH), version: newVersion('dev9@127.0.0.1'), deleted: false };
    const errors = await apply('kv', [...garbage, encodeHandoffItem('arrived', good)]);
    expect(errors.slice(0, -1)).toEqual(garbage.map(() => expect.objectContaining({ code: 'bad_request' })));
    expect(errors.at(-1)).toBeUndefined();
    const data = await inspectVnode(c.node(0), 'kv', 0, (v: KvVnode) => Object.fromEntries(v.data));
    expect(data).toEqual({ kept, arrived: good });
    await expect(listKeys(c.node(0), { n: 1, timeoutMs: 5000 })).resolves.toBeInstanceOf(Array);
  });

  it('ex6 rooms: a room item with a malformed member or line is refused; a good one merges', async () => {
    const up = c.names;
    const ada = { name: 'ada', node: c.node(0).name, conn: 't.1' };
    const target = { partition: 0, node: c.node(0).name };
    await c
      .node(0)
      .syncSpawnCommand(target, { room: 'lobby', up, broadcast: false, type: 'join', member: ada }, 'room');
    const line = { id: 'l1', at: 1, name: 'ada', text: 'hi' };
    const bad = [
      new Uint8Array([0xc1]),
      pack(42),
      pack([{ toString: 0 }, { members: [], history: [] }]),
      pack(['lobby', { members: [{ name: 'bob' }], history: [] }]),
      pack(['lobby', { members: [], history: [{ ...line, text: { rich: true } }] }]),
      pack(['lobby', { members: 'all', history: [] }]),
    ];
    const bob = { name: 'bob', node: c.node(0).name, conn: 't.2' };
    const errors = await apply('room', [...bad, pack(['lobby', { members: [bob], history: [line] }])]);
    expect(errors.slice(0, -1)).toEqual(bad.map(() => expect.objectContaining({ code: 'bad_request' })));
    expect(errors.at(-1)).toBeUndefined();
    const rooms = await inspectVnode(c.node(0), 'room', 0, (v: RoomVnode) =>
      [...v.rooms.values()].map((r) => ({ name: r.name, members: [...r.members.values()], history: r.history })),
    );
    expect(rooms).toEqual([{ name: 'lobby', members: [ada, bob], history: [line] }]);
  });

  it('ex7 fenced kv: an entry whose epoch is no number is refused; a fence entry merges', async () => {
    const f = await TestCluster.start({
      size: 1,
      ringSize: 8,
      cookie: `boundary-${++clusters}`,
      services: () => [fencedKvService()],
    });
    try {
      await f.node(0).syncSpawnCommand({ partition: 0, node: f.node(0).name }, { type: 'ping' }, 'kv');
      const good = { ...fenceEntry(5), epoch: 5 };
      const errors = await inspectVnode(f.node(0), 'kv', 0, (v: FencedKvVnode) =>
        [
          pack(['k', { ...good, epoch: 'five' }]),
          pack(['k', { ...good, version: null }]),
          pack([5, good]),
          pack(['k', good]),
        ].map((item) => {
          try {
            v.handleHandoffData(item);
            return undefined;
          } catch (err) {
            return (err as { code?: string }).code;
          }
        }),
      );
      expect(errors).toEqual(['bad_request', 'bad_request', 'bad_request', undefined]);
      expect(await inspectVnode(f.node(0), 'kv', 0, (v: FencedKvVnode) => [...v.data])).toEqual([['k', good]]);
    } finally {
      await f.stop();
    }
  });
});

describe('JSON bodies nested deeper than MAX_JSON_DEPTH are refused on their text', () => {
  it('jsonDepth counts arrays and objects outside strings, in one pass, however deep', () => {
    expect(jsonDepth('1')).toBe(0);
    expect(jsonDepth('[]')).toBe(1);
    expect(jsonDepth('{"a":[1,{"b":"[[[{{{"}]}')).toBe(3);
    expect(jsonDepth('"\\"[[["')).toBe(0);
    expect(jsonDepth(JSON.stringify(nested(MAX_JSON_DEPTH)))).toBe(MAX_JSON_DEPTH);
    expect(jsonDepth('['.repeat(1_000_000), MAX_JSON_DEPTH)).toBe(MAX_JSON_DEPTH + 1);
    expect(nestingDepth(nested(100_000))).toBe(100_000);
    expect(CHAT_MAX_JSON_DEPTH).toBe(MAX_JSON_DEPTH);
  });

  it('ex7 POST /api/objects: a call nested deeper than the limit → 400 body_too_deep, the object never called', async () => {
    const c = await TestCluster.start({ size: 1, ringSize: 8, cookie: `boundary-${++clusters}` });
    const calls: unknown[] = [];
    const app = buildServer(c.node(0), {
      routes: objectRoutes(async (_node, _type, _id, call) => {
        calls.push(call);
        return { reply: 'ran', epoch: 0, activation: 'a', home: { partition: 0, node: 'n', type: 'primary' } };
      }),
      coordinatorError: () => undefined,
    });
    try {
      await app.listen({ host: '127.0.0.1', port: 0 });
      const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/api/objects/counter/c1`;
      const post = (body: string) =>
        globalThis.fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const ok = await post(JSON.stringify(nested(MAX_JSON_DEPTH)));
      expect(ok.status).toBe(200);
      for (const body of [
        JSON.stringify(nested(MAX_JSON_DEPTH + 1)),
        '['.repeat(1000) + ']'.repeat(1000),
        '{"a":['.repeat(50_000) + ']}'.repeat(50_000),
      ]) {
        const res = await post(body);
        expect(res.status).toBe(400);
        expect(await res.json()).toEqual({
          error: { status: 400, code: 'body_too_deep', message: expect.any(String), limit: MAX_JSON_DEPTH },
        });
      }
      expect(calls).toEqual([nested(MAX_JSON_DEPTH)]);
    } finally {
      await app.close();
      await c.stop();
    }
  });

  it('ex6 chat over WebSocket: a message nested deeper than the limit gets an error, the commands never see it', async () => {
    const c = await TestCluster.start({ size: 1, ringSize: 8, cookie: `boundary-${++clusters}` });
    const lines: string[] = [];
    const chat = await startChatServer(
      c.node(0),
      async (_session, line) => {
        lines.push(line);
        return [ok('help', 'ok')];
      },
      { wsPort: 0 },
    );
    const ws = new WebSocket(`ws://127.0.0.1:${chat.wsPort}`);
    const received: { type: string; message?: string }[] = [];
    const next = async (count: number) => {
      const deadline = Date.now() + 5000;
      while (received.length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      return received[count - 1];
    };
    ws.on('message', (data) => received.push(JSON.parse(String(data))));
    try {
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
      expect(await next(1)).toMatchObject({ type: 'hello' });
      ws.send(JSON.stringify({ cmd: 'say', room: 'lobby', text: nested(CHAT_MAX_JSON_DEPTH) }));
      expect(await next(2)).toMatchObject({ type: 'error', message: expect.stringContaining('nested deeper') });
      ws.send('['.repeat(8000) + ']'.repeat(8000));
      expect(await next(3)).toMatchObject({ type: 'error', message: expect.stringContaining('nested deeper') });
      ws.send(JSON.stringify({ cmd: 'help', extra: nested(CHAT_MAX_JSON_DEPTH - 1) }));
      expect(await next(4)).toMatchObject({ type: 'ok' });
      expect(lines).toEqual(['help']);
    } finally {
      ws.terminate();
      await chat.close();
      await c.stop();
    }
  });
});
