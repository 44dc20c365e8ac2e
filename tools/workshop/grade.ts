/**
 * `npm run grade`: run every exercise suite against a tree of exercise code and report, per
 * exercise, how many tests pass: a table, and with `--json FILE` a results.json in the spirit
 * of Exercism's test runner (version 3; shape: {@link ResultsJson}).
 *
 *   npm run grade                      against exercises/ (an attendee's checkout)
 *   npm run grade -- --solutions       against solutions/ (bonus suites shown too)
 *   npm run grade -- --dir PATH        against a copy of the exercises/ layout (a submission)
 *   options: --exercise ex3  --bonus  --json FILE  --verbose
 *
 * The suites are always the repository's (`exercises/exN-*\/*.test.ts`); only the `@ex/` alias
 * moves. For `--dir`, a vitest config with one project aliasing `@ex/` to that directory is
 * written next to this file for the run and deleted after. Exercise code imports
 * `../../shared/...`, so a directory that is not a direct child of the repository root is first
 * copied into one (`.grade-XXXXXX/`, deleted after).
 *
 * Exit code: 0 only if every graded exercise passed (bonus suites never count); 1 otherwise;
 * 2 for bad options.
 */
import { cpSync, existsSync, mkdtempSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import chalk from 'chalk';
import { isMain, parseCommandLine, runMain, UsageError } from '../../shared/cli/options.js';
import { findExercise, loadManifest, ROOT, type Exercise } from './manifest.js';
import {
  DIR_PROJECT,
  gradeReport,
  noReportMessage,
  overallStatus,
  resultsJson,
  runVitest,
  type GradedExercise,
  type GradedSuite,
  type ResultsJson,
  type Status,
  type VitestRun,
  writeDirConfig,
} from './vitest_report.js';

const PROG = 'npm run grade';

const USAGE = `usage: ${PROG} -- [--solutions | --dir PATH] [--exercise ID] [--bonus] [--json FILE] [--verbose]

Runs every exercise suite against exercises/ (default), solutions/ or PATH (a copy of the
exercises/ folder, e.g. a submission) and prints passed/total per exercise.

  --solutions      grade solutions/ (bonus suites are shown too)
  --dir PATH       grade PATH, laid out like exercises/ (PATH/ex1-ping/ping.ts, ...)
  --exercise ID    only this exercise (ex3, ex3-coordinator or 3)
  --bonus          also run the bonus suites (reported apart, never counted)
  --json FILE      write results.json (Exercism-style: status per exercise and per test)
  --verbose        show vitest's own output
Exit code 0 only if every exercise passed.`;

/** Which tree to grade, and how. */
export interface GradeOptions {
  readonly tree: 'exercises' | 'solutions' | 'dir';
  /** Absolute path, for `tree: 'dir'`. */
  readonly dir?: string;
  readonly exercise?: string;
  readonly bonus: boolean;
  /** Absolute path of the results.json to write. */
  readonly json?: string;
  readonly verbose: boolean;
  readonly help: boolean;
}

/**
 * Parse grade's command line. Paths are resolved against `cwd` (npm's `INIT_CWD`: where the user ran npm).
 * @throws UsageError on unknown options, `--solutions` with `--dir`, or an empty path.
 */
export function parseGradeArgs(
  args: readonly string[],
  cwd: string = process.env.INIT_CWD ?? process.cwd(),
): GradeOptions {
  const { values } = parseCommandLine({
    args: [...args],
    options: {
      solutions: { type: 'boolean', default: false },
      dir: { type: 'string' },
      exercise: { type: 'string' },
      bonus: { type: 'boolean', default: false },
      json: { type: 'string' },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.solutions && values.dir !== undefined) throw new UsageError('--solutions and --dir exclude each other');
  for (const flag of ['dir', 'json', 'exercise'] as const) {
    if (values[flag] !== undefined && values[flag].trim() === '') throw new UsageError(`--${flag} must not be empty`);
  }
  const tree = values.dir !== undefined ? 'dir' : values.solutions ? 'solutions' : 'exercises';
  return {
    tree,
    ...(values.dir !== undefined ? { dir: resolve(cwd, values.dir) } : {}),
    ...(values.exercise !== undefined ? { exercise: values.exercise } : {}),
    bonus: values.bonus || tree === 'solutions',
    ...(values.json !== undefined ? { json: resolve(cwd, values.json) } : {}),
    verbose: values.verbose,
    help: values.help,
  };
}

/** Files made for one `--dir` run; {@link cleanUp} deletes them. */
const made: string[] = [];

function cleanUp(): void {
  for (const p of made.splice(0)) rmSync(p, { recursive: true, force: true });
}

/**
 * Prepare a `--dir` run: check the directory, copy it under the root if it is not a direct child
 * (its files import `../../shared/`), and write a one-project vitest config for it.
 * @returns the vitest run, and the directory the code was run from (for messages).
 * @throws UsageError if the directory is missing or holds none of the exercise folders.
 */
function prepareDir(
  dir: string,
  exercises: readonly Exercise[],
  bonus: boolean,
  verbose: boolean,
): { run: VitestRun; ranFrom: string } {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`--dir ${dir}: no such directory`);
  const present = exercises.filter((e) => existsSync(join(dir, e.name)));
  if (present.length === 0)
    throw new UsageError(
      `--dir ${dir} holds none of ${exercises.map((e) => `${e.name}/`).join(', ')}: it should be laid out like exercises/`,
    );
  let codeDir = realpathSync(dir);
  if (dirname(codeDir) !== realpathSync(ROOT).replace(/\/$/, '') || basename(codeDir).startsWith('.')) {
    const copy = mkdtempSync(join(ROOT, '.grade-'));
    made.push(copy);
    cpSync(codeDir, copy, { recursive: true, filter: (src) => !['node_modules', '.git'].includes(basename(src)) });
    codeDir = copy;
  }
  const config = writeDirConfig(codeDir, { bonus, by: PROG });
  made.push(config);
  return { run: { config, projects: [DIR_PROJECT], verbose }, ranFrom: codeDir };
}

/** Replace `from` (a temporary copy's path, absolute or root-relative) by `to` in every message. */
function rewritePaths(graded: GradedExercise[], from: string, to: string): GradedExercise[] {
  const swaps = [from, relative(ROOT, from)].filter((s) => s !== '');
  const fix = (s: string) => swaps.reduce((acc, f) => acc.split(f).join(to), s);
  const suite = (s: GradedSuite): GradedSuite => ({
    ...s,
    ...(s.message !== undefined ? { message: fix(s.message) } : {}),
    tests: s.tests.map((t) => ({
      ...t,
      ...(t.message !== undefined ? { message: fix(t.message) } : {}),
      raw: t.raw.map(fix),
    })),
  });
  return graded.map((g) => ({ ...g, main: suite(g.main), ...(g.bonus ? { bonus: suite(g.bonus) } : {}) }));
}

const STATUS_WORD: Record<Status, string> = { pass: 'passed', fail: 'failing', error: 'error' };
const paint = (s: Status, text: string) =>
  s === 'pass' ? chalk.green(text) : s === 'fail' ? chalk.yellow(text) : chalk.red(text);

/** The table, a total line, and for each exercise that did not pass the first reason why. */
export function formatTable(graded: readonly GradedExercise[], runError?: string): string {
  const withBonus = graded.some((g) => g.bonus);
  const w = {
    ex: Math.max(8, ...graded.map((g) => g.exercise.name.length)),
    title: Math.max(5, ...graded.map((g) => g.exercise.title.length)),
  };
  const lines = [
    chalk.bold(
      `${'exercise'.padEnd(w.ex)}  ${'title'.padEnd(w.title)}  ${'tests'.padStart(7)}  ${withBonus ? 'status   bonus' : 'status'}`,
    ),
  ];
  for (const { exercise: e, main, bonus } of graded) {
    const b = bonus ? `  ${paint(bonus.status, `${bonus.passed}/${bonus.total} ${STATUS_WORD[bonus.status]}`)}` : '';
    lines.push(
      `${e.name.padEnd(w.ex)}  ${e.title.padEnd(w.title)}  ${`${main.passed}/${main.total}`.padStart(7)}  ${paint(main.status, b ? STATUS_WORD[main.status].padEnd(7) : STATUS_WORD[main.status])}${b}`,
    );
  }
  const passedEx = graded.filter((g) => g.main.status === 'pass').length;
  const passed = graded.reduce((n, g) => n + g.main.passed, 0);
  const total = graded.reduce((n, g) => n + g.main.total, 0);
  const status = overallStatus(graded, runError);
  lines.push(paint(status, `total: ${passedEx}/${graded.length} exercises passed, ${passed}/${total} tests`));
  const why: string[] = [];
  for (const { exercise: e, main } of graded) {
    if (main.status === 'pass') continue;
    const first = main.tests.find((t) => t.status !== 'pass');
    const reason = main.message ?? (first ? `${first.name}: ${first.message ?? ''}` : '');
    const flat = reason.replace(/\s+/g, ' ').trim();
    why.push(`  ${e.id}: ${flat.length > 240 ? `${flat.slice(0, 239)}…` : flat}`);
  }
  if (why.length > 0) lines.push('', 'first problem per exercise:', ...why);
  if (runError !== undefined) lines.push('', chalk.red(runError));
  return lines.join('\n');
}

async function main(): Promise<void> {
  const opts = parseGradeArgs(process.argv.slice(2));
  if (opts.help) {
    console.log(USAGE);
    return;
  }
  const all = loadManifest();
  const exercises = opts.exercise !== undefined ? [findExercise(all, opts.exercise)] : all;
  const filters = opts.exercise !== undefined ? [`${exercises[0]?.folder}/`] : [];
  const treeName = opts.tree === 'dir' ? (opts.dir as string) : opts.tree;

  let run: VitestRun;
  let ranFrom: string | undefined;
  const onSignal = () => {
    cleanUp();
    process.exit(130);
  };
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  try {
    if (opts.tree === 'dir') {
      ({ run, ranFrom } = prepareDir(opts.dir as string, exercises, opts.bonus, opts.verbose));
    } else {
      const projects =
        opts.tree === 'solutions' ? ['solutions'] : opts.bonus ? ['exercises', 'exercises-bonus'] : ['exercises'];
      run = { projects, verbose: opts.verbose };
    }
    const started = Date.now();
    process.stderr.write(
      chalk.dim(
        `grading ${exercises.length === 1 ? exercises[0]?.id : `${exercises.length} exercises`} against ${treeName}${opts.bonus ? ' (with bonus suites)' : ''} …\n`,
      ),
    );
    const outcome = await runVitest({ ...run, filters });
    const seconds = ((Date.now() - started) / 1000).toFixed(1);

    let runError: string | undefined;
    if (!outcome.report) runError = noReportMessage(outcome);
    else if (outcome.report.success !== false && outcome.exitCode !== 0) {
      runError = `vitest exited with code ${outcome.exitCode} although no test failed: an error outside the tests (e.g. an unhandled rejection); --verbose shows it`;
    }
    let graded = gradeReport(outcome.report ?? { testResults: [] }, exercises);
    if (ranFrom !== undefined && opts.dir !== undefined && ranFrom !== realpathSync(opts.dir))
      graded = rewritePaths(graded, ranFrom, opts.dir);

    console.log(formatTable(graded, runError));
    console.log(chalk.dim(`(${seconds}s)`));
    if (opts.json !== undefined) {
      const doc: ResultsJson = resultsJson(graded, treeName, runError);
      writeFileSync(opts.json, `${JSON.stringify(doc, null, 2)}\n`);
      console.log(chalk.dim(`results written to ${opts.json}`));
    }
    process.exitCode = overallStatus(graded, runError) === 'pass' ? 0 : 1;
  } finally {
    cleanUp();
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
  }
}

if (isMain(import.meta.url)) runMain(PROG, main);
