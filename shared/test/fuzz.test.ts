/**
 * Issue 19: a property-based fuzz test of a node's transport boundary. A 3-node cluster running
 * the finished KV service; frames of every kind the nodes really exchange are captured once
 * (heartbeats, gossip rings and digests, RPC calls and returns, vnode commands, coverage
 * requests and replies, notify); then one node is fed arbitrary frames through authenticated
 * connections (one claiming to be the member dev2, one a stranger):
 *  (a) msgpack values of any shape, as frames whose `t` is each known tag (or any string), and
 *      now and then a value that is not a frame at all;
 *  (b) the captured frames mutated: a field (at any depth, inside a gossiped ring too) replaced
 *      by an arbitrary value or deleted, or `t` changed; mutated rings sometimes get their
 *      version bumped, so they are not simply older than the node's.
 * Afterwards the node must still be up (the cluster sees it), the known key must read back, and
 * every node's ring must be valid. A crash is an error thrown outside any handler: in-process,
 * an uncaught exception in this worker, collected here and failing the test.
 *
 * Seeded (`[seed] fuzz: …` is printed; replay with `npm run replay -- shared/test/fuzz.test.ts <seed>`).
 */
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listKeys } from '../../exercises/ex5-http/list_keys.js';
import { fetch as kvFetch, store as kvStore } from '../../solutions/ex3-coordinator/coordinator.js';
import { kvService } from '../../solutions/ex4-handoff/kv_vnode.js';
import { encodeBatch, encodeFrame, type Frame } from '../frame.js';
import { dial } from '../handshake.js';
import { TestCluster } from '../harness/cluster.js';
import { testSeed } from '../harness/seed.js';
import { ringViolations } from '../harness/ring_check.js';
import { waitFor, waitForEach } from '../harness/wait.js';
import type { RingNode } from '../node.js';
import type { Ring } from '../ring.js';

const RING_SIZE = 64;
const COOKIE = `fuzz-${process.pid}`;
const KNOWN_KEY = 'fuzz-known';
const KNOWN_VALUE = { survives: 'the fuzzing', n: 7 };
/** Puts and gets captured for mutation use another key, so replays never touch the known one. */
const CAPTURED_KEY = 'fuzz-captured';
const TAGS = ['hb', 'call', 'return', 'ring', 'vnode_cmd', 'vnode_cov', 'vnode_reply', 'notify'] as const;
const FRAMES_PER_RUN = 50;
const RUNS = 210;
const MIN_FRAMES = 10_000;
const packr = new Packr({ useRecords: false, moreTypes: false });

/** Errors thrown outside any handler while this file runs (a node crashing, in-process). */
const crashes: unknown[] = [];
const onCrash = (err: unknown) => void crashes.push(err);

let c: TestCluster;
const captured: Frame[] = [];

/** The nodes log every refused frame: thousands here. Quiet unless RING_LOG asks otherwise. */
const ringLog = process.env.RING_LOG;

