import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { getApl, getPrimaryApl, type AplEntry, type DocIdx, type UpNodes } from '../apl.js';
import { RING_TOP, partitionIndex, responsiblePartition } from '../chash.js';
import { claim, meetsTargetN, targetNPossible } from '../claim.js';
import { testSeed } from '../harness/seed.js';
import { fresh, preflist, preflistFrom, type Ring, type RingEntry } from '../ring.js';

const seed = testSeed('apl properties');

// ---------------------------------------------------------------------------------------------
// Rings: fresh(q, 'n1') then owners claimed for n1..nS. claim is deterministic, so cache by (Q, S).

const nodeNames = (s: number): string[] => Array.from({ length: s }, (_, i) => `n${i + 1}`);

const ringCache = new Map<string, Ring>();
function ringFor(q: number, s: number): Ring {
  const key = `${q}/${s}`;
  let ring = ringCache.get(key);
  if (!ring) {
    const base = fresh(q, 'n1', 'addr');
    ring = { ...base, owners: claim(base.owners, nodeNames(s)) };
    ringCache.set(key, ring);
  }
  return ring;
}

/** A ring with hand-written owners (Q = owners.length). */
function ringOf(owners: readonly string[]): Ring {
  return { ...fresh(owners.length, owners[0] as string, 'addr'), owners: [...owners] };
}

// ---------------------------------------------------------------------------------------------
// Reference implementations, written from the rules in the brief / riak_core_apl, not from apl.ts.

/** The ring walked clockwise from the key's partition, computed from owners directly. */
function refWalk(ring: Ring, at: DocIdx): RingEntry[] {
  const q = ring.owners.length;
  const start = 'hash' in at ? responsiblePartition(at.hash, q) : at.partition;
  const out: RingEntry[] = [];
  for (let i = 0; i < q; i++) {
    const p = (start + i) % q;
    out.push({ partition: p, node: ring.owners[p] as string });
  }
  return out;
}

/** Of the first n entries of the walk, those whose node is up, in order, typed primary. */
function refPrimary(walk: readonly RingEntry[], n: number, up: ReadonlySet<string>): AplEntry[] {
  const out: AplEntry[] = [];
  for (let i = 0; i < n; i++) {
    const e = walk[i] as RingEntry;
    if (up.has(e.node)) out.push({ partition: e.partition, node: e.node, type: 'primary' });
  }
  return out;
}

/**
 * Up primaries (in order); then, walking the down primaries in ring order, each is replaced by
 * a fallback keeping the down primary's partition, hosted on the node of the next entry after
 * the first n whose node is up, each such entry used at most once.
 */
