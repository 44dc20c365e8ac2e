/**
 * `npm run hint -- ex3`: the next hint of an exercise (1/5, 2/5, …), gentle first, nearly the
 * answer last. How many were shown is remembered in `.workshop/state.json`.
 *
 * Exit codes: 0 ok (also when there is no hint left), 1 failure (unreadable manifest or
 * state), 2 bad usage (unknown exercise or option).
 */
import { parseArgs } from 'node:util';
import { isMain, UsageError } from '../../shared/cli/options.js';
import { exerciseFrom, highlightCode, println, runCli, runCommand, textWidth, type WorkshopIo, wrap } from './cli.js';
import type { Exercise } from './manifest.js';
import { loadState, nextHint, saveState, withHintsShown } from './state.js';

const USAGE = `Usage: npm run hint -- <exercise> [--all | --reset]

Shows the next hint of an exercise (ex3, ex3-coordinator or 3), one more each time.

Options:
  --all     show every hint of the exercise and its goals (all count as shown)
  --reset   start over: the next call shows hint 1 again
  -h, --help`;

/** One hint, numbered and wrapped, with `code` highlighted. */
function printHint(io: WorkshopIo, exercise: Exercise, index: number, text: string): void {
  const total = exercise.hints.length;
  println(io, io.chalk.bold(`${exercise.id} · ${exercise.title} — hint ${index}/${total}`));
  println(io, highlightCode(wrap(text, textWidth(io.columns), '  '), io.chalk).join('\n'));
}

/**
 * `npm run hint` in-process: `argv` are its arguments (`['ex3', '--all']`), the output goes to
 * `io`, the state to `<io.root>/.workshop/state.json`.
 * @returns the exit code: 0 ok, 1 failure, 2 bad usage (the error line is on `io.stderr`).
 */
export function hint(argv: readonly string[], io: WorkshopIo): Promise<number> {
  return runCommand('hint', io, () => main(argv, io));
}

function main(argv: readonly string[], io: WorkshopIo): number {
  const chalk = io.chalk;
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { all: { type: 'boolean' }, reset: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    println(io, USAGE);
    return 0;
  }
  if (values.all && values.reset) throw new UsageError('--all and --reset do not go together');
  const root = io.root;
  const exercise = exerciseFrom(positionals, root);
  const state = loadState(root);
  const solution = `npm run solution -- ${exercise.id}`;

  if (values.reset) {
    saveState(root, withHintsShown(state, exercise, 0));
    println(io, `hints of ${exercise.id} start over: \`npm run hint -- ${exercise.id}\` shows hint 1`);
    return 0;
  }
  if (values.all) {
    if (exercise.hints.length === 0) {
      println(io, `${exercise.id} has no hints; see ${exercise.folder}/README.md`);
      return 0;
    }
    println(io, chalk.bold(`${exercise.id} · ${exercise.title}: goals`));
    for (const goal of exercise.goals)
      println(io, highlightCode(wrap(`• ${goal}`, textWidth(io.columns), '  '), chalk).join('\n'));
    exercise.hints.forEach((text, i) => {
      println(io);
      printHint(io, exercise, i + 1, text);
    });
    saveState(root, withHintsShown(state, exercise, exercise.hints.length));
    println(
      io,
      chalk.dim(`\nOnce \`npm test -- ${exercise.id}\` passes, \`${solution}\` shows your code next to the solution.`),
    );
    return 0;
  }

  const { step, state: after } = nextHint(state, exercise);
  switch (step.kind) {
    case 'none':
      println(io, `${exercise.id} has no hints; see ${exercise.folder}/README.md`);
      return 0;
    case 'done':
      println(io, `No hints left for ${exercise.id}: you have seen all ${step.total}.`);
      println(io, `  ${`npm run hint -- ${exercise.id} --all`.padEnd(30)}all of them again`);
      println(io, `  ${solution.padEnd(30)}your code next to the solution (once the suite passes, or with --force)`);
      return 0;
    case 'hint':
      saveState(root, after);
      printHint(io, exercise, step.index, step.text);
      println(
        io,
        chalk.dim(
          step.last
            ? `\nThat was the last hint. Next: \`${solution}\` (after \`npm test -- ${exercise.id}\` passes, or with --force).`
            : `\nAnother hint: npm run hint -- ${exercise.id}`,
        ),
      );
      return 0;
  }
}

if (isMain(import.meta.url)) await runCli(hint);
