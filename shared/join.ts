/**
 * Joining a cluster over a slow or busy network: the one join attempt of `RingNode.join`
 * (riak's `riak_core:join/1`, staged like `riak-admin cluster join`), retried with capped
 * exponential backoff and jitter until it is accepted, and then, unless the join is only to be
 * staged, committed once the claimant's ring is ready. riak itself makes one attempt; a room of
 * 30 laptops on conference Wi-Fi joining one seed at once needs the retries: a handshake that
 * times out while the seed is busy is tried again, not fatal.
 *
 * Final, not retried: a seed that refuses our cookie (`wrong_cookie`), and `already_member`
 * (this node is in a cluster with others already: leave it first).
 */
import { commitWhenReady } from './commit.js';
import { ringErrorCode } from './errors.js';
import { isCookieMismatch } from './handshake.js';
import type { RingNode } from './node.js';
import { memberStatus } from './ring.js';

/** Handshake deadline of a join attempt (ms): generous, for Wi-Fi and a seed busy with joins. */
export const JOIN_HANDSHAKE_TIMEOUT_MS = 10_000;

/** Options of {@link joinWithRetry}. */
export interface JoinRetryOptions {
  /** Handshake deadline of each attempt (ms, default {@link JOIN_HANDSHAKE_TIMEOUT_MS}). */
  readonly handshakeTimeoutMs?: number;
  /** Pause after the first failure (ms, default 500); doubles per failure up to `maxDelayMs`. */
  readonly firstDelayMs?: number;
  /** Longest pause between attempts (ms, default 10 000). */
  readonly maxDelayMs?: number;
  /** Give up after this long (ms; default: never, until `signal` aborts). */
  readonly timeoutMs?: number;
  /** Stops the retries (the user pressed Ctrl-C, the node is stopping). */
  readonly signal?: AbortSignal;
  /** One line per failed attempt: the reason and when the next try is. */
  readonly say?: (line: string) => void;
  /** Randomness of the jitter, 0 ≤ x < 1 (default Math.random). */
  readonly random?: () => number;
}

/** The error that ended {@link joinWithRetry}: `final` when retrying could not help. */
export class JoinError extends Error {
  constructor(
    message: string,
    readonly final: boolean,
    readonly attempts: number,
  ) {
    super(message);
    this.name = 'JoinError';
  }
}

/** True for a failure that no retry can fix: a wrong cookie, or already in a cluster. */
export function isFinalJoinError(err: unknown): boolean {
  return isCookieMismatch(err) || ringErrorCode(err) === 'already_member';
}

/** The pause before attempt `failures + 1` (ms): `first·2^(failures−1)`, capped, jittered ±50%. */
export function joinBackoffMs(failures: number, first: number, max: number, random: () => number): number {
  const base = Math.min(max, first * 2 ** Math.max(0, failures - 1));
  return Math.round(base * (0.5 + random()));
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/**
 * Ask the cluster at `seedAddr` (`host:port`) to stage this node's join, retrying until it is
 * accepted.
 * @returns the number of attempts it took.
 * @throws JoinError (`final: true`) for a wrong cookie or `already_member`; (`final: false`)
 *   when `opts.timeoutMs` passed or `opts.signal` aborted first.
 */
export async function joinWithRetry(
  node: Pick<RingNode, 'join'>,
  seedAddr: string,
  opts: JoinRetryOptions = {},
): Promise<number> {
  const handshakeTimeoutMs = opts.handshakeTimeoutMs ?? JOIN_HANDSHAKE_TIMEOUT_MS;
  const deadline = opts.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + opts.timeoutMs;
  const random = opts.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    try {
      await node.join(seedAddr, { handshakeTimeoutMs });
      return attempt;
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      if (isFinalJoinError(err)) throw new JoinError(`${reason} (not retried)`, true, attempt);
      const delay = joinBackoffMs(attempt, opts.firstDelayMs ?? 500, opts.maxDelayMs ?? 10_000, random);
      if (opts.signal?.aborted) throw new JoinError(`stopped after ${attempt} attempt(s): ${reason}`, false, attempt);
      if (Date.now() + delay > deadline)
        throw new JoinError(`gave up after ${attempt} attempt(s): ${reason}`, false, attempt);
      opts.say?.(
        `join attempt ${attempt} to ${seedAddr} failed: ${reason}; next try in ${(delay / 1000).toFixed(1)} s`,
      );
      await sleep(delay, opts.signal);
      if (opts.signal?.aborted) throw new JoinError(`stopped after ${attempt} attempt(s): ${reason}`, false, attempt);
    }
  }
}

/**
 * After a join was staged: commit it (riak's `cluster plan` + `cluster commit` on our behalf),
 * retried while the claimant says not yet, until this node is `valid` in its own ring (someone
 * else's commit that carried our join counts too).
 * @throws JoinError (`final: false`) when `opts.timeoutMs` passes, `opts.signal` aborts first or
 *   the staged join is gone (a claimant takeover drops staged changes, as in riak); the commit's error if the claimant refuses for another reason than "not yet".
 */
export async function commitJoin(
  node: Pick<RingNode, 'commit' | 'ring' | 'name'>,
  opts: Pick<JoinRetryOptions, 'timeoutMs' | 'signal' | 'say'> = {},
): Promise<void> {
  const deadline = opts.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + opts.timeoutMs;
  let rounds = 0;
  while (memberStatus(node.ring, node.name) !== 'valid') {
    if (memberStatus(node.ring, node.name) !== 'joining')
      throw new JoinError('the staged join is gone (a new claimant drops staged changes): join again', false, rounds);
    if (opts.signal?.aborted) throw new JoinError('stopped before the join was committed', false, rounds);
    const left = deadline - Date.now();
    if (left <= 0) throw new JoinError('the join was not committed in time', false, rounds);
    try {
      await commitWhenReady(() => node.commit(), {
        timeoutMs: Math.min(left, 5000),
        retryOn: ['ring_not_ready', 'claimant_unreachable', 'node_down', 'timeout'],
        doneOn: ['nothing_staged'],
        intervalMs: 200,
      });
    } catch (err) {
      if (!/did not accept the commit within/.test(String((err as Error).message))) throw err;
      if (++rounds % 3 === 0) opts.say?.(`waiting for the claimant to accept the commit: ${(err as Error).message}`);
    }
    // Committed (by us or someone else): the ring saying we are valid arrives by gossip.
    if (memberStatus(node.ring, node.name) !== 'valid') await sleep(200, opts.signal);
  }
}
