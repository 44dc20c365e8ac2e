/**
 * Joins that keep trying (shared/join.ts): a busy seed or a slow network delays a join, it does
 * not end it; a wrong cookie or an existing membership ends it at once, saying so; a burst of
 * joins at one seed ends with every node a valid member of one ring.
 */
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { TestCluster } from '../harness/cluster.js';
import { waitFor } from '../harness/wait.js';
import { HandshakeError } from '../handshake.js';
import { commitJoin, JoinError, joinBackoffMs, joinWithRetry } from '../join.js';
import { RingNode } from '../node.js';
import { memberStatus, members } from '../ring.js';
import { RingError } from '../errors.js';

describe('joinWithRetry', () => {
  it('backs off exponentially with ±50% jitter, capped', () => {
    expect(joinBackoffMs(1, 500, 10_000, () => 0.5)).toBe(500);
    expect(joinBackoffMs(3, 500, 10_000, () => 0.5)).toBe(2000);
    expect(joinBackoffMs(10, 500, 10_000, () => 0.5)).toBe(10_000);
    expect(joinBackoffMs(3, 500, 10_000, () => 0)).toBe(1000);
    expect(joinBackoffMs(3, 500, 10_000, () => 0.999)).toBe(2998);
  });

  it('retries a timed-out handshake, one line per failed attempt, until the join is accepted', async () => {
    let calls = 0;
    const node = {
      join: async (_seed: string, opts?: { handshakeTimeoutMs?: number }) => {
        expect(opts?.handshakeTimeoutMs).toBe(1234);
        if (++calls <= 3)
          throw new HandshakeError('handshake_timeout', 'handshake with 10.0.0.1:8101 timed out after 1234 ms');
      },
    };
    const lines: string[] = [];
    const attempts = await joinWithRetry(node, '10.0.0.1:8101', {
      handshakeTimeoutMs: 1234,
      firstDelayMs: 5,
      say: (l) => lines.push(l),
    });
    expect(attempts).toBe(4);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(
      /^join attempt 1 to 10\.0\.0\.1:8101 failed: handshake with 10\.0\.0\.1:8101 timed out after 1234 ms; next try in \d+\.\d s$/,
    );
  });

  it('already_member is final, and so is a wrong cookie (one attempt, no retry)', async () => {
    const member = {
      join: async () => Promise.reject(new RingError('already_member', 'dev9 is already in a cluster')),
    };
    const err = await joinWithRetry(member, 'x:1', { firstDelayMs: 5 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JoinError);
    expect(err).toMatchObject({
      final: true,
      attempts: 1,
      message: expect.stringMatching(/already in a cluster.*not retried/),
    });
  });

  it('gives up at its deadline, and stops when told to', async () => {
    const down = { join: async () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:1')) };
    const late = await joinWithRetry(down, 'x:1', { firstDelayMs: 20, timeoutMs: 100 }).catch((e: unknown) => e);
    expect(late).toMatchObject({
      final: false,
      message: expect.stringMatching(/^gave up after \d+ attempt\(s\): connect ECONNREFUSED/),
    });
    const stop = new AbortController();
    const stopped = joinWithRetry(down, 'x:1', { firstDelayMs: 60_000, signal: stop.signal }).catch((e: unknown) => e);
    stop.abort();
    expect(await stopped).toMatchObject({ final: false, message: expect.stringMatching(/^stopped after 1 attempt/) });
  });
});

describe('joining a real cluster', () => {
  let cluster: TestCluster | undefined;
  const extra: RingNode[] = [];
  let blackhole: Server | undefined;
  afterEach(async () => {
    await Promise.all(extra.splice(0).map((n) => n.stop()));
    await cluster?.stop();
    cluster = undefined;
    blackhole?.close();
  });

  it('a seed that accepts but never answers times out each attempt; a wrong cookie is refused for good', async () => {
    // A seed too busy to answer: the TCP connection opens, the handshake never completes.
    const server = (blackhole = createServer(() => undefined));
    const port = await new Promise<number>((resolve) =>
      server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
    );
    const c = (cluster = await TestCluster.start({ size: 1 }));
    const lonely = await RingNode.start({ name: 'lonely@127.0.0.1', port: 0, cookie: 'another-cookie' });
    extra.push(lonely);
    const lines: string[] = [];
    const busy = await joinWithRetry(lonely, `127.0.0.1:${port}`, {
      handshakeTimeoutMs: 150,
      firstDelayMs: 10,
      timeoutMs: 600,
      say: (l) => lines.push(l),
    }).catch((e: unknown) => e);
    expect(busy).toMatchObject({ final: false });
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((l) => /timed out after 150 ms; next try in/.test(l))).toBe(true);
    const refused = await joinWithRetry(lonely, c.node(0).addr, { firstDelayMs: 10 }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ final: true, attempts: 1, message: expect.stringMatching(/cookie.*not retried/) });
    expect(members(lonely.ring)).toEqual(['lonely@127.0.0.1']);
  });

  it('twelve nodes join one seed at once and commit their own joins: all end valid in one ring', async () => {
    const c = (cluster = await TestCluster.start({ size: 1 }));
    const seed = c.node(0);
    const room = await Promise.all(Array.from({ length: 12 }, () => c.addNode()));
    await Promise.all(
      room.map(async (n) => {
        await joinWithRetry(n, seed.addr, { firstDelayMs: 20 });
        await commitJoin(n, { timeoutMs: 60_000 });
      }),
    );
    const names = c.nodes.map((n) => n.name).sort();
    await waitFor(
      'every node to hold one ring with all 13 valid and settled',
      () =>
        c.nodes.every(
          (n) => members(n.ring).join() === names.join() && names.every((m) => memberStatus(n.ring, m) === 'valid'),
        ),
      { timeoutMs: 60_000 },
    );
    expect(names).toHaveLength(13);
  });
});