beforeAll(async () => {
  process.env.RING_LOG = ringLog ?? 'silent';
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  // Down detection far above the test default (600 ms): generating thousands of values blocks
  // this process's event loop for longer than that on a busy machine. Closed links are still
  // seen at once, and a crash is caught as an uncaught exception.
  c = await TestCluster.start({
    size: 3,
    services: () => [kvService()],
    cookie: COOKIE,
    ringSize: RING_SIZE,
    timing: { downAfterMs: 10_000 },
  });
  await kvStore(c.node(0), KNOWN_KEY, KNOWN_VALUE, { w: 3, timeoutMs: 5000 });
  // Capture real frames between the nodes for a moment (decoded from their bytes: plain copies).
  // At most 20 of each kind, so that a kind sent often (heartbeats, digests) does not crowd out the others.
  const kinds = new Map<string, number>();
  c.setLinkFilter((_from, _to, frame) => {
    const copy = packr.unpack(encodeFrame(frame)) as Frame;
    const kind = copy.t === 'ring' ? `ring:${copy.bin !== undefined ? 'bin' : 'digest'}` : copy.t;
    const n = kinds.get(kind) ?? 0;
    if (n < 20) captured.push(copy);
    kinds.set(kind, n + 1);
    return 'deliver';
  });
  const [n1, n2, n3] = [c.node(0), c.node(1), c.node(2)];
  await kvStore(n2, CAPTURED_KEY, { some: ['value', 1, true] }, { w: 3, timeoutMs: 5000 });
  await kvFetch(n3, CAPTURED_KEY, { r: 3, timeoutMs: 5000 });
  await listKeys(n1, { timeoutMs: 5000 });
  await n2.plan();
  await n2.rpc.call(n1.name, 'no.such.method', { x: 1 }).catch(() => undefined);
  n2.notify(n1.name, 'fuzz-topic', { hello: ['world'] });
  // Whole rings, as gossip sends them (anti-entropy only sends digests in a settled cluster).
  n1.gossip.sendRing(n2.name, 'sync');
  n1.gossip.sendRing(n3.name, 'push');
  n2.gossip.sendRing(n1.name, 'report');
  const wanted = ['hb', 'call', 'return', 'ring:bin', 'ring:digest', 'vnode_cmd', 'vnode_cov', 'vnode_reply', 'notify'];
  await waitFor(`frames of every kind to be captured (${wanted.join(', ')})`, () => wanted.every((t) => kinds.has(t)));
  c.setLinkFilter(undefined);
}, 30_000);

afterAll(async () => {
  await c?.stop();
  if (ringLog === undefined) delete process.env.RING_LOG;
  else process.env.RING_LOG = ringLog;
  process.off('uncaughtException', onCrash);
  process.off('unhandledRejection', onCrash);
});

/** The known key read through `n` (R = 2), or undefined while it does not read back. */
async function readKnown(n: RingNode) {
  const r = await kvFetch(n, KNOWN_KEY, { r: 2, timeoutMs: 1000 });
  return r.found ? r : undefined;
}

const ringProblems = (ring: Ring): string[] => ringViolations(ring, RING_SIZE);

/** An authenticated connection to the target, redialled when the target closes it. */
class Link {
  private socket?: WebSocket;
  reconnects = 0;
  constructor(
    private readonly target: RingNode,
    readonly name: string,
  ) {}

  async open(): Promise<WebSocket> {
    if (this.socket?.readyState === WebSocket.OPEN) return this.socket;
    if (this.socket) this.reconnects++;
    const { socket } = await dial(this.target.addr, { node: this.name, role: 'node', cookie: COOKIE, addr: '' });
    socket.on('message', () => undefined); // replies and heartbeats: not read
    this.socket = socket;
    return socket;
  }

  /** Resolves once the target has read everything sent so far (a ping's pong), or closed the socket. */
  barrier(): Promise<void> {
    const socket = this.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        socket.off('pong', done);
        socket.off('close', done);
        resolve();
      };
      socket.once('pong', done);
      socket.once('close', done);
      socket.ping();
    });
  }

  close(): void {
    this.socket?.terminate();
  }
}

// --- generators ------------------------------------------------------------------------

