/**
 * `npm run replay -- <exercise | test file> <seed> [--solutions]`: run a suite again with the
 * seed a randomised test printed (`[seed] ex3 checker: 1968708856 (replay: npm run replay -- ex3
 * 1968708856)`), so the nemesis makes the same choices. The same command on every OS: it sets
 * the seed for vitest itself (`SEED`, read by shared/harness/seed.ts) instead of asking for a
 * shell's `SEED=… npm test`.
 *
 * Exit codes: vitest's (0 passed, 1 failed), 2 bad usage.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { isMain, UsageError } from '../../shared/cli/options.js';
import { exerciseFrom, println, runCli, runCommand, type WorkshopIo } from './cli.js';

const USAGE = `Usage: npm run replay -- <exercise | test file> <seed> [--solutions]

Runs a suite once more with the seed a test printed, e.g.
  npm run replay -- ex3 1968708856                        your code in exercises/
  npm run replay -- ex3 1968708856 --solutions            the reference solutions
  npm run replay -- shared/test/nemesis.test.ts 42        a runtime test file

Options:
  --solutions   run the exercise's suite against solutions/ instead of your code
  -h, --help`;

/** The vitest arguments and seed of a replay. */
export interface ReplayPlan {
  /** Arguments after `vitest`. */
  readonly args: readonly string[];
  readonly seed: number;
}

/**
 * Turn the command line into the vitest run to make.
 * @throws UsageError without a target and a seed, for a seed that is not a whole number in
 *   0..2³²−1, or a target that is neither an exercise nor an existing test file.
 */
export function replayPlan(argv: readonly string[], root: string): ReplayPlan | 'help' {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { solutions: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) return 'help';
  const [target, seedText, ...extra] = positionals;
  if (target === undefined || seedText === undefined || extra.length > 0)
    throw new UsageError('give an exercise (or a test file) and the seed the test printed, e.g. ex3 1968708856');
  const seed = Number(seedText);
  if (!/^\d+$/.test(seedText) || seed > 2 ** 32 - 1)
    throw new UsageError(`the seed is a whole number from 0 to ${2 ** 32 - 1}, got "${seedText}"`);
  if (/\.test\.ts$/.test(target)) {
    const file = target.split('\\').join('/');
    if (!existsSync(join(root, file))) throw new UsageError(`no test file ${file}`);
    const project = file.startsWith('exercises/')
      ? values.solutions
        ? 'solutions'
        : 'exercises'
      : file.startsWith('shared/test/scenarios/')
        ? 'scenarios'
        : 'runtime';
    return { seed, args: ['run', '--project', project, file] };
  }
  const exercise = exerciseFrom([target], root);
  const projects = values.solutions ? ['solutions'] : ['exercises', 'exercises-bonus'];
  return { seed, args: ['run', ...projects.flatMap((p) => ['--project', p]), `${exercise.folder}/`] };
}

/**
 * `npm run replay` in-process: run vitest in `io.root` with the seed, its output on this
 * process's terminal. @returns vitest's exit code, or 2 for bad usage.
 */
export function replay(argv: readonly string[], io: WorkshopIo): Promise<number> {
  return runCommand('replay', io, async () => {
    const plan = replayPlan(argv, io.root);
    if (plan === 'help') {
      println(io, USAGE);
      return 0;
    }
    println(io, io.chalk.dim(`vitest ${plan.args.join(' ')}, with seed ${plan.seed}`));
    const vitest = join(io.root, 'node_modules', 'vitest', 'vitest.mjs');
    const child = spawn(process.execPath, [vitest, ...plan.args], {
      cwd: io.root,
      stdio: 'inherit',
      env: { ...process.env, SEED: String(plan.seed) },
    });
    return new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code) => resolve(code ?? 1));
    });
  });
}

if (isMain(import.meta.url)) await runCli(replay);
