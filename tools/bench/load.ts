/**
 * Closed-loop load: `inFlight` workers each issuing one operation after the other until the
 * deadline, as a client with that many requests outstanding would (riak's basho_bench
 * `{concurrent, 64}`). The rate counts completed operations over the time until the last one
 * finished.
 */

/** The outcome of a {@link closedLoop}. */
export interface LoadResult {
  /** Operations that completed without error. */
  readonly ops: number;
  readonly errors: number;
  /** The first error's message, if any. */
  readonly firstError?: string;
  readonly elapsedMs: number;
  /** `ops` per second of `elapsedMs`. */
  readonly perSecond: number;
}

/**
 * Run `op(i)` (i counts up from 0 across workers) with `inFlight` outstanding for `durationMs`.
 * A failed operation is counted, not retried; the loop goes on.
 */
export async function closedLoop(
  op: (i: number) => Promise<unknown>,
  inFlight: number,
  durationMs: number,
): Promise<LoadResult> {
  let next = 0;
  let ops = 0;
  let errors = 0;
  let firstError: string | undefined;
  const t0 = performance.now();
  const end = t0 + durationMs;
  const worker = async () => {
    while (performance.now() < end) {
      try {
        await op(next++);
        ops++;
      } catch (err) {
        errors++;
        firstError ??= err instanceof Error ? err.message : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const elapsedMs = performance.now() - t0;
  return { ops, errors, firstError, elapsedMs, perSecond: (ops * 1000) / elapsedMs };
}
