/**
 * Run exercise suites with vitest's JSON reporter and turn the report into per-exercise results.
 * Shared by `npm run grade` and `npm run check:stubs`.
 *
 * The mapping is pure ({@link gradeReport}, {@link resultsJson}); only {@link runVitest} and
 * {@link readReport} touch processes and files. Suites live in `exercises/<name>/*.test.ts`
 * whichever tree they run against, so results are matched to exercises by the suite's path.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative, sep } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import type { Exercise } from './manifest.js';
import { ROOT } from './manifest.js';

// ---- vitest's JSON report (the part we read) ----

/** One test of vitest's JSON report (`testResults[].assertionResults[]`, in file order). */
export interface VitestAssertion {
  readonly ancestorTitles: readonly string[];
  readonly title: string;
  /** `passed` | `failed` | `skipped` | `pending` | `todo` | `disabled`. */
  readonly status: string;
  readonly failureMessages?: readonly string[];
}

/** One test file of the report. `message` is set when the file itself failed (import error, afterAll…). */
export interface VitestFile {
  /** Absolute path of the test file. */
  readonly name: string;
  /** `passed` | `failed` | `skipped` …; `failed` also when a hook failed and its tests were skipped. */
  readonly status: string;
  readonly message?: string;
  readonly assertionResults: readonly VitestAssertion[];
}

/** vitest's JSON report (`--reporter=json`), reduced to what we read. */
export interface VitestReport {
  readonly success?: boolean;
  readonly testResults: readonly VitestFile[];
}

// ---- graded results ----

/** Exercism's three outcomes. */
export type Status = 'pass' | 'fail' | 'error';

/** Longest `message` we keep (Exercism caps theirs too). */
export const MESSAGE_LIMIT = 500;

/** One graded test. */
export interface GradedTest {
  /** `<describe> > <test>` (nested describes joined the same way). */
  readonly name: string;
  readonly status: Status;
  /** Failure text: ANSI codes and stack frames removed, at most {@link MESSAGE_LIMIT} characters. */
  readonly message?: string;
  /** vitest's failure messages as they came (ANSI stripped), for callers that search them. */
  readonly raw: readonly string[];
}

/** The graded tests of one exercise's main suite, or of its bonus suite. */
export interface GradedSuite {
  /** `pass`: every test passed; `error`: a suite did not load, a hook failed, or no test ran; else `fail`. */
  readonly status: Status;
  readonly passed: number;
  readonly total: number;
  /** Tests in file order (files in path order). */
  readonly tests: readonly GradedTest[];
  /** Why the status is `error`, when it is. */
  readonly message?: string;
}

/** One exercise's results: its main suite and, if its bonus suite ran, that too. */
export interface GradedExercise {
  readonly exercise: Exercise;
  readonly main: GradedSuite;
  readonly bonus?: GradedSuite;
}

/** `results.json` (in the spirit of Exercism's test-runner interface, version 3). */
export interface ResultsJson {
  readonly version: 3;
  /** `pass` only if every exercise passed; `error` if any exercise (or the run) errored. */
  readonly status: Status;
  /** `exercises`, `solutions`, or the directory graded. */
  readonly tree: string;
  /** Why the run as a whole errored (vitest did not run, an unhandled error…). */
  readonly message?: string;
  readonly exercises: readonly ResultsJsonExercise[];
}

export interface ResultsJsonExercise {
  readonly id: string;
  readonly name: string;
  readonly title: string;
  readonly status: Status;
  readonly message?: string;
  readonly tests: readonly ResultsJsonTest[];
  /** Bonus suite: reported, never counted in `status`. */
  readonly bonus?: { readonly status: Status; readonly message?: string; readonly tests: readonly ResultsJsonTest[] };
}

export interface ResultsJsonTest {
  readonly name: string;
  readonly status: Status;
  readonly message?: string;
}

/** Message for tests vitest skipped in a failed file: their hook failed (the JSON report drops its error). */
export const NOT_RUN =
  "not run: a beforeAll/beforeEach hook of its describe block failed (vitest's own output shows why: --verbose)";

/** ANSI codes out, stack frames out, trimmed, capped at `limit` characters (ending in `…` when cut). */
export function cleanMessage(text: string, limit: number = MESSAGE_LIMIT): string {
  const lines = stripVTControlCharacters(text)
    .split('\n')
    .filter((l) => !/^\s+at /.test(l));
  const s = lines.join('\n').trim();
  return s.length <= limit ? s : `${s.slice(0, limit - 1)}…`;
}

/** True for suites that are bonus steps (`*.bonus.test.ts`). */
export function isBonusSuite(file: string): boolean {
  return file.endsWith('.bonus.test.ts');
}

