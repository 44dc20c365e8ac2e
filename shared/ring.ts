/**
 * The ring: who owns which partition, who is a member, who is the claimant, which transfers
 * are pending, and which version every member has seen. Mirrors `riak_core_ring`.
 *
 * A ring is a plain, immutable, serialisable object (it travels in gossip frames). Every
 * function here returns a new ring instead of changing its argument.
 *
 * Partitions are numbered 0..Q-1; the riak "index" of partition p is `partitionIndex(p, Q)`
 * (see chash.ts). Using numbers keeps frames small and avoids bigints on the wire.
 */
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { partitionIndex, responsiblePartition } from './chash.js';
import * as vc from './vclock.js';
import type { VClock } from './vclock.js';
import type { Static } from '@sinclair/typebox';
import {
  ringProblem,
  type DeepReadonly,
  type MemberSchema,
  type MemberStatusSchema,
  type RingSchema,
  type TransferSchema,
} from './wire.js';

/**
 * Member status, as in `riak_core_ring:member_status/2`:
 * - `joining`: staged to join, owns nothing yet
 * - `valid`: a full member
 * - `leaving`: handing its partitions off before it goes
 * - `exiting`: owns nothing any more; about to shut down its ring membership
 * - `down`: marked down by an operator so the ring can become ready without it
 * - `invalid`: gone (kept as a tombstone so gossip does not bring it back)
 */
export type MemberStatus = Static<typeof MemberStatusSchema>;

/**
 * One member of the ring: `status`, `addr` (`host:port` of its node-to-node listener) and
 * `vclock`, bumped by whoever changes this entry (used to merge divergent rings per member).
 */
export type Member = DeepReadonly<Static<typeof MemberSchema>>;

/**
 * A pending ownership transfer (an entry of riak's `next` list):
 * partition `partition` moves from `owner` to `nextOwner`.
 * `done` lists the vnode services that have finished handing it off; `status` becomes
 * `complete` once every service on the owner has (riak: `riak_core_ring:handoff_complete/3`).
 */
export type Transfer = DeepReadonly<Static<typeof TransferSchema>>;

/**
 * The ring state (riak: the `#chstate{}` record), derived from its wire schema (wire.ts
 * `RingSchema`, which gossip checks every received ring against):
 * - `clusterName`;
 * - `clusterId`: random id of this ring's lineage, made by `fresh`. A joining node adopts the
 *   cluster's; a node that leaves starts a new one. Gossip between different lineages is
 *   ignored, so a node that left is not pulled back by its old cluster's rings;
 * - `ringSize`: Q, the number of partitions, a power of two 8..1024;
 * - `owners[p]`: the node owning partition p;
 * - `members`: name → {@link Member};
 * - `claimant`: the node allowed to change ownership (riak: `riak_core_ring:claimant/1`);
 * - `vclock`: version of this ring, bumped by every change, whoever makes it (the claimant;
 *   any node marking a member down; a new claimant taking over);
 * - `rvsn`: version of the claimant's decisions (riak: `rvsn`), bumped only when ownership,
 *   pending transfers or the claimant change. When two rings diverge, the one whose `rvsn`
 *   descends the other's keeps its owners, transfers and claimant, whatever happened to members;
 * - `next`: pending {@link Transfer}s;
 * - `seen`: for each node, the ring version it has seen (riak keeps this in ring meta `seen`).
 */
export type Ring = DeepReadonly<Static<typeof RingSchema>>;

/** A (partition, owner) pair, as `riak_core_ring:preflist/2` returns them. */
export interface RingEntry {
  readonly partition: number;
  readonly node: string;
}

/** Statuses whose members must have seen a ring before it is ready (riak: `ring_ready/1`). */
const READY_STATUSES: readonly MemberStatus[] = ['valid', 'leaving', 'exiting'];

/**
 * A new ring in which `node` owns every partition and is the claimant
 * (riak: `riak_core_ring:fresh/2`).
 * @param ringSize Q, validated by the caller (see `validateRingSize`).
 */