function refApl(walk: readonly RingEntry[], n: number, up: ReadonlySet<string>): AplEntry[] {
  const out = refPrimary(walk, n, up);
  const used = new Set<number>();
  for (let i = 0; i < n; i++) {
    const down = walk[i] as RingEntry;
    if (up.has(down.node)) continue;
    let pick = -1;
    for (let k = n; k < walk.length; k++) {
      if (!used.has(k) && up.has((walk[k] as RingEntry).node)) {
        pick = k;
        break;
      }
    }
    if (pick < 0) continue; // nothing left: the list stays short
    used.add(pick);
    out.push({ partition: down.partition, node: (walk[pick] as RingEntry).node, type: 'fallback' });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Arbitraries

const hashArb = fc.bigInt({ min: 0n, max: RING_TOP - 1n });
const docIdxArb = (q: number): fc.Arbitrary<DocIdx> =>
  fc.oneof(
    fc.integer({ min: 0, max: q - 1 }).map((partition): DocIdx => ({ partition })),
    hashArb.map((hash): DocIdx => ({ hash })),
    // hashes exactly on a partition boundary (off-by-one territory of the successor rule)
    fc.integer({ min: 0, max: q - 1 }).map((p): DocIdx => ({ hash: partitionIndex(p, q) })),
  );

interface Scenario {
  q: number;
  s: number;
  n: number;
  at: DocIdx;
  down: string[];
  /** pass the up nodes as a Set (true) or as an array (false); getApl accepts both */
  asSet: boolean;
}

/** Q a power of two in [2^minE, 2^maxE], S in [sMin, 16], n in 1..min(5, Q), any down subset. */
const scenarioArb = (opts: { minE?: number; maxE?: number; sMin?: number } = {}): fc.Arbitrary<Scenario> =>
  fc
    .record({
      q: fc.integer({ min: opts.minE ?? 3, max: opts.maxE ?? 8 }).map((e) => 2 ** e),
      s: fc.integer({ min: opts.sMin ?? 1, max: 16 }),
    })
    .chain(({ q, s }) =>
      fc.record({
        q: fc.constant(q),
        s: fc.constant(s),
        n: fc.integer({ min: 1, max: Math.min(5, q) }),
        at: docIdxArb(q),
        down: fc.subarray(nodeNames(s)),
        asSet: fc.boolean(),
      }),
    );

function setup(sc: Scenario): { ring: Ring; upSet: Set<string>; up: UpNodes; walk: RingEntry[] } {
  const ring = ringFor(sc.q, sc.s);
  const upSet = new Set(nodeNames(sc.s).filter((x) => !sc.down.includes(x)));
  const up: UpNodes = sc.asSet ? upSet : [...upSet];
  const walk = refWalk(ring, sc.at);
  return { ring, upSet, up, walk };
}

const runs = { seed, numRuns: 200 };

// ---------------------------------------------------------------------------------------------

describe('preference list walk', () => {
  it('preflist / preflistFrom walk the ring clockwise from the key partition', () => {
    fc.assert(
      fc.property(scenarioArb(), (sc) => {
        const { ring, walk } = setup(sc);
        const list = 'hash' in sc.at ? preflist(ring, sc.at.hash) : preflistFrom(ring, sc.at.partition);
        expect(list).toEqual(walk);
      }),
      runs,
    );
  });
});

describe('getPrimaryApl (riak_core_apl:get_primary_apl/3)', () => {
  it('is the up entries among the first n of the preflist, in order, all primary', () => {
    fc.assert(
      fc.property(scenarioArb(), (sc) => {
        const { ring, upSet, up, walk } = setup(sc);
        const got = getPrimaryApl(ring, sc.at, sc.n, up);
        expect(got).toEqual(refPrimary(walk, sc.n, upSet));
        expect(got.length).toBeLessThanOrEqual(sc.n);
        for (const e of got) {
          expect(e.type).toBe('primary');
          expect(upSet.has(e.node)).toBe(true);
          expect(ring.owners[e.partition]).toBe(e.node);
        }
      }),
      runs,
    );
  });
});

describe('getApl (riak_core_apl:get_apl_ann/3)', () => {
  it('matches the reference: up primaries, then one fallback per down primary', () => {
    fc.assert(
      fc.property(scenarioArb(), (sc) => {
        const { ring, upSet, up, walk } = setup(sc);
        const got = getApl(ring, sc.at, sc.n, up);
        expect(got).toEqual(refApl(walk, sc.n, upSet));

        // The same facts, stated without the reference.
        const primaries = walk.slice(0, sc.n);
        const upPrimaries = primaries.filter((e) => upSet.has(e.node));
        const downPrimaries = primaries.filter((e) => !upSet.has(e.node));
        const upInRest = walk.slice(sc.n).filter((e) => upSet.has(e.node)).length;
        expect(got.length).toBe(Math.min(sc.n, upPrimaries.length + upInRest));
        // starts with the up primaries, same order
        expect(got.slice(0, upPrimaries.length)).toEqual(getPrimaryApl(ring, sc.at, sc.n, up));
        const fallbacks = got.slice(upPrimaries.length);
        expect(fallbacks.every((e) => e.type === 'fallback')).toBe(true);
        // fallbacks keep the down primaries' partitions, in ring order, and live on up nodes
        expect(fallbacks.map((e) => e.partition)).toEqual(
          downPrimaries.slice(0, fallbacks.length).map((e) => e.partition),
        );
        for (const e of fallbacks) expect(upSet.has(e.node)).toBe(true);
        // every vnode named is a distinct partition
        expect(new Set(got.map((e) => e.partition)).size).toBe(got.length);
      }),
      runs,
    );
  });

  it('does not depend on whether up nodes come as a Set or an array', () => {
    fc.assert(
      fc.property(scenarioArb(), (sc) => {
        const { ring, upSet } = setup(sc);
        expect(getApl(ring, sc.at, sc.n, [...upSet])).toEqual(getApl(ring, sc.at, sc.n, upSet));
        expect(getPrimaryApl(ring, sc.at, sc.n, [...upSet])).toEqual(getPrimaryApl(ring, sc.at, sc.n, upSet));
      }),
      { seed, numRuns: 100 },
    );
  });

  it('a hash and its responsible partition give the same lists', () => {
    fc.assert(
      fc.property(
        scenarioArb().chain((sc) => fc.tuple(fc.constant(sc), hashArb)),
        ([sc, hash]) => {
          const { ring, up } = setup(sc);
          const partition = responsiblePartition(hash, sc.q);
          expect(getApl(ring, { hash }, sc.n, up)).toEqual(getApl(ring, { partition }, sc.n, up));
          expect(getPrimaryApl(ring, { hash }, sc.n, up)).toEqual(getPrimaryApl(ring, { partition }, sc.n, up));
        },
      ),
      { seed, numRuns: 100 },
    );
  });

  it('with every node up equals getPrimaryApl: n vnodes, n partitions, n nodes when target_n holds and n <= 4', () => {
    fc.assert(
      fc.property(
        scenarioArb().map((sc) => ({ ...sc, down: [] })),
        (sc) => {
          const { ring, up, walk } = setup(sc);
          const apl = getApl(ring, sc.at, sc.n, up);
          expect(apl).toEqual(getPrimaryApl(ring, sc.at, sc.n, up));
          expect(apl).toHaveLength(sc.n);
          expect(apl.map((e) => e.partition)).toEqual(walk.slice(0, sc.n).map((e) => e.partition));
          expect(new Set(apl.map((e) => e.partition)).size).toBe(sc.n);
          if (targetNPossible(sc.q, sc.s) && sc.n <= 4) {
            expect(meetsTargetN(ring.owners)).toBe(true);
            expect(new Set(apl.map((e) => e.node)).size).toBe(sc.n);
          }
        },
      ),
      runs,
    );
  });

  it('with one node down, S >= n+1 and target_n met: n vnodes on the primary partitions, none on the down node', () => {
    fc.assert(
      fc.property(
        fc
          .record({ e: fc.integer({ min: 3, max: 8 }), n: fc.integer({ min: 1, max: 5 }) })
          .chain(({ e, n }) =>
            fc.record({
              q: fc.constant(2 ** e),
              n: fc.constant(n),
              s: fc.integer({ min: Math.max(4, n + 1), max: 16 }),
            }),
          )
          .chain(({ q, n, s }) =>
            fc.record({
              q: fc.constant(q),
              s: fc.constant(s),
              n: fc.constant(n),
              at: docIdxArb(q),
              down: fc.constantFrom(...nodeNames(s)).map((x) => [x]),
              asSet: fc.boolean(),
            }),
          ),
        (sc) => {
          const { ring, up, upSet, walk } = setup(sc);
          expect(targetNPossible(sc.q, sc.s)).toBe(true);
          expect(meetsTargetN(ring.owners)).toBe(true);
          const apl = getApl(ring, sc.at, sc.n, up);
          expect(apl).toHaveLength(sc.n);
          const partitions = apl.map((e) => e.partition);
          expect(new Set(partitions).size).toBe(sc.n);
          expect([...partitions].sort((a, b) => a - b)).toEqual(
            walk
              .slice(0, sc.n)
              .map((e) => e.partition)
              .sort((a, b) => a - b),
          );
          const downNode = sc.down[0] as string;
          for (const e of apl) {
            expect(e.node).not.toBe(downNode);
            expect(upSet.has(e.node)).toBe(true);
          }
          // For n <= 3 the first fallback candidate is still inside a target_n window, so the
          // sloppy quorum still lands on n distinct nodes.
          if (sc.n <= 3) expect(new Set(apl.map((e) => e.node)).size).toBe(sc.n);
        },
      ),
      runs,
    );
  });

  it('holds on big rings too (Q = 512, 1024)', () => {
    for (const [q, s] of [
      [1024, 16],
      [1024, 5],
      [512, 7],
      [1024, 3],
    ] as const) {
      const ring = ringFor(q, s);
      fc.assert(
        fc.property(
          fc.record({
            n: fc.integer({ min: 1, max: 5 }),
            at: docIdxArb(q),
            down: fc.subarray(nodeNames(s)),
          }),
          ({ n, at, down }) => {
            const upSet = new Set(nodeNames(s).filter((x) => !down.includes(x)));
            const walk = refWalk(ring, at);
            expect(getPrimaryApl(ring, at, n, upSet)).toEqual(refPrimary(walk, n, upSet));
            expect(getApl(ring, at, n, upSet)).toEqual(refApl(walk, n, upSet));
          },
        ),
        { seed, numRuns: 25 },
      );
    }
  });
});

describe('getApl / getPrimaryApl: hand-checked examples', () => {
  // Q=8, owners a b c d a b c d
  const ring = ringOf(['a', 'b', 'c', 'd', 'a', 'b', 'c', 'd']);

  it('key at partition 0, n=3, b down: a and c primaries, d stands in for b on partition 1', () => {
    // walk 0a 1b 2c | 3d 4a ...: 1b is down, the first up entry after the primaries is 3d.
    const up = ['a', 'c', 'd'];
    expect(getPrimaryApl(ring, { partition: 0 }, 3, up)).toEqual([
      { partition: 0, node: 'a', type: 'primary' },
      { partition: 2, node: 'c', type: 'primary' },
    ]);
    expect(getApl(ring, { partition: 0 }, 3, up)).toEqual([
      { partition: 0, node: 'a', type: 'primary' },
      { partition: 2, node: 'c', type: 'primary' },
      { partition: 1, node: 'd', type: 'fallback' },
    ]);
    // A hash exactly at index(7), or at the very top of the circle, belongs to partition 0.
    expect(getApl(ring, { hash: partitionIndex(7, 8) }, 3, new Set(up))).toEqual(getApl(ring, { partition: 0 }, 3, up));
    expect(getApl(ring, { hash: RING_TOP - 1n }, 3, new Set(up))).toEqual(getApl(ring, { partition: 0 }, 3, up));
    // ... and hash 0 to partition 1: walk 1b 2c 3d | 4a: b down, a stands in.
    expect(getApl(ring, { hash: 0n }, 3, up)).toEqual([
      { partition: 2, node: 'c', type: 'primary' },
      { partition: 3, node: 'd', type: 'primary' },
      { partition: 1, node: 'a', type: 'fallback' },
    ]);
  });

  it('key at partition 6, n=3, c and d down: fallbacks skip down entries, each entry used once', () => {
    // walk 6c 7d 0a | 1b 2c 3d 4a: 6c -> 1b, 7d -> (2c, 3d down) 4a; a then hosts two vnodes.
    expect(getApl(ring, { partition: 6 }, 3, ['a', 'b'])).toEqual([
      { partition: 0, node: 'a', type: 'primary' },
      { partition: 6, node: 'b', type: 'fallback' },
      { partition: 7, node: 'a', type: 'fallback' },
    ]);
  });

  it('no fallback for a primary that is up; empty when everyone is down', () => {
    expect(getApl(ring, { partition: 5 }, 4, ['a', 'b', 'c', 'd'])).toEqual([
      { partition: 5, node: 'b', type: 'primary' },
      { partition: 6, node: 'c', type: 'primary' },
      { partition: 7, node: 'd', type: 'primary' },
      { partition: 0, node: 'a', type: 'primary' },
    ]);
    expect(getApl(ring, { partition: 5 }, 4, [])).toEqual([]);
    expect(getPrimaryApl(ring, { partition: 5 }, 4, new Set())).toEqual([]);
  });

  it('is short when the rest of the ring has too few up entries', () => {
    // Q=8 owners x y y y y y y y, n=3 from 0, only x up: primaries 0x 1y 2y; the rest (3..7)
    // is all y, so no fallback exists.
    const r = ringOf(['x', 'y', 'y', 'y', 'y', 'y', 'y', 'y']);
    expect(getApl(r, { partition: 0 }, 3, ['x'])).toEqual([{ partition: 0, node: 'x', type: 'primary' }]);
    // n = Q: nothing after the primaries, so down primaries get no fallback at all
    expect(getApl(r, { partition: 1 }, 8, ['x'])).toEqual([{ partition: 0, node: 'x', type: 'primary' }]);
  });
});

describe('n out of range', () => {
  const ring = ringFor(16, 4);
  const bad = [0, -1, -0.5, 17, 1000, 1.5, 3.0000001, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];

  for (const n of bad) {
    it(`n = ${n} throws RangeError`, () => {
      for (const up of [nodeNames(4), new Set<string>(), []]) {
        expect(() => getApl(ring, { partition: 0 }, n, up)).toThrow(RangeError);
        expect(() => getPrimaryApl(ring, { partition: 0 }, n, up)).toThrow(RangeError);
        expect(() => getApl(ring, { hash: 0n }, n, up)).toThrow(RangeError);
      }
    });
  }

  it('any integer outside 1..Q and any non-integer throws RangeError; 1..Q does not', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 3, max: 8 }).map((e) => 2 ** e),
        fc.oneof(fc.integer({ min: -2000, max: 2000 }), fc.double({ noNaN: false })),
        (q, n) => {
          const r = ringFor(q, 4);
          const ok = Number.isInteger(n) && n >= 1 && n <= q;
          if (ok) {
            expect(getApl(r, { partition: 0 }, n, nodeNames(4))).toHaveLength(n);
            expect(getPrimaryApl(r, { partition: 0 }, n, nodeNames(4))).toHaveLength(n);
          } else {
            expect(() => getApl(r, { partition: 0 }, n, nodeNames(4))).toThrow(RangeError);
            expect(() => getPrimaryApl(r, { partition: 0 }, n, nodeNames(4))).toThrow(RangeError);
          }
        },
      ),
      { seed, numRuns: 200 },
    );
  });
});
