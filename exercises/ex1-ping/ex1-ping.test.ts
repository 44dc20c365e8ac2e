/**
 * ex1-ping: pinging the vnode that owns a key.
 * Runs against exercises/ (npm test -- ex1) or solutions/ (npm run test:solutions -- ex1).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ping, pingKey } from '@ex/ex1-ping/ping.js';
import { pingService } from '@ex/ex1-ping/ping_vnode.js';
import { chashKey, responsiblePartition } from '../../shared/chash.js';
import { TestCluster } from '../../shared/harness/cluster.js';
import { expectRingError } from '../../shared/harness/expect_error.js';
import { waitFor } from '../../shared/harness/wait.js';
import type { RingNode } from '../../shared/node.js';
import type { VnodeModule } from '../../shared/vnode.js';
import type { PingRequest, Pong } from './ping_types.js';

/** A request a ping vnode handled: which vnode (partition on node) saw which request. */
interface Handled {
  readonly node: string;
  readonly partition: number;
  readonly request: PingRequest;
}

/** The ping service, noting every request its vnodes handle in `log` before handling it. */
function recorded(log: Handled[]): VnodeModule<PingRequest> {
  return {
    service: pingService.service,
    async init(ctx) {
      const vnode = await pingService.init(ctx);
      return {
        handleCommand(request, sender) {
          log.push({ node: ctx.node, partition: ctx.partition, request });
          return vnode.handleCommand(request, sender);
        },
      };
    },
  };
}

/** The partition and owner of `key` under the bucket `ping`, from `ring`. */
const ownerOf = (node: RingNode, key: string) => {
  const partition = responsiblePartition(chashKey('ping', key), node.ring.ringSize);
  return { partition, node: node.ring.owners[partition] as string };
};

describe('ex1-ping: pingKey', () => {
  let cluster: TestCluster;
  const handled: Handled[] = [];
  beforeAll(async () => {
    cluster = await TestCluster.start({ size: 3, services: () => [recorded(handled)] });
  });
  afterAll(() => cluster?.stop());

  it('answers with a pong naming the key, the partition and the node', async () => {
    const pong = await pingKey(cluster.node(0), 'hello');
    expect(pong).toMatchObject({ pong: true, key: 'hello' });
    expect(pong.partition).toBeGreaterThanOrEqual(0);
    expect(pong.partition).toBeLessThan(64);
    expect(cluster.names).toContain(pong.node);
  });

  it('sends the same key to the same vnode, whichever node you ask', async () => {
    const answers = await Promise.all(cluster.nodes.flatMap((n) => [pingKey(n, 'stable'), pingKey(n, 'stable')]));
    const vnodes = new Set(answers.map((p) => `${p.partition}@${p.node}`));
    expect(vnodes.size).toBe(1);
  });

  it('reaches the owner of chash_key({"ping", key}) — not a vnode picked by time, nor one on the node you ask', async () => {
    const keys = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7'];
    const owners = new Set<string>();
    for (const key of keys) {
      const expected = ownerOf(cluster.node(0), key);
      // Ask a node that does not own the key: the answer has to travel.
      const asker = cluster.nodes.find((n) => n.name !== expected.node) as RingNode;
      const pong = await pingKey(asker, key);
      expect({ key, asked: asker.name, partition: pong.partition, node: pong.node }).toEqual({
        key,
        asked: asker.name,
        ...expected,
      });
      owners.add(expected.node);
    }
    expect(owners, 'the keys should be owned by every node, so that every node was checked').toEqual(
      new Set(cluster.names),
    );
  });

  it("the pong comes from the vnode itself: the owner's ping vnode handles a ping_key for that key", async () => {
    const keys = ['vn-1', 'vn-2', 'vn-3', 'vn-4', 'vn-5', 'vn-6'];
    for (const key of keys) {
      const before = handled.length;
      const pong = await pingKey(cluster.node(2), key);
      const seen = handled.slice(before);
      expect(seen, `requests the ping vnodes handled during pingKey(dev3, "${key}")`).toEqual([
        { node: pong.node, partition: pong.partition, request: { type: 'ping_key', key } },
      ]);
      expect({ partition: pong.partition, node: pong.node }).toEqual(ownerOf(cluster.node(2), key));
    }
  });

  it('spreads many keys over every node and many partitions', async () => {
    const pongs = await Promise.all(Array.from({ length: 200 }, (_, i) => pingKey(cluster.node(i % 3), `key-${i}`)));
    expect(new Set(pongs.map((p) => p.node))).toEqual(new Set(cluster.names));
    expect(new Set(pongs.map((p) => p.partition)).size).toBeGreaterThan(40);
  });
});

