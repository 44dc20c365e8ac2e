/**
 * Claim: decide which node owns each partition of the ring (riak: `riak_core_claim`).
 *
 * A ring has Q partitions (a power of two, 8..1024); `owners[p]` is the node that owns
 * partition p. Consecutive partitions are neighbours and the ring wraps (Q-1 is followed by 0).
 * A key's preference list is N consecutive partitions, so for fault tolerance no node should
 * own two partitions within any window of `targetN` consecutive partitions (riak's
 * `target_n_val`, default 4).
 *
 * `claim` returns owners that are balanced (every member owns ⌊Q/S⌋ or ⌈Q/S⌉ partitions),
 * meet target_n whenever that is possible (see `targetNPossible`), move few partitions, and are
 * deterministic. Like riak's claim_v2 with its claim_rebalance_n fallback, it goes in steps:
 *
 * 1. Balance: under-loaded members take partitions from non-members and over-loaded members,
 *    one at a time, where the move creates no violation. Exactly the partitions balance
 *    requires move. Growing a good ring by one node nearly always ends here.
 * 2. Repair: if violations remain and target_n is possible, swap the owners of pairs of
 *    partitions (a swap keeps balance) to clear them, cheapest swaps first.
 * 3. Re-stripe, only if repair gets stuck: a block stripe that is always balanced and
 *    violation-free, rotated and relabelled to keep as many partitions in place as it can.
 * 4. Pull back: after steps 2-3, swap partitions back to their original owners wherever that
 *    keeps target_n, undoing needless moves.
 *
 * Unlike riak's claim_v2 (64 partitions, 4 -> 5 nodes gives 12/12/12/12/16 with violations at
 * the wrap-around), this gives 13/13/13/13/12 with no violations, moving only the 12 partitions
 * the new node takes.
 *
 * Internally owners are small integers (see `encode`) so "same owner" is plain equality.
 */

/** riak's default `target_n_val`. */
export const DEFAULT_TARGET_N = 4;

export interface ClaimOptions {
  /** Window, in partitions, in which no node may own two partitions (default 4). */
  targetN?: number;
}

/**
 * New owners for every partition (riak: `riak_core_claim:claim/1`, i.e.
 * `riak_core_claim:claim_v2` with the `riak_core_claim:claim_rebalance_n/2` fallback).
 *
 * `current.length` is Q; `current[p]` is the node owning partition p now. It may be a node that
 * is no longer a member (one that left or was removed): such nodes lose all their partitions.
 * `members` are the nodes that should own partitions; their order does not matter (they are
 * sorted, so every caller gets the same answer).
 *
 * Returns a new array of Q node names, balanced over `members`, with no target_n violation
 * whenever `targetNPossible(Q, members.length, targetN)`. A `current` that is already balanced
 * and violation-free (or balanced, when target_n is impossible) comes back unchanged. Never
 * throws for infeasibility: when target_n cannot be met the result is still balanced.
 *
 * @throws RangeError if Q is not a power of two in 8..1024, `members` is empty or has
 *   duplicates, or `targetN` is not a positive integer.
 */
export function claim(current: readonly string[], members: readonly string[], opts: ClaimOptions = {}): string[] {
  const q = current.length;
  checkQ(q, 'claim');
  const targetN = opts.targetN ?? DEFAULT_TARGET_N;
  checkTargetN(targetN, 'claim');
  if (members.length === 0) throw new RangeError('claim: members must not be empty');
  const sorted = [...members].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i] === sorted[i - 1]) {
      throw new RangeError(`claim: duplicate member ${JSON.stringify(sorted[i])}`);
    }
  }

  const s = sorted.length;
  const original = encode(current, sorted);
  const owner = original.slice();
  balance(owner, s, targetN);
  if (targetNPossible(q, s, targetN) && owner.some((_, p) => inViolation(owner, p, targetN))) {
    if (!repair(owner, original, s, targetN)) owner.set(restripe(original, s));
    pullBack(owner, original, targetN);
  }
  const result = Array.from(owner, (i) => sorted[i]!);
  if (targetNPossible(q, s, targetN) || s < 2) return result;
  // target_n cannot be met (fewer than targetN nodes, say). riak then accepts violations, but
  // on 3 nodes that leaves many N=3 preference lists with one node twice. Keep at least the
  // window min(targetN, S) as clean as round-robin striping can: repeats only where the ring
  // wraps (riak's sequential claim). An existing ring that is already as good is kept.
  const window = Math.min(targetN, s);
  const stripe = Array.from({ length: q }, (_, p) => sorted[p % s]!);
  return targetNViolations(result, window).length <= targetNViolations(stripe, window).length ? result : stripe;
}

