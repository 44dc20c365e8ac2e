/**
 * `npm run solution -- ex3`: how the attendee's stub files differ from `solutions/<name>/`,
 * one diff per stub file. Only once the exercise's suite passes (it is run first), unless
 * `--force`.
 *
 * Exit codes: 0 shown, 1 refused (suite not passing) or failed, 2 bad usage.
 */
import { parseArgs } from 'node:util';
import { isMain } from '../../shared/cli/options.js';
import { exerciseFrom, println, runCli, runCommand, type WorkshopIo } from './cli.js';
import { fileDiff } from './diff.js';
import { runSuites, suiteResults } from './run_suite.js';
import { classify } from './status.js';

const USAGE = `Usage: npm run solution -- <exercise> [--force]

Once an exercise's suite passes, shows how your stub files differ from the reference
solution in solutions/ (the suite is run first, a few seconds).

Options:
  --force   show it without running the suite, passing or not
  -h, --help`;

/**
 * `npm run solution` in-process: `argv` are its arguments (`['ex3', '--force']`), the output
 * goes to `io`, the workshop is `io.root` (without `--force` its suite runs first, in vitest).
 * @returns the exit code: 0 shown, 1 refused (suite not passing) or failed, 2 bad usage (the
 *   error line is on `io.stderr`).
 */
export function solution(argv: readonly string[], io: WorkshopIo): Promise<number> {
  return runCommand('solution', io, () => main(argv, io));
}

async function main(argv: readonly string[], io: WorkshopIo): Promise<number> {
  const chalk = io.chalk;
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { force: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    println(io, USAGE);
    return 0;
  }
  const root = io.root;
  const exercise = exerciseFrom(positionals, root);

  if (!values.force) {
    println(io, chalk.dim(`Running ${exercise.id}'s suite against exercises/ first…`));
    const report = await runSuites({ root, exercises: [exercise.name] });
    const verdict = classify(suiteResults(report, root).get(exercise.name), exercise.name, undefined);
    if (verdict.status !== 'passed') {
      throw new Error(
        `${exercise.id} does not pass yet (${verdict.passed}/${verdict.total} tests): solve it first (npm test -- ${exercise.id}) or use --force`,
      );
    }
    println(
      io,
      `${chalk.green(`${exercise.id} passes (${verdict.passed}/${verdict.total} tests).`)} Your code next to the solution:\n`,
    );
  }

  for (const stub of exercise.stubs) {
    const mine = `${exercise.folder}/${stub}`;
    const theirs = `solutions/${exercise.name}/${stub}`;
    const diff = fileDiff(root, mine, theirs, chalk);
    println(io, diff === '' ? chalk.dim(`${mine}: the same as ${theirs}`) : diff);
  }
  println(io, chalk.dim(`(- your code in ${exercise.folder}/, + the solution in solutions/${exercise.name}/)`));
  return 0;
}

if (isMain(import.meta.url)) await runCli(solution);
