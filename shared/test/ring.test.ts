import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { claim } from '../claim.js';
import { testSeed } from '../harness/seed.js';
import {
  bump,
  fresh,
  isReady,
  looksLikeRing,
  markSeen,
  members,
  notSeenBy,
  reconcile,
  sameRing,
  setMember,
  type MemberStatus,
  type Ring,
} from '../ring.js';
import * as vc from '../vclock.js';
import type { VClock } from '../vclock.js';

const seed = testSeed('ring properties');

const STATUSES: readonly MemberStatus[] = ['joining', 'valid', 'leaving', 'exiting', 'down', 'invalid'];
/** riak_core_ring:merge_status/2, strongest first. */
const PRECEDENCE: readonly MemberStatus[] = ['invalid', 'down', 'joining', 'valid', 'exiting', 'leaving'];

/** A ring of claimant `a` with the given extra members (set by `a`), owners claimed over the valid ones, bumped once. */
function cluster(q: number, extra: Record<string, MemberStatus>): Ring {
  let r = fresh(q, 'a', 'a:1');
  for (const [node, status] of Object.entries(extra)) r = setMember(r, 'a', node, status, `${node}:1`);
  r = { ...r, owners: claim(r.owners, members(r, ['valid'])) };
  return bump(r, 'a');
}

/** Everyone who must see the ring has seen it. */
function seenByAll(r: Ring): Ring {
  return members(r).reduce((acc, n) => markSeen(acc, n), r);
}

// ---------------------------------------------------------------------------------------------

describe('vclock', () => {
  it('increment adds an actor at 1 and bumps an existing one, without touching the input', () => {
    const a: VClock = {};
    const b = vc.increment(a, 'x');
    expect(b).toEqual({ x: 1 });
    expect(a).toEqual({});
    expect(vc.increment(vc.increment(b, 'y'), 'x')).toEqual({ x: 2, y: 1 });
  });

  it('descends / equal / concurrent on small cases', () => {
    expect(vc.descends({}, {})).toBe(true);
    expect(vc.descends({ a: 1 }, {})).toBe(true);
    expect(vc.descends({}, { a: 1 })).toBe(false);
    expect(vc.descends({ a: 2, b: 1 }, { a: 1, b: 1 })).toBe(true);
    expect(vc.descends({ a: 1, b: 1 }, { a: 2 })).toBe(false);
    expect(vc.equal({ a: 1, b: 2 }, { b: 2, a: 1 })).toBe(true);
    expect(vc.equal({ a: 1 }, { a: 1, b: 1 })).toBe(false);
    expect(vc.concurrent({ a: 1 }, { b: 1 })).toBe(true);
    expect(vc.concurrent({ a: 2, b: 1 }, { a: 1, b: 2 })).toBe(true);
    expect(vc.concurrent({ a: 2 }, { a: 1 })).toBe(false);
    expect(vc.concurrent({ a: 1 }, { a: 1 })).toBe(false);
  });

  it('merge is the pointwise maximum', () => {
    expect(vc.merge({ a: 3, b: 1 }, { b: 2, c: 1 })).toEqual({ a: 3, b: 2, c: 1 });
    expect(vc.merge({}, { a: 1 })).toEqual({ a: 1 });
  });

  it('laws: merge is an upper bound, commutative, idempotent; descends is a partial order', () => {
    const clock = fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd'), fc.integer({ min: 1, max: 4 }));
    fc.assert(
      fc.property(clock, clock, clock, (x, y, z) => {
        const m = vc.merge(x, y);
        expect(vc.descends(m, x) && vc.descends(m, y)).toBe(true);
        expect(vc.equal(m, vc.merge(y, x))).toBe(true);
        expect(vc.equal(vc.merge(m, z), vc.merge(x, vc.merge(y, z)))).toBe(true);
        expect(vc.equal(vc.merge(x, x), x)).toBe(true);
        expect(vc.descends(x, x)).toBe(true);
        if (vc.descends(x, y) && vc.descends(y, z)) expect(vc.descends(x, z)).toBe(true);
        // exactly one of: equal, x strictly newer, y strictly newer, concurrent
        const xy = vc.descends(x, y);
        const yx = vc.descends(y, x);
        expect(vc.equal(x, y)).toBe(xy && yx);
        expect(vc.concurrent(x, y)).toBe(!xy && !yx);
        // every actor's counter in the increment is exactly one higher
        const inc = vc.increment(x, 'b');
        expect(inc.b).toBe((x.b ?? 0) + 1);
        expect(vc.descends(inc, x) && !vc.descends(x, inc)).toBe(true);
      }),
      { seed, numRuns: 300 },
    );
  });
});