const anyValue = fc.anything({ maxDepth: 3, maxKeys: 4, withTypedArray: true, withNullPrototype: true });
const smallInt = fc.integer({ min: -2, max: RING_SIZE + 2 });
const names = fc.constantFrom('dev1@127.0.0.1', 'dev2@127.0.0.1', 'dev3@127.0.0.1', 'nobody@127.0.0.1', '');
const plausible: Record<string, fc.Arbitrary<unknown>> = {
  id: fc.oneof(fc.uuid(), anyValue),
  method: fc.oneof(
    fc.constantFrom('handoff.open', 'handoff.data', 'handoff.close', 'claimant.plan', 'dashboard.local', 'no.such'),
    anyValue,
  ),
  args: fc.oneof(
    anyValue,
    // handoff.data's arguments, with items of any shape (what the receiving vnode decodes).
    fc.record({
      service: fc.constantFrom('kv', 'ping'),
      partition: smallInt,
      items: fc.array(
        fc.oneof(
          anyValue.map((v) => packr.pack(v)),
          fc.tuple(fc.oneof(fc.string(), anyValue), anyValue).map((v) => packr.pack(v)),
          fc.uint8Array({ maxLength: 16 }),
        ),
        { maxLength: 4 },
      ),
    }),
  ),
  ok: fc.oneof(fc.boolean(), anyValue),
  value: anyValue,
  error: anyValue,
  k: fc.oneof(fc.constantFrom('push', 'report', 'sync'), anyValue),
  root: fc.oneof(names, anyValue),
  bin: fc.oneof(
    fc.uint8Array({ maxLength: 64 }),
    anyValue.map((v) => packr.pack(v)),
  ),
  ring: anyValue,
  cid: fc.oneof(fc.uuid(), anyValue),
  v: fc.oneof(fc.dictionary(names, fc.integer()), anyValue),
  at: fc.oneof(fc.array(names), anyValue),
  service: fc.oneof(fc.constantFrom('kv', 'ping', ''), anyValue),
  partition: fc.oneof(smallInt, anyValue),
  partitions: fc.oneof(fc.array(smallInt), anyValue),
  request: fc.oneof(
    fc.record(
      {
        type: fc.oneof(fc.constantFrom('put', 'get', 'ping', 'keys'), anyValue),
        key: fc.oneof(
          fc.string({ maxLength: 12 }).map((k) => `fuzzed-${k}`),
          anyValue,
        ),
        entry: fc.oneof(
          fc.record(
            {
              value: anyValue,
              version: fc.oneof(
                fc.record({ t: fc.integer(), node: fc.oneof(names, fc.string()), seq: fc.integer() }),
                anyValue,
              ),
              deleted: fc.oneof(fc.boolean(), anyValue),
            },
            { requiredKeys: [] },
          ),
          anyValue,
        ),
      },
      { requiredKeys: [] },
    ),
    anyValue,
  ),
  sender: fc.oneof(fc.constant(null), fc.record({ node: names, ref: fc.uuid() }), anyValue),
  ref: fc.oneof(fc.uuid(), anyValue),
  reply: anyValue,
  topic: fc.oneof(fc.constant('fuzz-topic'), anyValue),
  payload: anyValue,
  services: fc.oneof(fc.array(fc.oneof(fc.constantFrom('kv'), fc.string())), anyValue),
};

/** (a) A frame of any shape: a known tag (or any string) and arbitrary fields, plausible ones among them. */
const arbitraryFrame: fc.Arbitrary<Frame> = fc
  .record({
    t: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...TAGS) }, { weight: 1, arbitrary: fc.string() }),
    known: fc.record(plausible, { requiredKeys: [] }),
    extra: fc.dictionary(fc.string({ maxLength: 8 }), anyValue, { maxKeys: 3 }),
  })
  .map(({ t, known, extra }) => ({ ...extra, ...known, t }));

type Path = readonly (string | number)[];

/** Every path into `root` (depth first, at most `max`), byte arrays as leaves. */
function pathsOf(root: unknown, max = 600): Path[] {
  const out: Path[] = [];
  const walk = (v: unknown, p: Path) => {
    if (out.length >= max) return;
    out.push(p);
    if (typeof v !== 'object' || v === null || v instanceof Uint8Array) return;
    const keys = Array.isArray(v) ? v.map((_, i) => i) : Object.keys(v);
    for (const k of keys) walk((v as Record<string | number, unknown>)[k], [...p, k]);
  };
  walk(root, []);
  return out;
}

interface Mutation {
  index: number;
  path: number;
  op: 'replace' | 'delete' | 'retag';
  value: unknown;
  tag: string;
  bump: boolean;
}

