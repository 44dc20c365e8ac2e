/**
 * `npm run progress`: every exercise of the manifest with its status (passed / failing / not
 * started), tests passed/total, and the next step for the first exercise that does not pass.
 *
 * It answers from the last recorded results (`.workshop/results.json`, written by `npm test` and
 * by progress itself; see results.ts) for every exercise whose files did not change since, and
 * runs the suites of the others against exercises/ in one vitest run (bonus suites excluded).
 * An exercise whose stubs are untouched is "not started" without running its suite (every
 * untouched stub fails every test: `npm run check:stubs` proves it), except the first such one
 * when it may be the next step, whose messages the table shows. `--rerun` runs every suite;
 * `--report <file>` reads an existing vitest JSON report instead.
 *
 * "not started": every stub file byte-identical to its pristine version (pristine.ts) and no
 * test passing; "failing": anything else short of every test passing.
 *
 * Exit codes: 0 shown (whatever the statuses), 1 the suites could not be run, 2 bad usage.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { ChalkInstance } from 'chalk';
import { isMain, UsageError } from '../../shared/cli/options.js';
import { highlightCode, println, runCli, runCommand, textWidth, type WorkshopIo, wrap } from './cli.js';
import { loadManifest, type Exercise } from './manifest.js';
import { allPristine, stubStates } from './pristine.js';
import { fingerprints, loadResults, saveResults, type RecordedSuite } from './results.js';
import { runSuites, suiteResults, type SuiteResult, type VitestReport } from './run_suite.js';
import { classify, type ExerciseStatus } from './status.js';

const USAGE = `Usage: npm run progress [-- --rerun | --report <file>]

Shows where you stand on every exercise: passed, failing or not started, and what to do next.
Exercises whose files did not change since their suite last ran (npm test, or progress) are
shown from that run; the suites of the others run now against your code in exercises/.

Options:
  --rerun           run every exercise's suite again (one vitest run, up to a minute)
  --report <file>   read this vitest JSON report (vitest run --project exercises
                    --reporter=json --outputFile=<file>) instead of running the suites
  -h, --help`;

/** The colour of each status. */
const paint = (chalk: ChalkInstance): Record<ExerciseStatus['status'], (s: string) => string> => ({
  passed: chalk.green,
  failing: chalk.yellow,
  'not started': chalk.dim,
});

/** Cut `s` to `width` characters with an ellipsis. */
const clip = (s: string, width: number) =>
  s.length <= width ? s : width <= 1 ? '…'.slice(0, width) : `${s.slice(0, width - 1)}…`;

/** Print the table; the next-step column only for `current` (cut to the terminal's width). */
function printTable(io: WorkshopIo, rows: readonly Row[], current: Exercise | undefined): void {
  const chalk = io.chalk;
  const colour = paint(chalk);
  const cells = rows.map(({ exercise, verdict, source }) => ({
    id: exercise.id,
    title: exercise.title,
    status: verdict.status,
    tests: source.kind === 'untouched' ? '–' : `${verdict.passed}/${verdict.total}`,
    next: exercise === current ? (verdict.next ?? '') : '',
  }));
  const w = {
    id: Math.max(2, ...cells.map((c) => c.id.length)),
    title: Math.max(5, ...cells.map((c) => c.title.length)),
    status: Math.max(6, ...cells.map((c) => c.status.length)),
    tests: Math.max(5, ...cells.map((c) => c.tests.length)),
  };
  const lead = w.id + w.title + w.status + w.tests + 8;
  const nextWidth = io.columns !== undefined ? Math.max(20, (io.columns || 120) - lead - 1) : Infinity;
  println(
    io,
    chalk.bold(
      `${'id'.padEnd(w.id)}  ${'title'.padEnd(w.title)}  ${'status'.padEnd(w.status)}  ${'tests'.padStart(w.tests)}  next step`,
    ),
  );
  for (const c of cells) {
    println(
      io,
      `${chalk.bold(c.id.padEnd(w.id))}  ${c.title.padEnd(w.title)}  ${colour[c.status](c.status.padEnd(w.status))}  ` +
        `${c.tests.padStart(w.tests)}  ${c.next === '' ? '' : chalk.cyan(clip(c.next, nextWidth))}`.trimEnd(),
    );
  }
}

/** Where a row's results come from. */
type Source =
  | { readonly kind: 'report' }
  | { readonly kind: 'recorded'; readonly record: RecordedSuite }
  | { readonly kind: 'ran' }
  /** Untouched stubs, suite not run: "not started" (check:stubs proves every test fails). */
  | { readonly kind: 'untouched' };

interface Row {
  readonly exercise: Exercise;
  readonly verdict: ExerciseStatus;
  readonly source: Source;
}

/** `ex1, ex2` */
const ids = (list: readonly (Exercise | Row)[]) => list.map((x) => ('exercise' in x ? x.exercise : x).id).join(', ');

/** `14:02` (today) or `3 Dec 14:02`: when a recorded run ended. */
function when(iso: string): string {
  const d = new Date(iso);
  const time = d.toTimeString().slice(0, 5);
  return d.toDateString() === new Date().toDateString()
    ? time
    : `${d.getDate()} ${d.toLocaleString('en', { month: 'short' })} ${time}`;
}

/** Read a vitest JSON report given with --report. */
function readReportFile(path: string): VitestReport {
  const file = resolve(path);
  let report: VitestReport;
  try {
    report = JSON.parse(readFileSync(file, 'utf8')) as VitestReport;
  } catch (err) {
    throw new Error(`cannot read the report ${file}: ${(err as Error).message}`);
  }
  if (!Array.isArray(report.testResults)) throw new Error(`${file} is not a vitest JSON report (no testResults)`);
  return report;
}

