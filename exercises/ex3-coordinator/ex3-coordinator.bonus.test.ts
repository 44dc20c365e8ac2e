/**
 * ex3-coordinator, bonus step: read repair. Not needed to pass ex3.
 * Attendees: npm run test:bonus -- ex3. Solutions: part of npm run test:solutions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetch, readRepair } from '@ex/ex3-coordinator/coordinator.js';
import { kvService, newVersion, type Entry, type KvVnode } from './kv_vnode.js';
import { chashKey } from '../../shared/chash.js';
import { inspectVnode } from '../../shared/harness/inspect.js';
import { TestCluster } from '../../shared/harness/cluster.js';
import { waitFor } from '../../shared/harness/wait.js';
import { preflist } from '../../shared/ring.js';

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await TestCluster.start({ size: 4, services: () => [kvService()] });
});
afterAll(() => cluster?.stop());

const primaries = (key: string) => preflist(cluster.node(0).ring, chashKey('kv', key)).slice(0, 3);
const plant = (at: { partition: number; node: string }, key: string, entry: Entry) =>
  cluster.node(0).syncCommand(at, { type: 'put', key, entry }, 'kv');
const held = async (at: { partition: number; node: string }, key: string) => {
  return inspectVnode(cluster.node(at.node), 'kv', at.partition, (v: KvVnode) => v.get(key));
};

describe('ex3-coordinator bonus: read repair', () => {
  it('sends the newest entry to a replica that answered with an older one', async () => {
    const [p1, p2, p3] = primaries('repair-me');
    const old: Entry = { value: 'old', version: newVersion('test'), deleted: false };
    const fresh: Entry = { value: 'fresh', version: newVersion('test'), deleted: false };
    await plant(p3!, 'repair-me', old);
    await plant(p1!, 'repair-me', fresh);
    await plant(p2!, 'repair-me', fresh);
    const result = await fetch(cluster.node(1), 'repair-me', { n: 3, r: 3 });
    const repaired = readRepair(cluster.node(1), 'repair-me', result);
    expect(repaired).toEqual([expect.objectContaining({ partition: p3!.partition, node: p3!.node })]);
    await waitFor('the stale replica to be repaired', async () => (await held(p3!, 'repair-me'))?.value === 'fresh');
  });

  it('fills in replicas that had never seen the key', async () => {
    const [p1, p2, p3] = primaries('sparse');
    await plant(p1!, 'sparse', { value: 'v', version: newVersion('test'), deleted: false });
    const result = await fetch(cluster.node(2), 'sparse', { n: 3, r: 3 });
    expect(
      readRepair(cluster.node(2), 'sparse', result)
        .map((a) => a.partition)
        .sort(),
    ).toEqual([p2!.partition, p3!.partition].sort());
    await waitFor(
      'both empty replicas to be filled',
      async () => (await held(p2!, 'sparse'))?.value === 'v' && (await held(p3!, 'sparse'))?.value === 'v',
    );
  });

  it('repairs nothing when the replicas agree', async () => {
    const entry: Entry = { value: 'same', version: newVersion('test'), deleted: false };
    for (const p of primaries('agreed')) await plant(p, 'agreed', entry);
    expect(readRepair(cluster.node(3), 'agreed', await fetch(cluster.node(3), 'agreed', { r: 3 }))).toEqual([]);
  });
});
