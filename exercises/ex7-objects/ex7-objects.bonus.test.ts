/**
 * ex7-objects, bonus: the split brain, made visible. Without fencing (steps 1-5 only), a
 * network partition gives each side its own live copy of an object, and both acknowledge
 * updates the other never sees. Not needed to pass ex7.
 * Attendees: npm run test:bonus -- ex7. Solutions: part of npm run test:solutions.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { fencedKvService } from '@ex/ex7-objects/fenced_kv_vnode.js';
import { objectService } from '@ex/ex7-objects/object_vnode.js';
import { callObject } from '@ex/ex7-objects/objects.js';
import { Disk } from '../ex3-coordinator/kv_vnode.js';
import { SERVICE } from './object_types.js';
import { chashKey } from '../../shared/chash.js';
import { TestCluster } from '../../shared/harness/cluster.js';
import { Nemesis } from '../../shared/harness/nemesis.js';
import { waitFor } from '../../shared/harness/wait.js';

let cluster: TestCluster | undefined;
afterAll(() => cluster?.stop());

describe('ex7-objects bonus: without fencing, a partition splits the brain', () => {
  it('both sides of a partition run the counter, acknowledge the same value, and one increment is lost', async () => {
    const c: TestCluster = (cluster = await TestCluster.start({
      size: 4,
      ringSize: 16,
      cookie: `ex7-bonus-${process.pid}`,
      services: () => [fencedKvService(new Disk()), objectService({ node: (name) => c.node(name), fenced: false })],
    }));
    const inc = (node: string) => callObject(c.node(node), 'counter', 'split', { op: 'inc' });
    const home = c.node(0).getApl({ hash: chashKey('counter', 'split') }, 1, SERVICE)[0]!.node;
    const other = c.names.find((n) => n !== home)!;
    for (let i = 1; i <= 3; i++) expect((await inc(other)).reply).toBe(i);

    const nemesis = new Nemesis(c, 0);
    nemesis.isolate(home);
    await waitFor(`${home} and the others to see each other down`, () =>
      c.nodes.every((n) => (n.name === home ? n.upNodes(SERVICE).length === 1 : !n.upNodes(SERVICE).includes(home))),
    );
    // The cut-off home keeps its live object and writes to fallbacks on its own node (W=2 is
    // met there); the other side activates a second one from the replicas it can reach.
    const cutOff = await inc(home);
    const majority = await inc(other);
    expect(cutOff.activation, 'two live activations').not.toBe(majority.activation);
    expect([cutOff.epoch, majority.epoch], 'both in the same epoch (none: no fencing)').toEqual([0, 0]);
    expect([cutOff.reply, majority.reply], 'both acknowledged the 4th increment').toEqual([4, 4]);

    nemesis.detach();
    await waitFor('every node to see every node up', () => c.nodes.every((n) => n.upNodes(SERVICE).length === 4));
    const after = await callObject(c.node(other), 'counter', 'split', { op: 'get' });
    expect(after.reply, '5 increments acknowledged, the counter says 4').toBe(4);
  });
});
