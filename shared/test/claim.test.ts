import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  claim,
  DEFAULT_TARGET_N,
  freshOwners,
  isBalanced,
  meetsTargetN,
  ownershipCounts,
  targetNPossible,
  targetNViolations,
} from '../claim.js';
import { testSeed } from '../harness/seed.js';

const seed = testSeed('claim properties');

const RING_SIZES = [8, 16, 32, 64, 128, 256, 512, 1024] as const;
const names = (n: number) => Array.from({ length: n }, (_, i) => `n${i + 1}`);
const moved = (before: readonly string[], after: readonly string[]) => before.filter((o, p) => o !== after[p]).length;

/** Balanced over `members`, and violation-free when the numbers allow it. */
function expectGood(owners: readonly string[], members: readonly string[], targetN = DEFAULT_TARGET_N): void {
  const counts = JSON.stringify([...ownershipCounts(owners, members)]);
  expect(isBalanced(owners, members), `unbalanced: ${counts}`).toBe(true);
  if (targetNPossible(owners.length, members.length, targetN)) {
    expect(targetNViolations(owners, targetN)).toEqual([]);
  }
}

/**
 * Exhaustive search: can q partitions be given to s nodes, balanced, with no node twice in any
 * window of targetN (wrap-around included)? Only local constraints are used (no counting
 * argument), so it checks `targetNPossible` independently. Nodes with equal quotas are
 * interchangeable, so a node is first used only after the previous one of its quota was.
 */
function searchFeasible(q: number, s: number, targetN: number): boolean {
  const quota = Array.from({ length: s }, (_, i) => Math.floor(q / s) + (i < q % s ? 1 : 0));
  const firstOfClass = (node: number) => node === 0 || node === q % s;
  const used = new Array<boolean>(s).fill(false);
  const ring: number[] = [];
  const clash = (node: number, p: number) => {
    for (let d = 1; d < targetN; d++) {
      if (p - d >= 0 && ring[p - d] === node) return true;
      const wrapped = p + d - q; // closing the ring: p is followed by partitions 0, 1, ...
      if (wrapped >= 0 && (wrapped === p || ring[wrapped] === node)) return true;
    }
    return false;
  };
  const place = (p: number): boolean => {
    if (p === q) return true;
    // most remaining quota first: the big shares are the hard ones to fit, so this finds
    // solutions fast; exhausting the impossible cases is cheap since few choices stay open
    const order = [...quota.keys()].sort((a, b) => quota[b]! - quota[a]! || a - b);
    for (const node of order) {
      if (quota[node] === 0 || clash(node, p)) continue;
      if (!used[node] && !firstOfClass(node) && !used[node - 1]) continue;
      const wasUsed = used[node]!;
      used[node] = true;
      quota[node]!--;
      ring.push(node);
      if (place(p + 1)) return true;
      ring.pop();
      quota[node]!++;
      used[node] = wasUsed;
    }
    return false;
  };
  return place(0);
}

describe('targetNViolations / meetsTargetN', () => {
  it('finds nothing in a clean stripe', () => {
    const owners = ['a', 'b', 'c', 'd', 'a', 'b', 'c', 'd'];
    expect(targetNViolations(owners, 4)).toEqual([]);
    expect(meetsTargetN(owners)).toBe(true);
  });

  it('reports the first partition of each too-close pair', () => {
    expect(targetNViolations(['a', 'b', 'a', 'c', 'd', 'e', 'f', 'g'], 4)).toEqual([0]);
    expect(targetNViolations(['a', 'b', 'c', 'a', 'd', 'e', 'f', 'g'], 4)).toEqual([0]);
    expect(targetNViolations(['a', 'b', 'c', 'd', 'a', 'e', 'f', 'g'], 4)).toEqual([]);
    expect(meetsTargetN(['a', 'b', 'a', 'c', 'd', 'e', 'f', 'g'])).toBe(false);
  });

  it('wraps around the end of the ring', () => {
    // partition 7 is followed by 0
    expect(targetNViolations(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'a'], 4)).toEqual([7]);
    // 6 -> 7 -> 0 -> 1: distance 3, a violation for targetN 4 but not 3
    const owners = ['b', 'x', 'c', 'd', 'e', 'f', 'x', 'g'];
    expect(targetNViolations(owners, 4)).toEqual([6]);
    expect(targetNViolations(owners, 3)).toEqual([]);
  });

  it('uses targetN 4 by default, 1 means no constraint, and more than Q flags everything', () => {
    const owners = ['a', 'b', 'c', 'd', 'e', 'a', 'f', 'g'];
    expect(targetNViolations(owners)).toEqual(targetNViolations(owners, 4));
    expect(targetNViolations(owners)).toEqual([5]); // 5 -> 6 -> 7 -> 0
    expect(targetNViolations(owners, 3)).toEqual([]);
    expect(targetNViolations(owners, 6)).toEqual([0, 5]); // 5 apart one way, 3 the other
    expect(targetNViolations(['a', 'a', 'a', 'a', 'a', 'a', 'a', 'a'], 1)).toEqual([]);
    expect(targetNViolations(names(8), 8)).toEqual([]);
    expect(targetNViolations(names(8), 9)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('rejects a targetN that is not a positive integer', () => {
    expect(() => targetNViolations(names(8), 0)).toThrow(RangeError);
    expect(() => targetNViolations(names(8), 2.5)).toThrow(RangeError);
  });

  it('agrees with a direct window check (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 8 }),
        (owners, t) => {
          const q = owners.length;
          const window = (p: number) => Array.from({ length: t - 1 }, (_, d) => owners[(p + d + 1) % q]);
          const expected = owners.flatMap((o, p) => (window(p).includes(o) ? [p] : []));
          expect(targetNViolations(owners, t)).toEqual(expected);
          expect(meetsTargetN(owners, t)).toBe(expected.length === 0);
        },
      ),
      { seed, numRuns: 300 },
    );
  });
});

