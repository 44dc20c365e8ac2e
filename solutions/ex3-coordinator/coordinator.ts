/**
 * Exercise 3: the op coordinator. It turns one client request into N vnode requests and
 * decides when the request is done: after W write acknowledgements or R read replies, or
 * when the deadline passes (riak_kv's put and get FSMs do this job in Riak).
 *
 * The preference list used is the *active* one (`getApl`): up primaries plus a fallback for
 * each down primary, so a write still reaches N vnodes while a node is away (sloppy quorum).
 */
import type { AplEntry } from '../../shared/apl.js';
import { chashKey } from '../../shared/chash.js';
import type { RingNode } from '../../shared/node.js';
import type { VnodeId } from '../../shared/vnode.js';
import {
  compareVersions,
  newVersion,
  SERVICE,
  type Entry,
  type GetReply,
  type KvRequest,
  type PingReply,
} from '../../exercises/ex3-coordinator/kv_vnode.js';
import {
  aplFor,
  DEFAULTS,
  QuorumError,
  QuorumParamError,
  type Answer,
  type Collected,
  type FetchResult,
  type QuorumOptions,
  type Received,
  type WriteResult,
} from '../../exercises/ex3-coordinator/quorum.js';

export {
  BUCKET,
  DEFAULTS,
  QuorumError,
  QuorumParamError,
  type Answer,
  type Collected,
  type FetchResult,
  type QuorumOptions,
  type Received,
  type WriteResult,
} from '../../exercises/ex3-coordinator/quorum.js';

/**
 * Step 1: check N and W (or R) before sending anything.
 * @throws QuorumParamError naming the bad parameter: n must be an integer in 1..ring size;
 *   `quorum` (w or r) an integer in 1..n; timeoutMs a positive number.
 */
export function checkQuorum(node: RingNode, n: number, name: 'w' | 'r', quorum: number, timeoutMs: number): void {
  const q = node.ring.ringSize;
  if (!Number.isInteger(n) || n < 1 || n > q)
    throw new QuorumParamError('n', `n must be an integer between 1 and ${q} (the number of partitions), got ${n}`);
  if (!Number.isInteger(quorum) || quorum < 1 || quorum > n) {
    throw new QuorumParamError(name, `${name} must be an integer between 1 and n (${n}), got ${quorum}`);
  }
  if (!(timeoutMs > 0))
    throw new QuorumParamError('timeoutMs', `timeoutMs must be a positive number of ms, got ${timeoutMs}`);
}

/**
 * Step 2: send `request` to every vnode in `apl` and wait until `need` of them answered
 * successfully; fail at the deadline. Late replies are dropped by the runtime once the
 * sender is released.
 * @throws QuorumError `unavailable` (apl shorter than need, nothing sent) or `timeout`.
 */
export function collect(
  node: RingNode,
  op: QuorumError['op'],
  apl: readonly AplEntry[],
  request: KvRequest,
  need: number,
  timeoutMs: number,
): Promise<Collected> {
  if (apl.length < need) return Promise.reject(new QuorumError('unavailable', op, need, [], [], [], apl));
  return new Promise((resolve, reject) => {
    const all: Received[] = [];
    const ok: Received[] = [];
    // Match by partition, not node: a partition appears once in a preference list, and a vnode
    // that is handing off may forward the request, so the answer can come from another node.
    const entryOf = (from: VnodeId) => apl.find((e) => e.partition === from.partition);
    const finish = (err?: QuorumError) => {
      clearTimeout(timer);
      node.vnodes.release(sender);
      if (err) reject(err);
      else resolve({ asked: apl, ok, all });
    };
    const sender = node.vnodes.newSender((reply) => {
      const from = entryOf(reply.from);
      if (!from) return; // not a partition we asked
      all.push({ from, reply });
      if (reply.ok) ok.push({ from, reply });
      if (ok.length === need) finish();
    }, timeoutMs);
    const timer = setTimeout(
      () =>
        finish(
          new QuorumError(
            'timeout',
            op,
            need,
            apl,
            ok.map((r) => r.from),
            all,
          ),
        ),
      timeoutMs,
    );
    node.command(apl, request, sender, SERVICE);
  });
}

