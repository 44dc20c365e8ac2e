/**
 * Listing every key (given): a coverage request over the KV vnodes, as riak_core's coverage FSM
 * (`riak_core_coverage_fsm`) runs one. The vnode side is `handleCoverage` in
 * exercises/ex3-coordinator/kv_vnode.ts; the plan and the request loop are the runtime's
 * (shared/coverage.ts).
 */
import { RingError } from '../../shared/errors.js';
import type { RingNode } from '../../shared/node.js';
import { fits } from '../../shared/wire.js';
import { KeysReplySchema, SERVICE, type KeysReply, type KvRequest } from '../ex3-coordinator/kv_vnode.js';
import { checkQuorum } from '../../solutions/ex3-coordinator/coordinator.js';
import { DEFAULTS } from '../ex3-coordinator/quorum.js';

/** Options of {@link listKeys}: replication N the keys were written with, and a deadline. */
export interface ListKeysOptions {
  readonly n?: number;
  readonly timeoutMs?: number;
}

/**
 * Every live key in the store, sorted, each once: a coverage request (`node.coverage`) to a
 * set of up primary vnodes that together hold every key space (about one vnode in N), each
 * answering for the key spaces the plan gives it. Deleted keys are not listed.
 *
 * Like riak's list keys, it reads one replica per key space (think R = 1): a key whose write
 * that replica missed is not listed, a key it did not see deleted still is. And it is
 * expensive: it walks every key of the vnodes it asks.
 * @throws QuorumParamError (`n` not an integer in 1..ring size, `timeoutMs` not positive);
 *   RingError `insufficient_vnodes` when some key space has no up primary left;
 *   TimeoutError when a vnode of the plan does not answer within `timeoutMs` (default 1000);
 *   RemoteError when one fails; RingError `bad_request` when one answers something else than
 *   a list of keys (a peer running broken code).
 */
export async function listKeys(node: RingNode, opts: ListKeysOptions = {}): Promise<string[]> {
  const { n, timeoutMs } = { ...DEFAULTS, ...opts };
  checkQuorum(node, n, 'r', 1, timeoutMs); // only n and timeoutMs matter: a coverage plan needs one answer per key space
  const { replies } = await node.coverage(SERVICE, { type: 'keys' } satisfies KvRequest, { n, timeoutMs });
  const bad = replies.find((r) => !fits(KeysReplySchema, r));
  if (bad !== undefined) {
    const what = JSON.stringify(bad)?.slice(0, 100);
    throw new RingError(
      'bad_request',
      `a vnode answered the keys request with something that is not a list of keys: ${what}`,
    );
  }
  return [...new Set((replies as KeysReply[]).flat())].sort();
}
