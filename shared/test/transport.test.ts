/**
 * The node-to-node transport refuses peers without the cookie and survives bad frames:
 * a wrong cookie or a malformed, text or oversized frame closes that one connection, never
 * the node. Frames sent in one tick travel as one batch message, which is decoded all or nothing.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { connectAdmin } from '../admin_client.js';
import { TEST_TIMING, TestCluster } from '../harness/cluster.js';
import { waitFor } from '../harness/wait.js';
import type { Logger } from '../log.js';
import { RingNode } from '../node.js';
import { members } from '../ring.js';
import { CLOSE, decodeFrame, decodeFrames, encodeBatch, encodeFrame, FrameError, type Frame } from '../frame.js';
import { dial } from '../handshake.js';
import { MAX_BATCH_BYTES } from '../transport.js';

const started: RingNode[] = [];
let cluster: TestCluster | undefined;
afterEach(async () => {
  await Promise.all(started.splice(0).map((n) => n.stop()));
  await cluster?.stop();
  cluster = undefined;
});

/** A logger that keeps warnings so tests can check what the node said. */
function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return {
    warnings,
    debug: () => undefined,
    info: () => undefined,
    warn: (m) => warnings.push(m),
    error: (m) => warnings.push(m),
  };
}

async function startNode(
  name: string,
  cookie: string,
  extra: Partial<Parameters<typeof RingNode.start>[0]> = {},
): Promise<RingNode> {
  const node = await RingNode.start({ name, cookie, host: '127.0.0.1', port: 0, timing: TEST_TIMING, ...extra });
  started.push(node);
  return node;
}

/** Open a raw WebSocket, returning it once open plus a promise of its close code. */
async function rawSocket(
  addr: string,
): Promise<{ ws: WebSocket; closed: Promise<number>; firstFrame: Promise<Buffer> }> {
  const ws = new WebSocket(`ws://${addr}/`);
  ws.on('error', () => undefined);
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  const firstFrame = new Promise<Buffer>((resolve) => ws.once('message', (d) => resolve(d as Buffer)));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, closed, firstFrame };
}

describe('cookie handshake', () => {
  it('refuses a node with the wrong cookie, logs it, and keeps serving', async () => {
    const log = recordingLogger();
    const a = await startNode('a@127.0.0.1', 'right-cookie', { log });
    const intruder = await startNode('intruder@127.0.0.1', 'wrong-cookie');
    await expect(intruder.join(a.addr)).rejects.toThrow(/wrong cookie/);
    expect(log.warnings.some((w) => /refused connection from intruder@127\.0\.0\.1 .*wrong cookie/.test(w))).toBe(true);
    expect(members(a.ring)).toEqual(['a@127.0.0.1']);

    // The node is still up and still accepts a peer that knows the cookie.
    const friend = await startNode('friend@127.0.0.1', 'right-cookie');
    await friend.join(a.addr);
    await waitFor('the commit to be accepted', () =>
      a.commit().then(
        () => true,
        () => false,
      ),
    );
    await waitFor(
      'a and friend to settle',
      () => a.isSettled() && friend.isSettled() && members(friend.ring).length === 2,
    );
  });

  it('refuses an admin client with the wrong cookie', async () => {
    const a = await startNode('a@127.0.0.1', 'right-cookie');
    await expect(connectAdmin(a.addr, 'guess')).rejects.toThrow(/wrong cookie/);
    const ok = await connectAdmin(a.addr, 'right-cookie');
    expect(await ok.call('admin.member_status')).toMatch(/'a@127\.0\.0\.1'/);
    ok.close();
  });

  it('never sends the cookie: the challenge carries only a nonce', async () => {
    const a = await startNode('a@127.0.0.1', 'secret-cookie-value');
    const { ws, firstFrame } = await rawSocket(a.addr);
    const bytes = await firstFrame;
    expect(bytes.toString('latin1')).not.toContain('secret-cookie-value');
    expect(decodeFrame(bytes)).toMatchObject({ t: 'challenge', node: 'a@127.0.0.1' });
    ws.terminate();
  });

  it('refuses a client that does not answer the challenge with a hello', async () => {
    const a = await startNode('a@127.0.0.1', 'c');
    const { ws, closed, firstFrame } = await rawSocket(a.addr);
    await firstFrame;
    ws.send(encodeFrame({ t: 'ring', ring: {} }));
    expect(await closed).toBe(CLOSE.badHandshake);
  });
});

