/**
 * Coverage plans (riak_core_coverage_plan): every key space exactly once, through up
 * primaries only; and coverage requests over a real cluster report every key once.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chashKey, responsiblePartition } from '../chash.js';
import { claim } from '../claim.js';
import { coveragePlan } from '../coverage.js';
import { TestCluster } from '../harness/cluster.js';
import { testSeed } from '../harness/seed.js';
import { waitFor } from '../harness/wait.js';
import { fresh, preflist, type Ring } from '../ring.js';
import { reply, type VnodeModule } from '../vnode.js';

const seed = testSeed('coverage properties');

function ringOf(q: number, s: number): Ring {
  const nodes = Array.from({ length: s }, (_, i) => `n${i + 1}`);
  let owners = fresh(q, 'n1', 'a').owners as string[];
  for (let k = 2; k <= s; k++) owners = claim(owners, nodes.slice(0, k));
  return { ...fresh(q, 'n1', 'a'), owners };
}

describe('coveragePlan', () => {
  it('covers every key space exactly once with up primaries, or says it cannot', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(8, 16, 32, 64, 128),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
        fc.integer({ min: -2000, max: 2000 }),
        (q, s, n, downFlags, offset) => {
          const ring = ringOf(q, s);
          const up = Array.from({ length: s }, (_, i) => `n${i + 1}`).filter((_, i) => !downFlags[i]);
          // A key space is coverable when one of its n owners (partitions p..p+n-1) is up.
          const coverable = Array.from({ length: q }, (_, p) => Array.from({ length: n }, (__, i) => ring.owners[(p + i) % q]!).some((o) => up.includes(o)));
          if (!coverable.every(Boolean)) {
            expect(() => coveragePlan(ring, n, up, offset)).toThrow(/cannot cover/);
            return;
          }
          const plan = coveragePlan(ring, n, up, offset);
          const seen = plan.flatMap((v) => v.keyspaces).sort((a, b) => a - b);
          expect(seen).toEqual(Array.from({ length: q }, (_, i) => i));
          for (const v of plan) {
            expect(ring.owners[v.partition]).toBe(v.node);
            expect(up).toContain(v.node);
            for (const ks of v.keyspaces) expect((v.partition - ks + q) % q).toBeLessThan(n);
          }
          if (up.length === s) expect(plan.length).toBe(Math.ceil(q / n));
        },
      ),
      { seed, numRuns: 300 },
    );
  });

  it('spreads the work over the nodes when the offset varies', () => {
    const ring = ringOf(64, 3);
    const load = new Map<string, number>();
    for (let offset = 0; offset < 64; offset++) {
      for (const v of coveragePlan(ring, 3, ['n1', 'n2', 'n3'], offset)) load.set(v.node, (load.get(v.node) ?? 0) + 1);
    }
    const counts = [...load.values()];
    expect(counts).toHaveLength(3);
    expect(Math.max(...counts) / Math.min(...counts)).toBeLessThan(1.5);
  });

  it('rejects a bad n', () => {
    expect(() => coveragePlan(ringOf(8, 2), 0, ['n1'])).toThrow(RangeError);
    expect(() => coveragePlan(ringOf(8, 2), 9, ['n1'])).toThrow(RangeError);
  });
});

describe('coverage requests on a cluster', () => {
  type Req = { type: 'put'; key: string } | { type: 'keys' };
  const keysService: VnodeModule<Req> = {
    service: 'keys',
    init(ctx) {
      const keys = new Set<string>();
      return {
        handleCommand: (r) => (r.type === 'put' && keys.add(r.key), reply('ok')),
        handleCoverage: (_r, keyspaces) =>
          reply([...keys].filter((k) => keyspaces.includes(responsiblePartition(chashKey('c', k), ctx.ringSize)))),
      };
    },
  };
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await TestCluster.start({ size: 4, services: () => [keysService] });
  });
  afterAll(() => cluster?.stop());

  it('lists every key exactly once, although each is stored on 3 vnodes', async () => {
    const node = cluster.node(0);
    const keys = Array.from({ length: 300 }, (_, i) => `key-${i}`);
    for (const k of keys) {
      for (const e of preflist(node.ring, chashKey('c', k)).slice(0, 3)) await node.syncCommand(e, { type: 'put', key: k }, 'keys');
    }
    const { plan, replies } = await cluster.node(2).coverage('keys', { type: 'keys' }, { n: 3 });
    expect(plan.length).toBe(Math.ceil(64 / 3));
    const listed = (replies as string[][]).flat();
    expect(listed.sort()).toEqual([...keys].sort());
  });

  it('still lists every key with one node down, through the remaining primaries', async () => {
    await cluster.kill(3);
    await waitFor('dev1 to see dev4 down', () => !cluster.node(0).upNodes('keys').includes('dev4@127.0.0.1'));
    const { plan, replies } = await cluster.node(0).coverage('keys', { type: 'keys' }, { n: 3 });
    expect(plan.every((v) => v.node !== 'dev4@127.0.0.1')).toBe(true);
    expect((replies as string[][]).flat().length).toBe(300);
  });
});