/**
 * `npm run progress` in-process: `argv` are its arguments (`['--rerun']`), the output goes to
 * `io`, the workshop is `io.root` (the suites that must run, run in vitest).
 * @returns the exit code: 0 shown, 1 the suites could not be run, 2 bad usage (the error line
 *   is on `io.stderr`).
 */
export function progress(argv: readonly string[], io: WorkshopIo): Promise<number> {
  return runCommand('progress', io, () => main(argv, io));
}

async function main(argv: readonly string[], io: WorkshopIo): Promise<number> {
  const chalk = io.chalk;
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      report: { type: 'string' },
      rerun: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    println(io, USAGE);
    return 0;
  }
  if (positionals.length > 0)
    throw new UsageError(`progress takes no exercise (got ${positionals.join(' ')}); it shows them all`);
  if (values.report !== undefined && values.rerun) throw new UsageError('--report and --rerun exclude each other');
  const root = io.root;
  const exercises = loadManifest(root);
  const pristine = new Map(exercises.map((e) => [e, allPristine(stubStates(root, e))]));
  const verdictOf = (e: Exercise, suite: SuiteResult | undefined) => classify(suite, e.name, pristine.get(e));

  let rows: Row[];
  let ranMs: number | undefined;
  if (values.report !== undefined) {
    const suites = suiteResults(readReportFile(values.report), root);
    rows = exercises.map((e) => ({
      exercise: e,
      verdict: verdictOf(e, suites.get(e.name)),
      source: { kind: 'report' },
    }));
  } else {
    // Fingerprints before the run: a file saved while it runs makes the record stale, not wrong.
    const prints = fingerprints(root, exercises);
    const recorded = values.rerun ? {} : loadResults(root).exercises;
    const known = new Map<Exercise, RecordedSuite>();
    for (const e of exercises) {
      const r = recorded[e.id];
      if (r && r.fingerprint === prints.get(e.id)) known.set(e, r);
    }
    // Untouched stubs need no run, except the first such exercise when it may be the next
    // step (no earlier exercise known not to pass): its messages say what to do.
    const toRun: Exercise[] = [];
    let nextFound = false;
    for (const e of exercises) {
      const r = known.get(e);
      if (r) {
        if (verdictOf(e, r.suite).status !== 'passed') nextFound = true;
        continue;
      }
      if (values.rerun || pristine.get(e) !== true || !nextFound) toRun.push(e);
      nextFound ||= pristine.get(e) === true;
    }
    let suites = new Map<string, SuiteResult>();
    if (toRun.length > 0) {
      const what = toRun.length === exercises.length ? `all ${toRun.length} exercises` : ids(toRun);
      println(io, chalk.dim(`Running the suites of ${what} against exercises/…`));
      const started = Date.now();
      suites = suiteResults(await runSuites({ root, exercises: toRun.map((e) => e.name) }), root);
      ranMs = Date.now() - started;
      const at = new Date().toISOString();
      const records = new Map<string, RecordedSuite>();
      for (const e of toRun) {
        const suite = suites.get(e.name);
        const fingerprint = prints.get(e.id);
        if (suite && fingerprint) records.set(e.id, { fingerprint, at, by: 'npm run progress', suite });
      }
      saveResults(root, records);
    }
    rows = exercises.map((e): Row => {
      const r = known.get(e);
      if (r) return { exercise: e, verdict: verdictOf(e, r.suite), source: { kind: 'recorded', record: r } };
      if (toRun.includes(e)) return { exercise: e, verdict: verdictOf(e, suites.get(e.name)), source: { kind: 'ran' } };
      return { exercise: e, verdict: { status: 'not started', passed: 0, total: 0 }, source: { kind: 'untouched' } };
    });
  }
  const current = rows.find((r) => r.verdict.status !== 'passed');

  println(io);
  printTable(io, rows, current?.exercise);
  println(io);
  const done = rows.filter((r) => r.verdict.status === 'passed').length;
  if (!current) {
    println(
      io,
      `${chalk.green.bold(`All ${rows.length} exercises pass. Well done!`)} Bonus steps: npm run test:bonus -- ex3`,
    );
  } else {
    const { exercise, verdict } = current;
    println(
      io,
      `${done} of ${rows.length} exercises pass. ${chalk.bold(`Next: ${exercise.id} · ${exercise.title}`)} (${exercise.folder}/README.md)`,
    );
    for (const goal of exercise.goals)
      println(io, highlightCode(wrap(`• ${goal}`, textWidth(io.columns), '  '), chalk).join('\n'));
    if (verdict.next) println(io, chalk.cyan(`  ${verdict.next}`));
    println(io, `  npm test -- ${exercise.id}    ·    npm run hint -- ${exercise.id}`);
  }
  if (values.report === undefined) {
    const of = (kind: Source['kind']) => rows.filter((r) => r.source.kind === kind);
    const notes: string[] = [];
    const recorded = of('recorded');
    if (recorded.length > 0) {
      const latest = recorded
        .map((r) => (r.source as { record: RecordedSuite }).record.at)
        .sort()
        .at(-1) as string;
      notes.push(`${ids(recorded)}: from their last run (up to ${when(latest)}), unchanged since`);
    }
    if (of('ran').length > 0) notes.push(`${ids(of('ran'))}: run now (${((ranMs ?? 0) / 1000).toFixed(1)} s)`);
    if (of('untouched').length > 0) notes.push(`${ids(of('untouched'))}: stubs untouched, not run`);
    println(io, chalk.dim(`(${notes.join('; ')}. npm run progress -- --rerun runs every suite.)`));
  }
  return 0;
}

if (isMain(import.meta.url)) await runCli(progress);