describe('addresses', () => {
  it('peers learn the advertised address, not the bound one', async () => {
    const a = await startNode('a@127.0.0.1', 'c', { advertiseHost: 'localhost' });
    expect(a.addr).toMatch(/^localhost:\d+$/);
    const b = await startNode('b@127.0.0.1', 'c');
    await b.join(a.addr);
    await waitFor('the commit to be accepted', () =>
      a.commit().then(
        () => true,
        () => false,
      ),
    );
    await waitFor('both to settle', () => a.isSettled() && b.isSettled() && members(b.ring).length === 2);
    expect(b.ring.members['a@127.0.0.1']?.addr).toBe(a.addr);
    // What b dials: a announced itself in the handshake, and that must be the advertised address.
    expect(b.transport.peerAddr('a@127.0.0.1')).toBe(a.addr);
    expect(a.transport.peerAddr('b@127.0.0.1')).toBe(b.addr);
  });
});

describe('bad frames close one connection, never the node', () => {
  it('closes a connection that sends bytes that are not msgpack', async () => {
    cluster = await TestCluster.start({ size: 2 });
    const { ws, closed, firstFrame } = await rawSocket(cluster.node(0).addr);
    await firstFrame;
    ws.send(Buffer.from([0xc1, 0xff, 0x00, 0x13])); // 0xc1 is never used in msgpack
    expect(await closed).toBe(CLOSE.malformed);
    await cluster.waitSettled();
  });

  it('closes an authenticated connection that sends a malformed frame; the cluster stays settled', async () => {
    cluster = await TestCluster.start({ size: 2 });
    const { socket } = await dial(cluster.node(0).addr, {
      node: 'mallory@127.0.0.1',
      role: 'node',
      cookie: 'test-cookie',
    });
    const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
    socket.send(encodeFrame({ t: 'call' } as never).subarray(0, 3)); // truncated map
    expect(await closed).toBe(CLOSE.malformed);
    await cluster.waitSettled();
    const admin = await connectAdmin(cluster.node(0).addr, 'test-cookie');
    expect(await admin.call('admin.status')).toMatchObject({ settled: true });
    admin.close();
  });

  it('closes a connection that sends a text frame', async () => {
    cluster = await TestCluster.start({ size: 1 });
    const { socket } = await dial(cluster.node(0).addr, {
      node: 'texter@127.0.0.1',
      role: 'client',
      cookie: 'test-cookie',
    });
    const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
    socket.send('{"t":"call"}');
    expect(await closed).toBe(CLOSE.malformed);
  });

  it('closes a connection that sends a frame over the size limit', async () => {
    const a = await startNode('a@127.0.0.1', 'c', { maxFrameBytes: 64 * 1024 });
    const { socket } = await dial(a.addr, { node: 'big@127.0.0.1', role: 'client', cookie: 'c' });
    const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
    socket.send(encodeFrame({ t: 'call', id: 'x', method: 'admin.status', args: { pad: 'x'.repeat(100 * 1024) } }));
    expect(await closed).toBe(CLOSE.tooBig);
    const admin = await connectAdmin(a.addr, 'c');
    expect(await admin.call('admin.status')).toMatchObject({ node: 'a@127.0.0.1' });
    admin.close();
  });

  it('does not let an admin client call cluster-internal methods', async () => {
    const a = await startNode('a@127.0.0.1', 'c');
    const admin = await connectAdmin(a.addr, 'c');
    await expect(admin.call('claimant.stage_remove', { node: 'a@127.0.0.1' })).rejects.toThrow(/no such method/);
    admin.close();
  });
});