/**
 * The initial ring of a single node: an array of `q` copies of `node`
 * (riak: `riak_core_ring:fresh/2`).
 *
 * @throws RangeError if `q` is not a power of two in 8..1024.
 */
export function freshOwners(q: number, node: string): string[] {
  checkQ(q, 'freshOwners');
  return new Array<string>(q).fill(node);
}

/**
 * Partitions p (ascending) such that `owners[p]` appears again within the next `targetN - 1`
 * partitions, wrapping around the end of the ring. Empty means the ring meets target_n (riak:
 * the check in `riak_core_claim:meets_target_n/2`). Each too-close pair is reported by its
 * first partition, reading forwards. With `targetN > Q` every partition is a violation, since
 * such a window contains some partition twice.
 *
 * @throws RangeError if `targetN` is not a positive integer.
 */
export function targetNViolations(owners: readonly string[], targetN: number = DEFAULT_TARGET_N): number[] {
  checkTargetN(targetN, 'targetNViolations');
  const q = owners.length;
  const reach = Math.min(targetN - 1, q); // distance q is the partition itself
  const out: number[] = [];
  for (let p = 0; p < q; p++) {
    for (let d = 1; d <= reach; d++) {
      if (owners[(p + d) % q] === owners[p]) {
        out.push(p);
        break;
      }
    }
  }
  return out;
}

/**
 * True when no node owns two partitions within any `targetN` consecutive partitions
 * (riak: `riak_core_claim:meets_target_n/2`).
 *
 * @throws RangeError if `targetN` is not a positive integer.
 */
export function meetsTargetN(owners: readonly string[], targetN: number = DEFAULT_TARGET_N): boolean {
  return targetNViolations(owners, targetN).length === 0;
}

/**
 * Number of partitions owned by each node. Every node in `owners` is counted; nodes listed in
 * `members` come first (in that order) and appear even when they own nothing.
 */
export function ownershipCounts(owners: readonly string[], members: readonly string[] = []): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of members) counts.set(m, 0);
  for (const o of owners) counts.set(o, (counts.get(o) ?? 0) + 1);
  return counts;
}

/**
 * True when every member owns ⌊Q/S⌋ or ⌈Q/S⌉ partitions (Q = `owners.length`, S = number of
 * distinct `members`) and nobody else owns any. False when `members` is empty.
 */
export function isBalanced(owners: readonly string[], members: readonly string[]): boolean {
  const memberSet = new Set(members);
  if (memberSet.size === 0) return false;
  const lo = Math.floor(owners.length / memberSet.size);
  const hi = Math.ceil(owners.length / memberSet.size);
  for (const [node, n] of ownershipCounts(owners, [...memberSet])) {
    if (!memberSet.has(node) || n < lo || n > hi) return false;
  }
  return true;
}

/**
 * Whether a balanced ring of `q` partitions over `s` members can meet target_n. riak has no such
 * function (claim_v2 just tries, then checks with `riak_core_claim:meets_target_n/2`).
 *
 * True iff `s >= targetN` and `⌈q/s⌉ · targetN <= q`. Both are necessary: a window of targetN
 * partitions needs targetN distinct owners, and a node owning ⌈q/s⌉ partitions needs a gap of
 * at least targetN after each one, all within q. They are also sufficient: `restripe` builds
 * such a ring whenever both hold (proof in its comment), and the tests confirm the condition by
 * exhaustive search on small rings. For targetN = 4 and q a power of two >= 8 the second
 * condition follows from the first (⌈q/s⌉ <= q/4 once s >= 4), so it is just `s >= 4`; it
 * matters for other targetN, e.g. q = 8, s = 6, targetN = 5 is impossible.
 */