/** (b) A captured frame, mutated once (a gossiped ring is mutated inside its `bin`). */
function mutate(m: Mutation): { frame: Frame; what: string } {
  const original = captured[m.index % captured.length] as Frame;
  const frame = packr.unpack(packr.pack(original)) as Record<string, unknown>;
  const kind = `${String(frame.t)}${typeof frame.k === 'string' ? `/${frame.k}` : ''}`;
  if (m.op === 'retag') return { frame: { ...frame, t: m.tag }, what: `${kind}: t := ${JSON.stringify(m.tag)}` };
  const holder: Record<string, unknown> = { frame };
  const hasRing = frame.bin instanceof Uint8Array;
  if (hasRing) holder.ring = packr.unpack(frame.bin as Uint8Array);
  // Any path but the frame itself and its tag (retag changes the tag; a frame without one is
  // not a frame, and the node rightly closes the connection).
  const paths = pathsOf(holder).filter((p) => p.length >= 1 && !(p[0] === 'frame' && (p.length === 1 || p[1] === 't')));
  const path = paths[m.path % paths.length] as Path;
  let parent = holder as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
  const last = path[path.length - 1] as string | number;
  if (m.op === 'delete') {
    if (Array.isArray(parent) && typeof last === 'number') parent.splice(last, 1);
    else delete parent[last];
  } else parent[last] = m.value;
  let bumped = false;
  if (hasRing && holder.ring !== undefined && path[0] === 'ring') {
    const ring = holder.ring as Record<string, unknown>;
    if (
      m.bump &&
      typeof ring === 'object' &&
      ring !== null &&
      typeof ring.vclock === 'object' &&
      ring.vclock !== null
    ) {
      ring.vclock = { ...(ring.vclock as object), 'fuzzer@127.0.0.1': m.index + 1 };
      bumped = true;
    }
    frame.bin = packr.pack(ring);
  }
  const shown = m.op === 'delete' ? 'deleted' : `:= ${describeValue(m.value)}`;
  return { frame: frame as Frame, what: `${kind}: ${path.join('.')} ${shown}${bumped ? ' (version bumped)' : ''}` };
}

function describeValue(v: unknown): string {
  try {
    const text = fc.stringify(v);
    return text.length > 120 ? `${text.slice(0, 120)}…` : text;
  } catch {
    return String(typeof v);
  }
}

type Item = { any: Frame } | { mutation: Mutation };
const item: fc.Arbitrary<Item> = fc.oneof(
  arbitraryFrame.map((any) => ({ any })),
  fc
    .record({
      index: fc.nat(),
      path: fc.nat(),
      op: fc.constantFrom('replace', 'replace', 'delete', 'retag'),
      value: anyValue,
      tag: fc.oneof(fc.constantFrom(...TAGS, 'hello', 'challenge', 'welcome'), fc.string()),
      bump: fc.boolean(),
    })
    .map((mutation) => ({ mutation: mutation as Mutation })),
);

const run = fc.record({
  items: fc.array(item, { minLength: FRAMES_PER_RUN, maxLength: FRAMES_PER_RUN }),
  /** Sent after the frames: a value that is not a frame (the node closes the connection). */
  junk: fc.oneof(
    { weight: 8, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: anyValue },
    { weight: 1, arbitrary: fc.array(anyValue, { minLength: 2, maxLength: 3 }) },
    { weight: 1, arbitrary: fc.constant([{ t: 'hb' }, 42]) }, // a batch with one bad element
  ),
  via: fc.constantFrom('member', 'stranger'),
  /** Send the frames as batch messages (several frames in one WebSocket message), as links do. */
  batched: fc.boolean(),
});

// --- the test ----------------------------------------------------------------------------

