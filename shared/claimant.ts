/**
 * The claimant (`riak_core_claimant`): the one member allowed to change membership and
 * ownership. Changes are staged like `riak-admin cluster join|leave|remove`, shown by
 * `plan`, and applied by `commit`; a periodic `tick` then drives the ring towards the plan:
 * completed transfers switch owners, emptied leaving nodes become exiting, exiting nodes
 * become invalid.
 *
 * Every ring change in the cluster is made here, on the claimant (other nodes ask it over
 * RPC). One writer keeps ring versions totally ordered, so gossip almost never has to merge
 * divergent rings. riak lets any node write (e.g. marking its own transfers complete) and
 * merges; we chose the simpler single writer and say so here.
 *
 * Staged changes live in the claimant's memory only, as in riak.
 */
import { claim, DEFAULT_TARGET_N } from './claim.js';
import { RingError } from './errors.js';
import type { Logger } from './log.js';
import {
  bump,
  futureOwners,
  isReady,
  memberStatus,
  members,
  notSeenBy,
  ownedPartitions,
  setMember,
  type MemberStatus,
  type Ring,
  type Transfer,
} from './ring.js';
import type { RingManager } from './ring_manager.js';

/** A staged membership change (riak: the claimant's `changes` list). */
export interface StagedChange {
  readonly node: string;
  readonly action: 'join' | 'leave' | 'remove';
}

/** One line of a plan's ownership table: partitions owned now and after the plan. */
export interface PlanOwnership {
  readonly node: string;
  readonly status: MemberStatus;
  readonly nextStatus: MemberStatus;
  readonly before: number;
  readonly after: number;
}

/** What `commit` would do (riak: `riak_core_claimant:plan/0`). */
export interface Plan {
  readonly changes: readonly StagedChange[];
  readonly ownership: readonly PlanOwnership[];
  /** Ownership transfers the commit will schedule. */
  readonly transfers: number;
  /** The ring the commit would install (not yet versioned). */
  readonly ring: Ring;
}

/** Options of the claimant. */
export interface ClaimantOptions {
  /** target_n_val for claim (default 4). */
  targetN?: number;
}

export class Claimant {
  private readonly staged = new Map<string, StagedChange>();
  private readonly targetN: number;

  constructor(
    private readonly self: string,
    private readonly manager: RingManager,
    private readonly isUp: (node: string) => boolean,
    private readonly log: Logger,
    opts: ClaimantOptions = {},
  ) {
    this.targetN = opts.targetN ?? DEFAULT_TARGET_N;
  }

  /** True if this node is the claimant of its ring. */
  isClaimant(): boolean {
    return this.manager.ring.claimant === this.self;
  }

  private requireClaimant(): Ring {
    const ring = this.manager.ring;
    if (ring.claimant !== this.self) throw new RingError('not_claimant', `${this.self} is not the claimant (${ring.claimant} is)`);
    return ring;
  }

  /** Apply `fn` to the ring as the claimant; bumps the version if anything changed. */
  private trans(fn: (ring: Ring) => Ring): Ring {
    const ring = this.requireClaimant();
    const next = fn(ring);
    if (next !== ring) this.manager.set(bump(next, this.self));
    return this.manager.ring;
  }

  /** Staged changes, in the order they were staged. */
  changes(): StagedChange[] {
    return [...this.staged.values()];
  }

  /**
   * Stage a join: `node` becomes a `joining` member now and `valid` at commit
   * (riak: `riak_core:staged_join/1` + claimant `add_member`).
   * @returns the ring the joining node should adopt.
   * @throws RingError `not_claimant`, `already_member`.
   */
  stageJoin(node: string, addr: string): Ring {
    const status = memberStatus(this.requireClaimant(), node);
    if (status !== 'invalid' && status !== 'joining') {
      throw new RingError('already_member', `${node} is already a member of this cluster (${status})`);
    }
    const ring = this.trans((r) => setMember(r, this.self, node, 'joining', addr));
    this.staged.set(node, { node, action: 'join' });
    this.log.info(`staged join of ${node}`);
    return ring;
  }

