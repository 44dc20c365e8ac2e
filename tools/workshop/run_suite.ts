/**
 * Run exercise suites against `exercises/` (the attendee's code) with vitest's JSON reporter,
 * and read the per-test results back, grouped by exercise.
 */
import { relative, sep } from 'node:path';
import { noReportMessage, runVitest } from './vitest_report.js';

/** The parts of vitest's JSON report (`--reporter=json`) that the tools read. */
export interface VitestReport {
  readonly testResults: readonly {
    /** Absolute path of the test file. */
    readonly name: string;
    readonly status?: string;
    /** Why the whole file failed (an import error…); empty when only tests failed. */
    readonly message?: string;
    readonly assertionResults: readonly {
      readonly title: string;
      readonly fullName?: string;
      readonly ancestorTitles?: readonly string[];
      /** `passed`, `failed`, `skipped`, `pending`, `todo` or `disabled`. */
      readonly status: string;
      readonly failureMessages?: readonly string[];
    }[];
  }[];
}

/** One test of a suite. Tests vitest did not run (skipped, todo…) are `skipped`. */
export interface TestOutcome {
  readonly name: string;
  readonly status: 'passed' | 'failed' | 'skipped';
  readonly messages: readonly string[];
}

/** One exercise's suite: its tests, and the errors of test files that failed as a whole. */
export interface SuiteResult {
  readonly tests: readonly TestOutcome[];
  readonly errors: readonly string[];
}

/**
 * Group a report's tests by exercise folder: `exercises/<name>/…` → `<name>`.
 * Test files outside `exercises/` under `root` are left out.
 */
export function suiteResults(report: VitestReport, root: string): Map<string, SuiteResult> {
  const out = new Map<string, { tests: TestOutcome[]; errors: string[] }>();
  for (const file of report.testResults) {
    const parts = relative(root, file.name).split(sep);
    if (parts.length < 3 || parts[0] !== 'exercises' || !parts[1]) continue;
    const suite = out.get(parts[1]) ?? { tests: [], errors: [] };
    out.set(parts[1], suite);
    if (file.message) suite.errors.push(file.message);
    for (const t of file.assertionResults) {
      const status = t.status === 'passed' ? 'passed' : t.status === 'failed' ? 'failed' : 'skipped';
      const name = t.fullName ?? [...(t.ancestorTitles ?? []), t.title].join(' ');
      suite.tests.push({ name, status, messages: t.failureMessages ?? [] });
    }
  }
  return out;
}

/** Options of {@link runSuites}. */
export interface RunOptions {
  /** Repository root: where vitest and its config are. */
  readonly root: string;
  /** Exercise folder names to run (`ex3-coordinator`); all of the project's suites when omitted. */
  readonly exercises?: readonly string[];
  /** vitest project; `exercises` (the attendee's code, bonus suites excluded) by default. */
  readonly project?: string;
}

/**
 * Run the suites once (`vitest run`, `CI=true`, `RING_LOG=silent`) with the JSON reporter and
 * return the parsed report (see `runVitest`). Failing tests are normal; vitest's output is not shown.
 * @throws Error with the end of vitest's output when it wrote no report (it crashed, or was killed).
 */
export async function runSuites(opts: RunOptions): Promise<VitestReport> {
  const outcome = await runVitest({
    root: opts.root,
    projects: [opts.project ?? 'exercises'],
    filters: (opts.exercises ?? []).map((name) => `exercises/${name}/`),
  });
  if (!outcome.report) throw new Error(noReportMessage(outcome));
  return outcome.report as unknown as VitestReport;
}