async function write(
  node: RingNode,
  op: 'store' | 'delete',
  key: string,
  entry: Entry,
  opts: QuorumOptions,
): Promise<WriteResult> {
  const { n, w, timeoutMs } = { ...DEFAULTS, ...opts };
  checkQuorum(node, n, 'w', w, timeoutMs);
  const got = await collect(node, op, aplFor(node, key, n), { type: 'put', key, entry }, w, timeoutMs);
  return { version: entry.version, answered: got.ok.map((r) => r.from) };
}

/**
 * Step 4: the newest entry among the replies, or null if none has the key.
 * A value beats "never seen"; between entries the newest version wins (a tombstone too).
 */
export function newest(entries: readonly (Entry | null)[]): Entry | null {
  let best: Entry | null = null;
  for (const e of entries) if (e && (!best || compareVersions(e.version, best.version) > 0)) best = e;
  return best;
}

/**
 * Step 4: read `key` from N vnodes; done after R replies, merged by {@link newest}.
 * @throws QuorumParamError, QuorumError.
 */
export async function fetch(node: RingNode, key: string, opts: QuorumOptions = {}): Promise<FetchResult> {
  const { n, r, timeoutMs } = { ...DEFAULTS, ...opts };
  checkQuorum(node, n, 'r', r, timeoutMs);
  const got = await collect(node, 'fetch', aplFor(node, key, n), { type: 'get', key }, r, timeoutMs);
  const entries = got.ok.map(({ from, reply }) => ({ from, entry: (reply as { value: GetReply }).value.entry }));
  const answered = entries.map((e) => e.from);
  const best = newest(entries.map((e) => e.entry));
  if (!best) return { found: false, answered, entries };
  if (best.deleted) return { found: false, version: best.version, answered, entries };
  return { found: true, value: best.value, version: best.version, answered, entries };
}

/**
 * Step 5: ping `n` distinct partitions (the active preference list of a key made from the
 * time, like ex1's ping) and wait for all of them.
 * @throws QuorumParamError, QuorumError.
 */
export async function ping(
  node: RingNode,
  n: number = DEFAULTS.n,
  timeoutMs: number = DEFAULTS.timeoutMs,
): Promise<PingReply[]> {
  checkQuorum(node, n, 'w', n, timeoutMs);
  const apl = node.getApl({ hash: chashKey('ping', String(process.hrtime.bigint())) }, n, SERVICE);
  const got = await collect(node, 'ping', apl, { type: 'ping' }, n, timeoutMs);
  return got.ok.map(({ reply }) => (reply as { value: PingReply }).value);
}

/**
 * Bonus step: read repair. After a fetch, send the newest entry to every vnode that answered
 * with an older entry or none, so the replicas converge. Fire and forget.
 * @returns the vnodes that were repaired.
 */
export function readRepair(node: RingNode, key: string, result: FetchResult): Answer[] {
  const best = newest(result.entries.map((e) => e.entry));
  if (!best) return [];
  const stale = result.entries
    .filter((e) => !e.entry || compareVersions(e.entry.version, best.version) < 0)
    .map((e) => e.from);
  node.command(stale, { type: 'put', key, entry: best }, null, SERVICE);
  return stale;
}

/**
 * Step 3: store `value` under `key` on N vnodes; done after W acknowledgements.
 * @throws QuorumParamError, QuorumError.
 */
export function store(node: RingNode, key: string, value: unknown, opts: QuorumOptions = {}): Promise<WriteResult> {
  return write(node, 'store', key, { value, version: newVersion(node.name), deleted: false }, opts);
}

/**
 * Step 3: delete `key` by writing a tombstone (so the delete beats older values on merge).
 * @throws QuorumParamError, QuorumError.
 */
export function remove(node: RingNode, key: string, opts: QuorumOptions = {}): Promise<WriteResult> {
  return write(node, 'delete', key, { value: null, version: newVersion(node.name), deleted: true }, opts);
}
