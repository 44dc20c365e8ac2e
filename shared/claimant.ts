/**
 * The claimant (`riak_core_claimant`): the one member allowed to change membership and
 * ownership. Changes are staged like `riak-admin cluster join|leave|remove`, shown by
 * `plan`, and applied by `commit`; a periodic `tick` then drives the ring towards the plan:
 * completed transfers switch owners, emptied leaving nodes become exiting, exiting nodes
 * become invalid.
 *
 * Ring changes are made here, on the claimant (other nodes ask it over RPC), with two
 * exceptions that must work when the claimant is gone, as in riak:
 * - `down` runs on any node (riak: `riak_core:down/1` changes the local ring and gossips it);
 * - when the claimant is no longer valid or leaving (marked down, removed), the first valid or
 *   leaving member by name makes itself the claimant (riak: `maybe_update_claimant/2`, run by
 *   every node on every ring change). Every node computes the same heir, so they agree.
 * riak lets any node write more (e.g. marking its own transfers complete) and merges; we keep
 * everything else on the claimant, so divergent rings stay rare. When they happen, `reconcile`
 * (ring.ts) keeps the newer claimant decisions (`rvsn`).
 *
 * Staged changes live in the claimant's memory only, as in riak: a new claimant starts with none.
 */
import { isDeepStrictEqual } from 'node:util';
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
  sameContents,
  setMember,
  type MemberStatus,
  type Ring,
  type Transfer,
} from './ring.js';
import type { RingManager } from './ring_manager.js';
import * as vc from './vclock.js';

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
    if (ring.claimant !== this.self)
      throw new RingError('not_claimant', `${this.self} is not the claimant (${ring.claimant} is)`);
    return ring;
  }

  /** Apply `fn` to the ring as the claimant; bumps the version if anything changed. */
  private trans(fn: (ring: Ring) => Ring): Ring {
    return this.write(this.requireClaimant(), fn(this.manager.ring));
  }

  /**
   * Install `next` (made from `ring`) if it differs: bump the version, and the claimant
   * version `rvsn` too when ownership, transfers or the claimant changed
   * (riak: `increment_vclock/2`, `increment_ring_version/2`).
   */
  private write(ring: Ring, next: Ring): Ring {
    if (next === ring || sameContents(next, ring)) return ring;
    const decided = !isDeepStrictEqual(
      [next.owners, next.next, next.claimant],
      [ring.owners, ring.next, ring.claimant],
    );
    this.manager.set(bump(decided ? { ...next, rvsn: vc.increment(next.rvsn, this.self) } : next, this.self));
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
    if (memberStatus(ring, node) !== 'valid')
      throw new RingError('not_member', `${node} is not a valid member, it cannot leave`);
    const staying = members(ring, ['valid']).filter(
      (n) => n !== node && this.staged.get(n)?.action !== 'leave' && this.staged.get(n)?.action !== 'remove',
    );
    if (staying.length === 0)
      throw new RingError('last_member', `${node} is the last member; a cluster cannot be left empty`);
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
      throw new RingError(
        'ring_not_ready',
        `the ring is not ready: ${notSeenBy(ring).join(', ')} has not seen the latest ring; try again shortly`,
      );
    }
    const plan = this.plan();
    let installed = plan.ring;
    // A claimant that leaves hands the role to the first remaining valid member.
    if (memberStatus(installed, this.self) !== 'valid') {
      const heir = members(installed, ['valid'])[0];
      if (heir) installed = { ...installed, claimant: heir };
    }
    this.write(ring, installed);
    this.staged.clear();
    this.log.info(
      `committed ${plan.changes.map((c) => `${c.action} ${c.node}`).join(', ')}; ${plan.transfers} transfers scheduled`,
    );
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
      const existing = ring.next.find(
        (t) => t.partition === partition && t.owner === owner && t.nextOwner === nextOwner,
      );
      next.push(existing ?? { partition, owner, nextOwner, done: [], status: 'awaiting' });
    });
    return handleDownNodes({ ...ring, owners, next });
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
        throw new RingError(
          'no_such_transfer',
          `no pending transfer of partition ${partition} from ${owner} to ${nextOwner}`,
        );
      }
      if (t.status === 'complete') return ring;
      const done = [...new Set([...t.done, ...services])].sort();
      return { ...ring, next: ring.next.map((x) => (x === t ? { ...t, done, status: 'complete' as const } : x)) };
    });
  }

  /**
   * Mark an unreachable member `down` so the ring can become ready without it
   * (riak: `riak_core:down/1`). Works on any node, claimant or not: the change is made to this
   * node's ring and gossiped. If the member was the claimant, the heir takes over at once
   * ({@link maybeTakeOver}). The member becomes `valid` again when it is back.
   * Idempotent for a member that is already down.
   * @throws RingError `not_member` (never a member, or removed), `node_up` (it is reachable
   *   from here: only an unreachable node may be marked down), `down_self`.
   */
  down(node: string): void {
    const ring = this.manager.ring;
    const status = memberStatus(ring, node);
    if (node === this.self) throw new RingError('down_self', `${node} is this node; mark it down from another member`);
    if (status === 'invalid') throw new RingError('not_member', `${node} is not a member`);
    if (status === 'down') return;
    if (this.isUp(node)) throw new RingError('node_up', `${node} is up; only unreachable nodes can be marked down`);
    this.write(ring, setMember(ring, this.self, node, 'down'));
    this.log.info(`marked ${node} down`);
    this.maybeTakeOver();
  }

  /**
   * Become the claimant if the current one is no longer valid or leaving and this node is the
   * first valid or leaving member by name (riak: `riak_core_claimant:maybe_update_claimant/2`).
   * Every node runs this on every ring change; only the heir acts, so all agree.
   * @returns true if this node took over.
   */
  maybeTakeOver(): boolean {
    const ring = this.manager.ring;
    const active = members(ring, ['valid', 'leaving']);
    if (active.includes(ring.claimant) || active[0] !== this.self) return false;
    const previous = ring.claimant;
    this.staged.clear();
    this.write(ring, { ...ring, claimant: this.self });
    this.log.info(`${previous} is ${memberStatus(ring, previous)}: ${this.self} is the claimant now`);
    return true;
  }

  /**
   * Move the ring one step towards the plan (riak: the claimant's `update_ring`). Runs on the
   * claimant only and only when the ring is ready, so every member has seen the step before
   * the next one:
   * 1. transfers from or to removed members are dropped;
   * 2. complete transfers switch owners;
   * 3. with nothing pending, claim runs again (riak re-claims whenever `next` is empty: a
   *    member that was down and is back gets its share);
   * 4. transfers from or to `down` members are dropped, and a leaving member's partitions
   *    meant for a `down` member go to another (riak: `handle_down_nodes/2`);
   * 5. members that were already `exiting` become `invalid`;
   * 6. leaving members that own nothing and send nothing become `exiting`;
   * 7. `down` members that are reachable again become `valid`.
   */
  tick(): void {
    const ring = this.manager.ring;
    if (ring.claimant !== this.self || !isReady(ring)) return;
    this.trans((r) => {
      let out: Ring = {
        ...r,
        next: r.next.filter(
          (t) => memberStatus(r, t.owner) !== 'invalid' && memberStatus(r, t.nextOwner) !== 'invalid',
        ),
      };
      const complete = out.next.filter((t) => t.status === 'complete');
      if (complete.length > 0) {
        const owners = [...out.owners];
        for (const t of complete) owners[t.partition] = t.nextOwner;
        out = { ...out, owners, next: out.next.filter((t) => t.status !== 'complete') };
        this.log.info(`ownership of ${complete.length} partition(s) switched after handoff`);
      }
      out = out.next.length === 0 ? this.rebalance(out) : handleDownNodes(out);
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

/**
 * Pending transfers without the ones that cannot happen because a member is `down`
 * (riak: `riak_core_claimant:handle_down_nodes/2`): a transfer from or to a down member is
 * dropped (claim brings it back once the member is up), except that a leaving member's
 * partition meant for a down member goes to another valid member instead, so a leave does
 * not wait for a dead node. riak picks that member at random; we pick the valid member that
 * will own the fewest partitions (ties: first by name), so every plan is reproducible.
 */
export function handleDownNodes(ring: Ring): Ring {
  const down = new Set(members(ring, ['down']));
  if (down.size === 0 || ring.next.length === 0) return ring;
  const future = futureOwners(ring);
  const load = (n: string) => future.filter((o) => o === n).length;
  const next: Transfer[] = [];
  for (const t of ring.next) {
    if (down.has(t.owner)) continue;
    if (!down.has(t.nextOwner)) {
      next.push(t);
      continue;
    }
    if (memberStatus(ring, t.owner) !== 'leaving') continue;
    const heir = members(ring, ['valid'])
      .filter((n) => n !== t.owner)
      .sort((a, b) => load(a) - load(b) || (a < b ? -1 : 1))[0];
    if (heir === undefined) continue;
    next.push({ ...t, nextOwner: heir, done: [], status: 'awaiting' });
    future[t.partition] = heir;
  }
  return { ...ring, next };
}

const same = (a: Transfer, b: Transfer) =>
  a.partition === b.partition && a.owner === b.owner && a.nextOwner === b.nextOwner;
