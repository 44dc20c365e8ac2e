/**
 * Exercise 3: the op coordinator. It turns one client request into N vnode requests and
 * decides when the request is done: after W write acknowledgements or R read replies, or
 * when the deadline passes (riak_kv's put and get FSMs do this job in Riak).
 *
 * The preference list used is the *active* one (`getApl`): up primaries plus a fallback for
 * each down primary, so a write still reaches N vnodes while a node is away (sloppy quorum).
 *
 * Read README.md in this folder. The steps are numbered as there.
 * Stuck? `npm run hint -- ex3` shows one more hint each time.
 */
import type { AplEntry } from '../../shared/apl.js';
import { chashKey } from '../../shared/chash.js';
import type { RingNode } from '../../shared/node.js';
import { todo } from '../../shared/todo.js';
import type { VnodeId } from '../../shared/vnode.js';
import {
  compareVersions,
  newVersion,
  SERVICE,
  type Entry,
  type GetReply,
  type KvRequest,
  type PingReply,
} from './kv_vnode.js';
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
} from './quorum.js';

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
} from './quorum.js';

/**
 * Step 1: check N and W (or R) before sending anything.
 * @throws QuorumParamError naming the bad parameter: n must be an integer in 1..ring size;
 *   `quorum` (w or r) an integer in 1..n; timeoutMs a positive number.
 */
export function checkQuorum(node: RingNode, n: number, name: 'w' | 'r', quorum: number, timeoutMs: number): void {
  void node;
  todo(
    'ex3-coordinator',
    1,
    import.meta.url,
    `check n (${n}), ${name} (${quorum}) and timeoutMs (${timeoutMs}) and throw QuorumParamError naming the bad one`,
  );
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
  void node;
  void apl;
  void request;
  void need;
  void timeoutMs;
  return todo(
    'ex3-coordinator',
    2,
    import.meta.url,
    `collect ${need} replies for ${op} from the preference list, or fail with QuorumError at the deadline`,
  );
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
  // Step 3: collect W acknowledgements for { type: 'put', key, entry } from the active
  // preference list and answer a WriteResult.
  void entry;
  return todo(
    'ex3-coordinator',
    3,
    import.meta.url,
    `write ${op} of "${key}": check the quorum, then collect W acknowledgements`,
  );
}

/**
 * Step 4: the newest entry among the replies, or null if none has the key.
 * A value beats "never seen"; between entries the newest version wins (a tombstone too).
 */
export function newest(entries: readonly (Entry | null)[]): Entry | null {
  void entries;
  void compareVersions;
  return todo('ex3-coordinator', 4, import.meta.url, 'return the entry with the newest version (null if none)');
}

/**
 * Step 4: read `key` from N vnodes; done after R replies, merged by {@link newest}.
 * @throws QuorumParamError, QuorumError.
 */
export async function fetch(node: RingNode, key: string, opts: QuorumOptions = {}): Promise<FetchResult> {
  const { n, r, timeoutMs } = { ...DEFAULTS, ...opts };
  checkQuorum(node, n, 'r', r, timeoutMs);
  // Step 4: collect R replies to { type: 'get', key }, merge them with newest(), and answer
  // a FetchResult.
  return todo('ex3-coordinator', 4, import.meta.url, `fetch "${key}": collect R replies and merge them with newest()`);
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
  return todo(
    'ex3-coordinator',
    5,
    import.meta.url,
    `ping ${n} distinct partitions (hash the time like ex1's ping) and wait for all of them`,
  );
}

/**
 * Bonus step: read repair. After a fetch, send the newest entry to every vnode that answered
 * with an older entry or none, so the replicas converge. Fire and forget.
 * @returns the vnodes that were repaired.
 */
export function readRepair(node: RingNode, key: string, result: FetchResult): Answer[] {
  void node;
  void result;
  return todo(
    'ex3-coordinator',
    6,
    import.meta.url,
    `bonus: send the newest entry of "${key}" to every vnode that answered with an older one`,
  );
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
