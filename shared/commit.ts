/**
 * Commit staged membership changes, retrying while the claimant says "not yet": what
 * riak_test's `rt:do_commit/1` does around `riak_core_claimant:commit/0`. The claimant refuses
 * with `ring_not_ready` until every member has seen the ring with the staged changes, which
 * after a join takes a round of gossip.
 *
 * One loop for every caller that commits on someone's behalf: the in-process test cluster
 * (harness/cluster.ts), the process harness (harness/processes.ts), devrel and the node console
 * (`--join`). The exercise ex0 writes its own on purpose.
 */
import { ringErrorCode, type RingErrorCode } from './errors.js';

/** Default poll period between two commit attempts (ms). */
export const COMMIT_RETRY_INTERVAL_MS = 100;

/** Options of {@link commitWhenReady}. */
export interface CommitRetryOptions {
  /** Give up after this long (ms), counted from the first attempt. */
  readonly timeoutMs: number;
  /**
   * Codes that mean "not yet", retried (default `ring_not_ready`); `'any'` retries every
   * failure (the test cluster's choice: a node that just joined may not reach the claimant yet).
   */
  readonly retryOn?: readonly RingErrorCode[] | 'any';
  /**
   * Codes that mean "nothing left to commit": the loop ends without a result (e.g.
   * `nothing_staged` when someone else committed our join first). Default: none.
   */
  readonly doneOn?: readonly RingErrorCode[];
  /** Pause between attempts (ms, default 100). */
  readonly intervalMs?: number;
  /** Runs before every attempt; what it throws ends the loop (e.g. "a node process exited"). */
  readonly beforeAttempt?: () => void;
  /**
   * The error thrown when the deadline passes; `last` is the last failure retried.
   * Default: `the claimant did not accept the commit within <ms> ms (last error: <message>)`.
   */
  readonly timeoutError?: (last: Error, timeoutMs: number) => Error;
}

/**
 * Call `commit` until it succeeds, retrying while it fails with a code of `retryOn` (each
 * attempt starts `intervalMs` after the previous one failed).
 * @param commit one commit attempt, e.g. `() => node.commit()` or an `admin.commit` call.
 * @returns what `commit` returned, or undefined when it failed with a code of `doneOn`.
 * @throws the attempt's error for any other failure (as it is); `timeoutError(last)` once
 *   `timeoutMs` have passed with only retried failures; what `beforeAttempt` throws.
 */
export async function commitWhenReady<T>(commit: () => Promise<T>, opts: CommitRetryOptions): Promise<T | undefined> {
  const retryOn = opts.retryOn ?? ['ring_not_ready'];
  const doneOn = opts.doneOn ?? [];
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    opts.beforeAttempt?.();
    try {
      return await commit();
    } catch (err) {
      const code = ringErrorCode(err);
      if (code !== undefined && doneOn.includes(code)) return undefined;
      if (retryOn !== 'any' && (code === undefined || !retryOn.includes(code))) throw err;
      if (Date.now() >= deadline) {
        const last = err instanceof Error ? err : new Error(String(err));
        throw (
          opts.timeoutError?.(last, opts.timeoutMs) ??
          new Error(`the claimant did not accept the commit within ${opts.timeoutMs} ms (last error: ${last.message})`)
        );
      }
    }
    await new Promise((resolve) => setTimeout(resolve, opts.intervalMs ?? COMMIT_RETRY_INTERVAL_MS));
  }
}