export function targetNPossible(q: number, s: number, targetN: number = DEFAULT_TARGET_N): boolean {
  return s >= 1 && s >= targetN && Math.ceil(q / s) * targetN <= q;
}

// ---------------------------------------------------------------------------------------------

function checkQ(q: number, fn: string): void {
  if (!Number.isInteger(q) || q < 8 || q > 1024 || (q & (q - 1)) !== 0) {
    throw new RangeError(`${fn}: ring size must be a power of two in 8..1024, got ${q}`);
  }
}

function checkTargetN(targetN: number, fn: string): void {
  if (!Number.isInteger(targetN) || targetN < 1) {
    throw new RangeError(`${fn}: targetN must be a positive integer, got ${targetN}`);
  }
}

/** Owners as integers: member i of the sorted `members` is i, each non-member a distinct negative. */
function encode(current: readonly string[], members: readonly string[]): Int32Array {
  const index = new Map(members.map((m, i) => [m, i] as const));
  for (const o of current) if (!index.has(o)) index.set(o, -1 - index.size);
  return Int32Array.from(current, (o) => index.get(o)!);
}

/** Whether the owner of p also owns a partition within targetN-1 of it, on either side. */
function inViolation(owner: Int32Array, p: number, targetN: number): boolean {
  return nearby(owner, owner[p]!, p, -1, targetN);
}

/** Whether `node` owns a partition within targetN-1 of p (either side), other than `except`. */
function nearby(owner: Int32Array, node: number, p: number, except: number, targetN: number): boolean {
  const q = owner.length;
  for (let d = 1; d < targetN && d < q; d++) {
    const after = (p + d) % q;
    const before = (p - d + q) % q;
    if (owner[after] === node && after !== except) return true;
    if (owner[before] === node && before !== except) return true;
  }
  return false;
}

/**
 * Step 1 (riak: the "take from over-loaded nodes" loop of `riak_core_claim:claim_v2`).
 * Each under-loaded member takes partitions until it reaches its target, so exactly the
 * partitions balance requires move. Partitions of non-members must all move, so the most
 * constrained one goes first (fewest takers that can have it without a violation). Otherwise
 * the neediest taker picks, preferring in order: no violation created, the most over-loaded
 * owner, a partition whose owner is in violation there (the move repairs it), the partition
 * farthest from the taker's own (spreads it evenly, leaving room for later takes), the lowest
 * index. Mutates `owner`; afterwards only members 0..s-1 own partitions.
 */
function balance(owner: Int32Array, s: number, targetN: number): void {
  new Balancer(owner, s, targetN).run();
}

/**
 * The state of step 1 and its moves. The bookkeeping is updated after each move rather than
 * recomputed (which would be quadratic). Takers only gain partitions, and givers only lose them
 * down to their target, so:
 * - `conflict[p]`: whether the owner of p is in violation there;
 * - `distances[t]`: per taker, the ring distance from each partition to the taker's nearest
 *   partition (it only shrinks);
 * - `orphans`: partitions of non-members not yet placed; `cleanTakers[p]`: for an orphan, how
 *   many takers could have it without a violation;
 * - `offered`: partitions on offer (of non-members or over-loaded members), ascending; taken
 *   ones are dropped lazily (`stale` counts them), so the scans get shorter as the moves go on.
 */
class Balancer {
  private readonly q: number;
  /** Partitions each member owns now. */
  private readonly count: Int32Array;
  /** Partitions each member should own: ⌊Q/S⌋ or ⌈Q/S⌉. */
  private readonly target: Int32Array;
  /** Members by how many partitions they own at the start, most first (ties: lower index). */
  private readonly byCount: number[];
  /** How far a move can change `conflict`: targetN-1 partitions either side. */
  private readonly reach: number;
  private readonly conflict: Uint8Array;
  private readonly distances: Int32Array[] = [];
  private orphans: number[];
  private readonly cleanTakers: Int32Array;
  private offered: number[];
  private stale = 0;

