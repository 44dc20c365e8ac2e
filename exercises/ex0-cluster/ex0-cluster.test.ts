/**
 * ex0-cluster: three fresh nodes become one ring with the admin API; a node leaves.
 * Runs against exercises/ (npm test -- ex0) or solutions/ (npm run test:solutions -- ex0).
 */
import { stripVTControlCharacters } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { formCluster, leaveCluster } from '@ex/ex0-cluster/cluster.js';
import { TestCluster } from '../../shared/harness/cluster.js';
import { members, ownedPartitions } from '../../shared/ring.js';

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

const fresh = async (size: number) => (cluster = await TestCluster.start({ size, form: false }));

describe('ex0-cluster: forming a ring', () => {
  it('joins three fresh nodes into one ring where every member is valid', async () => {
    const c = await fresh(3);
    const plan = await formCluster(c.nodes);
    expect(plan.changes.map((ch) => `${ch.action} ${ch.node}`).sort()).toEqual(['join dev2@127.0.0.1', 'join dev3@127.0.0.1']);
    for (const node of c.nodes) {
      expect(members(node.ring, ['valid'])).toEqual(['dev1@127.0.0.1', 'dev2@127.0.0.1', 'dev3@127.0.0.1']);
      expect(node.ring.next).toEqual([]);
      expect(node.ring.vclock).toEqual(c.node(0).ring.vclock);
    }
  });

  it('balances ownership: 64 partitions over 3 nodes is 22/21/21', async () => {
    const c = await fresh(3);
    await formCluster(c.nodes);
    const counts = c.nodes.map((n) => ownedPartitions(c.node(0).ring, n.name).length).sort();
    expect(counts).toEqual([21, 21, 22]);
  });

  it('member_status shows three valid members at 34.4% / 32.8% / 32.8%', async () => {
    const c = await fresh(3);
    await formCluster(c.nodes);
    const text = stripVTControlCharacters(c.node(2).memberStatus());
    const rows = text.split('\n').filter((l) => l.startsWith('valid'));
    expect(rows).toHaveLength(3);
    expect(rows.map((r) => r.match(/(\d+\.\d)%/)?.[1]).sort()).toEqual(['32.8', '32.8', '34.4']);
    expect(text).toContain('Valid:3 / Leaving:0 / Exiting:0 / Joining:0 / Down:0');
  });
});

describe('ex0-cluster: leaving a ring', () => {
  it('a node leaves: the others stay valid and balanced, and it is on its own again', async () => {
    const c = await fresh(4);
    await formCluster(c.nodes);
    const [dev1, , , dev4] = c.nodes;
    await leaveCluster(dev4!, dev1!);
    for (const node of c.nodes.slice(0, 3)) {
      expect(members(node.ring)).toEqual(['dev1@127.0.0.1', 'dev2@127.0.0.1', 'dev3@127.0.0.1']);
      expect(ownedPartitions(node.ring, 'dev4@127.0.0.1')).toEqual([]);
    }
    const counts = ['dev1', 'dev2', 'dev3'].map((n) => ownedPartitions(dev1!.ring, `${n}@127.0.0.1`).length).sort();
    expect(counts).toEqual([21, 21, 22]);
    expect(members(dev4!.ring)).toEqual(['dev4@127.0.0.1']);
  });
});
