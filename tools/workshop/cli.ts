/**
 * Plumbing shared by the attendee commands (`npm run progress | hint | reset | solution`):
 * where the workshop lives, picking the exercise from the command line, and running a command
 * with one-line errors and exit codes (0 ok, 1 failure, 2 bad usage) through the runner and
 * `UsageError` every tool shares (shared/cli/options.ts).
 */
import { resolve, sep } from 'node:path';
import chalk from 'chalk';
import { runMain, UsageError } from '../../shared/cli/options.js';
import { findExercise, loadManifest, ROOT, type Exercise } from './manifest.js';

/**
 * The workshop's root directory (absolute, trailing separator): the repository, or
 * `$WORKSHOP_ROOT` when set (the tests point the commands at fixture directories with it).
 */
export function workshopRoot(): string {
  const env = process.env.WORKSHOP_ROOT;
  if (!env) return ROOT;
  const dir = resolve(env);
  return dir.endsWith(sep) ? dir : dir + sep;
}

/**
 * The exercise named by the command line's positionals (`ex3`, `ex3-coordinator` or `3`).
 * @throws UsageError when there is not exactly one, or it names no exercise (lists the known ids).
 * @throws Error when the manifest cannot be read.
 */
export function exerciseFrom(positionals: readonly string[], root: string): Exercise {
  const exercises = loadManifest(root);
  const ids = exercises.map((e) => e.id).join(', ');
  if (positionals.length === 0) throw new UsageError(`which exercise? give one of ${ids}`);
  if (positionals.length > 1) throw new UsageError(`one exercise at a time, got ${positionals.join(' ')}`);
  try {
    return findExercise(exercises, positionals[0] ?? '');
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/**
 * Run an attendee command's `main` with {@link runMain}: its return value is the exit code;
 * a UsageError or a parseArgs error is one line `<name>: <message>  (npm run <name> -- --help)`
 * and exit code 2, anything else `<name>: <message>` and 1 (the stack with `WORKSHOP_DEBUG=1`).
 * The process ends when its work is done, not at once.
 */
export function runCli(name: string, main: () => Promise<number> | number): Promise<void> {
  return runMain(`npm run ${name}`, main, { label: name, exit: 'when-idle' });
}

/**
 * Word-wrap `text` to `width` columns (words longer than that stay whole), each line
 * prefixed with `indent`.
 */
export function wrap(text: string, width: number, indent = ''): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    if (line !== '' && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(indent + line);
  return lines;
}

/**
 * Show `code` spans of already wrapped lines in cyan (without the backticks) when colour is
 * on; a span may continue on the next line. Without colour the lines stay as they are.
 */
export function highlightCode(lines: readonly string[]): string[] {
  if (chalk.level === 0) return [...lines];
  let inCode = false;
  return lines.map((line) =>
    line
      .split('`')
      .map((part, i) => {
        if (i > 0) inCode = !inCode;
        return inCode ? chalk.cyan(part) : part;
      })
      .join(''),
  );
}

/** Columns to lay text out in: the terminal's width (at most 100), or 100 without a terminal. */
export function textWidth(): number {
  return Math.min(process.stdout.columns || 100, 100);
}
