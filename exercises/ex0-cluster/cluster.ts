/**
 * Exercise 0: form a cluster and leave it, using only the runtime's admin API — the same
 * steps as `riak-admin cluster join`, `plan`, `commit`. Read README.md in this folder.
 * Stuck? `npm run hint -- ex0` shows one more hint each time.
 */
import { waitFor } from '../../shared/harness/wait.js';
import type { PlanView, RingNode } from '../../shared/node.js';
import { members } from '../../shared/ring.js';
import { todo } from '../../shared/todo.js';

/** How long to wait for the ring to settle (ms). */
export const SETTLE_TIMEOUT_MS = 15_000;

/**
 * Join `nodes[1..]` to the ring of `nodes[0]`, commit the plan, and wait until every node
 * sees a settled ring with all of them as `valid` members.
 * @returns the plan that was committed.
 */
export async function formCluster(nodes: readonly RingNode[]): Promise<PlanView> {
  const [seed, ...others] = nodes;
  if (!seed) throw new Error('formCluster needs at least one node');
  void others;

  // Step 1: stage the join of every node in `others` to the seed.
  void others;
  todo('ex0-cluster', 1, import.meta.url, 'make every other node join the seed (node.join(seed.addr))');

  // Step 2: commit through the seed, retrying while the claimant refuses with the code
  // 'ring_not_ready', and keep the plan it returns.
  todo('ex0-cluster', 2, import.meta.url, "commit through the seed, retrying while the error code is 'ring_not_ready'");

  // Step 3: wait until every node sees a settled ring with all the nodes as members, then
  // return the plan from step 2.
  void waitFor;
  void members;
  return todo(
    'ex0-cluster',
    3,
    import.meta.url,
    'wait until every node sees a settled ring with all nodes as members, then return the plan',
  );
}

/**
 * Make `node` leave the cluster that `via` is in: stage the leave, commit, and wait until
 * `via` no longer lists it and sees a settled ring.
 */
export async function leaveCluster(node: RingNode, via: RingNode): Promise<void> {
  // Step 4: stage the leave, commit it through `via` (retrying as in step 2), then wait until
  // `via` no longer lists `node` and sees a settled ring.
  void node;
  void via;
  todo('ex0-cluster', 4, import.meta.url, 'stage the leave, commit it and wait until the node is gone');
}
