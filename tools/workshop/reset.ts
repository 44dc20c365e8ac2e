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
import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import chalk from 'chalk';
import { exerciseFrom, runCli, workshopRoot } from './cli.js';
import { stubStates } from './pristine.js';
import { workshopDir } from './state.js';

const USAGE = `Usage: npm run reset -- <exercise> [--yes]

Restores the exercise's stub files to the versions the workshop handed out (from git),
after asking. Your versions are saved to .workshop/backup/ first.

Options:
  -y, --yes   do not ask
  -h, --help`;

/** Ask a yes/no question on the terminal; only `y`/`yes` is yes. */
async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { yes: { type: 'boolean', short: 'y' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const root = workshopRoot();
  const exercise = exerciseFrom(positionals, root);

  // Find every pristine version before touching anything.
  const states = stubStates(root, exercise);
  const broken = states.filter((s) => s.error !== undefined);
  if (broken.length > 0) throw new Error(broken.map((s) => s.error).join('\n'));
  const changed = states.filter((s) => s.changed);
  if (changed.length === 0) {
    console.log(
      `${exercise.id}: every stub file is already pristine (${states.map((s) => s.path).join(', ')}); nothing to restore`,
    );
    return 0;
  }

  console.log(`${exercise.id}: these stub files differ from the version the workshop handed out:`);
  for (const s of changed)
    console.log(`  ${chalk.yellow(s.path)}  ${chalk.dim(`(pristine: commit ${s.pristine?.commit.slice(0, 10)})`)}`);
  if (!values.yes) {
    if (!process.stdin.isTTY) {
      throw new Error(
        `refusing to overwrite ${changed.length} file(s) without confirmation (no terminal to ask); run again with --yes`,
      );
    }
    if (!(await confirm(`overwrite ${changed.length} file(s)? [y/N] `))) {
      console.log('nothing changed');
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
    console.log(`${chalk.green('restored')} ${s.path}`);
  }
  if (existsSync(backup))
    console.log(
      chalk.dim(`your previous version(s): ${join('.workshop', 'backup', backup.split(/[\\/]/).at(-1) ?? '')}/`),
    );
  return 0;
}

await runCli('reset', main);
