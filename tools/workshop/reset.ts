/**
 * `npm run reset -- ex3`: put an exercise's stub files (the manifest's `stubs`) back to their
 * pristine versions from git (see pristine.ts). Files that differ are listed and confirmed
 * first (`overwrite N file(s)? [y/N]`) unless `--yes`; the replaced versions are kept in
 * `.workshop/backup/<time>/`.
 *
 * Exit codes: 0 restored (or nothing to do), 1 refused, declined or failed, 2 bad usage.
 */
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { isMain } from '../../shared/cli/options.js';
import { exerciseFrom, println, runCli, runCommand, type WorkshopIo } from './cli.js';
import { stubStates } from './pristine.js';
import { workshopDir } from './state.js';

const USAGE = `Usage: npm run reset -- <exercise> [--yes]

Restores the exercise's stub files to the versions the workshop handed out (from git),
after asking. Your versions are saved to .workshop/backup/ first.

Options:
  -y, --yes   do not ask
  -h, --help`;

/** Ask a yes/no question on the terminal; only `y`/`yes` is yes. */
async function confirm(io: WorkshopIo, question: string): Promise<boolean> {
  return /^y(es)?$/i.test((await io.ask(question)).trim());
}

/**
 * `npm run reset` in-process: `argv` are its arguments (`['ex3', '--yes']`), the output goes to
 * `io`, the files are those under `io.root`; it asks on `io.ask` only when `io.stdinIsTTY`.
 * @returns the exit code: 0 restored or nothing to do, 1 refused, declined or failed, 2 bad
 *   usage (the error line is on `io.stderr`).
 */
export function reset(argv: readonly string[], io: WorkshopIo): Promise<number> {
  return runCommand('reset', io, () => main(argv, io));
}

async function main(argv: readonly string[], io: WorkshopIo): Promise<number> {
  const chalk = io.chalk;
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { yes: { type: 'boolean', short: 'y' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    println(io, USAGE);
    return 0;
  }
  const root = io.root;
  const exercise = exerciseFrom(positionals, root);

  // Find every pristine version before touching anything.
  const states = stubStates(root, exercise);
  const broken = states.filter((s) => s.error !== undefined);
  if (broken.length > 0) throw new Error(broken.map((s) => s.error).join('\n'));
  const changed = states.filter((s) => s.changed);
  if (changed.length === 0) {
    println(
      io,
      `${exercise.id}: every stub file is already pristine (${states.map((s) => s.path).join(', ')}); nothing to restore`,
    );
    return 0;
  }

  println(io, `${exercise.id}: these stub files differ from the version the workshop handed out:`);
  for (const s of changed)
    println(io, `  ${chalk.yellow(s.path)}  ${chalk.dim(`(pristine: commit ${s.pristine?.commit.slice(0, 10)})`)}`);
  if (!values.yes) {
    if (!io.stdinIsTTY) {
      throw new Error(
        `refusing to overwrite ${changed.length} file(s) without confirmation (no terminal to ask); run again with --yes`,
      );
    }
    if (!(await confirm(io, `overwrite ${changed.length} file(s)? [y/N] `))) {
      println(io, 'nothing changed');
      return 1;
    }
  }

  // Keep the attendee's versions, then restore.
  const backup = join(workshopDir(root), 'backup', new Date().toISOString().replace(/[:.]/g, '-'));
  for (const s of changed) {
    const file = join(root, s.path);
    if (existsSync(file)) {
      mkdirSync(dirname(join(backup, s.path)), { recursive: true });
      copyFileSync(file, join(backup, s.path));
    }
  }
  for (const s of changed) {
    if (!s.pristine) continue;
    mkdirSync(dirname(join(root, s.path)), { recursive: true });
    writeFileSync(join(root, s.path), s.pristine.content);
    println(io, `${chalk.green('restored')} ${s.path}`);
  }
  if (existsSync(backup))
    println(
      io,
      chalk.dim(`your previous version(s): ${join('.workshop', 'backup', backup.split(/[\\/]/).at(-1) ?? '')}/`),
    );
  return 0;
}

if (isMain(import.meta.url)) await runCli(reset);