/**
 * Grade one suite (one or more files, in the order given).
 * Tests: passed → `pass`; failed → `fail` with its message; skipped/todo in a failed file →
 * `error` ({@link NOT_RUN}); skipped in a file that did not fail (a deliberate `skip`) → left out.
 * Suite: `error` if no file ran, a file failed to load or failed outside its tests, a test
 * errored, or no test is left; `fail` if a test failed; else `pass`.
 */
export function gradeSuite(files: readonly VitestFile[], noun = 'suite', root: string = ROOT): GradedSuite {
  if (files.length === 0)
    return {
      status: 'error',
      passed: 0,
      total: 0,
      tests: [],
      message: `no ${noun} ran (missing, or not matched by vitest)`,
    };
  const tests: GradedTest[] = [];
  let message: string | undefined;
  for (const file of files) {
    const fileFailed = file.status === 'failed';
    const own: GradedTest[] = [];
    for (const a of file.assertionResults) {
      const name = [...a.ancestorTitles, a.title].join(' > ');
      if (a.status === 'passed') own.push({ name, status: 'pass', raw: [] });
      else if (a.status === 'failed') {
        const raw = (a.failureMessages ?? []).map((m) => stripVTControlCharacters(m));
        own.push({ name, status: 'fail', message: cleanMessage(raw.join('\n\n') || 'failed'), raw });
      } else if (fileFailed) own.push({ name, status: 'error', message: NOT_RUN, raw: [] });
    }
    tests.push(...own);
    const rel = relative(root, file.name).split(sep).join('/');
    if (fileFailed && file.assertionResults.length === 0)
      message ??= cleanMessage(`${rel} did not load: ${file.message || 'unknown error'}`);
    else if (fileFailed && own.every((t) => t.status === 'pass')) {
      message ??= cleanMessage(`${rel} failed outside its tests${file.message ? `: ${file.message}` : ' (a hook)'}`);
    }
  }
  const passed = tests.filter((t) => t.status === 'pass').length;
  const total = tests.length;
  if (message === undefined && total === 0) message = 'no tests ran';
  const status: Status =
    message !== undefined || tests.some((t) => t.status === 'error') ? 'error' : passed === total ? 'pass' : 'fail';
  return { status, passed, total, tests, ...(message !== undefined ? { message } : {}) };
}

/**
 * Map a report to the given exercises (in their order). A file belongs to an exercise when it
 * lies under `<root>/<exercise.folder>/`; `*.bonus.test.ts` files make the bonus suite, which
 * is absent when none ran. Files are taken in path order; tests keep file order.
 */
export function gradeReport(
  report: VitestReport,
  exercises: readonly Exercise[],
  root: string = ROOT,
): GradedExercise[] {
  return exercises.map((exercise) => {
    const prefix = `${exercise.folder.split('/').join(sep)}${sep}`;
    const files = report.testResults
      .filter((f) => relative(root, f.name).startsWith(prefix))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const bonus = files.filter((f) => isBonusSuite(f.name));
    const main = gradeSuite(
      files.filter((f) => !isBonusSuite(f.name)),
      `suite of ${exercise.folder}`,
      root,
    );
    return bonus.length > 0 ? { exercise, main, bonus: gradeSuite(bonus, 'bonus suite', root) } : { exercise, main };
  });
}

/** Overall status: `error` if the run or any exercise errored, `fail` if any failed, else `pass`. */
export function overallStatus(graded: readonly GradedExercise[], runError?: string): Status {
  if (runError !== undefined || graded.some((g) => g.main.status === 'error')) return 'error';
  return graded.every((g) => g.main.status === 'pass') ? 'pass' : 'fail';
}

/** The `results.json` document (tests without their `raw` messages). `runError` marks the whole run as errored. */
export function resultsJson(graded: readonly GradedExercise[], tree: string, runError?: string): ResultsJson {
  const tests = (s: GradedSuite): ResultsJsonTest[] =>
    s.tests.map((t) => ({
      name: t.name,
      status: t.status,
      ...(t.message !== undefined ? { message: t.message } : {}),
    }));
  const msg = (s: GradedSuite) => (s.message !== undefined ? { message: s.message } : {});
  return {
    version: 3,
    status: overallStatus(graded, runError),
    tree,
    ...(runError !== undefined ? { message: cleanMessage(runError) } : {}),
    exercises: graded.map(({ exercise: e, main, bonus }) => ({
      id: e.id,
      name: e.name,
      title: e.title,
      status: main.status,
      ...msg(main),
      tests: tests(main),
      ...(bonus ? { bonus: { status: bonus.status, ...msg(bonus), tests: tests(bonus) } } : {}),
    })),
  };
}

// ---- running vitest ----

/**
 * Read and shape-check a vitest JSON report.
 * @throws Error naming the file if it is missing, not JSON, or has no `testResults` list.
 */
