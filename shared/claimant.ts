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

/** One finished transfer, as its owner reports it: every service handed `partition` to `nextOwner`. */
export interface TransferReport {
  readonly partition: number;
  readonly nextOwner: string;
  readonly services: readonly string[];
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
    const { unknown } = this.transfersComplete(owner, [{ partition, nextOwner, services }]);
    if (unknown.length > 0) {
      throw new RingError(
        'no_such_transfer',
        `no pending transfer of partition ${partition} from ${owner} to ${nextOwner}`,
      );
    }
  }

  /**
   * `owner` reports a batch of finished transfers (riak: `handoff_complete/3` for each): all
   * are marked complete in one ring change, so a batch costs one version and one round of
   * gossip, not one per partition. Idempotent; reports of transfers the ring no longer lists
   * (the plan changed meanwhile) are returned in `unknown` and change nothing.
   * @returns the partitions of `reports` that are not pending transfers from `owner`.
   * @throws RingError `not_claimant`.
   */
  transfersComplete(owner: string, reports: readonly TransferReport[]): { unknown: number[] } {
    const unknown: number[] = [];
    this.trans((ring) => {
      let next = ring.next;
      for (const r of reports) {
        const i = next.findIndex((x) => x.partition === r.partition);
        const t = next[i];
        if (!t || t.owner !== owner || t.nextOwner !== r.nextOwner) {
          unknown.push(r.partition);
          continue;
        }
        if (t.status === 'complete') continue;
        const done = [...new Set([...t.done, ...r.services])].sort();
        next = next.map((x, j) => (j === i ? { ...t, done, status: 'complete' as const } : x));
      }
      return next === ring.next ? ring : { ...ring, next };
    });
    return { unknown };
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

/** What a {@link TransferReporter} needs from its node. */
export interface TransferReporterLinks {
  /** This node's name: the owner of the transfers it reports. */
  readonly self: string;
  /** The current ring (for the claimant's name and which reports are still wanted). */
  ring(): Ring;
  /** Call `method` on `node` (an RPC). */
  call(node: string, method: string, args: unknown): Promise<unknown>;
  log: Logger;
  /** Wait this long (ms) before sending again after a failed call or an unknown transfer. */
  retryMs: number;
}

/** The arguments of the `claimant.transfer_complete` RPC: one owner's batch of reports. */
export interface TransferReportBatch {
  readonly owner: string;
  readonly transfers: readonly TransferReport[];
}

/**
 * The owner's side of "my transfer of P is complete": reports are queued and sent to the
 * claimant as one `claimant.transfer_complete` call per round (the next turn of the event loop,
 * or `retryMs` after a failure), listing every queued report, and the claimant marks them in one
 * ring change ({@link Claimant.transfersComplete}). riak's owners mark `handoff_complete` in their
 * own ring and gossip it; we keep ring writes on the claimant (see the module header).
 *
 * A report stays queued until the claimant accepted it, or the ring no longer lists that
 * transfer from us as awaiting; a failed call (claimant unreachable, not the claimant any more)
 * and a report the claimant did not know yet are sent again after `retryMs`.
 */
export class TransferReporter {
  private readonly queued = new Map<string, TransferReport>();
  private timer?: NodeJS.Timeout;
  private inFlight = false;
  private stopped = false;
  /** Calls made and reports sent, for tests and the bench. */
  readonly stats = { calls: 0, reports: 0 };

  constructor(private readonly links: TransferReporterLinks) {}

  /** Queue a report; it goes out with the next batch. */
  report(partition: number, nextOwner: string, services: readonly string[]): void {
    if (this.stopped) return;
    this.queued.set(`${partition}>${nextOwner}`, { partition, nextOwner, services: [...services] });
    this.schedule(0);
  }

  /** Drop everything queued and send nothing more. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.queued.clear();
  }

  private schedule(delayMs: number): void {
    if (this.timer || this.inFlight || this.stopped || this.queued.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, delayMs);
    this.timer.unref();
  }

  /** Reports the ring still wants: transfers from us to the same target, not yet complete. */
  private prune(ring: Ring): void {
    for (const [k, r] of this.queued) {
      const t = ring.next.find((x) => x.partition === r.partition);
      if (!t || t.owner !== this.links.self || t.nextOwner !== r.nextOwner || t.status === 'complete')
        this.queued.delete(k);
    }
  }

  private async flush(): Promise<void> {
    const ring = this.links.ring();
    this.prune(ring);
    if (this.queued.size === 0) return;
    const batch = [...this.queued.entries()];
    const args: TransferReportBatch = { owner: this.links.self, transfers: batch.map(([, r]) => r) };
    this.inFlight = true;
    let retry = false;
    try {
      this.stats.calls++;
      this.stats.reports += batch.length;
      const answer = (await this.links.call(ring.claimant, 'claimant.transfer_complete', args)) as {
        unknown?: unknown;
      } | null;
      const unknown = new Set(Array.isArray(answer?.unknown) ? answer.unknown : []);
      for (const [k, r] of batch) {
        // Unknown to the claimant: keep it while our ring still lists it (we may be ahead).
        if (unknown.has(r.partition)) retry = true;
        else if (this.queued.get(k) === r) this.queued.delete(k);
      }
      if (unknown.size > 0)
        this.links.log.debug(`the claimant does not know the transfers of ${[...unknown].join(', ')} (yet)`);
    } catch (err) {
      retry = true;
      this.links.log.debug(`could not report ${batch.length} finished transfer(s): ${(err as Error).message}`);
    } finally {
      this.inFlight = false;
    }
    this.schedule(retry ? this.links.retryMs : 0);
  }
}
