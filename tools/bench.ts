/**
 * `npm run bench`: the figures of issue 12, each against an anchor measured in the same run
 * (interleaved repetitions; medians and min–max), with a progress line per step and a table
 * at the end. `--json FILE` for machines, `--quick` for about 30 s, `--root DIR` to measure
 * another tree (e.g. a worktree of an older commit) with this bench. Not part of CI: speed
 * targets live here, never in the test suites. docs/PERFORMANCE.md has the numbers.
 *
 * The steps (tools/bench/): kv.ts (coordinated put/get vs node→node RPC, optional redis),
 * http.ts (HTTP PUT vs bare fastify), handoff.ts (handoff vs plain ws between processes),
 * gossip.ts (a join at 16/32/64 nodes vs a one-hop broadcast; forming 64), classroom.ts (8, 16,
 * 32 node processes joining one seed at once on a loaded machine; one removed), suites.ts
 * (suites, progress, test:solutions vs an empty vitest run).
 *
 * Exit codes: 0 the table was printed (whatever the figures), 1 a step could not run, 2 bad usage.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import chalk from 'chalk';
import { isMain, runMain } from '../shared/cli/options.js';
import { killAll } from './bench/children.js';
import { benchClassroom } from './bench/classroom.js';
import { benchGossip } from './bench/gossip.js';
import { benchHandoff } from './bench/handoff.js';
import { benchHttp } from './bench/http.js';
import { benchKv } from './bench/kv.js';
import { machine, treeCommit } from './bench/machine.js';
import { parseBenchArgs, QUICK_SKIPS, USAGE, type StepId } from './bench/options.js';
import { renderTable, resultsDocument, type RunInfo } from './bench/report.js';
import { NOT_RUN, Results } from './bench/rows.js';
import { messageOf, Progress, type StepContext } from './bench/runner.js';
import { loadRuntime, type Runtime } from './bench/runtime.js';
import { benchProgress, benchSolutions, benchSuites } from './bench/suites.js';

const STEP_FUNCTIONS: Record<StepId, (ctx: StepContext) => Promise<void>> = {
  kv: benchKv,
  http: benchHttp,
  handoff: benchHandoff,
  gossip: benchGossip,
  classroom: benchClassroom,
  suites: benchSuites,
  progress: benchProgress,
  solutions: benchSolutions,
};

/** The rows each step fills, to say which ones a failed step left empty. */
const STEP_ROWS: Record<StepId, readonly string[]> = {
  kv: ['put', 'get', 'put-redis'],
  http: ['http-put'],
  handoff: ['handoff'],
  gossip: ['gossip-16', 'gossip-32', 'gossip-64', 'form-64'],
  classroom: ['room-8', 'room-16', 'room-32', 'room-down'],
  suites: ['suite-ex0', 'suite-ex1', 'suite-ex2', 'suite-ex3', 'suite-ex4', 'suite-ex5', 'suite-ex6', 'suite-ex7'],
  progress: ['progress'],
  solutions: ['solutions'],
};

async function main(): Promise<number> {
  const opts = parseBenchArgs(process.argv.slice(2));
  if (opts.help) {
    console.log(USAGE);
    return 0;
  }
  // The runtime's nodes log at info by default; the bench wants its own lines only.
  process.env.RING_LOG ??= 'error';
  if (opts.cpuProf) {
    mkdirSync(opts.cpuProf, { recursive: true });
    process.env.BENCH_CPU_PROF = opts.cpuProf; // read by startChild (tools/bench/children.ts)
  }
  const startedAt = new Date().toISOString();
  const load0 = loadavg()[0] ?? 0;
  const progress = new Progress();
  const results = new Results();
  const commit = treeCommit(opts.root);
  progress.line('bench', `measuring ${opts.root} at ${commit}${opts.quick ? ' (--quick)' : ''}`);
  if (opts.quick) progress.line('bench', `--quick skips: ${QUICK_SKIPS}`);
  let runtime: Promise<Runtime> | undefined;
  const ctx: StepContext = {
    root: opts.root,
    quick: opts.quick,
    reps: opts.reps,
    sizes: opts.sizes,
    results,
    progress,
    runtime: () => (runtime ??= loadRuntime(opts.root)),
  };
  let failed = 0;
  for (const step of opts.only) {
    progress.line(step, chalk.bold(`step ${opts.only.indexOf(step) + 1}/${opts.only.length}`));
    try {
      await STEP_FUNCTIONS[step](ctx);
    } catch (err) {
      failed++;
      progress.warn(step, `step failed: ${messageOf(err)}`);
      results.note(STEP_ROWS[step], `step ${step} failed: ${messageOf(err)}`);
    }
  }
  for (const step of Object.keys(STEP_ROWS) as StepId[]) {
    if (!opts.only.includes(step)) results.note(STEP_ROWS[step], NOT_RUN);
  }
  const info: RunInfo = {
    root: opts.root,
    commit,
    quick: opts.quick,
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: machine(),
    load: [load0, loadavg()[0] ?? 0],
  };
  const rows = results.rows();
  console.log(`\n${renderTable(rows, info)}`);
  if (opts.json) {
    writeFileSync(opts.json, `${JSON.stringify(resultsDocument(rows, info), null, 2)}\n`);
    progress.line('bench', `wrote ${opts.json}`);
  }
  return failed > 0 ? 1 : 0;
}

if (isMain(import.meta.url)) {
  // Ctrl-C: the worker processes and vitest runs (own process groups) go too.
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => {
      killAll();
      process.exit(130);
    });
  await runMain('npm run bench', async () => {
    try {
      return await main();
    } finally {
      killAll();
    }
  });
  // In-process clusters may leave timers behind after a failed step: the table is out, stop.
  process.exit(process.exitCode ?? 0);
}