  /** @param owner mutated by {@link run}: members are 0..s-1, non-members negative (see `encode`). */
  constructor(
    private readonly owner: Int32Array,
    s: number,
    private readonly targetN: number,
  ) {
    const q = (this.q = owner.length);
    const count = (this.count = new Int32Array(s));
    for (const o of owner) if (o >= 0) count[o]! += 1;
    // The ⌈Q/S⌉ targets go to the members that own most already, so fewer partitions move.
    this.target = new Int32Array(s).fill(Math.floor(q / s));
    this.byCount = Array.from({ length: s }, (_, i) => i).sort((a, b) => count[b]! - count[a]! || a - b);
    for (const i of this.byCount.slice(0, q % s)) this.target[i]! += 1;
    this.reach = Math.min(targetN - 1, q - 1);
    this.conflict = Uint8Array.from(owner, (_, p) => Number(inViolation(owner, p, targetN)));
    this.orphans = [...owner.keys()].filter((p) => owner[p]! < 0);
    this.cleanTakers = new Int32Array(q);
    this.offered = [...owner.keys()].filter((p) => this.onOffer(p));
    for (const t of this.byCount.filter((i) => count[i]! < this.target[i]!)) {
      const dist = (this.distances[t] = distanceTo(owner, t));
      for (const p of this.orphans) this.cleanTakers[p]! += Number(dist[p]! >= targetN);
    }
  }

  /** Move partitions, one at a time, until every member has its target. */
  run(): void {
    for (;;) {
      const takers = this.takers();
      if (takers.length === 0) return;
      let [taker, p] = this.mostConstrainedOrphan(takers);
      if (p < 0) [taker, p] = this.neediestMove(takers);
      this.move(taker, p);
    }
  }

  /** Members under their target, neediest first (ties: lower index). */
  private takers(): number[] {
    const { count, target } = this;
    return this.byCount
      .filter((i) => count[i]! < target[i]!)
      .sort((a, b) => target[b]! - count[b]! - (target[a]! - count[a]!) || a - b);
  }

  /** Whether p may be taken: its owner is a non-member, or owns more than its target. */
  private onOffer(p: number): boolean {
    const o = this.owner[p]!;
    return o < 0 || this.count[o]! > this.target[o]!;
  }

  /** Give partition `p` to `taker` and bring the bookkeeping up to date. */
  private move(taker: number, p: number): void {
    const { owner, count } = this;
    if (owner[p]! >= 0) count[owner[p]!]! -= 1;
    owner[p] = taker;
    count[taker]! += 1;
    if (++this.stale * 2 > this.offered.length)
      [this.offered, this.stale] = [this.offered.filter((x) => this.onOffer(x)), 0];
    this.updateConflicts(p);
    this.updateDistances(taker, p);
    if (count[taker] === this.target[taker]) this.retireTaker(taker);
  }

  /** Only the owners within `reach` of p can have gained or lost a violation. */
  private updateConflicts(p: number): void {
    const { q, reach } = this;
    for (let d = -reach; d <= reach; d++) {
      const x = (p + d + q) % q;
      this.conflict[x] = Number(inViolation(this.owner, x, this.targetN));
    }
  }

  /**
   * `taker` now owns p: distances to it shrink outwards from p, in both directions, until they
   * are no longer shorter; orphans that come within targetN lose `taker` as a clean taker.
   */
  private updateDistances(taker: number, p: number): void {
    const { q, targetN, owner, cleanTakers } = this;
    const dist = this.distances[taker]!;
    for (const dir of [1, -1]) {
      for (let d = dir > 0 ? 0 : 1; d < q; d++) {
        const x = (p + dir * d + q) % q;
        if (dist[x]! <= d) break;
        if (d < targetN && dist[x]! >= targetN && owner[x]! < 0) cleanTakers[x]! -= 1;
        dist[x] = d;
      }
    }
  }

  /** `taker` reached its target: it takes no more, so no orphan counts it as a clean taker. */
  private retireTaker(taker: number): void {
    const dist = this.distances[taker]!;
    for (const x of this.orphans) if (this.owner[x]! < 0 && dist[x]! >= this.targetN) this.cleanTakers[x]! -= 1;
  }

