/**
 * `npm run bench` command line (pure): what to run, how often, against which tree, and where
 * to write the JSON. Parsed with node:util parseArgs through shared/cli/options.ts, as every tool.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCommandLine, parseInteger, UsageError } from '../../shared/cli/options.js';

/** The steps of the bench, in the order they run; `--only` picks some of them. */
export const STEPS = ['kv', 'http', 'handoff', 'gossip', 'classroom', 'suites', 'progress', 'solutions'] as const;
export type StepId = (typeof STEPS)[number];

/** The cluster sizes of the gossip rows. */
export const GOSSIP_SIZES = [16, 32, 64] as const;
export type GossipSize = (typeof GOSSIP_SIZES)[number];

/** The repository the bench lives in (tools/bench/ → two levels up). */
export const BENCH_REPO = resolve(fileURLToPath(new URL('../../', import.meta.url)));

/** Options of one bench run. */
export interface BenchOptions {
  /** About 30 s: fewer repetitions, smaller sizes, some rows skipped (see `QUICK_SKIPS`). */
  readonly quick: boolean;
  /** Write the results as JSON here (absolute path). */
  readonly json?: string;
  /** The tree whose runtime, solutions and suites are measured (absolute; default this repo). */
  readonly root: string;
  /** Steps to run (default all). */
  readonly only: readonly StepId[];
  /** Repetitions per row, overriding the defaults of the mode (1..50). */
  readonly reps?: number;
  /** Cluster sizes of the gossip rows (default 16, 32, 64; --quick 16). */
  readonly sizes?: readonly GossipSize[];
  /** Write a V8 CPU profile of every bench worker process into this directory (absolute). */
  readonly cpuProf?: string;
  readonly help: boolean;
}

export const USAGE = `Usage: npm run bench [-- options]

Measures the figures of issue 12, each against an anchor measured in the same run
(interleaved repetitions; medians and min–max), and prints a table at the end.

Options:
  --quick          about 30 s: fewer repetitions and smaller sizes; skips gossip at 32 and
                   64 nodes, forming 64 nodes, the suites other than ex1, npm run progress
                   and npm run test:solutions
  --json FILE      also write the results as JSON to FILE
  --root DIR       measure the tree in DIR (its shared/, solutions/, exercises/ and npm
                   scripts; it needs node_modules), e.g. a git worktree of an older commit
  --only LIST      only these steps, comma-separated: ${STEPS.join(',')}
  --reps N         repetitions per row (default 5 for rates, 3 for the slow rows; --quick 2/1)
  --sizes LIST     cluster sizes of the gossip rows, comma-separated, of 16,32,64 (64 also
                   measures forming 64 nodes); default all three, --quick 16
  --cpu-prof DIR   every worker process (handoff, HTTP client) writes a V8 CPU profile
                   into DIR when it exits (open it in Chrome DevTools or VS Code)
  -h, --help`;

/** What `--quick` leaves out, said at the start of a quick run and in the table. */
export const QUICK_SKIPS =
  'gossip at 32 and 64 nodes, forming a 64-node cluster, classrooms of 16 and 32, the suites other than ex1, npm run progress, npm run test:solutions';

/**
 * Parse the bench's arguments (without `node` and the script).
 * @throws UsageError on an unknown option, a missing value, a bad `--reps` or an unknown step.
 */
export function parseBenchArgs(args: readonly string[], cwd = process.cwd()): BenchOptions {
  const { values } = parseCommandLine({
    args: [...args],
    options: {
      quick: { type: 'boolean' },
      json: { type: 'string' },
      root: { type: 'string' },
      only: { type: 'string' },
      reps: { type: 'string' },
      sizes: { type: 'string' },
      'cpu-prof': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const only = values.only === undefined ? [...STEPS] : parseSteps(values.only);
  if (values.json !== undefined && values.json.trim() === '') throw new UsageError('--json needs a file name');
  return {
    quick: values.quick ?? false,
    json: values.json === undefined ? undefined : resolve(cwd, values.json),
    root: values.root === undefined ? BENCH_REPO : resolve(cwd, values.root),
    only,
    reps: values.reps === undefined ? undefined : parseInteger(values.reps, '--reps', 1, 50),
    sizes: values.sizes === undefined ? undefined : parseSizes(values.sizes),
    cpuProf: values['cpu-prof'] === undefined ? undefined : resolve(cwd, values['cpu-prof']),
    help: values.help ?? false,
  };
}

function parseSteps(text: string): StepId[] {
  const names = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (names.length === 0) throw new UsageError(`--only needs one or more of ${STEPS.join(', ')}`);
  for (const name of names) {
    if (!(STEPS as readonly string[]).includes(name))
      throw new UsageError(`--only: unknown step "${name}"; the steps are ${STEPS.join(', ')}`);
  }
  return STEPS.filter((s) => names.includes(s));
}

function parseSizes(text: string): GossipSize[] {
  const sizes = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const bad = sizes.find((s) => !(GOSSIP_SIZES as readonly number[]).includes(Number(s)));
  if (sizes.length === 0 || bad !== undefined)
    throw new UsageError(`--sizes takes some of ${GOSSIP_SIZES.join(', ')}${bad ? `, got "${bad}"` : ''}`);
  return GOSSIP_SIZES.filter((n) => sizes.includes(String(n)));
}
