/**
 * `npm run solution -- ex3`: how the attendee's stub files differ from `solutions/<name>/`,
 * one diff per stub file. Only once the exercise's suite passes (it is run first), unless
 * `--force`.
 *
 * Exit codes: 0 shown, 1 refused (suite not passing) or failed, 2 bad usage.
 */
import { parseArgs } from 'node:util';
import chalk from 'chalk';
import { exerciseFrom, runCli, workshopRoot } from './cli.js';
import { fileDiff } from './diff.js';
import { runSuites, suiteResults } from './run_suite.js';
import { classify } from './status.js';

const USAGE = `Usage: npm run solution -- <exercise> [--force]

Once an exercise's suite passes, shows how your stub files differ from the reference
solution in solutions/ (the suite is run first, a few seconds).

Options:
  --force   show it without running the suite, passing or not
  -h, --help`;

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { force: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const root = workshopRoot();
  const exercise = exerciseFrom(positionals, root);

  if (!values.force) {
    console.log(chalk.dim(`Running ${exercise.id}'s suite against exercises/ first…`));
    const report = await runSuites({ root, exercises: [exercise.name] });
    const verdict = classify(suiteResults(report, root).get(exercise.name), exercise.name, undefined);
    if (verdict.status !== 'passed') {
      throw new Error(
        `${exercise.id} does not pass yet (${verdict.passed}/${verdict.total} tests): solve it first (npm test -- ${exercise.id}) or use --force`,
      );
    }
    console.log(
      `${chalk.green(`${exercise.id} passes (${verdict.passed}/${verdict.total} tests).`)} Your code next to the solution:\n`,
    );
  }

  for (const stub of exercise.stubs) {
    const mine = `${exercise.folder}/${stub}`;
    const theirs = `solutions/${exercise.name}/${stub}`;
    const diff = fileDiff(root, mine, theirs);
    console.log(diff === '' ? chalk.dim(`${mine}: the same as ${theirs}`) : diff);
  }
  console.log(chalk.dim(`(- your code in ${exercise.folder}/, + the solution in solutions/${exercise.name}/)`));
  return 0;
}

await runCli('solution', main);