  /**
   * [neediest clean taker, orphan] for the orphan with fewest takers that can have it cleanly,
   * or [-1, -1] if no orphan can be placed cleanly.
   */
  private mostConstrainedOrphan(takers: readonly number[]): [number, number] {
    const { owner, cleanTakers } = this;
    this.orphans = this.orphans.filter((p) => owner[p]! < 0);
    let best = -1;
    for (const p of this.orphans) {
      if (cleanTakers[p]! > 0 && (best < 0 || cleanTakers[p]! < cleanTakers[best]!)) best = p;
    }
    if (best < 0) return [-1, -1];
    return [takers.find((t) => this.distances[t]![best]! >= this.targetN)!, best];
  }

  /**
   * [taker, partition] for the neediest taker that can move cleanly, else for the neediest
   * taker's least-bad move (target_n is impossible, or steps 2-3 will fix it).
   */
  private neediestMove(takers: readonly number[]): [number, number] {
    // With no over-loaded member left only orphans are on offer, and none of them can be
    // placed cleanly (see mostConstrainedOrphan): skip the scans that would find nothing.
    const anyOverloaded = this.byCount.some((i) => this.count[i]! > this.target[i]!);
    for (const t of anyOverloaded ? takers : []) {
      const p = this.bestPartitionFor(t);
      if (this.distances[t]![p]! >= this.targetN) return [t, p];
    }
    return [takers[0]!, this.bestPartitionFor(takers[0]!)];
  }

  /** The partition `taker` should take next, by the preferences of step 1 (see `balance`). */
  private bestPartitionFor(taker: number): number {
    const { q, owner, count, target, conflict, targetN } = this;
    const dist = this.distances[taker]!;
    let best = -1;
    let bestClean = false;
    let bestExcess = 0;
    let bestConflict = 0;
    let bestDist = 0;
    for (const p of this.offered) {
      const from = owner[p]!;
      const excess = from < 0 ? q : count[from]! - target[from]!;
      if (excess <= 0) continue; // taken already, or its owner is down to its target
      const d = dist[p]!;
      const clean = d >= targetN;
      if (best >= 0) {
        if (clean !== bestClean) {
          if (!clean) continue;
        } else if (excess !== bestExcess) {
          if (excess < bestExcess) continue;
        } else if (conflict[p] !== bestConflict) {
          if (conflict[p]! < bestConflict) continue;
        } else if (d <= bestDist) continue;
      }
      best = p;
      bestClean = clean;
      bestExcess = excess;
      bestConflict = conflict[p]!;
      bestDist = d;
    }
    return best;
  }
}

/** For each partition, the ring distance to the nearest partition owned by `node` (Q if none). */
function distanceTo(owner: Int32Array, node: number): Int32Array {
  const q = owner.length;
  const dist = new Int32Array(q).fill(q);
  // sweep twice round the ring in each direction, so distances wrap
  for (let i = 0, last = -q; i < 2 * q; i++) {
    if (owner[i % q] === node) last = i;
    dist[i % q] = Math.min(dist[i % q]!, i - last);
  }
  for (let i = 2 * q - 1, last = 3 * q; i >= 0; i--) {
    if (owner[i % q] === node) last = i;
    dist[i % q] = Math.min(dist[i % q]!, last - i);
  }
  return dist;
}

/**
 * Step 2 (riak has no such step; claim_v2 goes straight to `claim_rebalance_n/2`): clear the
 * violations of a balanced ring by swapping the owners of two partitions, which keeps it
 * balanced. A swap is made only if neither partition is in violation afterwards, so each one
 * clears at least one violation and creates none. Among such swaps, the one adding fewest moves
 * relative to `original` wins (ties: lowest index). Returns whether all violations are gone.
 * Mutates `owner`, in which only members 0..s-1 may appear.
 */
