/**
 * Rows of the attendee loop, timed as wall clock of the whole command in the measured tree:
 * each exercise's suite on its solution (`vitest run --project solutions <folder>`, bonus
 * suites included, as `npm run test:solutions -- exN` runs them), `npm run progress` and the
 * whole `npm run test:solutions`. Anchor: a vitest run of one empty test (fixtures/), started
 * the same way, interleaved with every group.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { timeCommand, type CommandRun } from './children.js';
import { QUICK_SKIPPED } from './rows.js';
import { messageOf, type StepContext } from './runner.js';
import { formatMs } from './stats.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
/** Deadline of one suite run, and of a whole test:solutions (ms). */
const SUITE_MS = 180_000;
const ALL_MS = 600_000;

interface ManifestEntry {
  readonly id: string;
  readonly folder: string;
}

/** The exercises of the measured tree's manifest. */
function exercises(root: string): ManifestEntry[] {
  const manifest = JSON.parse(readFileSync(join(root, 'exercises/manifest.json'), 'utf8')) as {
    exercises: ManifestEntry[];
  };
  return manifest.exercises.map((e) => ({ id: e.id, folder: e.folder }));
}

const vitest = (root: string) => join(root, 'node_modules/vitest/vitest.mjs');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** One empty vitest run (the anchor), with the measured tree's vitest. */
async function emptyRun(ctx: StepContext, step: string): Promise<number> {
  const r = await timeCommand(process.execPath, [vitest(ctx.root), 'run', '--root', FIXTURES], FIXTURES, SUITE_MS);
  if (r.code !== 0) throw new Error(`the empty vitest run failed (exit ${r.code}): ${r.tail.slice(-500)}`);
  ctx.results.addAnchor('vitest', r.ms);
  ctx.progress.line(step, `empty vitest run ${formatMs(r.ms)}`);
  return r.ms;
}

/** Record a timed command as a sample of `row`, with a note if it failed. */
function record(ctx: StepContext, row: string, what: string, r: CommandRun): void {
  ctx.results.add(row, r.ms);
  if (r.code !== 0) {
    // vitest's `FAIL <file> > <test>` lines name what failed; else the last lines that say so.
    const lines = r.tail.split('\n').map((l) => l.trim());
    const failed = lines.filter((l) => /^(FAIL|×|✗)\s/.test(l)).slice(0, 2);
    const last = (failed.length > 0 ? failed : lines.filter((l) => /fail|error/i.test(l)).slice(-2)).join(' | ');
    ctx.results.note(row, `${what} exited with code ${r.code}${last ? `: ${last.slice(0, 200)}` : ''}`);
    ctx.progress.warn(row, `${what} exited with code ${r.code} after ${formatMs(r.ms)}`);
  }
}

/** Each exercise suite on its solution, interleaved with the empty run. */
export async function benchSuites(ctx: StepContext): Promise<void> {
  const step = 'suites';
  const reps = ctx.reps ?? (ctx.quick ? 1 : 3);
  const all = exercises(ctx.root);
  const chosen = ctx.quick ? all.filter((e) => e.id === 'ex1') : all;
  for (const e of all) if (!chosen.includes(e)) ctx.results.note(`suite-${e.id}`, QUICK_SKIPPED);
  for (let rep = 1; rep <= reps; rep++) {
    await emptyRun(ctx, step);
    for (const e of chosen) {
      const row = `suite-${e.id}`;
      try {
        const r = await timeCommand(
          process.execPath,
          [vitest(ctx.root), 'run', '--project', 'solutions', `${e.folder}/`],
          ctx.root,
          SUITE_MS,
        );
        record(ctx, row, `the ${e.id} suite`, r);
        ctx.progress.line(step, `rep ${rep}/${reps}: ${e.id} ${formatMs(r.ms)}`);
      } catch (err) {
        ctx.results.note(row, messageOf(err));
        ctx.progress.warn(step, `${e.id}: ${messageOf(err)}`);
      }
    }
  }
}

/** `npm run <script>` in the measured tree, interleaved with the empty run. */
async function benchScript(ctx: StepContext, row: string, script: string, timeoutMs: number): Promise<void> {
  if (ctx.quick) {
    ctx.results.note(row, QUICK_SKIPPED);
    return;
  }
  const reps = ctx.reps ?? 3;
  for (let rep = 1; rep <= reps; rep++) {
    await emptyRun(ctx, row);
    try {
      const r = await timeCommand(npm, ['run', script], ctx.root, timeoutMs);
      record(ctx, row, `npm run ${script}`, r);
      ctx.progress.line(row, `rep ${rep}/${reps}: npm run ${script} ${formatMs(r.ms)}`);
    } catch (err) {
      ctx.results.note(row, messageOf(err));
      ctx.progress.warn(row, messageOf(err));
    }
  }
}

export const benchProgress = (ctx: StepContext) => benchScript(ctx, 'progress', 'progress', SUITE_MS);
export const benchSolutions = (ctx: StepContext) => benchScript(ctx, 'solutions', 'test:solutions', ALL_MS);
