/**
 * Membership through the claimant (riak-admin cluster join/leave/remove, plan, commit) on real
 * in-process clusters: every change converges on every node, and the claimant refuses what
 * riak refuses.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isBalanced, meetsTargetN } from '../claim.js';
import { TestCluster } from '../harness/cluster.js';
import { waitFor } from '../harness/wait.js';
import { Nemesis } from '../harness/nemesis.js';
import { testSeed } from '../harness/seed.js';
import type { RingNode } from '../node.js';
import { members, memberStatus, ownedPartitions, type Ring } from '../ring.js';

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

  it('a leaving node stays in gossip while exiting and starts over only once it is removed (invalid)', async () => {
    // Were it to leave at `exiting`, a version made after that (a transfer between the members
    // that stay, finishing late) would never be seen by it, and the ring never ready again.
    const c = (cluster = await TestCluster.start({ size: 4 }));
    const dev4 = c.node('dev4@127.0.0.1');
    const seen: string[] = []; // dev4's own status in each ring it holds, while in the old cluster
    const clusterId = dev4.ring.clusterId;
    dev4.manager.on('ring', (ring: Ring) => {
      if (ring.clusterId === clusterId) seen.push(memberStatus(ring, dev4.name));
    });
    await dev4.leave();
    await c.commitWhenReady(c.node(0));
    const rest = c.nodes.filter((n) => n !== dev4);
    await waitFor('the three that stay to settle without dev4', () =>
      rest.every((n) => n.isSettled() && members(n.ring).join() === rest.map((r) => r.name).join()),
    );
    await waitFor('dev4 to start over alone', () => members(dev4.ring).join() === dev4.name);
    expect(seen).toContain('exiting');
    expect(seen.at(-1), `dev4's statuses: ${seen.join(' ')}`).toBe('invalid');
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
    const dev2 = 'dev2@127.0.0.1';
    const before = ownedPartitions(c.node(0).ring, dev2);
    await c.kill(1);
    await waitFor('dev1 to see dev2 down', () => !c.node(0).watcher.isUp(dev2));
    await c.node(0).down(dev2); // riak-admin down: the ring can be ready without it
    const newcomer = await c.addNode();
    await newcomer.join(c.node(0).addr);
    await c.commitWhenReady(c.node(0));
    // Transfers from or to a down member are dropped (riak: handle_down_nodes): the rest
    // completes, dev2 keeps its partitions for now.
    await waitFor('every transfer not involving dev2 to finish', () => {
      const ring = c.node(0).ring;
      return (
        memberStatus(ring, newcomer.name) === 'valid' &&
        ring.next.length === 0 &&
        ownedPartitions(ring, newcomer.name).length > 0
      );
    });
    expect(memberStatus(c.node(0).ring, dev2)).toBe('down');
    expect(ownedPartitions(c.node(0).ring, dev2)).toEqual(before);
    // Back: valid again, and claim gives the newcomer its share of dev2's partitions too.
    const back = await c.restart(1);
    await c.waitSettled();
    expect(back.ring.owners).toEqual(c.node(0).ring.owners);
    expect(memberStatus(back.ring, back.name)).toBe('valid');
    expect(isBalanced(back.ring.owners, names(c))).toBe(true);
  });

  it('a leave does not wait for a member that is down: its partitions go to the live ones (riak: handle_down_nodes)', async () => {
    const c = (cluster = await TestCluster.start({ size: 5 }));
    const [dev3, dev5] = ['dev3@127.0.0.1', 'dev5@127.0.0.1'];
    await c.kill(4);
    await waitFor('dev1 to see dev5 down', () => !c.node(0).watcher.isUp(dev5));
    await c.node(1).down(dev5);
    await waitFor('the claimant to learn dev5 is down', () => memberStatus(c.node(0).ring, dev5) === 'down');
    const before = ownedPartitions(c.node(0).ring, dev5).length;
    await c.node(0).leave(dev3);
    const plan = await c.node(0).plan();
    expect(plan.transfers).toBeGreaterThan(0);
    expect(plan.ownership.find((o) => o.node === dev5)).toMatchObject({ before, after: before }); // dev5 gets nothing
    await c.commitWhenReady(c.node(0));
    await waitFor('dev3 to leave while dev5 is still down', () => {
      const ring = c.node(0).ring;
      return !members(ring).includes(dev3) && ring.next.length === 0;
    });
    const ring = c.node(0).ring;
    expect(ownedPartitions(ring, dev3)).toEqual([]);
    expect(memberStatus(ring, dev5)).toBe('down');
  });
});

describe('gossip and transfer reports at scale (issue 12)', () => {
  it('a joiner whose link was not open at the commit gets the commit once it is, without waiting for anti-entropy', async () => {
    // Anti-entropy 30-90 s away: only the retry of the failed sends can bring the commit.
    const c = (cluster = await TestCluster.start({ size: 3, timing: { gossipPeriodMs: 60_000 } }));
    const joiner = await c.addNode();
    await joiner.join(c.node(0).addr);
    // Every member's ring frames to the joiner find no open link (as before the claimant dialled it).
    let refused = 0;
    const restore = c.nodes
      .filter((n) => n !== joiner)
      .map((n) => {
        const send = n.transport.send.bind(n.transport);
        n.transport.send = (to, frame, fallback) => {
          if (to === joiner.name && frame.t === 'ring') {
            refused++;
            return false;
          }
          return send(to, frame, fallback);
        };
        return () => {
          n.transport.send = send;
        };
      });
    await c.commitWhenReady(c.node(0));
    await waitFor('a ring frame to the joiner to be refused', () => refused > 0);
    for (const r of restore) r();
    await waitFor('the joiner to learn it is valid', () => memberStatus(joiner.ring, joiner.name) === 'valid', {
      timeoutMs: 10_000,
    });
    await c.waitSettled();
  });

  it('finished transfers reach the claimant in batches: one call for many partitions', async () => {
    const c = (cluster = await TestCluster.start({ size: 2, form: false }));
    const [dev1, dev2] = c.nodes as [RingNode, RingNode];
    await dev2.join(dev1.addr);
    await c.commitWhenReady(dev1);
    await c.waitSettled();
    // dev1 owned all 64 partitions and handed 32 to dev2 (no services: nothing to send).
    const { calls, reports } = dev1.transferReports.stats;
    expect(reports).toBeGreaterThanOrEqual(32);
    expect(calls, `${reports} reports in ${calls} calls`).toBeLessThanOrEqual(2);
    expect(ownedPartitions(dev1.ring, dev2.name)).toHaveLength(32);
  });
});

describe('losing the claimant (riak: riak_core:down/1 on any node, maybe_update_claimant)', () => {
  const [dev1, dev2, dev3] = ['dev1@127.0.0.1', 'dev2@127.0.0.1', 'dev3@127.0.0.1'];
  const claimants = (c: TestCluster) => c.nodes.map((n) => n.ring.claimant);

  it('the claimant dies: down works through another node, the first valid member takes over, remove + commit through any node', async () => {
    const c = (cluster = await TestCluster.start({ size: 3 }));
    await c.kill(dev1);
    await waitFor('dev2 to see dev1 down', () => !c.node(dev2).watcher.isUp(dev1));
    // Before `down`, changes need the claimant: refused with what to do.
    await expect(c.node(dev2).remove(dev1)).rejects.toMatchObject({
      code: 'claimant_unreachable',
      message: expect.stringContaining(`down ${dev1}`),
    });
    await c.node(dev3).down(dev1); // on dev3, not the heir: the heir learns it by gossip
    await waitFor('every node to name dev2 the claimant', () => claimants(c).every((x) => x === dev2));
    await c.node(dev3).remove(dev1);
    await c.commitWhenReady(c.node(dev3));
    await c.waitSettled({ expectMembers: [dev2, dev3] });
    for (const n of c.nodes) {
      expect(memberStatus(n.ring, dev1)).toBe('invalid');
      expect(ownedPartitions(n.ring, dev2).length).toBe(32);
      expect(n.memberStatus()).toMatch(/valid\s+50\.0%.*dev2[\s\S]*valid\s+50\.0%.*dev3/);
    }
    // The old claimant comes back with its old ring (a ring file): it does not take over.
    const old = await c.restart(dev1);
    await waitFor(
      'dev1 to learn it was removed and start over alone',
      () => members(old.ring).join() === dev1 && old.ring.clusterId !== c.node(dev2).ring.clusterId,
    );
    for (const n of [c.node(dev2), c.node(dev3)]) {
      expect(n.ring.claimant).toBe(dev2);
      expect(members(n.ring)).toEqual([dev2, dev3]);
    }
  });

  it('the claimant marked down comes back: it adopts the newer ring, is valid again, and stays a plain member', async () => {
    const c = (cluster = await TestCluster.start({ size: 3 }));
    await c.kill(dev1);
    await waitFor('dev2 to see dev1 down', () => !c.node(dev2).watcher.isUp(dev1));
    await c.node(dev2).down(dev1);
    expect(c.node(dev2).ring.claimant).toBe(dev2);
    await c.restart(dev1);
    await c.waitSettled();
    expect(claimants(c)).toEqual([dev2, dev2, dev2]);
    expect(memberStatus(c.node(dev1).ring, dev1)).toBe('valid');
  });

  it('a claimant that was only cut off and marked down does not split the ring when the link heals', async () => {
    const c = (cluster = await TestCluster.start({ size: 3 }));
    const nemesis = new Nemesis(c, testSeed('cut-off claimant'));
    nemesis.isolate(dev1);
    await waitFor(
      'each side to see the other down',
      () => !c.node(dev2).watcher.isUp(dev1) && !c.node(dev1).watcher.isUp(dev2),
    );
    await c.node(dev2).down(dev1);
    await waitFor('dev3 to follow the new claimant', () => c.node(dev3).ring.claimant === dev2);
    expect(c.node(dev1).ring.claimant).toBe(dev1); // it cannot know yet
    nemesis.heal();
    await c.waitSettled();
    expect(claimants(c)).toEqual([dev2, dev2, dev2]);
    expect(isBalanced(c.node(dev1).ring.owners, names(c))).toBe(true);
    nemesis.detach();
  });
});
