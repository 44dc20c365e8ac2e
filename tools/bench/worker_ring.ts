/**
 * Worker process of the handoff row: one RingNode of the measured tree (argv[2], its root) with
 * the finished ex4 KV vnode, optionally filled with data, that joins, commits and reports how
 * long its outgoing transfers took. Started by handoff.ts with startChild.
 */
import { pack } from 'msgpackr';
import { serveParent } from './children.js';
import { importFrom } from './runtime.js';
import type { Runtime } from './runtime.js';

const root = process.argv[2] ?? '';
process.env.RING_LOG ??= 'error';
const load = <M>(file: string) => importFrom<M>(root, file);
const [nodeMod, clusterMod, kv3, kv4, chash, logMod] = await Promise.all([
  load<Runtime['node']>('shared/node.ts'),
  load<Runtime['cluster']>('shared/harness/cluster.ts'),
  load<Runtime['kv3']>('exercises/ex3-coordinator/kv_vnode.ts'),
  load<Runtime['kv4']>('solutions/ex4-handoff/kv_vnode.ts'),
  load<Runtime['chash']>('shared/chash.ts'),
  load<Runtime['log']>('shared/log.ts'),
]);

type Node = Awaited<ReturnType<typeof nodeMod.RingNode.start>>;
let node: Node | undefined;
/** Encoded bytes per partition filled (key + entry, as the handoff sends them). */
const bytesByPartition = new Map<number, number>();
const need = (): Node => {
  if (!node) throw new Error('start first');
  return node;
};

/** What `measure` reports: the transfers out of this node after the commit. */
export interface HandoffMeasure {
  /** From the first transfer's start to the last one's completion (ms). */
  readonly ms: number;
  /** Bytes of the partitions that moved (items as the handoff encodes them). */
  readonly bytes: number;
  /** The handoff manager's own count of bytes sent. */
  readonly bytesSent: number;
  readonly transfers: number;
  /** From the accepted commit until this node saw the ring settled (ms). */
  readonly settleMs: number;
}

serveParent({
  async start(msg) {
    const name = String(msg.name);
    const items = Number(msg.items ?? 0);
    const valueBytes = Number(msg.valueBytes ?? 1024);
    const ringSize = Number(msg.ringSize ?? 64);
    const disk = new kv3.Disk();
    const value = 'x'.repeat(valueBytes);
    for (let i = 0; i < items; i++) {
      const key = `key${i}`;
      const p = chash.responsiblePartition(chash.chashKey('kv', key), ringSize);
      const entry = { value, version: kv3.newVersion(name), deleted: false };
      disk.partition(p).set(key, entry);
      bytesByPartition.set(p, (bytesByPartition.get(p) ?? 0) + pack([key, entry]).length);
    }
    node = await nodeMod.RingNode.start({
      name,
      cookie: 'bench',
      host: '127.0.0.1',
      port: 0,
      ringSize,
      services: [kv4.kvService(disk)],
      timing: clusterMod.TEST_TIMING,
      handoff: clusterMod.TEST_HANDOFF,
      log: logMod.createLogger(name),
    });
    return { name: node.name, addr: node.addr };
  },
  async join(msg) {
    await need().join(String(msg.seed));
    return true;
  },
  async measure(msg): Promise<HandoffMeasure> {
    const n = need();
    const target = String(msg.target);
    const timeoutMs = Number(msg.timeoutMs ?? 60_000);
    const before = n.ring.owners.slice();
    const completed0 = n.handoff.stats.completed;
    const bytes0 = n.handoff.stats.bytesSent;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await n.commit();
        break;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`no commit accepted: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    const committed = Date.now();
    let first = Number.POSITIVE_INFINITY;
    let last = 0;
    let completed = completed0;
    await new Promise<void>((resolve, reject) => {
      const poll = setInterval(() => {
        for (const t of n.handoff.running?.() ?? []) first = Math.min(first, t.startedAt);
        if (n.handoff.stats.completed !== completed) {
          completed = n.handoff.stats.completed;
          last = Date.now();
        }
        if (n.isSettled() && n.ring.owners.includes(target)) {
          clearInterval(poll);
          resolve();
        } else if (Date.now() > deadline) {
          clearInterval(poll);
          reject(new Error(`transfers to ${target} not done after ${timeoutMs} ms`));
        }
      }, 2);
    });
    const settled = Date.now();
    let bytes = 0;
    n.ring.owners.forEach((owner, p) => {
      if (owner === target && before[p] !== target) bytes += bytesByPartition.get(p) ?? 0;
    });
    const measured = Number.isFinite(first) && last > first;
    return {
      ms: measured ? last - first : settled - committed,
      bytes,
      bytesSent: n.handoff.stats.bytesSent - bytes0,
      transfers: completed - completed0,
      settleMs: settled - committed,
    };
  },
  async stop() {
    await node?.stop();
    return true;
  },
});
