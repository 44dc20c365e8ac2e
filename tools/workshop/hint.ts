/**
 * `npm run hint -- ex3`: the next hint of an exercise (1/5, 2/5, …), gentle first, nearly the
 * answer last. How many were shown is remembered in `.workshop/state.json`.
 *
 * Exit codes: 0 ok (also when there is no hint left), 1 failure (unreadable manifest or
 * state), 2 bad usage (unknown exercise or option).
 */
import { parseArgs } from 'node:util';
import chalk from 'chalk';
import { UsageError } from '../../shared/cli/options.js';
import { exerciseFrom, highlightCode, runCli, textWidth, workshopRoot, wrap } from './cli.js';
import type { Exercise } from './manifest.js';
import { loadState, nextHint, saveState, withHintsShown } from './state.js';

const USAGE = `Usage: npm run hint -- <exercise> [--all | --reset]

Shows the next hint of an exercise (ex3, ex3-coordinator or 3), one more each time.

Options:
  --all     show every hint of the exercise and its goals (all count as shown)
  --reset   start over: the next call shows hint 1 again
  -h, --help`;

/** One hint, numbered and wrapped, with `code` highlighted. */
function printHint(exercise: Exercise, index: number, text: string): void {
  const total = exercise.hints.length;
  console.log(chalk.bold(`${exercise.id} · ${exercise.title} — hint ${index}/${total}`));
  console.log(highlightCode(wrap(text, textWidth(), '  ')).join('\n'));
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { all: { type: 'boolean' }, reset: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.all && values.reset) throw new UsageError('--all and --reset do not go together');
  const root = workshopRoot();
  const exercise = exerciseFrom(positionals, root);
  const state = loadState(root);
  const solution = `npm run solution -- ${exercise.id}`;

  if (values.reset) {
    saveState(root, withHintsShown(state, exercise, 0));
    console.log(`hints of ${exercise.id} start over: \`npm run hint -- ${exercise.id}\` shows hint 1`);
    return 0;
  }
  if (values.all) {
    if (exercise.hints.length === 0) {
      console.log(`${exercise.id} has no hints; see ${exercise.folder}/README.md`);
      return 0;
    }
    console.log(chalk.bold(`${exercise.id} · ${exercise.title}: goals`));
    for (const goal of exercise.goals) console.log(highlightCode(wrap(`• ${goal}`, textWidth(), '  ')).join('\n'));
    exercise.hints.forEach((text, i) => {
      console.log();
      printHint(exercise, i + 1, text);
    });
    saveState(root, withHintsShown(state, exercise, exercise.hints.length));
    console.log(
      chalk.dim(`\nOnce \`npm test -- ${exercise.id}\` passes, \`${solution}\` shows your code next to the solution.`),
    );
    return 0;
  }

  const { step, state: after } = nextHint(state, exercise);
  switch (step.kind) {
    case 'none':
      console.log(`${exercise.id} has no hints; see ${exercise.folder}/README.md`);
      return 0;
    case 'done':
      console.log(`No hints left for ${exercise.id}: you have seen all ${step.total}.`);
      console.log(`  ${`npm run hint -- ${exercise.id} --all`.padEnd(30)}all of them again`);
      console.log(`  ${solution.padEnd(30)}your code next to the solution (once the suite passes, or with --force)`);
      return 0;
    case 'hint':
      saveState(root, after);
      printHint(exercise, step.index, step.text);
      console.log(
        chalk.dim(
          step.last
            ? `\nThat was the last hint. Next: \`${solution}\` (after \`npm test -- ${exercise.id}\` passes, or with --force).`
            : `\nAnother hint: npm run hint -- ${exercise.id}`,
        ),
      );
      return 0;
  }
}

await runCli('hint', main);