describe('fuzzing a node through its transport (issue 19)', () => {
  it(`survives ${RUNS * FRAMES_PER_RUN}+ arbitrary and mutated frames, keeps its ring valid and serves a known key`, async () => {
    const seed = testSeed('fuzz');
    const target = c.node(0);
    const links = { member: new Link(target, 'dev2@127.0.0.1'), stranger: new Link(target, 'fuzzer@127.0.0.1') };
    let sent = 0;
    let unencodable = 0;
    let junkSent = 0;
    const started = Date.now();
    try {
      await fc.assert(
        fc.asyncProperty(run, async ({ items, junk, via, batched }) => {
          const link = links[via as keyof typeof links];
          const socket = await link.open();
          const encoded: Buffer[] = [];
          const mutations: string[] = [];
          const frames = items.map((it) => {
            if ('any' in it) return it.any;
            const { frame, what } = mutate(it.mutation);
            mutations.push(what);
            return frame;
          });
          for (const f of frames) {
            try {
              encoded.push(encodeFrame(f));
            } catch {
              unencodable++;
            }
          }
          if (batched) {
            for (let i = 0; i < encoded.length; i += 10) socket.send(encodeBatch(encoded.slice(i, i + 10)));
          } else for (const b of encoded) socket.send(b);
          sent += encoded.length;
          if (junk !== null) {
            try {
              socket.send(packr.pack(junk));
              junkSent++;
            } catch {
              unencodable++;
            }
          }
          await link.barrier();
          // Cheap checks after every run; the thorough ones after the last.
          const problems = [
            ...crashes.map((e) => `crash: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`),
            ...ringProblems(target.ring).map((p) => `ring of ${target.name}: ${p}`),
          ];
          if (problems.length > 0)
            throw new Error(
              `${problems.join('; ')}\n  after this run's mutations of captured frames (${via}):\n    ${mutations.join('\n    ')}`,
            );
        }),
        { seed, numRuns: RUNS, endOnFailure: true },
      );
    } finally {
      links.member.close();
      links.stranger.close();
      const secs = (Date.now() - started) / 1000;
      console.log(
        `[fuzz] ${sent} frames (+${junkSent} non-frames, ${unencodable} unencodable skipped) to ${target.name} in ${secs.toFixed(1)} s (mutating ${captured.length} captured frames); reconnects: member ${links.member.reconnects}, stranger ${links.stranger.reconnects}`,
      );
    }
    expect(sent).toBeGreaterThanOrEqual(MIN_FRAMES);
    // The frames reached the boundary's checks: many were refused there (and counted).
    console.log(`[fuzz] refused by ${target.name}: ${JSON.stringify(target.transport.refusals.byKind())}`);
    expect(target.transport.refusals.total).toBeGreaterThan(0);

    expect(
      crashes.map((e) => (e instanceof Error ? (e.stack ?? e.message) : String(e))),
      'errors thrown outside any handler (a node crashed)',
    ).toEqual([]);
    await waitFor(
      'every node to see every node up',
      () => {
        const down = c.nodes.flatMap((n) =>
          c.names
            .filter((m) => !n.watcher.isUp(m))
            .map(
              (m) =>
                `${n.name} sees ${m} down (dialling it at ${n.transport.peerAddr(m)}, ring says ${JSON.stringify(n.ring.members[m])})`,
            ),
        );
        if (down.length > 0) throw new Error(down.join('; '));
        return true;
      },
      { timeoutMs: 10_000 },
    );
    for (const n of c.nodes) expect(ringProblems(n.ring), `ring of ${n.name}`).toEqual([]);
    const got = await waitForEach(c.nodes, `${KNOWN_KEY} to read back`, (n) => readKnown(n), { timeoutMs: 5000 });
    for (const [i, r] of got.entries()) expect(r.found && r.value, c.nodes[i]?.name).toEqual(KNOWN_VALUE);
    // Nothing stored that breaks listing keys (a coverage request over every vnode).
    for (const n of c.nodes) expect(await listKeys(n, { timeoutMs: 5000 }), n.name).toContain(KNOWN_KEY);
    expect(target.memberStatus()).toContain(target.name);
    expect(crashes).toEqual([]);
  }, 60_000);
});