describe('fresh', () => {
  it('has one valid member that is the claimant, owns every partition, and is ready', () => {
    for (const q of [8, 64, 1024]) {
      const r = fresh(q, 'n1', '127.0.0.1:1', 'mycluster');
      expect(r.ringSize).toBe(q);
      expect(r.clusterName).toBe('mycluster');
      expect(r.owners).toHaveLength(q);
      expect(r.owners.every((o) => o === 'n1')).toBe(true);
      expect(Object.keys(r.members)).toEqual(['n1']);
      expect(r.members.n1?.status).toBe('valid');
      expect(r.members.n1?.addr).toBe('127.0.0.1:1');
      expect(members(r)).toEqual(['n1']);
      expect(r.claimant).toBe('n1');
      expect(r.next).toEqual([]);
      expect(isReady(r)).toBe(true);
      expect(notSeenBy(r)).toEqual([]);
      expect(looksLikeRing(r)).toBe(true);
    }
    // each fresh ring starts its own lineage
    expect(fresh(8, 'n1', 'x').clusterId).not.toBe(fresh(8, 'n1', 'x').clusterId);
    expect(fresh(8, 'n1', 'x').clusterName).toBe('default');
  });
});

describe('isReady', () => {
  it('after a bump, waits for every valid, leaving and exiting member; joining, down and invalid do not count', () => {
    const r = cluster(16, { b: 'valid', c: 'leaving', d: 'exiting', e: 'joining', f: 'invalid', g: 'down' });
    expect(isReady(r)).toBe(false);
    expect(notSeenBy(r)).toEqual(['b', 'c', 'd']);
    let s = markSeen(markSeen(markSeen(r, 'e'), 'f'), 'g');
    expect(isReady(s)).toBe(false);
    s = markSeen(s, 'b');
    s = markSeen(s, 'd');
    expect(isReady(s)).toBe(false);
    expect(notSeenBy(s)).toEqual(['c']);
    s = markSeen(s, 'c');
    expect(isReady(s)).toBe(true);
    // markSeen is idempotent and does not bump
    expect(markSeen(s, 'c')).toBe(s);
    expect(vc.equal(s.vclock, r.vclock)).toBe(true);
    // the next bump makes it unready again, for everyone but the actor
    const t = bump(s, 'a');
    expect(isReady(t)).toBe(false);
    expect(notSeenBy(t)).toEqual(['b', 'c', 'd']);
  });

  it('property: ready iff every valid/leaving/exiting member has marked the current version', () => {
    const names = ['b', 'c', 'd', 'e', 'f'];
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...STATUSES), { minLength: names.length, maxLength: names.length }),
        fc.subarray(['a', ...names]),
        (statuses, marks) => {
          const extra = Object.fromEntries(names.map((n, i) => [n, statuses[i] as MemberStatus]));
          let r = bump(cluster(8, extra), 'a');
          // seen by an old version does not count
          r = { ...r, seen: { ...r.seen, b: { a: 1 } } };
          for (const m of marks) r = markSeen(r, m);
          const mustSee = ['a', ...names].filter((n) =>
            ['valid', 'leaving', 'exiting'].includes(r.members[n]?.status ?? 'invalid'),
          );
          const missing = mustSee.filter((n) => !marks.includes(n) && n !== 'a');
          expect(isReady(r)).toBe(missing.length === 0);
          expect(notSeenBy(r)).toEqual(missing.sort());
        },
      ),
      { seed, numRuns: 200 },
    );
  });
});