export function fresh(ringSize: number, node: string, addr: string, clusterName = 'default'): Ring {
  const vclock = vc.increment({}, node);
  return {
    clusterName,
    clusterId: randomUUID(),
    ringSize,
    owners: Array.from({ length: ringSize }, () => node),
    members: { [node]: { status: 'valid', addr, vclock } },
    claimant: node,
    vclock,
    rvsn: vclock,
    next: [],
    seen: { [node]: vclock },
  };
}

/** Status of `node`, or `invalid` if it was never a member (riak: `member_status/2`). */
export function memberStatus(ring: Ring, node: string): MemberStatus {
  return ring.members[node]?.status ?? 'invalid';
}

/** Names of members whose status is one of `statuses` (all but invalid when omitted), sorted. */
export function members(ring: Ring, statuses?: readonly MemberStatus[]): string[] {
  return Object.entries(ring.members)
    .filter(([, m]) => (statuses ? statuses.includes(m.status) : m.status !== 'invalid'))
    .map(([name]) => name)
    .sort();
}

/** Members that own or may own partitions: valid and leaving (riak: `active_members`). */
export function activeMembers(ring: Ring): string[] {
  return members(ring, ['valid', 'leaving']);
}

/** Owner of partition `p`. @throws RangeError if p is out of range. */
export function owner(ring: Ring, p: number): string {
  const o = ring.owners[p];
  if (o === undefined) throw new RangeError(`no partition ${p} in a ring of ${ring.ringSize}`);
  return o;
}

/** Partitions owned by `node`, ascending (riak: `my_indices/1`). */
export function ownedPartitions(ring: Ring, node: string): number[] {
  const out: number[] = [];
  ring.owners.forEach((o, p) => {
    if (o === node) out.push(p);
  });
  return out;
}

/** Riak-style index (bigint) of partition p, for display. */
export function indexOf(ring: Ring, p: number): bigint {
  return partitionIndex(p, ring.ringSize);
}

/**
 * The ring walked clockwise from the partition responsible for `hash`
 * (riak: `riak_core_ring:preflist/2`): its first `n` entries (default: the whole ring). The
 * first N entries are the primaries.
 */
export function preflist(ring: Ring, hash: bigint, n = ring.ringSize): RingEntry[] {
  return preflistFrom(ring, responsiblePartition(hash, ring.ringSize), n);
}

/** The first `n` entries (default: the whole ring) of the ring walked clockwise from partition `start`. */
export function preflistFrom(ring: Ring, start: number, n = ring.ringSize): RingEntry[] {
  const q = ring.ringSize;
  return Array.from({ length: Math.min(n, q) }, (_, i) => {
    const partition = (start + i) % q;
    return { partition, node: ring.owners[partition] as string };
  });
}

/** Owners after every pending transfer completes (riak: `future_ring/1`). */
export function futureOwners(ring: Ring): string[] {
  const owners = [...ring.owners];
  for (const t of ring.next) owners[t.partition] = t.nextOwner;
  return owners;
}

/** The pending transfer of partition p, if any. */
export function pendingTransfer(ring: Ring, p: number): Transfer | undefined {
  return ring.next.find((t) => t.partition === p);
}

/**
 * True when every valid, leaving and exiting member has seen this exact ring version
 * (riak: `riak_core_ring:ring_ready/1`). Only then may the claimant change ownership.
 */
export function isReady(ring: Ring): boolean {
  return members(ring, READY_STATUSES).every((n) => {
    const s = ring.seen[n];
    return s !== undefined && vc.equal(s, ring.vclock);
  });
}

/** Members (valid, leaving, exiting) that have not yet seen this ring version. */
export function notSeenBy(ring: Ring): string[] {
  return members(ring, READY_STATUSES).filter((n) => {
    const s = ring.seen[n];
    return s === undefined || !vc.equal(s, ring.vclock);
  });
}

/**
 * Record a change made by `actor`: bump the ring version and note that `actor` has seen it
 * (riak: `increment_vclock/2` + `update_seen/2`). Call after every mutation.
 */
export function bump(ring: Ring, actor: string): Ring {
  const vclock = vc.increment(ring.vclock, actor);
  return { ...ring, vclock, seen: { ...ring.seen, [actor]: vclock } };
}

