/**
 * Where an attendee stands on one exercise, from its suite's results and whether its stub
 * files were touched: passed, failing or not started, and the next thing to do.
 */
import type { SuiteResult } from './run_suite.js';

/** `passed`: every test that ran passed. `not started`: stubs untouched and no test passes. */
export type Status = 'passed' | 'failing' | 'not started';

/** The verdict on one exercise. `passed`/`total` count the tests that ran (not skipped ones). */
export interface ExerciseStatus {
  readonly status: Status;
  readonly passed: number;
  readonly total: number;
  /** For an exercise that does not pass: its unfinished step's message, else the first failure. */
  readonly next?: string;
}

/** A stub's "not done yet" message found in a failure. */
export interface StepMessage {
  readonly step: number;
  /** `ex3-coordinator step 2 is not done yet: … in exercises/ex3-coordinator/coordinator.ts` */
  readonly text: string;
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The first `<name> step K is not done yet: …` message in a failure message (the stub's
 * NotImplementedError, possibly quoted inside another error, with its quotes escaped).
 * @param name the exercise's folder name, `ex3-coordinator`: other exercises' steps are ignored.
 */
export function stepMessage(message: string, name: string): StepMessage | undefined {
  const text = message.replace(/\\"/g, '"');
  const n = escapeRe(name);
  // Up to the file the stub names; without one (a cut message), the rest of the line.
  const m =
    new RegExp(`${n} step (\\d+) is not done yet: (.*?) in (exercises/${n}/[\\w./-]+\\.ts)`).exec(text) ??
    new RegExp(`${n} step (\\d+) is not done yet: ([^\\n]*)`).exec(text);
  if (!m) return undefined;
  // A cut message may end in the quote around it.
  const what = m[3] ? (m[2] ?? '').trim() : (m[2] ?? '').replace(/["\\]+$/, '').trim();
  return { step: Number(m[1]), text: `${name} step ${m[1]} is not done yet: ${what}${m[3] ? ` in ${m[3]}` : ''}` };
}

/**
 * The next step of an exercise that does not pass: the lowest-numbered "step K is not done
 * yet" message among its failures (the first one found for that step); else the first failing
 * test's name; else the first error of a test file that failed as a whole.
 */
export function nextStep(suite: SuiteResult, name: string): string | undefined {
  const failures = [...suite.errors, ...suite.tests.filter((t) => t.status === 'failed').flatMap((t) => t.messages)];
  let best: StepMessage | undefined;
  for (const f of failures) {
    const s = stepMessage(f, name);
    if (s && (!best || s.step < best.step)) best = s;
  }
  if (best) return best.text;
  const failed = suite.tests.find((t) => t.status === 'failed');
  if (failed) return `failing: ${failed.name}`;
  const error = suite.errors[0]?.split('\n').find((l) => l.trim() !== '');
  return error === undefined ? undefined : `the suite did not run: ${error.trim()}`;
}

/**
 * Classify an exercise.
 * @param suite its results; undefined when the report has none (nothing ran).
 * @param pristine every stub file is byte-identical to its pristine version; undefined when
 *   unknown (no git): then the tests alone decide between failing and not started.
 */
export function classify(suite: SuiteResult | undefined, name: string, pristine: boolean | undefined): ExerciseStatus {
  const ran = suite?.tests.filter((t) => t.status !== 'skipped') ?? [];
  const passed = ran.filter((t) => t.status === 'passed').length;
  const total = ran.length;
  if (!suite || total === 0) {
    return {
      status: 'failing',
      passed,
      total,
      next: (suite && nextStep(suite, name)) ?? 'no test ran: check the suite with npm test',
    };
  }
  if (passed === total) return { status: 'passed', passed, total };
  const status = passed === 0 && pristine !== false ? 'not started' : 'failing';
  return { status, passed, total, next: nextStep(suite, name) };
}