describe('ownershipCounts / isBalanced', () => {
  it('counts every owner and lists members that own nothing', () => {
    const counts = ownershipCounts(['a', 'b', 'a', 'x'], ['a', 'b', 'c']);
    expect([...counts]).toEqual([
      ['a', 2],
      ['b', 1],
      ['c', 0],
      ['x', 1],
    ]);
    expect([...ownershipCounts(['a', 'b', 'a'])]).toEqual([
      ['a', 2],
      ['b', 1],
    ]);
  });

  it('accepts only floor/ceil shares and no non-member owners', () => {
    expect(isBalanced(['a', 'b', 'c', 'a', 'b', 'c', 'a', 'b'], ['a', 'b', 'c'])).toBe(true);
    expect(isBalanced(['a', 'b', 'c', 'a', 'b', 'a', 'a', 'b'], ['a', 'b', 'c'])).toBe(false); // 4/3/1
    expect(isBalanced(['a', 'b', 'a', 'b', 'a', 'b', 'a', 'b'], ['a', 'b', 'c'])).toBe(false); // c: 0
    expect(isBalanced(['a', 'b', 'x', 'b', 'a', 'b', 'a', 'a'], ['a', 'b'])).toBe(false); // x: no member
    expect(isBalanced(names(8), names(16))).toBe(true); // 0 or 1 each
    expect(isBalanced(names(8), [])).toBe(false);
  });
});

describe('targetNPossible', () => {
  it('needs at least targetN members and room for the largest share', () => {
    expect(targetNPossible(64, 3)).toBe(false);
    expect(targetNPossible(64, 4)).toBe(true);
    expect(targetNPossible(64, 5)).toBe(true);
    expect(targetNPossible(8, 3, 3)).toBe(false); // 3 nodes * 3 apart = 9 > 8
    expect(targetNPossible(8, 6, 5)).toBe(false); // a node owns 2, needs 10 > 8
    expect(targetNPossible(8, 8, 5)).toBe(true);
    expect(targetNPossible(8, 1, 1)).toBe(true);
  });

  it('for targetN 4 and Q a power of two it is exactly S >= 4', () => {
    for (const q of RING_SIZES) for (let s = 1; s <= 16; s++) expect(targetNPossible(q, s)).toBe(s >= 4);
  });

  it('matches exhaustive search on small rings, for several targetN', () => {
    let roomTooSmall = 0; // impossible although s >= targetN: the second condition at work
    for (const q of [8, 16, 32, 64]) {
      for (let t = 2; t <= 8; t++) {
        for (let s = 1; s <= Math.min(q, 16); s++) {
          const possible = targetNPossible(q, s, t);
          expect(searchFeasible(q, s, t), `Q=${q} S=${s} targetN=${t}`).toBe(possible);
          if (!possible && s >= t) roomTooSmall++;
        }
      }
    }
    expect(roomTooSmall).toBeGreaterThan(0);
  });
});