/** Set `node`'s status (and address if given), bumping its member clock as `actor`. */
export function setMember(ring: Ring, actor: string, node: string, status: MemberStatus, addr?: string): Ring {
  const prev = ring.members[node];
  const member: Member = {
    status,
    addr: addr ?? prev?.addr ?? '',
    vclock: vc.increment(prev?.vclock ?? {}, actor),
  };
  return { ...ring, members: { ...ring.members, [node]: member } };
}

/** Record that `node` has seen the current version. Does not bump the version. */
export function markSeen(ring: Ring, node: string): Ring {
  const s = ring.seen[node];
  if (s !== undefined && vc.equal(s, ring.vclock)) return ring;
  return { ...ring, seen: { ...ring.seen, [node]: ring.vclock } };
}

/**
 * Precedence when two divergent rings disagree about a member and neither member clock
 * descends the other (riak: `riak_core_ring:merge_status/2`): removal and operator
 * decisions win over membership.
 */
const STATUS_PRECEDENCE: readonly MemberStatus[] = ['invalid', 'down', 'joining', 'valid', 'exiting', 'leaving'];

function mergeMember(a: Member | undefined, b: Member | undefined): Member {
  if (!a) return b as Member;
  if (!b) return a;
  if (vc.descends(a.vclock, b.vclock)) return a;
  if (vc.descends(b.vclock, a.vclock)) return b;
  const status = STATUS_PRECEDENCE.find((s) => s === a.status || s === b.status) as MemberStatus;
  return { status, addr: a.addr || b.addr, vclock: vc.merge(a.vclock, b.vclock) };
}

/** Who has seen what, merged pointwise: the union of both tables, the later clock per node. */
function mergeSeen(a: Ring['seen'], b: Ring['seen']): Record<string, VClock> {
  const out: Record<string, VClock> = { ...a };
  for (const [node, clock] of Object.entries(b)) out[node] = vc.merge(out[node] ?? {}, clock);
  return out;
}

/** Result of {@link reconcile}: the ring to keep, and whether it differs from `mine`. */
export interface Reconciled {
  readonly ring: Ring;
  readonly changed: boolean;
}

/**
 * Merge a ring received by gossip into ours (riak: `riak_core_ring:reconcile/2`).
 *
 * - One version descends the other (or they are equal): the newer wins; the seen tables merge.
 * - Divergent versions with the same contents (two nodes that merged the same pair of rings,
 *   or made the same change): the clocks merge, nothing is bumped (riak: `equal_cstate`), so
 *   crossing gossip settles.
 * - Divergent contents (concurrent changes: a node marked a member down while the claimant
 *   committed; a claimant took over from one that was only cut off): members merge one by one
 *   by their own clocks; owners, transfers and claimant come from the ring whose `rvsn`
 *   descends the other's, or else the one whose claimant is still a valid member, or else the
 *   smaller claimant name (riak: `reconcile_ring/3`). The result gets a version by `self`
 *   that descends both.
 *
 * Every node picks the same winner whichever way round it merges.
 * @param self the node doing the merge; it marks itself as having seen the result.
 */
export function reconcile(mine: Ring, theirs: Ring, self: string): Reconciled {
  const seen = mergeSeen(mine.seen, theirs.seen);
  let ring: Ring;
  if (vc.descends(mine.vclock, theirs.vclock)) {
    ring = { ...mine, seen };
  } else if (vc.descends(theirs.vclock, mine.vclock)) {
    ring = { ...theirs, seen };
  } else if (sameContents(mine, theirs)) {
    ring = { ...mine, vclock: vc.merge(mine.vclock, theirs.vclock), seen };
  } else {
    const names = new Set([...Object.keys(mine.members), ...Object.keys(theirs.members)]);
    const merged: Record<string, Member> = {};
    for (const n of [...names].sort()) merged[n] = mergeMember(mine.members[n], theirs.members[n]);
    const [winner, loser] = ringWins(mine, theirs, merged) ? [mine, theirs] : [theirs, mine];
    ring = bump(
      {
        ...winner,
        members: merged,
        next: mergeNext(winner.next, loser.next),
        rvsn: vc.merge(winner.rvsn, loser.rvsn),
        vclock: vc.merge(winner.vclock, loser.vclock),
        seen,
      },
      self,
    );
  }
  ring = markSeenIfMember(ring, self);
  return { ring, changed: !sameRing(ring, mine) };
}