describe('reconcile', () => {
  const base = seenByAll(cluster(16, { b: 'valid', c: 'valid', d: 'valid' }));

  it('the descendant wins, whichever side it is on', () => {
    const newer = bump(setMember(base, 'a', 'e', 'joining', 'e:1'), 'a');

    // theirs is newer: adopt it, changed
    const r1 = reconcile(base, newer, 'b');
    expect(r1.changed).toBe(true);
    expect(vc.equal(r1.ring.vclock, newer.vclock)).toBe(true);
    expect(r1.ring.members).toEqual(newer.members);
    expect(r1.ring.owners).toEqual(newer.owners);
    expect(r1.ring.seen.b).toEqual(newer.vclock); // self marks it seen
    expect(r1.ring.seen.c).toEqual(base.vclock); // seen entries from the older ring are kept

    // mine is newer: keep it; nothing new in theirs' seen table, so not changed
    const r2 = reconcile(newer, base, 'a');
    expect(r2.changed).toBe(false);
    expect(sameRing(r2.ring, newer)).toBe(true);
    expect(r2.ring.members).toEqual(newer.members);

    // mine is newer but theirs knows a newer seen entry: changed (only the seen table)
    const newerSeenByC = markSeen(newer, 'c');
    const r3 = reconcile(newer, newerSeenByC, 'a');
    expect(r3.changed).toBe(true);
    expect(r3.ring.seen.c).toEqual(newer.vclock);
    expect(vc.equal(r3.ring.vclock, newer.vclock)).toBe(true);

    // seen entries only the older side knows are kept when adopting the newer ring
    const unseen = cluster(16, { b: 'valid', c: 'valid' });
    const unseenNewer = bump(setMember(unseen, 'a', 'e', 'joining'), 'a');
    const r5 = reconcile(markSeen(unseen, 'c'), unseenNewer, 'b');
    expect(r5.changed).toBe(true);
    expect(unseenNewer.seen.c).toBeUndefined();
    expect(r5.ring.seen.c).toEqual(unseen.vclock);
    expect(r5.ring.seen.b).toEqual(unseenNewer.vclock);

    // a stale ring never rolls a newer one back
    const r4 = reconcile(newerSeenByC, base, 'c');
    expect(r4.changed).toBe(false);
    expect(r4.ring.seen.c).toEqual(newer.vclock);
  });

  it('equal versions: keep ours, merge who has seen what', () => {
    const v = bump(base, 'a');
    const seenByB = markSeen(v, 'b');
    const seenByC = markSeen(v, 'c');
    const r = reconcile(seenByB, seenByC, 'b');
    expect(r.changed).toBe(true);
    expect(vc.equal(r.ring.vclock, v.vclock)).toBe(true);
    expect(r.ring.seen.b).toEqual(v.vclock);
    expect(r.ring.seen.c).toEqual(v.vclock);
    expect(r.ring.seen.a).toEqual(v.vclock);
    expect(notSeenBy(r.ring)).toEqual(['d']);
    // nothing new the second time
    expect(reconcile(r.ring, seenByC, 'b').changed).toBe(false);
    const d = reconcile(r.ring, markSeen(v, 'd'), 'b');
    expect(d.changed).toBe(true);
    expect(isReady(d.ring)).toBe(true);
  });

  describe('divergent rings (same base, bumped by two actors)', () => {
    // side A (actor a): c starts leaving, e joins (only on this side), d -> exiting
    const sideA = bump(
      setMember(setMember(setMember(base, 'a', 'c', 'leaving'), 'a', 'e', 'joining', 'e:1'), 'a', 'd', 'exiting'),
      'a',
    );
    // side B (actor b): b leaves (only on this side), d -> down (concurrent with A's change)
    const sideB = bump(setMember(setMember(base, 'b', 'b', 'leaving'), 'b', 'd', 'down'), 'b');

    it('are concurrent', () => {
      expect(vc.concurrent(sideA.vclock, sideB.vclock)).toBe(true);
    });

    it('merge members by member clock, and produce a version that descends both', () => {
      for (const [mine, theirs, self] of [
        [sideA, sideB, 'a'],
        [sideB, sideA, 'b'],
        [sideA, sideB, 'c'],
      ] as const) {
        const { ring, changed } = reconcile(mine, theirs, self);
        expect(changed).toBe(true);
        // changed on one side only: that side's entry
        expect(ring.members.c).toEqual(sideA.members.c);
        expect(ring.members.e).toEqual(sideA.members.e);
        expect(ring.members.b).toEqual(sideB.members.b);
        // untouched on both sides
        expect(ring.members.a).toEqual(base.members.a);
        // concurrent: down beats exiting, clocks merged
        expect(ring.members.d?.status).toBe('down');
        expect(ring.members.d?.vclock).toEqual(vc.merge(sideA.members.d!.vclock, sideB.members.d!.vclock));
        // the new version descends both and is strictly newer than either
        expect(vc.descends(ring.vclock, sideA.vclock)).toBe(true);
        expect(vc.descends(ring.vclock, sideB.vclock)).toBe(true);
        expect(vc.equal(ring.vclock, sideA.vclock) || vc.equal(ring.vclock, sideB.vclock)).toBe(false);
        expect(ring.seen[self]).toEqual(ring.vclock);
        // and both sides then accept it as a descendant
        expect(vc.descends(reconcile(sideA, ring, 'a').ring.vclock, ring.vclock)).toBe(true);
      }
    });

    it('two nodes reconciling in opposite orders agree on owners, members and claimant', () => {
      const x = reconcile(sideA, sideB, 'a').ring;
      const y = reconcile(sideB, sideA, 'b').ring;
      expect(y.owners).toEqual(x.owners);
      expect(y.members).toEqual(x.members);
      expect(y.claimant).toBe(x.claimant);
      expect(y.next).toEqual(x.next);
      // then one more exchange each way converges completely
      const x2 = reconcile(x, y, 'a').ring;
      const y2 = reconcile(y, x2, 'b').ring;
      expect(vc.equal(x2.vclock, y2.vclock)).toBe(true);
      expect(y2.members).toEqual(x2.members);
    });

    it('the newer claimant decisions (rvsn) win ownership and claimant, both ways, however many other changes the other side made', () => {
      // side A moves partition 0 and hands the claimant role to c: a claimant decision (rvsn bumped)
      const owners = [...base.owners];
      owners[0] = 'd';
      const decided = bump({ ...base, owners, claimant: 'c', rvsn: vc.increment(base.rvsn, 'a') }, 'a');
      // side B makes many member-only changes: a heavier clock, but no claimant decision
      let busy = base;
      for (let i = 0; i < 6; i++) busy = bump(setMember(busy, 'b', 'e', i % 2 ? 'valid' : 'joining', 'e:1'), 'b');
      expect(Object.values(busy.vclock).reduce((x, y) => x + y)).toBeGreaterThan(
        Object.values(decided.vclock).reduce((x, y) => x + y),
      );
      for (const [mine, theirs, self] of [
        [decided, busy, 'a'],
        [busy, decided, 'b'],
      ] as const) {
        const { ring } = reconcile(mine, theirs, self);
        expect(ring.owners).toEqual(owners);
        expect(ring.claimant).toBe('c');
        expect(ring.members.e?.status).toBe('valid'); // B's member changes are kept
        expect(vc.descends(ring.rvsn, decided.rvsn)).toBe(true);
      }
    });

    it('diverged claimant decisions: the ring whose claimant is still valid wins (a claimant took over from one marked down)', () => {
      // b marks the claimant a down and takes over (riak: maybe_update_claimant)
      const takeover = bump(
        { ...setMember(base, 'b', 'a', 'down'), claimant: 'b', rvsn: vc.increment(base.rvsn, 'b') },
        'b',
      );
      // meanwhile a, cut off but alive, moved a partition as claimant
      const owners = [...base.owners];
      owners[1] = 'c';
      const stale = bump({ ...base, owners, rvsn: vc.increment(base.rvsn, 'a') }, 'a');
      expect(vc.concurrent(takeover.rvsn, stale.rvsn)).toBe(true);
      for (const [mine, theirs, self] of [
        [takeover, stale, 'b'],
        [stale, takeover, 'a'],
        [stale, takeover, 'c'],
      ] as const) {
        const { ring } = reconcile(mine, theirs, self);
        expect(ring.claimant, `merged at ${self}`).toBe('b');
        expect(ring.owners).toEqual(base.owners);
        expect(ring.members.a?.status).toBe('down');
      }
      // both claimants valid (or neither): the smaller name, both ways
      const byC = bump({ ...base, claimant: 'c', rvsn: vc.increment(base.rvsn, 'c') }, 'c');
      expect(reconcile(stale, byC, 'd').ring.claimant).toBe('a');
      expect(reconcile(byC, stale, 'd').ring.claimant).toBe('a');
    });

    it('divergent versions with equal contents merge clocks without a new version, so crossing gossip settles (riak: equal_cstate)', () => {
      // two nodes merged the same pair of divergent rings, each bumping with its own name
      const atA = reconcile(sideA, sideB, 'a').ring;
      const atB = reconcile(sideB, sideA, 'b').ring;
      expect(vc.concurrent(atA.vclock, atB.vclock)).toBe(true);
      const x = reconcile(atA, atB, 'a');
      const y = reconcile(atB, atA, 'b');
      // no new version: the merge of the two, which both then hold
      expect(x.ring.vclock).toEqual(vc.merge(atA.vclock, atB.vclock));
      expect(y.ring.vclock).toEqual(x.ring.vclock);
      // and the next exchange changes nothing: settled
      const x2 = reconcile(x.ring, y.ring, 'a');
      const y2 = reconcile(y.ring, x2.ring, 'b');
      expect(reconcile(x2.ring, y2.ring, 'a').changed).toBe(false);
      expect(reconcile(y2.ring, x2.ring, 'b').changed).toBe(false);
      // two nodes that marked the same member down concurrently: same status, merged clocks
      const downByB = bump(setMember(base, 'b', 'd', 'down'), 'b');
      const downByC = bump(setMember(base, 'c', 'd', 'down'), 'c');
      const m1 = reconcile(downByB, downByC, 'b').ring;
      const m2 = reconcile(downByC, downByB, 'c').ring;
      const m3 = reconcile(m1, m2, 'b');
      expect(m3.ring.vclock).toEqual(vc.merge(m1.vclock, m2.vclock));
      expect(reconcile(m2, m3.ring, 'c').ring.vclock).toEqual(m3.ring.vclock);
    });

    it('who-has-seen-what merges pointwise: both orders give the same table', () => {
      const v1 = bump(base, 'a');
      const v2 = bump(v1, 'a');
      // c saw v2 on one side, a concurrent version on the other
      const other = bump(v1, 'b');
      const left = { ...markSeen(v2, 'c'), seen: { ...v2.seen, c: v2.vclock, d: other.vclock } };
      const right = { ...v2, seen: { ...v2.seen, c: other.vclock, d: v1.vclock } };
      const l = reconcile(left, right, 'x').ring.seen;
      const r = reconcile(right, left, 'x').ring.seen;
      expect(l).toEqual(r);
      expect(l.c).toEqual(vc.merge(v2.vclock, other.vclock));
      expect(l.d).toEqual(other.vclock);
    });

    it('concurrent member changes merge by precedence invalid > down > joining > valid > exiting > leaving', () => {
      for (const s1 of STATUSES) {
        for (const s2 of STATUSES) {
          const ra = bump(setMember(base, 'a', 'd', s1), 'a');
          const rb = bump(setMember(base, 'b', 'd', s2), 'b');
          const want = PRECEDENCE[Math.min(PRECEDENCE.indexOf(s1), PRECEDENCE.indexOf(s2))];
          expect(reconcile(ra, rb, 'a').ring.members.d?.status, `${s1} vs ${s2}`).toBe(want);
          expect(reconcile(rb, ra, 'b').ring.members.d?.status, `${s2} vs ${s1}`).toBe(want);
        }
      }
    });
  });

  // BUG (ring.ts reconcile): the divergent-case winner is chosen by total count, ties by claimant
  // name. When both the counts and the claimant are equal (same claimant, both sides bumped
  // once, e.g. the claimant changed ownership while another node bumped its own entry) the tie
  // is not broken: `mine` always wins, so the two nodes keep different owners. The doc promises
  // "every node picks the same winner". Proposed fix: a total tie-break on the (necessarily
  // different) version clocks, e.g. compare a canonical form such as
  // JSON.stringify(Object.entries(r.vclock).sort()) after weight and claimant.
  it('divergent rings with equal weight and the same claimant still pick one winner (determinism)', () => {
    const owners = [...base.owners];
    [owners[0], owners[1]] = [owners[1] as string, owners[0] as string];
    const byClaimant = bump({ ...base, owners }, 'a'); // claimant a swaps two partitions
    const byB = bump(setMember(base, 'b', 'b', 'leaving'), 'b'); // b changes its own entry
    expect(vc.concurrent(byClaimant.vclock, byB.vclock)).toBe(true);
    const atA = reconcile(byClaimant, byB, 'a').ring;
    const atB = reconcile(byB, byClaimant, 'b').ring;
    expect(atB.members).toEqual(atA.members);
    expect(atB.owners).toEqual(atA.owners);
  });
});