describe('claim: argument checks', () => {
  it('throws RangeError on bad members, ring sizes or targetN', () => {
    const ring = freshOwners(16, 'a');
    expect(() => claim(ring, [])).toThrow(RangeError);
    expect(() => claim(ring, ['a', 'b', 'a'])).toThrow(RangeError);
    expect(() => claim(new Array<string>(12).fill('a'), ['a'])).toThrow(RangeError);
    expect(() => claim(new Array<string>(4).fill('a'), ['a'])).toThrow(RangeError);
    expect(() => claim(new Array<string>(2048).fill('a'), ['a'])).toThrow(RangeError);
    expect(() => claim([], ['a'])).toThrow(RangeError);
    expect(() => claim(ring, ['a'], { targetN: 0 })).toThrow(RangeError);
    expect(() => claim(ring, ['a'], { targetN: 1.5 })).toThrow(RangeError);
    expect(() => freshOwners(12, 'a')).toThrow(RangeError);
    expect(() => freshOwners(2048, 'a')).toThrow(RangeError);
  });

  it('with fewer nodes than target_n, keeps a window of S clean except where the ring wraps', () => {
    // So that N=3 preference lists on a 3-node cluster name 3 different nodes (all but <= 2 of them).
    for (const q of [8, 16, 32, 64, 128, 256, 512, 1024]) {
      for (const s of [2, 3]) {
        let owners = freshOwners(q, 'n1');
        for (let k = 2; k <= s; k++) owners = claim(owners, names(k));
        expect(isBalanced(owners, names(s))).toBe(true);
        expect({ q, s, violations: targetNViolations(owners, s).length <= 2 }).toEqual({ q, s, violations: true });
        expect(claim(owners, names(s))).toEqual(owners); // stable once striped
      }
    }
  });

  it('does not throw when target_n is impossible, and still balances', () => {
    const owners = claim(freshOwners(64, 'a'), ['a', 'b']);
    expect(isBalanced(owners, ['a', 'b'])).toBe(true);
    expect(meetsTargetN(owners)).toBe(false);
  });
});

describe('claim: exhaustive table', () => {
  it('claiming from a fresh ring is balanced, and meets target_n exactly when possible', () => {
    for (const q of RING_SIZES) {
      for (let s = 1; s <= 16; s++) {
        const members = names(s);
        const owners = claim(freshOwners(q, 'n1'), members);
        expect(isBalanced(owners, members), `Q=${q} S=${s}`).toBe(true);
        // both directions: never a violation when possible, and (as the counting argument
        // says) never violation-free when not
        expect(meetsTargetN(owners), `Q=${q} S=${s}`).toBe(targetNPossible(q, s));
      }
    }
  });

  it('also for other targetN values', () => {
    for (const q of [8, 16, 32, 64, 128, 256]) {
      for (const t of [2, 3, 5, 6]) {
        for (let s = 1; s <= 16; s++) {
          const members = names(s);
          const owners = claim(freshOwners(q, 'n1'), members, { targetN: t });
          expect(isBalanced(owners, members), `Q=${q} S=${s} targetN=${t}`).toBe(true);
          expect(meetsTargetN(owners, t), `Q=${q} S=${s} targetN=${t}`).toBe(targetNPossible(q, s, t));
        }
      }
    }
  });
});