/**
 * Which of two divergent rings keeps its owners, transfers and claimant (riak:
 * `riak_core_ring:reconcile_ring/3`): the newer claimant decisions (`rvsn`); if those diverged
 * too, the ring whose claimant is still valid or leaving in the merged members; if both or
 * neither are, the smaller claimant name; the same claimant on both sides (it raced with
 * itself across a restart): a canonical order of the versions, so the choice is total.
 */
function ringWins(a: Ring, b: Ring, members: Readonly<Record<string, Member>>): boolean {
  const aNewer = vc.descends(a.rvsn, b.rvsn);
  const bNewer = vc.descends(b.rvsn, a.rvsn);
  if (aNewer !== bNewer) return aNewer;
  const usable = (n: string) => members[n]?.status === 'valid' || members[n]?.status === 'leaving';
  if (usable(a.claimant) !== usable(b.claimant)) return usable(a.claimant);
  if (a.claimant !== b.claimant) return a.claimant < b.claimant;
  return canonical(a.vclock) <= canonical(b.vclock);
}

const canonical = (c: VClock) => JSON.stringify(Object.entries(c).sort(([x], [y]) => (x < y ? -1 : 1)));

/**
 * The winner's pending transfers, each with what the loser knows of the same transfer
 * (finished services, completion) added (riak: `reconcile_divergent_next/2`).
 */
function mergeNext(winner: readonly Transfer[], loser: readonly Transfer[]): Transfer[] {
  return winner.map((t) => {
    const o = loser.find((u) => u.partition === t.partition && u.owner === t.owner && u.nextOwner === t.nextOwner);
    if (!o) return t;
    return {
      ...t,
      done: [...new Set([...t.done, ...o.done])].sort(),
      status: t.status === 'complete' || o.status === 'complete' ? 'complete' : 'awaiting',
    };
  });
}

/**
 * True when two rings hold the same state apart from their versions and seen tables
 * (riak: `equal_cstate/2`).
 */
export function sameContents(a: Ring, b: Ring): boolean {
  const strip = ({ vclock: _v, seen: _s, members, ...rest }: Ring) => ({
    ...rest,
    rvsn: canonical(rest.rvsn),
    members: Object.keys(members)
      .sort()
      .map((n) => [n, members[n]?.status, members[n]?.addr, canonical(members[n]?.vclock ?? {})]),
  });
  return isDeepStrictEqual(strip(a), strip(b));
}

function markSeenIfMember(ring: Ring, self: string): Ring {
  return ring.members[self] ? markSeen(ring, self) : ring;
}

/** True when version and seen-table are the same (enough to decide whether to gossip). */
export function sameRing(a: Ring, b: Ring): boolean {
  if (!vc.equal(a.vclock, b.vclock)) return false;
  const nodes = new Set([...Object.keys(a.seen), ...Object.keys(b.seen)]);
  for (const n of nodes) {
    const x = a.seen[n];
    const y = b.seen[n];
    if (x === undefined || y === undefined || !vc.equal(x, y)) return false;
  }
  return true;
}

/** Percentage of the ring `node` owns now, and after pending transfers (0..100). */
export function ownershipPercent(ring: Ring, node: string): { now: number; future: number } {
  const q = ring.ringSize;
  const now = ring.owners.filter((o) => o === node).length;
  const future = futureOwners(ring).filter((o) => o === node).length;
  return { now: (100 * now) / q, future: (100 * future) / q };
}

/**
 * True if `x` is a well-formed ring: it fits the wire schema and keeps the ring's invariants
 * (wire.ts `ringProblem`, which says why not).
 */
export function looksLikeRing(x: unknown): x is Ring {
  return ringProblem(x) === undefined;
}
