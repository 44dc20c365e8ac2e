/** Options for {@link waitFor}. */
export interface WaitOptions {
  /** Give up after this many ms (default 10 000). */
  timeoutMs?: number;
  /** Poll every this many ms (default 20). */
  intervalMs?: number;
}

/**
 * Polls `condition` until it returns a truthy value and resolves with that value.
 * This is how tests synchronise: never with fixed sleeps.
 *
 * @param what  a description used in the timeout error, e.g. "ring ready on dev2"
 * @throws Error `timed out after <ms> ms waiting for <what>` (with the last error the condition threw, if any)
 */
export async function waitFor<T>(what: string, condition: () => T | Promise<T>, opts: WaitOptions = {}): Promise<NonNullable<T>> {
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
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const detail = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