describe('claim: properties', () => {
  const ringSize = fc.constantFrom(...RING_SIZES);
  const nodeNames = (min: number, max: number) =>
    fc.uniqueArray(fc.string({ minLength: 1, maxLength: 6 }), { minLength: min, maxLength: max });

  it('growing one node at a time stays balanced and meets target_n when possible', () => {
    fc.assert(
      fc.property(ringSize, nodeNames(2, 16), (q, joinOrder) => {
        let owners = freshOwners(q, joinOrder[0]!);
        for (let s = 2; s <= joinOrder.length; s++) {
          const members = joinOrder.slice(0, s);
          owners = claim(owners, members);
          expectGood(owners, members);
        }
      }),
      { seed, numRuns: 30 },
    );
  });

  it('a member leaving a balanced ring: its partitions are shared out, the rest stays good', () => {
    fc.assert(
      fc.property(ringSize, nodeNames(2, 16), fc.nat(), (q, members, pick) => {
        const before = claim(freshOwners(q, members[0]!), members);
        const leaver = members[pick % members.length]!;
        const rest = members.filter((m) => m !== leaver);
        const after = claim(before, rest);
        expectGood(after, rest);
        expect(after).not.toContain(leaver);
      }),
      { seed, numRuns: 60 },
    );
  });

  it('any starting ring, members or not, becomes balanced and meets target_n when possible', () => {
    fc.assert(
      fc.property(
        ringSize,
        nodeNames(1, 16),
        fc.integer({ min: 1, max: 4 }),
        fc.nat(),
        fc.integer({ min: 1, max: 6 }),
        (q, members, strangers, salt, t) => {
          const pool = [...members, ...Array.from({ length: strangers }, (_, i) => `gone${i}`)];
          // a scrambled ring: a multiplicative hash of p, so the input stays small to shrink
          const scramble = (p: number) => ((Math.imul(p + 1, 2654435761) + salt) >>> 0) % pool.length;
          const current = Array.from({ length: q }, (_, p) => pool[scramble(p)]!);
          const owners = claim(current, members, { targetN: t });
          expectGood(owners, members, t);
        },
      ),
      { seed, numRuns: 60 },
    );
  });

  it('is deterministic, ignores member order, and is idempotent', () => {
    fc.assert(
      fc.property(ringSize, nodeNames(1, 12), nodeNames(1, 4), (q, members, newcomers) => {
        const before = claim(freshOwners(q, members[0]!), members);
        const joined = [...new Set([...members, ...newcomers])];
        const after = claim(before, joined);
        expect(claim(before, joined)).toEqual(after);
        expect(claim(before, [...joined].reverse())).toEqual(after);
        // a balanced ring that is as good as it gets is left alone
        expect(claim(after, joined)).toEqual(after);
      }),
      { seed, numRuns: 40 },
    );
  });
});

describe('claim: movement', () => {
  it('riak claim_v2 regression: 64 partitions, 4 -> 5 nodes gives 13/13/13/13/12, no violations', () => {
    const four = claim(freshOwners(64, 'n1'), names(4));
    expectGood(four, names(4));
    const five = claim(four, names(5));
    const counts = [...ownershipCounts(five, names(5)).values()];
    expect(counts.sort((a, b) => b - a)).toEqual([13, 13, 13, 13, 12]);
    expect(targetNViolations(five)).toEqual([]);
    // only the 12 partitions the new node takes move (riak's ideal; a target of <= 13 suffices)
    expect(moved(four, five)).toBe(12);
  });

  it('growing Q=64 from 1 to 16 nodes moves little once target_n is reachable', () => {
    let owners = freshOwners(64, 'n1');
    const steps: number[] = [];
    for (let s = 2; s <= 16; s++) {
      const next = claim(owners, names(s));
      expectGood(next, names(s));
      steps.push(moved(owners, next));
      owners = next;
    }
    // Measured: 32 43 46 12 11 9 9 7 6 5 5 4 4 4 4 (total 201). The new node's share alone is
    // ⌊64/S⌋ (sum 132 for S = 2..16). The extra comes from 2 -> 3, where the ring is striped
    // round-robin so that N=3 preference lists on 3 nodes repeat a node only where the ring
    // wraps, and from 3 -> 4, where target_n 4 first becomes possible and the ring is
    // re-striped. From 4 nodes on, each step moves about the new node's share.
    const total = steps.reduce((a, b) => a + b, 0);
    expect(total).toBeLessThanOrEqual(210);
    // from 5 nodes on, each join moves at most the new node's share plus one repair swap
    for (let s = 5; s <= 16; s++) expect(steps[s - 2]).toBeLessThanOrEqual(Math.ceil(64 / s) + 2);
  });

  it("a leave moves little: the leaver's share when there is slack, modestly more when tight", () => {
    const grown = (q: number, size: number) => {
      let owners = freshOwners(q, 'n1');
      for (let s = 2; s <= size; s++) owners = claim(owners, names(s));
      return owners;
    };
    const leaveMoves = (owners: readonly string[], size: number) =>
      names(size).map((leaver) =>
        moved(
          owners,
          claim(
            owners,
            names(size).filter((m) => m !== leaver),
          ),
        ),
      );
    // 256 partitions, 16 -> 15: only the leaver's 16 partitions move, whoever leaves
    expect(leaveMoves(grown(256, 16), 16)).toEqual(new Array(16).fill(16));
    // 64 partitions, 6 -> 5 is tight (5 nodes can hardly meet target_n 4), so some leaves need
    // repair or a re-stripe. Measured 14 31 27 14 12 22 (sum 120; 174 without the pull-back
    // step), against the leaver's 10 or 11.
    const tight = leaveMoves(grown(64, 6), 6);
    expect(tight.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(130);
  });
});