export function readReport(file: string): VitestReport {
  if (!existsSync(file))
    throw new Error(`${file}: no such file (write it with vitest --reporter=json --outputFile=${file})`);
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: not JSON (${(err as Error).message})`);
  }
  const results = (data as { testResults?: unknown } | null)?.testResults;
  if (!Array.isArray(results)) throw new Error(`${file}: not a vitest JSON report (no "testResults" list)`);
  return data as VitestReport;
}

/** Name of the one project in a config made by {@link writeDirConfig}. */
export const DIR_PROJECT = 'grade';

/**
 * Write a vitest config that runs the repository's exercise suites with `@ex/` pointing at
 * `codeDir` (a tree laid out like exercises/, a direct child of the repository root, since
 * exercise code imports `../../shared/`). It extends vitest.config.ts (timeouts…) with one
 * project, {@link DIR_PROJECT}. The caller deletes the file after the run.
 * @param opts.bonus also run the bonus suites; `by` names the tool in the file's header.
 * @returns the config's path (next to this module, so its relative import resolves).
 */
export function writeDirConfig(codeDir: string, opts: { bonus: boolean; by: string }): string {
  const config = join(
    ROOT,
    'tools',
    'workshop',
    `.${basename(codeDir).replace(/^\./, '')}-${process.pid}.vitest.config.mjs`,
  );
  writeFileSync(
    config,
    `// Written by ${opts.by} for one run, deleted after. Safe to delete.
import base from '../../vitest.config.ts';
const { projects: _projects, ...test } = base.test ?? {};
export default {
  ...base,
  root: ${JSON.stringify(ROOT)},
  test: {
    ...test,
    projects: [{
      extends: true,
      resolve: { alias: { '@ex/': ${JSON.stringify(`${codeDir}/`)} } },
      test: { name: '${DIR_PROJECT}', include: ['exercises/**/*.test.ts'], exclude: ${JSON.stringify(opts.bonus ? [] : ['exercises/**/*.bonus.test.ts'])} },
    }],
  },
};
`,
  );
  return config;
}

/** What {@link runVitest} runs. */
export interface VitestRun {
  /** `--project` names (of the config in use). */
  readonly projects: readonly string[];
  /** A config file instead of the repository's vitest.config.ts. */
  readonly config?: string;
  /** File filters (substrings of test file paths), e.g. `exercises/ex3-coordinator/`. */
  readonly filters?: readonly string[];
  /** Also print vitest's own report and its stderr. */
  readonly verbose?: boolean;
  /** Where vitest and its config are (default: this repository). */
  readonly root?: string;
  /** Stop after this many failed tests (vitest's `--bail`). */
  readonly bail?: number;
}

/** Outcome of {@link runVitest}: the report, or `undefined` if vitest wrote none (then see `stderr`). */
export interface VitestOutcome {
  readonly report?: VitestReport;
  readonly exitCode: number;
  /** vitest's stderr (empty when `verbose`: it went to ours). */
  readonly stderr: string;
}

/**
 * Run `vitest run` from `ROOT` with the JSON reporter (`CI=true RING_LOG=silent`) and read its report.
 * Never throws for failing tests; `report` is undefined when vitest could not run at all.
 */
export async function runVitest(run: VitestRun): Promise<VitestOutcome> {
  const root = run.root ?? ROOT;
  const dir = mkdtempSync(join(tmpdir(), 'ring-vitest-'));
  const out = join(dir, 'report.json');
  const args = [
    join(root, 'node_modules', 'vitest', 'vitest.mjs'),
    'run',
    ...(run.config ? ['--config', run.config] : []),
    ...run.projects.flatMap((p) => ['--project', p]),
    ...(run.verbose ? ['--reporter=default'] : []),
    ...(run.bail ? [`--bail=${run.bail}`] : []),
    '--reporter=json',
    `--outputFile=${out}`,
    ...(run.filters ?? []),
  ];
  try {
    const child = spawn(process.execPath, args, {
      cwd: root,
      stdio: ['ignore', run.verbose ? 'inherit' : 'ignore', run.verbose ? 'inherit' : 'pipe'],
      env: { ...process.env, CI: 'true', RING_LOG: 'silent' },
    });
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-20_000); // keep the tail
    });
    const exitCode = await new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
    });
    return { exitCode, stderr, ...(existsSync(out) ? { report: readReport(out) } : {}) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Why a run produced no report: the last lines of vitest's stderr, or its exit code. */
export function noReportMessage(outcome: VitestOutcome): string {
  const tail = stripVTControlCharacters(outcome.stderr)
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('npm warn'))
    .slice(-8)
    .join('\n');
  return `vitest wrote no report (exit code ${outcome.exitCode})${tail ? `:\n${tail}` : '; run with --verbose to see its output'}`;
}