// ---------------------------------------------------------------------------------------------
// Convergence: random changes and gossip among replicas, then exchange until quiet.

type Op =
  | { kind: 'member'; node: string; status: MemberStatus; reclaim: boolean }
  | { kind: 'self'; replica: number; status: MemberStatus }
  | { kind: 'gossip'; from: number; to: number };

describe('every ring change converges on all nodes', () => {
  it('property: after random changes and exchanges, an all-to-all exchange leaves identical rings', () => {
    const NODES = ['a', 'b', 'c', 'd'];
    const replicaArb = fc.integer({ min: 0, max: NODES.length - 1 });
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      {
        weight: 3,
        arbitrary: fc.record({
          kind: fc.constant('member' as const),
          node: fc.constantFrom(...NODES),
          status: fc.constantFrom(...STATUSES),
          reclaim: fc.boolean(),
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          kind: fc.constant('self' as const),
          replica: fc.integer({ min: 1, max: NODES.length - 1 }),
          status: fc.constantFrom(...STATUSES),
        }),
      },
      { weight: 6, arbitrary: fc.record({ kind: fc.constant('gossip' as const), from: replicaArb, to: replicaArb }) },
    );
    let divergent = 0; // exchanges of concurrent versions, so the property is not vacuous
    fc.assert(
      fc.property(
        fc.array(opArb, { maxLength: 40 }),
        fc.integer({ min: 3, max: 5 }).map((e) => 2 ** e),
        (ops, q) => {
          const start = seenByAll(cluster(q, { b: 'valid', c: 'valid', d: 'valid' }));
          const replicas: Ring[] = NODES.map(() => start);
          // every ring version and member clock ever made, to check nothing is lost
          const versions: VClock[] = [start.vclock];
          const memberClocks: Array<[string, VClock]> = [];
          const record = (r: Ring) => {
            versions.push(r.vclock);
            for (const [n, m] of Object.entries(r.members)) memberClocks.push([n, m.vclock]);
          };

          for (const op of ops) {
            if (op.kind === 'member') {
              // the claimant (node a, replica 0) changes a member and maybe re-claims, then bumps
              let r = setMember(replicas[0] as Ring, 'a', op.node, op.status);
              if (op.reclaim) {
                const valid = members(r, ['valid']);
                // a claimant decision: the claimant version moves too (as Claimant.write does)
                if (valid.length > 0) r = { ...r, owners: claim(r.owners, valid), rvsn: vc.increment(r.rvsn, 'a') };
              }
              replicas[0] = bump(r, 'a');
              record(replicas[0]);
            } else if (op.kind === 'self') {
              // a non-claimant changes its own entry in its own ring: the versions diverge
              const name = NODES[op.replica] as string;
              replicas[op.replica] = bump(setMember(replicas[op.replica] as Ring, name, name, op.status), name);
              record(replicas[op.replica] as Ring);
            } else if (op.from !== op.to) {
              if (vc.concurrent((replicas[op.to] as Ring).vclock, (replicas[op.from] as Ring).vclock)) divergent++;
              const res = reconcile(replicas[op.to] as Ring, replicas[op.from] as Ring, NODES[op.to] as string);
              replicas[op.to] = res.ring;
              record(res.ring);
            }
          }

          let rounds = 0;
          for (let changed = true; changed; rounds++) {
            expect(rounds, 'all-to-all exchange did not settle').toBeLessThan(10);
            changed = false;
            for (let to = 0; to < NODES.length; to++) {
              for (let from = 0; from < NODES.length; from++) {
                if (from === to) continue;
                if (vc.concurrent((replicas[to] as Ring).vclock, (replicas[from] as Ring).vclock)) divergent++;
                const res = reconcile(replicas[to] as Ring, replicas[from] as Ring, NODES[to] as string);
                if (res.changed) {
                  changed = true;
                  replicas[to] = res.ring;
                } else {
                  // not changed means nothing to gossip: same version and seen table
                  expect(sameRing(res.ring, replicas[to] as Ring)).toBe(true);
                }
              }
            }
          }

          const first = replicas[0] as Ring;
          for (const r of replicas) {
            expect(vc.equal(r.vclock, first.vclock)).toBe(true);
            expect(r.members).toEqual(first.members);
            expect(r.owners).toEqual(first.owners);
            expect(r.claimant).toBe(first.claimant);
            expect(r.next).toEqual(first.next);
            expect(sameRing(r, first)).toBe(true);
          }
          // nothing is lost: the final version descends every version ever made, and each member's
          // final clock descends every clock that member ever had
          for (const v of versions) expect(vc.descends(first.vclock, v)).toBe(true);
          for (const [n, clock] of memberClocks) expect(vc.descends(first.members[n]?.vclock ?? {}, clock)).toBe(true);
          // every replica marked itself as having seen the final version
          for (const n of NODES) expect(first.seen[n]).toEqual(first.vclock);
          // so the ring is ready as far as these replicas are concerned
          expect(isReady(first)).toBe(true);
        },
      ),
      { seed, numRuns: 150 },
    );
    expect(divergent).toBeGreaterThan(20);
  });
});

