/**
 * ex1-ping: pinging the vnode that owns a key.
 * Runs against exercises/ (npm test -- ex1) or solutions/ (npm run test:solutions -- ex1).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pingKey } from '@ex/ex1-ping/ping.js';
import { pingService } from '@ex/ex1-ping/ping_vnode.js';
import { chashKey, responsiblePartition } from '../../shared/chash.js';
import { TestCluster } from '../../shared/harness/cluster.js';

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await TestCluster.start({ size: 3, services: () => [pingService] });
});
afterAll(() => cluster?.stop());

describe('ex1-ping: pingKey', () => {
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

  it('reaches the owner of chash_key({"ping", key}) — not a vnode picked by time', async () => {
    const ring = cluster.node(0).ring;
    for (const key of ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'k1', 'k2', 'k3']) {
      const expected = responsiblePartition(chashKey('ping', key), ring.ringSize);
      const pong = await pingKey(cluster.node(1), key);
      expect({ key, partition: pong.partition, node: pong.node }).toEqual({ key, partition: expected, node: ring.owners[expected] });
    }
  });

  it('spreads many keys over every node and many partitions', async () => {
    const pongs = await Promise.all(Array.from({ length: 200 }, (_, i) => pingKey(cluster.node(i % 3), `key-${i}`)));
    expect(new Set(pongs.map((p) => p.node))).toEqual(new Set(cluster.names));
    expect(new Set(pongs.map((p) => p.partition)).size).toBeGreaterThan(40);
  });
});
