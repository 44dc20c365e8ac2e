/**
 * Plumbing shared by the attendee commands (`npm run progress | hint | reset | solution`):
 * where the workshop lives, picking the exercise from the command line, and running a command
 * with one-line errors and exit codes (0 ok, 1 failure, 2 bad usage) through the failure report
 * and `UsageError` every tool shares (shared/cli/options.ts).
 *
 * Each command is a function `(argv, io) => exit code` ({@link Command}) that writes only
 * through its {@link WorkshopIo}: the tests call it in-process on fixture workshops, and the
 * command's file runs it on the process's streams ({@link runCli}).
 */
import { createInterface } from 'node:readline/promises';
import { resolve, sep } from 'node:path';
import chalk, { type ChalkInstance } from 'chalk';
import { processIo, reportFailure, type ToolIo, UsageError } from '../../shared/cli/options.js';
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
 * What an attendee command reads and writes besides its files: the output streams and their
 * colours ({@link ToolIo}), the workshop's root, and the terminal (if any).
 */
export interface WorkshopIo extends ToolIo {
  /** The workshop's root directory (absolute, trailing separator): see {@link workshopRoot}. */
  readonly root: string;
  /** Width of the terminal standard output goes to, in columns (0 if unknown); undefined when it is not a terminal. */
  readonly columns: number | undefined;
  /** True when standard input is a terminal one can ask a question on (reset's confirmation). */
  readonly stdinIsTTY: boolean;
  /** Ask `question` on the terminal and return the line typed (only called when {@link stdinIsTTY}). */
  readonly ask: (question: string) => Promise<string>;
}

/** An attendee command: its arguments (without `node` and the script), where it writes; resolves to the exit code. */
export type Command = (argv: readonly string[], io: WorkshopIo) => Promise<number>;

/** The process's streams, terminal and environment (`$WORKSHOP_ROOT`, `FORCE_COLOR`) as a {@link WorkshopIo}. */
export function processWorkshopIo(): WorkshopIo {
  return {
    ...processIo(),
    root: workshopRoot(),
    columns: process.stdout.isTTY ? (process.stdout.columns ?? 0) : undefined,
    stdinIsTTY: process.stdin.isTTY === true,
    ask: async (question) => {
      const rl = createInterface({ input: process.stdin, output: process.stdout });
      try {
        return await rl.question(question);
      } finally {
        rl.close();
      }
    },
  };
}

/**
 * Run an attendee command's `main` in-process: its return value is the exit code; a
 * UsageError or a parseArgs error is one line `<name>: <message>  (npm run <name> -- --help)`
 * on `io.stderr` and exit code 2, anything else `<name>: <message>` and 1 (the stack with
 * `WORKSHOP_DEBUG=1`), as {@link reportFailure} writes them.
 */
export async function runCommand(name: string, io: WorkshopIo, main: () => Promise<number> | number): Promise<number> {
  try {
    return await main();
  } catch (err) {
    return reportFailure(`npm run ${name}`, err, io, name);
  }
}

/**
 * The entry point of a command's file: run `command` on the process's arguments and streams
 * and set `process.exitCode`. The process ends when its work is done, not at once.
 */
export async function runCli(command: Command): Promise<void> {
  process.exitCode = await command(process.argv.slice(2), processWorkshopIo());
}

/** A line for `io.stdout`: `text` and a newline (what `console.log(text)` writes). */
export function println(io: ToolIo, text = ''): void {
  io.stdout(`${text}\n`);
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
 * on (`c`, the output's chalk); a span may continue on the next line. Without colour the
 * lines stay as they are.
 */
export function highlightCode(lines: readonly string[], c: ChalkInstance = chalk): string[] {
  if (c.level === 0) return [...lines];
  let inCode = false;
  return lines.map((line) =>
    line
      .split('`')
      .map((part, i) => {
        if (i > 0) inCode = !inCode;
        return inCode ? c.cyan(part) : part;
      })
      .join(''),
  );
}

/** Columns to lay text out in: the terminal's width `columns` (at most 100), or 100 without a terminal. */
export function textWidth(columns: number | undefined): number {
  return Math.min(columns || 100, 100);
}
