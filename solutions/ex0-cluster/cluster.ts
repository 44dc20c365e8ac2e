/**
 * Exercise 0: form a cluster and leave it, using only the runtime's admin API — the same
 * steps as `riak-admin cluster join`, `plan`, `commit`.
 */
import { waitFor } from '../../shared/harness/wait.js';
import type { PlanView, RingNode } from '../../shared/node.js';
import { members } from '../../shared/ring.js';

/** How long to wait for the ring to settle (ms). */
export const SETTLE_TIMEOUT_MS = 15_000;

/**
 * Join `nodes[1..]` to the ring of `nodes[0]`, commit the plan, and wait until every node
 * sees a settled ring with all of them as `valid` members.
 * @returns the plan that was committed.
 * @throws whatever the admin API throws (e.g. `already_member`), or a timeout error.
 */
export async function formCluster(nodes: readonly RingNode[]): Promise<PlanView> {
  const [seed, ...others] = nodes;
  if (!seed) throw new Error('formCluster needs at least one node');

  // Step 1: stage every join (each node asks the seed, which tells its claimant).
  for (const node of others) await node.join(seed.addr);

  // Step 2: commit. The claimant refuses while some member has not seen the latest ring
  // (ring_ready is false right after the joins), so retry until it accepts.
  const plan = await waitFor(
    'the claimant to accept the commit',
    async () => {
      try {
        return await seed.commit();
      } catch (err) {
        if ((err as { code?: string }).code === 'ring_not_ready') return undefined;
        throw err;
      }
    },
    { timeoutMs: SETTLE_TIMEOUT_MS },
  );

  // Step 3: wait until every node holds the same settled ring with every node in it.
  const names = nodes
    .map((n) => n.name)
    .sort()
    .join();
  await waitFor(
    'every node to see a settled ring',
    () => nodes.every((n) => n.isSettled() && members(n.ring).join() === names),
    { timeoutMs: SETTLE_TIMEOUT_MS },
  );
  return plan;
}

/**
 * Make `node` leave the cluster that `via` is in: stage the leave, commit, and wait until
 * `via` no longer lists it and sees a settled ring.
 */
export async function leaveCluster(node: RingNode, via: RingNode): Promise<void> {
  // Step 4: stage and commit the leave.
  await node.leave();
  await waitFor(
    'the claimant to accept the commit',
    async () => {
      try {
        return await via.commit();
      } catch (err) {
        if ((err as { code?: string }).code === 'ring_not_ready') return undefined;
        throw err;
      }
    },
    { timeoutMs: SETTLE_TIMEOUT_MS },
  );
  // The leaving node hands its partitions off, becomes exiting, then is gone.
  await waitFor(
    `${node.name} to be gone from the ring`,
    () => !members(via.ring).includes(node.name) && via.isSettled(),
    {
      timeoutMs: SETTLE_TIMEOUT_MS,
    },
  );
}
