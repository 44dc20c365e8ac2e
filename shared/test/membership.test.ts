/**
 * Membership through the claimant (riak-admin cluster join/leave/remove, plan, commit) on real
 * in-process clusters: every change converges on every node, and the claimant refuses what
 * riak refuses.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isBalanced, meetsTargetN } from '../claim.js';
import { TestCluster } from '../harness/cluster.js';
import { waitFor } from '../harness/wait.js';
import { members, memberStatus } from '../ring.js';

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

const names = (c: TestCluster) => c.nodes.map((n) => n.name);

describe('staged membership changes', () => {
  it('plan shows staged joins and the transfers they cause; commit applies them', async () => {
    const c = (cluster = await TestCluster.start({ size: 3, form: false }));
    const [a, b, d] = c.nodes;
    await b!.join(a!.addr);
    await d!.join(a!.addr);
    expect(memberStatus(a!.ring, b!.name)).toBe('joining');
    const plan = await b!.plan(); // any node can ask: it is forwarded to the claimant
    expect(plan.changes).toEqual([
      { node: b!.name, action: 'join' },
      { node: d!.name, action: 'join' },
    ]);
    expect(plan.transfers).toBe(42);
    expect(plan.ownership.map((o) => [o.node, o.before, o.after])).toEqual([
      [a!.name, 64, 22],
      [b!.name, 0, 21],
      [d!.name, 0, 21],
    ]);
    expect(plan.text).toContain("join           'dev2@127.0.0.1'");
    expect(plan.text).toContain('Transfers resulting from cluster changes: 42');
    await c.commitWhenReady(d!);
    await c.waitSettled();
    expect(isBalanced(a!.ring.owners, names(c))).toBe(true);
    expect(meetsTargetN(a!.ring.owners)).toBe(false); // 3 nodes < target_n 4: impossible, as in riak
  });

  it('refuses to commit nothing, and refuses while a member has not seen the ring', async () => {
    const c = (cluster = await TestCluster.start({ size: 3 }));
    await expect(c.node(0).commit()).rejects.toMatchObject({ code: 'nothing_staged' });
    await c.kill(2);
    const newcomer = await c.addNode();
    await newcomer.join(c.node(0).addr); // changes the ring; the dead dev3 cannot see it
    await expect(c.node(0).commit()).rejects.toMatchObject({ code: 'ring_not_ready' });
    expect(c.node(0).ringStatus()).toMatch(/Ring Ready: .*false/);
  });

  it('refuses a join from a node that is already in a cluster', async () => {
    const c = (cluster = await TestCluster.start({ size: 2 }));
    const other = await c.addNode();
    await expect(c.node(1).join(other.addr)).rejects.toMatchObject({ code: 'already_member' });
  });

  it('refuses to let the last member leave', async () => {
    const c = (cluster = await TestCluster.start({ size: 1 }));
    await expect(c.node(0).leave()).rejects.toMatchObject({ code: 'last_member' });
  });
});

describe('every ring change converges on every node', () => {
  it('grows from 1 to 5 nodes one at a time: balanced, target_n met at 4 and 5 nodes', async () => {
    const c = (cluster = await TestCluster.start({ size: 1 }));
    for (let size = 2; size <= 5; size++) {
      const node = await c.addNode();
      await node.join(c.node(0).addr);
      await c.commitWhenReady(c.node(0));
      await c.waitSettled();
      const ring = c.node(0).ring;
      for (const n of c.nodes) expect(n.ring.owners).toEqual(ring.owners);
      expect(isBalanced(ring.owners, names(c))).toBe(true);
      if (size >= 4) expect(meetsTargetN(ring.owners)).toBe(true);
    }
  });

  it('the claimant leaves: the role passes on and the rest settle without it', async () => {
    const c = (cluster = await TestCluster.start({ size: 4 }));
    const claimant = c.node(0);
    expect(claimant.ring.claimant).toBe(claimant.name);
    await claimant.leave();
    await c.commitWhenReady(claimant);
    const rest = c.nodes.slice(1);
    await waitFor('the others to settle without dev1', () =>
      rest.every((n) => n.isSettled() && members(n.ring).join() === rest.map((r) => r.name).join()),
    );
    expect(rest[0]!.ring.claimant).not.toBe(claimant.name);
    expect(members(claimant.ring)).toEqual([claimant.name]);
  });

  it('removes a dead node: its partitions are reassigned and the ring settles', async () => {
    const c = (cluster = await TestCluster.start({ size: 4 }));
    await c.kill(3);
    await c.node(0).remove('dev4@127.0.0.1');
    await c.commitWhenReady(c.node(1));
    await c.waitSettled();
    const ring = c.node(2).ring;
    expect(memberStatus(ring, 'dev4@127.0.0.1')).toBe('invalid');
    expect(isBalanced(ring.owners, names(c))).toBe(true);
  });

  it('a node that was down during a change catches up when it returns', async () => {
    const c = (cluster = await TestCluster.start({ size: 4 }));
    await c.kill(1);
    await waitFor('dev1 to see dev2 down', () => !c.node(0).watcher.isUp('dev2@127.0.0.1'));
    await c.node(0).down('dev2@127.0.0.1'); // riak-admin down: the ring can be ready without it
    const newcomer = await c.addNode();
    await newcomer.join(c.node(0).addr);
    await c.commitWhenReady(c.node(0));
    // Everything but dev2's own partitions moves; those wait for dev2 to hand them off.
    await waitFor('every transfer but dev2\'s to finish', () => {
      const ring = c.node(0).ring;
      return memberStatus(ring, newcomer.name) === 'valid' && ring.next.length > 0 && ring.next.every((t) => t.owner === 'dev2@127.0.0.1');
    });
    expect(memberStatus(c.node(0).ring, 'dev2@127.0.0.1')).toBe('down');
    const back = await c.restart(1);
    await c.waitSettled();
    expect(back.ring.owners).toEqual(c.node(0).ring.owners);
    expect(memberStatus(back.ring, back.name)).toBe('valid');
  });
});
