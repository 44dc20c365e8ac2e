/**
 * How the bench runs its steps: a progress line per step and repetition, a deadline on
 * everything that could hang (it says what was too slow instead of waiting), and cleanups
 * that run whatever happened.
 */
import chalk from 'chalk';

/** Something took longer than its deadline. */
export class TooSlowError extends Error {
  constructor(
    readonly what: string,
    readonly ms: number,
  ) {
    super(`too slow: ${what} took more than ${ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`}`);
    this.name = 'TooSlowError';
  }
}

/**
 * `promise`, or a {@link TooSlowError} after `ms`. The work itself is not cancelled: the
 * caller's cleanup (stopping the cluster, killing the child) ends it.
 */
export async function withDeadline<T>(what: string, ms: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TooSlowError(what, ms)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Progress lines: `  12.3 s  kv       put rep 2/5: 15.1k/s`. */
export class Progress {
  private readonly t0 = performance.now();

  constructor(private readonly write: (line: string) => void = (l) => process.stderr.write(`${l}\n`)) {}

  /** A line of step `step`. */
  line(step: string, text: string): void {
    const s = ((performance.now() - this.t0) / 1000).toFixed(1).padStart(6);
    this.write(`${chalk.dim(`${s} s`)}  ${chalk.cyan(step.padEnd(9))} ${text}`);
  }

  /** A problem in step `step` (too slow, failed): yellow, and the run goes on. */
  warn(step: string, text: string): void {
    this.line(step, chalk.yellow(text));
  }
}

/** The message of anything thrown, on one line. */
export const messageOf = (err: unknown): string =>
  (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? String(err);

/**
 * Run `cleanup` with a deadline, reporting (not throwing) when it fails or is too slow: a
 * cluster that will not stop must not keep the bench from going on.
 */
export async function cleanup(
  progress: Progress,
  step: string,
  what: string,
  ms: number,
  fn: () => Promise<unknown>,
): Promise<void> {
  try {
    await withDeadline(what, ms, fn());
  } catch (err) {
    progress.warn(step, `${what}: ${messageOf(err)}`);
  }
}

/** What a step gets: the tree to measure, the mode, where samples and progress go. */
export interface StepContext {
  /** The measured tree (absolute). */
  readonly root: string;
  readonly quick: boolean;
  /** `--reps`, when given: overrides the step's own repetition count. */
  readonly reps?: number;
  /** `--sizes`, when given: the gossip rows' cluster sizes. */
  readonly sizes?: readonly number[];
  readonly results: import('./rows.js').Results;
  readonly progress: Progress;
  /** The measured tree's runtime (loaded on first use). */
  runtime(): Promise<import('./runtime.js').Runtime>;
}