describe('batches: several frames in one message', () => {
  const call = (id: string): Frame => ({ t: 'call', id, method: 'admin.status', args: null });
  const codeOf = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      return err instanceof FrameError ? err.code : `not a FrameError: ${err}`;
    }
    return 'no error';
  };

  it('decode to their frames in order; one frame is sent as itself', () => {
    for (const n of [2, 15, 16, 300]) {
      const frames = Array.from({ length: n }, (_, i) => call(`c${i}`));
      expect(decodeFrames(encodeBatch(frames.map(encodeFrame)))).toEqual(frames);
    }
    const one = encodeFrame(call('x'));
    expect(encodeBatch([one])).toBe(one);
    expect(decodeFrames(one)).toEqual([call('x')]);
  });

  it('are rejected whole when malformed: an element that is not a frame, fewer than two frames, trailing bytes', () => {
    const good = encodeFrame(call('a'));
    expect(codeOf(() => decodeFrames(encodeBatch([good, encodeFrame({ x: 1 } as never)])))).toBe('not_a_frame');
    expect(codeOf(() => decodeFrames(encodeBatch([good, encodeFrame([call('b')] as never)])))).toBe('not_a_frame');
    expect(codeOf(() => decodeFrames(Buffer.from([0x90])))).toBe('not_a_frame'); // []
    expect(codeOf(() => decodeFrames(Buffer.concat([Buffer.from([0x91]), good])))).toBe('not_a_frame'); // [frame]
    expect(codeOf(() => decodeFrames(Buffer.concat([encodeBatch([good, good]), Buffer.from([0x01])])))).toBe(
      'not_msgpack',
    );
    expect(codeOf(() => decodeFrames(encodeBatch([good, good]).subarray(0, 5)))).toBe('not_msgpack');
    // The handshake reads one frame: a batch there is not a frame.
    expect(codeOf(() => decodeFrame(encodeBatch([good, good])))).toBe('not_a_frame');
  });

  it('a node may send a batch: every frame is handled, and the replies of one tick come back as one batch', async () => {
    cluster = await TestCluster.start({ size: 1 });
    const { socket } = await dial(cluster.node(0).addr, {
      node: 'batcher@127.0.0.1',
      role: 'node',
      cookie: 'test-cookie',
    });
    const messages: Frame[][] = [];
    socket.on('message', (data) => messages.push(decodeFrames(data as Buffer)));
    socket.send(encodeBatch(['a', 'b', 'c'].map((id) => encodeFrame(call(id)))));
    await waitFor('three returns', () => messages.flat().length === 3, { timeoutMs: 5000 });
    expect(messages.flat().map((f) => [f.t, f.id, f.ok])).toEqual([
      ['return', 'a', true],
      ['return', 'b', true],
      ['return', 'c', true],
    ]);
    expect(messages).toHaveLength(1);
    socket.close();
  });

  it('closes a connection that sends a malformed batch, without handling any of its frames; the node keeps serving', async () => {
    cluster = await TestCluster.start({ size: 2 });
    const { socket } = await dial(cluster.node(0).addr, {
      node: 'mallory@127.0.0.1',
      role: 'node',
      cookie: 'test-cookie',
    });
    const returns: Frame[] = [];
    socket.on('message', (data) => returns.push(...decodeFrames(data as Buffer)));
    const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
    socket.send(encodeBatch([encodeFrame(call('ok')), encodeFrame({ id: 'no tag' } as never)]));
    expect(await closed).toBe(CLOSE.malformed);
    expect(returns).toEqual([]);
    await cluster.waitSettled();
    const admin = await connectAdmin(cluster.node(0).addr, 'test-cookie');
    expect(await admin.call('admin.status')).toMatchObject({ settled: true });
    admin.close();
  });

  it('keeps frames of one tick in order, batches them below the batch limit, and sends a large one alone', async () => {
    cluster = await TestCluster.start({ size: 2 });
    const [a, b] = cluster.nodes as [RingNode, RingNode];
    const seen: number[] = [];
    b.rpc.handle('test.seq', (args) => {
      seen.push((args as { i: number }).i);
      return null;
    });
    const sent: Buffer[] = [];
    const original = WebSocket.prototype.send;
    const send = vi.spyOn(WebSocket.prototype, 'send').mockImplementation(function (
      this: WebSocket,
      ...args: Parameters<WebSocket['send']>
    ) {
      if (Buffer.isBuffer(args[0])) sent.push(args[0]);
      return original.apply(this, args);
    });
    try {
      // Small and large frames mixed, all sent in one tick: large ones go alone, in place.
      const calls = Array.from({ length: 200 }, (_, i) =>
        a.rpc.call(b.name, 'test.seq', { i, pad: 'x'.repeat(i % 50 === 0 ? 100 * 1024 : (i * 97) % 2000) }),
      );
      await Promise.all(calls);
    } finally {
      send.mockRestore();
    }
    expect(seen).toEqual(Array.from({ length: 200 }, (_, i) => i));
    const counts = sent.map((m) => decodeFrames(m).length);
    expect(Math.max(...counts)).toBeGreaterThan(1);
    sent.forEach((m, i) => {
      if ((counts[i] as number) > 1) expect(m.length).toBeLessThanOrEqual(MAX_BATCH_BYTES + 5);
    });
  });
});

describe('liveness', () => {
  it('sees a killed node go down and come back after a restart', async () => {
    cluster = await TestCluster.start({ size: 3 });
    const watcher = cluster.node(0);
    await cluster.kill('dev3@127.0.0.1');
    await waitFor('dev1 to see dev3 down', () => !watcher.watcher.isUp('dev3@127.0.0.1'), { timeoutMs: 5000 });
    expect(watcher.upNodes().sort()).toEqual(['dev1@127.0.0.1', 'dev2@127.0.0.1']);
    await cluster.restart('dev3@127.0.0.1');
    await waitFor('dev1 to see dev3 up', () => watcher.watcher.isUp('dev3@127.0.0.1'), { timeoutMs: 5000 });
    await cluster.waitSettled();
  });

  it('advertises services in heartbeats', async () => {
    cluster = await TestCluster.start({
      size: 2,
      services: () => [{ service: 'echo', init: () => ({ handleCommand: (r: unknown) => ({ reply: r }) }) }],
    });
    await waitFor('dev1 to know dev2 offers echo', () => cluster!.node(0).upNodes('echo').length === 2);
    expect(cluster.node(0).upNodes('nothing-here')).toEqual([]);
  });
});