describe('ex1-ping: ping', () => {
  let cluster: TestCluster;
  const handled: Handled[] = [];
  beforeAll(async () => {
    cluster = await TestCluster.start({ size: 3, services: () => [recorded(handled)] });
  });
  afterAll(() => cluster?.stop());

  it('pings a vnode picked by hashing the time: a plain ping, handled by the vnode that answers, landing on many partitions', async () => {
    const pongs: Pong[] = [];
    for (let i = 0; i < 40; i++) pongs.push(await ping(cluster.node(i % 3)));
    for (const pong of pongs) {
      expect(pong).toEqual({ pong: true, partition: pong.partition, node: pong.node });
      expect(pong.node, `partition ${pong.partition} is owned by ${cluster.node(0).ring.owners[pong.partition]}`).toBe(
        cluster.node(0).ring.owners[pong.partition],
      );
      const seen = handled.filter(
        (h) => h.partition === pong.partition && h.node === pong.node && h.request.type === 'ping',
      );
      expect(
        seen.length,
        `the ping vnode of partition ${pong.partition} on ${pong.node} handled a { type: 'ping' }`,
      ).toBeGreaterThan(0);
    }
    const partitions = new Set(pongs.map((p) => p.partition));
    expect(
      partitions.size,
      'ping() hashes the time, so 40 pings land on many partitions (a fixed key lands on one)',
    ).toBeGreaterThanOrEqual(10);
    expect(new Set(pongs.map((p) => p.node)), 'ping() reaches vnodes on every node, not only the one you ask').toEqual(
      new Set(cluster.names),
    );
  });
});

describe('ex1-ping: pingKey on other rings', () => {
  let cluster: TestCluster | undefined;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });

  it('works on a ring of any size: with Q = 16, a key reaches ring.owners[responsiblePartition(hash, 16)]', async () => {
    const c = (cluster = await TestCluster.start({ size: 3, ringSize: 16, services: () => [pingService] }));
    const partitions = new Set<number>();
    for (let i = 0; i < 24; i++) {
      const key = `q16-${i}`;
      const pong: Pong = await pingKey(c.node(i % 3), key);
      expect({ key, partition: pong.partition, node: pong.node }).toEqual({ key, ...ownerOf(c.node(0), key) });
      partitions.add(pong.partition);
    }
    expect(partitions.size, 'distinct partitions the 24 keys reached').toBeGreaterThan(8);
  });

  it('N = 1: a key whose owner is down is `unavailable` (no other vnode answers for it), and keys of live nodes still answer', async () => {
    const c = (cluster = await TestCluster.start({ size: 3, services: () => [pingService] }));
    const [asker, , victim] = c.nodes as [RingNode, RingNode, RingNode];
    const keys = Array.from({ length: 40 }, (_, i) => `down-${i}`);
    const lost = keys.find((k) => ownerOf(asker, k).node === victim.name);
    const kept = keys.find((k) => ownerOf(asker, k).node !== victim.name);
    if (lost === undefined || kept === undefined)
      return expect.fail(`40 keys should include one owned by ${victim.name} and one owned by another node`);
    // While the owner is up, the key answers from its owner.
    expect(await pingKey(asker, lost)).toMatchObject({ key: lost, ...ownerOf(asker, lost) });
    const victimName = victim.name;
    await c.kill(victimName);
    await waitFor(`${asker.name} to see ${victimName} down`, () => !asker.upNodes('ping').includes(victimName), {
      timeoutMs: 10_000,
    });
    await expectRingError(
      pingKey(asker, lost),
      'unavailable',
      `pingKey("${lost}") while its owner ${victimName} is down`,
    );
    expect(await pingKey(asker, kept)).toMatchObject({ key: kept, ...ownerOf(asker, kept) });
  });
});