  /**
   * Stage `node` leaving: at commit it becomes `leaving` and hands its partitions off.
   * @throws RingError `not_claimant`, `not_member`, `last_member`.
   */
  stageLeave(node: string): void {
    const ring = this.requireClaimant();
    if (memberStatus(ring, node) !== 'valid') throw new RingError('not_member', `${node} is not a valid member, it cannot leave`);
    const staying = members(ring, ['valid']).filter((n) => n !== node && this.staged.get(n)?.action !== 'leave' && this.staged.get(n)?.action !== 'remove');
    if (staying.length === 0) throw new RingError('last_member', `${node} is the last member; a cluster cannot be left empty`);
    this.staged.set(node, { node, action: 'leave' });
    this.log.info(`staged leave of ${node}`);
  }

  /**
   * Stage removing `node` without handoff (its data is lost; replicas remain elsewhere).
   * @throws RingError `not_claimant`, `not_member`, `remove_self`, `last_member`.
   */
  stageRemove(node: string): void {
    const ring = this.requireClaimant();
    if (node === this.self) throw new RingError('remove_self', 'the claimant cannot remove itself; run leave instead');
    const status = memberStatus(ring, node);
    if (status === 'invalid') throw new RingError('not_member', `${node} is not a member`);
    this.staged.set(node, { node, action: 'remove' });
    this.log.info(`staged remove of ${node}`);
  }

  /** Drop every staged change (riak: `cluster clear`). Joining nodes stay `joining`. */
  clear(): void {
    this.staged.clear();
  }

  /**
   * What committing the staged changes would do.
   * @throws RingError `not_claimant`.
   */
  plan(): Plan {
    const ring = this.requireClaimant();
    const changes = this.changes();
    let next = ring;
    for (const c of changes) {
      const status: MemberStatus = c.action === 'join' ? 'valid' : c.action === 'leave' ? 'leaving' : 'invalid';
      next = setMember(next, this.self, c.node, status);
    }
    next = this.rebalance(next);
    const names = new Set([...members(ring), ...members(next)]);
    const ownership = [...names].sort().map((node) => ({
      node,
      status: memberStatus(ring, node),
      nextStatus: memberStatus(next, node),
      before: futureOwners(ring).filter((o) => o === node).length,
      after: futureOwners(next).filter((o) => o === node).length,
    }));
    const transfers = next.next.filter((t) => !ring.next.some((u) => same(t, u))).length;
    return { changes, ownership, transfers, ring: next };
  }

  /**
   * Apply the staged changes (riak: `riak_core_claimant:commit/0`).
   * @throws RingError `not_claimant`, `nothing_staged`, `ring_not_ready` (some member has not
   *   seen the latest ring yet, or is down: try again, or mark it down).
   */
  commit(): Plan {
    const ring = this.requireClaimant();
    if (this.staged.size === 0) throw new RingError('nothing_staged', 'there are no staged changes to commit');
    if (!isReady(ring)) {
      throw new RingError('ring_not_ready', `the ring is not ready: ${notSeenBy(ring).join(', ')} has not seen the latest ring; try again shortly`);
    }
    const plan = this.plan();
    let installed = plan.ring;
    // A claimant that leaves hands the role to the first remaining valid member.
    if (memberStatus(installed, this.self) !== 'valid') {
      const heir = members(installed, ['valid'])[0];
      if (heir) installed = { ...installed, claimant: heir };
    }
    this.manager.set(bump(installed, this.self));
    this.staged.clear();
    this.log.info(`committed ${plan.changes.map((c) => `${c.action} ${c.node}`).join(', ')}; ${plan.transfers} transfers scheduled`);
    return plan;
  }