function repair(owner: Int32Array, original: Int32Array, s: number, targetN: number): boolean {
  const q = owner.length;
  const reach = Math.min(targetN - 1, q - 1);
  const moved = (p: number, node: number) => Number(original[p] !== node);
  const nearP = new Uint8Array(s); // nodes owning a partition within reach of p
  // Rings that can be repaired are in a pass or three; one still dirty after that is better
  // re-striped than ground through at O(violations × Q) per pass.
  for (let pass = 0, progress = true; progress && pass < 3; pass++) {
    progress = false;
    let clean = true;
    for (let p = 0; p < q; p++) {
      if (!inViolation(owner, p, targetN)) continue;
      const a = owner[p]!;
      nearP.fill(0);
      for (let d = 1; d <= reach; d++) nearP[owner[(p + d) % q]!] = nearP[owner[(p - d + q) % q]!] = 1;
      let best = -1;
      let bestCost = Infinity;
      for (let x = 0; x < q; x++) {
        const b = owner[x]!;
        // b must not land next to another b (x itself is fine: it becomes a), nor a next to an a
        if (b === a || (nearP[b] && ringDistance(p, x, q) > reach)) continue;
        const cost = moved(p, b) + moved(x, a) - moved(p, a) - moved(x, b);
        if (cost >= bestCost) continue;
        if (nearby(owner, b, p, x, targetN) || nearby(owner, a, x, p, targetN)) continue;
        best = x;
        bestCost = cost;
      }
      if (best < 0) {
        clean = false;
        continue;
      }
      owner[p] = owner[best]!;
      owner[best] = a;
      progress = true;
    }
    if (clean) return true;
  }
  return false;
}

function ringDistance(a: number, b: number, q: number): number {
  const d = Math.abs(a - b);
  return Math.min(d, q - d);
}

/**
 * Step 3 (riak: `riak_core_claim:claim_rebalance_n/2`, which stripes nodes round-robin; plain
 * round-robin breaks at the wrap-around when S does not divide Q, so this stripes in blocks).
 *
 * Let k = ⌈Q/S⌉ and F = Q - S(k-1): F "full" slots own k partitions, the other S-F "partial"
 * slots own k-1. The ring is k blocks, each made of the F full slots in order followed by the
 * next stretch of an endless round-robin of the partial slots; blocks are ⌊Q/k⌋ or ⌈Q/k⌉ long.
 * Why this meets target_n whenever `targetNPossible`:
 * - a full slot recurs exactly one block later, and every block is >= ⌊Q/k⌋ >= targetN long
 *   (as k·targetN <= Q);
 * - consecutive occurrences of a partial slot are S-F apart in the round-robin and, as a block
 *   holds at most S-F partial slots, at least one block's F full slots lie between them:
 *   S >= targetN apart. The round-robin has (k-1)(S-F) entries, so it also closes cleanly.
 * Block lengths fit (F <= length <= S) because F·k <= Q <= S·k.
 *
 * Any rotation and any slot -> member relabelling keep both properties, so take the ones that
 * leave most partitions with their current owner: every rotation, with a greedy relabelling
 * (ties to the lowest rotation, slot and member index, so the result is deterministic).
 */
function restripe(original: Int32Array, s: number): Int32Array {
  const q = original.length;
  const pattern = stripePattern(q, s);
  const twice = Int32Array.from({ length: 2 * q }, (_, i) => pattern[i % q]!); // rotate without %
  const match = greedyMatcher(s, Math.ceil(q / s));
  const overlap = new Int32Array(s * s); // overlap[slot * s + member]
  let bestKept = -1;
  let bestRotation = 0;
  let bestSlotToMember: Int32Array = new Int32Array(s);
  for (let r = 0; r < q; r++) {
    overlap.fill(0);
    for (let p = 0; p < q; p++) {
      const m = original[p]!;
      if (m >= 0) overlap[twice[p + r]! * s + m]! += 1;
    }
    const kept = match(overlap);
    if (kept > bestKept) {
      bestKept = kept;
      bestRotation = r;
      bestSlotToMember = match.slotToMember.slice();
    }
  }
  return Int32Array.from({ length: q }, (_, p) => bestSlotToMember[twice[p + bestRotation]!]!);
}

/** Slot (0..s-1) of each partition in the block stripe described at `restripe`. */
function stripePattern(q: number, s: number): number[] {
  const k = Math.ceil(q / s);
  const full = q - s * (k - 1);
  const partial = s - full;
  const pattern: number[] = [];
  let next = 0; // position in the round-robin of partial slots
  for (let block = 0; block < k; block++) {
    const length = Math.floor(q / k) + (block < q % k ? 1 : 0);
    for (let f = 0; f < full; f++) pattern.push(f);
    for (let i = full; i < length; i++) pattern.push(full + (next++ % partial));
  }
  return pattern;
}

