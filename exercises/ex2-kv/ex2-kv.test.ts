/**
 * ex2-kv: a key/value store with one copy of each key.
 * Runs against exercises/ (npm test -- ex2) or solutions/ (npm run test:solutions -- ex2).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { fetch, remove, store } from '@ex/ex2-kv/kv.js';
import { kvService, type KvVnode } from '@ex/ex2-kv/kv_vnode.js';
import { chashKey, responsiblePartition } from '../../shared/chash.js';
import { inspectVnodes } from '../../shared/harness/inspect.js';
import { TestCluster } from '../../shared/harness/cluster.js';
import { expectRingError } from '../../shared/harness/expect_error.js';
import { waitFor } from '../../shared/harness/wait.js';
import type { RingNode } from '../../shared/node.js';

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});
const start = async () => (cluster = await TestCluster.start({ size: 3, services: () => [kvService] }));

/** Every (node, partition) whose kv vnode holds `key`. */
async function holders(c: TestCluster, key: string): Promise<string[]> {
  const found: string[] = [];
  for (const node of c.nodes) {
    for (const { partition, value } of await inspectVnodes(node, 'kv', (v: KvVnode) => v.data.has(key))) {
      if (value) found.push(`${partition}@${node.name}`);
    }
  }
  return found;
}

describe('ex2-kv: store, fetch and delete', () => {
  it('stores on one node and fetches from every other node', async () => {
    const c = await start();
    await store(c.node(0), 'colour', { name: 'teal', rgb: [0, 128, 128] });
    for (const node of c.nodes) {
      expect(await fetch(node, 'colour')).toEqual({ found: true, value: { name: 'teal', rgb: [0, 128, 128] } });
    }
  });

  it('a later store replaces the value, whichever node it goes through', async () => {
    const c = await start();
    await store(c.node(0), 'counter', 1);
    await store(c.node(1), 'counter', 2);
    await store(c.node(2), 'counter', 3);
    for (const node of c.nodes)
      expect(await fetch(node, 'counter'), `fetch through ${node.name}`).toEqual({ found: true, value: 3 });
  });

  it('answers not found for a key never stored', async () => {
    const c = await start();
    expect(await fetch(c.node(1), 'never-stored')).toEqual({ found: false });
  });

  it('a stored null, 0, empty string, false or empty list is a value: fetch finds it on every node', async () => {
    const c = await start();
    const values: [string, unknown][] = [
      ['is-null', null],
      ['is-zero', 0],
      ['is-empty', ''],
      ['is-false', false],
      ['is-empty-list', []],
    ];
    for (const [key, value] of values) await store(c.node(0), key, value);
    const answers = [];
    for (const node of c.nodes)
      for (const [key] of values) answers.push({ key, asked: node.name, got: await fetch(node, key) });
    expect(answers).toEqual(
      c.nodes.flatMap((node) => values.map(([key, value]) => ({ key, asked: node.name, got: { found: true, value } }))),
    );
  });

  it('deletes a key from any node, and says whether it existed', async () => {
    const c = await start();
    await store(c.node(0), 'temp', 42);
    expect(await remove(c.node(2), 'temp')).toBe(true);
    expect(await fetch(c.node(1), 'temp')).toEqual({ found: false });
    expect(await remove(c.node(1), 'temp')).toBe(false);
    expect(await holders(c, 'temp'), 'kv vnodes that still hold the deleted key').toEqual([]);
    expect(await remove(c.node(0), 'never-stored')).toBe(false);
  });

  it('keeps each key on exactly one vnode: the owner of its partition', async () => {
    const c = await start();
    const keys = Array.from({ length: 30 }, (_, i) => `key-${i}`);
    for (const [i, key] of keys.entries()) await store(c.node(i % 3), key, i);
    for (const [i, key] of keys.entries()) {
      const p = responsiblePartition(chashKey('kv', key), 64);
      expect(await holders(c, key)).toEqual([`${p}@${c.node(0).ring.owners[p]}`]);
      expect(await fetch(c.node((i + 1) % 3), key)).toEqual({ found: true, value: i });
    }
  });

  it('loses a key when its only owner dies: unavailable while down (fetch and delete alike), not found after restart', async () => {
    const c = await start();
    await store(c.node(0), 'fragile', 'glass');
    const p = responsiblePartition(chashKey('kv', 'fragile'), 64);
    const owner = c.node(0).ring.owners[p]!;
    const asker = c.nodes.find((n) => n.name !== owner) as RingNode;
    expect(await fetch(asker, 'fragile')).toEqual({ found: true, value: 'glass' });
    await c.kill(owner);
    await waitFor(`${asker.name} to see ${owner} down`, () => !asker.upNodes('kv').includes(owner));
    await expectRingError(
      fetch(asker, 'fragile'),
      'unavailable',
      `fetch("fragile") while its only owner ${owner} is down`,
    );
    await expectRingError(
      remove(asker, 'fragile'),
      'unavailable',
      `remove("fragile") while its only owner ${owner} is down`,
    );
    await c.restart(owner);
    await waitFor(`${asker.name} to see ${owner} up`, () => asker.upNodes('kv').includes(owner));
    expect(await fetch(asker, 'fragile')).toEqual({ found: false });
  });
});