  /**
   * Claim for the members that should own partitions, and turn the difference into pending
   * transfers. Partitions of removed (invalid) nodes are reassigned at once: there is
   * nobody to hand them off.
   */
  private rebalance(ring: Ring): Ring {
    const owners = [...ring.owners];
    // Down members keep claiming (riak: `claiming_members` = joining, valid, down): an
    // operator marks a node down to unblock ring_ready, not to take its partitions away.
    const target = claim(futureOwners(ring), members(ring, ['valid', 'down']), { targetN: this.targetN });
    owners.forEach((o, p) => {
      if (memberStatus(ring, o) === 'invalid') owners[p] = target[p] as string;
    });
    const next: Transfer[] = [];
    target.forEach((nextOwner, partition) => {
      const owner = owners[partition] as string;
      if (owner === nextOwner) return;
      const existing = ring.next.find((t) => t.partition === partition && t.owner === owner && t.nextOwner === nextOwner);
      next.push(existing ?? { partition, owner, nextOwner, done: [], status: 'awaiting' });
    });
    return { ...ring, owners, next };
  }

  /**
   * The owner of `partition` reports that `services` finished handing it to `nextOwner`
   * (riak: `riak_core_ring:handoff_complete/3`). Idempotent.
   * @throws RingError `not_claimant`, `no_such_transfer` (the plan changed meanwhile).
   */
  transferComplete(partition: number, owner: string, nextOwner: string, services: readonly string[]): void {
    this.trans((ring) => {
      const t = ring.next.find((x) => x.partition === partition);
      if (!t || t.owner !== owner || t.nextOwner !== nextOwner) {
        throw new RingError('no_such_transfer', `no pending transfer of partition ${partition} from ${owner} to ${nextOwner}`);
      }
      if (t.status === 'complete') return ring;
      const done = [...new Set([...t.done, ...services])].sort();
      return { ...ring, next: ring.next.map((x) => (x === t ? { ...t, done, status: 'complete' as const } : x)) };
    });
  }

  /**
   * Mark an unreachable member `down` so the ring can become ready without it
   * (riak: `riak-admin down`). It becomes `valid` again when it is back.
   * @throws RingError `not_claimant`, `not_member`, `node_up`.
   */
  markDown(node: string): void {
    const status = memberStatus(this.requireClaimant(), node);
    if (status === 'invalid') throw new RingError('not_member', `${node} is not a member`);
    if (this.isUp(node)) throw new RingError('node_up', `${node} is up; only unreachable nodes can be marked down`);
    this.trans((ring) => setMember(ring, this.self, node, 'down'));
  }

  /**
   * Move the ring one step towards the plan (riak: the claimant's periodic `tick`). Runs on
   * the claimant only and only when the ring is ready, so every member has seen the step
   * before the next one:
   * 1. complete transfers switch owners;
   * 2. leaving members that own nothing and send nothing become `exiting`;
   * 3. members that were already `exiting` become `invalid`;
   * 4. `down` members that are reachable again become `valid`.
   */
  tick(): void {
    const ring = this.manager.ring;
    if (ring.claimant !== this.self || !isReady(ring)) return;
    this.trans((r) => {
      let out = r;
      const complete = r.next.filter((t) => t.status === 'complete');
      if (complete.length > 0) {
        const owners = [...r.owners];
        for (const t of complete) owners[t.partition] = t.nextOwner;
        out = { ...out, owners, next: r.next.filter((t) => t.status !== 'complete') };
        this.log.info(`ownership of ${complete.length} partition(s) switched after handoff`);
      }
      for (const node of members(r, ['exiting'])) {
        out = setMember(out, this.self, node, 'invalid');
        this.log.info(`${node} has left the cluster`);
      }
      for (const node of members(out, ['leaving'])) {
        if (ownedPartitions(out, node).length === 0 && !out.next.some((t) => t.owner === node)) {
          out = setMember(out, this.self, node, 'exiting');
        }
      }
      for (const node of members(out, ['down'])) {
        if (this.isUp(node)) out = setMember(out, this.self, node, 'valid');
      }
      return out;
    });
  }
}

const same = (a: Transfer, b: Transfer) => a.partition === b.partition && a.owner === b.owner && a.nextOwner === b.nextOwner;