// ---------------------------------------------------------------------------------------------

describe('looksLikeRing', () => {
  const good = cluster(8, { b: 'valid' });

  it('accepts a fresh ring and a ring with members, and survives a JSON round trip', () => {
    expect(looksLikeRing(fresh(8, 'n1', '127.0.0.1:8101'))).toBe(true);
    expect(looksLikeRing(good)).toBe(true);
    expect(looksLikeRing(JSON.parse(JSON.stringify(good)))).toBe(true);
  });

  it('rejects junk', () => {
    const junk: unknown[] = [null, undefined, 0, 'ring', true, [], [good], {}, () => good];
    for (const j of junk) expect(looksLikeRing(j), JSON.stringify(j) ?? String(j)).toBe(false);
  });

  it('rejects a wrong owners length or non-string owners', () => {
    expect(looksLikeRing({ ...good, owners: good.owners.slice(1) })).toBe(false);
    expect(looksLikeRing({ ...good, owners: [...good.owners, 'a'] })).toBe(false);
    expect(looksLikeRing({ ...good, owners: good.owners.map((o, i) => (i === 3 ? 7 : o)) })).toBe(false);
    expect(looksLikeRing({ ...good, ringSize: 16 })).toBe(false);
    expect(looksLikeRing({ ...good, ringSize: '8' })).toBe(false);
  });

  it('rejects a ring missing any checked field, or with a field of the wrong type', () => {
    for (const field of ['clusterId', 'claimant', 'ringSize', 'owners', 'members', 'vclock', 'next', 'seen'] as const) {
      const { [field]: _dropped, ...rest } = good;
      expect(looksLikeRing(rest), `without ${field}`).toBe(false);
      expect(looksLikeRing({ ...good, [field]: null }), `${field}: null`).toBe(false);
    }
    expect(looksLikeRing({ ...good, next: {} })).toBe(false);
    expect(looksLikeRing({ ...good, members: { a: null } })).toBe(false);
    expect(looksLikeRing({ ...good, members: { a: { addr: 'x', vclock: {} } } })).toBe(false);
    expect(looksLikeRing({ ...good, members: { a: { status: 'valid', addr: 'x' } } })).toBe(false);
  });
});
