/** Options for {@link waitFor}. */
export interface WaitOptions {
  /** Give up after this many ms (default 10 000). */
  timeoutMs?: number;
  /** Poll every this many ms (default 20). */
  intervalMs?: number;
}

/**
 * Thrown by a condition to stop {@link waitFor} at once (instead of retrying until the
 * deadline), e.g. when the code under test reported an error that waiting cannot fix.
 */
export class AbortWait extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AbortWait';
  }
}

/**
 * Polls `condition` until it returns a truthy value and resolves with that value.
 * A condition that throws is retried (its last error is reported at the deadline), except
 * for {@link AbortWait}, which ends the wait at once.
 * This is how tests synchronise: never with fixed sleeps.
 *
 * @param what  a description used in the timeout error, e.g. "ring ready on dev2"
 * @throws Error `timed out after <ms> ms waiting for <what>` (with the last error the condition threw, if any);
 *   the condition's AbortWait as it is.
 */
export async function waitFor<T>(
  what: string,
  condition: () => T | Promise<T>,
  opts: WaitOptions = {},
): Promise<NonNullable<T>> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const intervalMs = opts.intervalMs ?? 20;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value) return value as NonNullable<T>;
      lastError = undefined;
    } catch (err) {
      if (err instanceof AbortWait) throw err;
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const detail = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * {@link waitFor} `probe(node)` on every node in turn, each with its own deadline, e.g. a key
 * read back through every node after a fault. @returns each node's truthy value, in order.
 * @throws Error `timed out after <ms> ms waiting for <what> through <node name>`.
 */
export async function waitForEach<N extends { readonly name: string }, T>(
  nodes: readonly N[],
  what: string,
  probe: (node: N) => T | Promise<T>,
  opts: WaitOptions = {},
): Promise<NonNullable<T>[]> {
  const out: NonNullable<T>[] = [];
  for (const n of nodes) out.push(await waitFor(`${what} through ${n.name}`, () => probe(n), opts));
  return out;
}
