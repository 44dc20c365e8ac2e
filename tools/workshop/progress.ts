/**
 * `npm run progress`: every exercise of the manifest with its status (passed / failing / not
 * started), tests passed/total, and the next step for the first exercise that does not pass.
 * Runs every suite against exercises/ in one vitest run (bonus suites excluded), so it takes
 * a while; `--report <file>` reads an existing vitest JSON report instead.
 *
 * "not started": every stub file byte-identical to its pristine version (pristine.ts) and no
 * test passing; "failing": anything else short of every test passing.
 *
 * Exit codes: 0 shown (whatever the statuses), 1 the suites could not be run, 2 bad usage.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import chalk from 'chalk';
import { UsageError } from '../../shared/cli/options.js';
import { highlightCode, runCli, textWidth, workshopRoot, wrap } from './cli.js';
import { loadManifest, type Exercise } from './manifest.js';
import { allPristine, stubStates } from './pristine.js';
import { runSuites, suiteResults, type VitestReport } from './run_suite.js';
import { classify, type ExerciseStatus } from './status.js';

const USAGE = `Usage: npm run progress [-- --report <file>]

Runs every exercise's suite against your code in exercises/ (one vitest run, up to a minute) and
shows where you stand: passed, failing or not started, and what to do next.

Options:
  --report <file>   read this vitest JSON report (vitest run --project exercises
                    --reporter=json --outputFile=<file>) instead of running the suites
  -h, --help`;

const paint: Record<ExerciseStatus['status'], (s: string) => string> = {
  passed: chalk.green,
  failing: chalk.yellow,
  'not started': chalk.dim,
};

/** Cut `s` to `width` characters with an ellipsis. */
const clip = (s: string, width: number) =>
  s.length <= width ? s : width <= 1 ? '…'.slice(0, width) : `${s.slice(0, width - 1)}…`;

/** Print the table; the next-step column only for `current` (cut to the terminal's width). */
function printTable(
  rows: readonly { exercise: Exercise; verdict: ExerciseStatus }[],
  current: Exercise | undefined,
): void {
  const cells = rows.map(({ exercise, verdict }) => ({
    id: exercise.id,
    title: exercise.title,
    status: verdict.status,
    tests: `${verdict.passed}/${verdict.total}`,
    next: exercise === current ? (verdict.next ?? '') : '',
  }));
  const w = {
    id: Math.max(2, ...cells.map((c) => c.id.length)),
    title: Math.max(5, ...cells.map((c) => c.title.length)),
    status: Math.max(6, ...cells.map((c) => c.status.length)),
    tests: Math.max(5, ...cells.map((c) => c.tests.length)),
  };
  const lead = w.id + w.title + w.status + w.tests + 8;
  const nextWidth = process.stdout.isTTY ? Math.max(20, (process.stdout.columns || 120) - lead - 1) : Infinity;
  console.log(
    chalk.bold(
      `${'id'.padEnd(w.id)}  ${'title'.padEnd(w.title)}  ${'status'.padEnd(w.status)}  ${'tests'.padStart(w.tests)}  next step`,
    ),
  );
  for (const c of cells) {
    console.log(
      `${chalk.bold(c.id.padEnd(w.id))}  ${c.title.padEnd(w.title)}  ${paint[c.status](c.status.padEnd(w.status))}  ` +
        `${c.tests.padStart(w.tests)}  ${c.next === '' ? '' : chalk.cyan(clip(c.next, nextWidth))}`.trimEnd(),
    );
  }
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { report: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length > 0)
    throw new UsageError(`progress takes no exercise (got ${positionals.join(' ')}); it shows them all`);
  const root = workshopRoot();
  const exercises = loadManifest(root);

  const started = Date.now();
  let report: VitestReport;
  if (values.report !== undefined) {
    const file = resolve(values.report);
    try {
      report = JSON.parse(readFileSync(file, 'utf8')) as VitestReport;
    } catch (err) {
      throw new Error(`cannot read the report ${file}: ${(err as Error).message}`);
    }
    if (!Array.isArray(report.testResults)) throw new Error(`${file} is not a vitest JSON report (no testResults)`);
  } else {
    console.log(
      chalk.dim(
        `Running the suites of all ${exercises.length} exercises against exercises/ (one vitest run, up to a minute)…`,
      ),
    );
    report = await runSuites({ root });
  }
  const suites = suiteResults(report, root);
  const rows = exercises.map((exercise) => ({
    exercise,
    verdict: classify(suites.get(exercise.name), exercise.name, allPristine(stubStates(root, exercise))),
  }));
  const current = rows.find((r) => r.verdict.status !== 'passed');

  console.log();
  printTable(rows, current?.exercise);
  console.log();
  const done = rows.filter((r) => r.verdict.status === 'passed').length;
  if (!current) {
    console.log(
      `${chalk.green.bold(`All ${rows.length} exercises pass. Well done!`)} Bonus steps: npm run test:bonus -- ex3`,
    );
  } else {
    const { exercise, verdict } = current;
    console.log(
      `${done} of ${rows.length} exercises pass. ${chalk.bold(`Next: ${exercise.id} · ${exercise.title}`)} (${exercise.folder}/README.md)`,
    );
    for (const goal of exercise.goals) console.log(highlightCode(wrap(`• ${goal}`, textWidth(), '  ')).join('\n'));
    if (verdict.next) console.log(chalk.cyan(`  ${verdict.next}`));
    console.log(`  npm test -- ${exercise.id}    ·    npm run hint -- ${exercise.id}`);
  }
  if (values.report === undefined)
    console.log(chalk.dim(`(suites run in ${((Date.now() - started) / 1000).toFixed(1)} s)`));
  return 0;
}

await runCli('progress', main);