/**
 * A greedy slot -> member assignment, largest overlap first (ties: lowest slot, then member).
 * `match(overlap)` returns the total overlap kept and leaves the assignment in `slotToMember`.
 * Overlaps are at most `maxOverlap`, so a counting sort orders the pairs; buffers are reused,
 * as this runs once per rotation.
 */
function greedyMatcher(
  s: number,
  maxOverlap: number,
): ((overlap: Int32Array) => number) & { slotToMember: Int32Array } {
  const slotToMember = new Int32Array(s);
  const memberTaken = new Uint8Array(s);
  const start = new Int32Array(maxOverlap + 2);
  const order = new Int32Array(s * s);
  const match = (overlap: Int32Array): number => {
    // stable counting sort of the pair indices by descending overlap
    start.fill(0);
    for (let i = 0; i < s * s; i++) start[maxOverlap - overlap[i]! + 1]! += 1;
    for (let v = 1; v < start.length; v++) start[v]! += start[v - 1]!;
    for (let i = 0; i < s * s; i++) order[start[maxOverlap - overlap[i]!]!++] = i;
    slotToMember.fill(-1);
    memberTaken.fill(0);
    let kept = 0;
    for (let j = 0, assigned = 0; assigned < s; j++) {
      const i = order[j]!;
      const slot = (i / s) | 0;
      const member = i - slot * s;
      if (slotToMember[slot] !== -1 || memberTaken[member]) continue;
      slotToMember[slot] = member;
      memberTaken[member] = 1;
      kept += overlap[i]!;
      assigned++;
    }
    return kept;
  };
  return Object.assign(match, { slotToMember });
}

/**
 * Step 4 (riak has no such step): undo needless moves left by steps 2 and 3. If partition p
 * moved away from its original owner o, and a partition x that o gained can go to p's new owner
 * instead, swap them: p is back home, balance is unchanged, and the swap is made only if neither
 * node lands within reach of another of its partitions, so target_n still holds.
 * Mutates `owner`.
 */
function pullBack(owner: Int32Array, original: Int32Array, targetN: number): void {
  const q = owner.length;
  for (let progress = true; progress; ) {
    progress = false;
    // only a swap with a moved partition that o now owns can save anything
    const gained = new Map<number, number[]>(); // node -> moved partitions it now owns
    for (let p = 0; p < q; p++) {
      if (owner[p] === original[p]) continue;
      const list = gained.get(owner[p]!);
      if (list) list.push(p);
      else gained.set(owner[p]!, [p]);
    }
    for (let p = 0; p < q; p++) {
      const o = original[p]!;
      const b = owner[p]!;
      if (o < 0 || b === o) continue; // non-members never come back; p may be home already
      // o can come back to p only if its one partition within reach of p, if any, is the x
      const near = neighboursOwnedBy(owner, o, p, targetN);
      if (near.length > 1) continue;
      let best = -1;
      let bestSaved = 0;
      for (const x of near.length === 1 ? near : (gained.get(o) ?? [])) {
        if (owner[x] !== o || original[x] === o) continue; // x must be a partition o gained
        const saved = original[x] === b ? 2 : 1; // x may even go home too
        if (saved <= bestSaved || nearby(owner, b, x, p, targetN)) continue;
        best = x;
        bestSaved = saved;
      }
      if (best < 0) continue;
      owner[p] = o;
      owner[best] = b;
      progress = true;
    }
  }
}

/** Partitions within targetN-1 of p (either side, p excluded) owned by `node`. */
function neighboursOwnedBy(owner: Int32Array, node: number, p: number, targetN: number): number[] {
  const q = owner.length;
  const out = new Set<number>();
  for (let d = 1; d < targetN && d < q; d++) {
    if (owner[(p + d) % q] === node) out.add((p + d) % q);
    if (owner[(p - d + q) % q] === node) out.add((p - d + q) % q);
  }
  return [...out];
}
