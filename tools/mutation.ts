/**
 * `npm run mutation -- exN [--concurrency N] [--bonus] [--timeout-ms MS]`:
 * StrykerJS mutation testing of one exercise's reference solution, for maintainers.
 *
 * Stryker mutates the exercise's stub files (manifest `stubs`) under `solutions/<name>/`
 * (operators flipped, conditions forced, strings emptied, blocks removed …) and runs the
 * exercise's suite against every mutant. A mutant no test kills (SURVIVED) is a change to the
 * solution that the suite would grade as passing. Where `npm run check:mistakes` tries the
 * mistakes people make, this tries every small change; its survivors include harmless ones
 * (log texts, equivalent code), so the score is information, never a gate: exit code 0 whatever
 * the score, 1 only when Stryker itself could not run (e.g. the suite fails without mutants).
 *
 * Stryker copies the repository into a sandbox (`.stryker-tmp/<exN>/`), so solutions/ is never
 * touched. The vitest config it runs is written per run next to vitest.config.ts's other
 * generated configs, with paths relative to itself (it runs inside the sandbox): one project,
 * that exercise's suite, `@ex/` → the sandbox's solutions/. `vitest.related` is off: suites
 * import the code through the alias, which vitest's related-files search does not follow.
 * Coverage analysis is `perTest` (each mutant runs only the tests that reach it; code run
 * outside a test, e.g. in a beforeAll that starts the cluster, counts as reached by all of
 * them). The vitest runner 9.6 reports per-test coverage whatever `coverageAnalysis` says, so
 * `off` would change nothing: there is no option for it.
 * Reports: the clear-text table and the survivors on stdout, `.stryker/<exN>/index.html` and
 * `.stryker/<exN>/mutation.json` (mutation-testing-elements schema).
 *
 * StrykerJS is not a dependency of the repository (attendees never run it): it lives in a nested
 * package, tools/stryker/ (package.json + lock, pinned to 9.6.1: 10.x requires Node ≥ 22 and Node
 * 20 still runs here), which the first `npm run mutation` installs with `npm ci` (about 65 MB,
 * 170 packages, once). Its vitest runner finds the repository's own vitest by walking up to
 * ../../node_modules (tools/stryker/.npmrc: legacy-peer-deps, so no second vitest is installed).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import chalk from 'chalk';
import { isMain, parseCommandLine, parseInteger, runMain, UsageError } from '../shared/cli/options.js';
import { addedLines } from './workshop/diff.js';
import { findExercise, loadManifest, ROOT, type Exercise } from './workshop/manifest.js';

const PROG = 'npm run mutation';

const USAGE = `usage: ${PROG} -- exN [--concurrency N] [--bonus] [--timeout-ms MS]

Mutation-test one exercise's reference solution with StrykerJS: mutate its stub files under
solutions/, run its suite against each mutant, report which mutants survived. Information for
maintainers, not a gate (exit code 0 whatever the score).

  exN               the exercise (id, name or number)
  --concurrency N   test runner processes at once (default 2; 1 on a busy machine)
  --bonus           also run the exercise's bonus suites (mutants in bonus code can die too)
  --timeout-ms MS   Stryker's timeoutMS, added to each mutant's expected time (default 45000)

Reports: .stryker/<exN>/index.html and mutation.json. SEED=… is passed to the suite (a fixed
one is chosen and printed otherwise, so every mutant sees the same randomised tests).`;

/**
 * Options object of `new Stryker(…)`: the keys of StrykerJS 9.6's options that we set (written
 * out here: @stryker-mutator/core is not installed at the root, so its types are not at hand).
 */
type StrykerOptions = Readonly<Record<string, unknown>>;
/** A line and 1-based column in a mutated file (Stryker's `Position`, line 1-based as reported). */
interface Position {
  readonly line: number;
  readonly column: number;
}
/** One mutant's result from `runMutationTest()`: the fields of Stryker 9.6's `MutantResult` we read. */
export interface MutantResult {
  readonly id: string;
  readonly fileName: string;
  readonly mutatorName: string;
  readonly replacement: string;
  /** `Killed`, `Survived`, `Timeout`, `NoCoverage`, `RuntimeError`, `CompileError`, `Ignored`, `Pending`. */
  readonly status: string;
  readonly location: { readonly start: Position; readonly end: Position };
}
/** The part of @stryker-mutator/core's API we use: `new Stryker(options).runMutationTest()`. */
interface StrykerModule {
  readonly Stryker: new (options: StrykerOptions) => { runMutationTest(): Promise<MutantResult[]> };
}

/** The nested package that holds StrykerJS (see the header), relative to the root. */
export const STRYKER_DIR = join('tools', 'stryker');

/**
 * Import @stryker-mutator/core from tools/stryker/, installing it first (`npm ci` there, from
 * its lock) when it is missing or not the pinned version.
 * @throws Error when npm cannot install it (e.g. offline on the first run).
 */
export async function loadStryker(root: string = ROOT): Promise<StrykerModule> {
  const dir = join(root, STRYKER_DIR);
  const wanted = (
    JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }
  ).dependencies['@stryker-mutator/core'];
  const installed = join(dir, 'node_modules', '@stryker-mutator', 'core', 'package.json');
  const version = existsSync(installed)
    ? (JSON.parse(readFileSync(installed, 'utf8')) as { version?: string }).version
    : undefined;
  if (version !== wanted) {
    process.stderr.write(chalk.dim(`installing StrykerJS ${wanted} into ${STRYKER_DIR}/ (once; npm ci)\n`));
    const npm = spawnSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['ci', '--no-audit', '--no-fund'], {
      cwd: dir,
      stdio: ['ignore', 'inherit', 'inherit'],
      shell: process.platform === 'win32',
    });
    if (npm.status !== 0)
      throw new Error(`npm ci in ${STRYKER_DIR}/ failed (${npm.error?.message ?? `exit code ${npm.status}`})`);
  }
  const entry = createRequire(join(dir, 'package.json')).resolve('@stryker-mutator/core');
  return (await import(pathToFileURL(entry).href)) as StrykerModule;
}

/** Where reports go: `.stryker/<exN>/` (gitignored). */
export function reportDir(exercise: Exercise): string {
  return join('.stryker', exercise.id);
}

/** Where Stryker makes its sandboxes for this exercise (gitignored; separate per exercise so two runs do not share one). */
export function tempDir(exercise: Exercise): string {
  return join('.stryker-tmp', exercise.id);
}

/** The files Stryker mutates: the exercise's stubs, in solutions/ (paths relative to the root). */
export function mutateFiles(exercise: Exercise): string[] {
  return exercise.stubs.map((stub) => `solutions/${exercise.name}/${stub}`);
}

/**
 * Text of the vitest config for one exercise: extends vitest.config.ts (timeouts …) with one
 * project running `<folder>/*.test.ts` (bonus suites only with `bonus`) with `@ex/` pointing
 * at solutions/. Every path is relative to the config's own location, `tools/workshop/`,
 * because Stryker runs it from its sandbox, a copy of the repository.
 */
export function vitestConfigText(exercise: Exercise, bonus: boolean): string {
  return `// Written by ${PROG} for one run, deleted after. Safe to delete.
// Paths are relative to this file: StrykerJS runs it in its sandbox (a copy of the repository).
import { fileURLToPath } from 'node:url';
import base from '../../vitest.config.ts';
const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const { projects: _projects, ...test } = base.test ?? {};
export default {
  ...base,
  root: here('../../'),
  test: {
    ...test,
    projects: [{
      extends: true,
      resolve: { alias: { '@ex/': here('../../solutions/') } },
      test: {
        name: 'mutation',
        include: [${JSON.stringify(`${exercise.folder}/**/*.test.ts`)}],
        exclude: ${JSON.stringify(bonus ? [] : ['**/*.bonus.test.ts'])},
      },
    }],
  },
};
`;
}

/** Stryker's options for one run. `config` is the vitest config's path relative to the root. */
export function strykerOptions(
  exercise: Exercise,
  opts: { config: string; concurrency: number; timeoutMs: number },
): StrykerOptions {
  const reports = reportDir(exercise);
  return {
    mutate: mutateFiles(exercise),
    testRunner: 'vitest',
    vitest: { configFile: opts.config, related: false },
    coverageAnalysis: 'perTest',
    reporters: ['clear-text', 'progress', 'html', 'json'],
    htmlReporter: { fileName: join(reports, 'index.html') },
    jsonReporter: { fileName: join(reports, 'mutation.json') },
    // The test names of a survivor are enough; the full list of tests is noise.
    clearTextReporter: { reportTests: false, logTests: false },
    concurrency: opts.concurrency,
    // The suites start real clusters on loopback, and other people's tests share the machine:
    // be generous before calling a mutant a timeout (a hung test fails after vitest's 30 s anyway).
    timeoutMS: opts.timeoutMs,
    timeoutFactor: 2,
    dryRunTimeoutMinutes: 15,
    tempDirName: tempDir(exercise),
    // Not copied into the sandbox: outputs, scratch trees of other tools (they come and go
    // while we copy), other runs' generated vitest configs (ours is put back by the `!` rule).
    ignorePatterns: [
      '.stryker',
      '.stryker-tmp',
      `${STRYKER_DIR.split('\\').join('/')}/node_modules`,
      '.mistake-*',
      '.grade-*',
      '.vitest-results',
      '.slides',
      '.workshop',
      'coverage',
      '/data',
      '/tmp',
      '*.log',
      'tools/workshop/.*.vitest.config.mjs',
      `!${opts.config}`,
    ],
  };
}

/**
 * The lines the attendee writes: per mutated file (relative to the root), the 1-based numbers
 * of its lines that are not in the stub (exercises/<name>/<stub>, by a line diff). Stub files
 * also hold given code (helpers, a finished case to copy); mutants there say little about the
 * suite, since no attendee changes it. A file without its stub counts as written throughout.
 */
export function writtenLines(exercise: Exercise, root: string = ROOT): Map<string, Set<number> | 'all'> {
  const out = new Map<string, Set<number> | 'all'>();
  for (const stub of exercise.stubs) {
    const solution = `solutions/${exercise.name}/${stub}`;
    const pristine = join(root, exercise.folder, stub);
    out.set(
      solution,
      existsSync(pristine)
        ? addedLines(readFileSync(pristine, 'utf8'), readFileSync(join(root, solution), 'utf8'))
        : 'all',
    );
  }
  return out;
}

/** A mutated file's path relative to the root (Stryker reports them absolute or relative). */
function relativeName(fileName: string, root: string): string {
  return (isAbsolute(fileName) ? relative(root, fileName) : fileName).split('\\').join('/');
}

/** True when the mutant touches a line the attendee writes (any line of its span). */
export function inWrittenCode(
  mutant: MutantResult,
  written: Map<string, Set<number> | 'all'>,
  root: string = ROOT,
): boolean {
  const lines = written.get(relativeName(mutant.fileName, root));
  if (lines === undefined || lines === 'all') return true;
  for (let line = mutant.location.start.line; line <= mutant.location.end.line; line++)
    if (lines.has(line)) return true;
  return false;
}

/** Counts per outcome and Stryker's mutation score. */
export interface MutationSummary {
  readonly total: number;
  readonly killed: number;
  readonly survived: number;
  readonly timeout: number;
  readonly noCoverage: number;
  /** Runtime and compile errors: a mutant that could not be run; not in the score. */
  readonly errors: number;
  readonly ignored: number;
  /** (killed + timeout) / (killed + timeout + survived + no coverage), in percent; undefined without valid mutants. */
  readonly score: number | undefined;
}

export function summarize(results: readonly MutantResult[]): MutationSummary {
  const count = (...statuses: string[]) => results.filter((r) => statuses.includes(r.status)).length;
  const killed = count('Killed');
  const survived = count('Survived');
  const timeout = count('Timeout');
  const noCoverage = count('NoCoverage');
  const valid = killed + survived + timeout + noCoverage;
  return {
    total: results.length,
    killed,
    survived,
    timeout,
    noCoverage,
    errors: count('RuntimeError', 'CompileError'),
    ignored: count('Ignored'),
    score: valid === 0 ? undefined : (100 * (killed + timeout)) / valid,
  };
}

/** Whitespace runs as one space, at most `max` characters (ending in `…` when cut). */
function oneLine(text: string, max = 100): string {
  const s = text.replace(/\s+/g, ' ').trim();
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/**
 * The code a mutant replaced, read from the file as it is now (Stryker's results do not carry
 * it; columns are 1-based, the end exclusive). Undefined when the file is gone. A span over
 * several lines gives its first line and `…`.
 */
export function originalText(mutant: MutantResult, root: string = ROOT): string | undefined {
  const path = join(root, relativeName(mutant.fileName, root));
  if (!existsSync(path)) return undefined;
  const lines = readFileSync(path, 'utf8').split('\n');
  const { start, end } = mutant.location;
  const first = lines[start.line - 1];
  if (first === undefined) return undefined;
  return start.line === end.line ? first.slice(start.column - 1, end.column - 1) : `${first.slice(start.column - 1)} …`;
}

/**
 * One line per undetected mutant (survived or not covered), in file order:
 * `file:line:col  Mutator  original → replacement`, tagged `[given]` when it lies wholly in
 * code the stub already has, and `(no test reaches it)` when not covered.
 */
export function formatUndetected(
  results: readonly MutantResult[],
  written: Map<string, Set<number> | 'all'>,
  root: string = ROOT,
): string[] {
  return results
    .filter((r) => r.status === 'Survived' || r.status === 'NoCoverage')
    .sort(
      (a, b) =>
        a.fileName.localeCompare(b.fileName) ||
        a.location.start.line - b.location.start.line ||
        a.location.start.column - b.location.start.column,
    )
    .map((r) => {
      const where = `${relativeName(r.fileName, root)}:${r.location.start.line}:${r.location.start.column}`;
      const original = originalText(r, root);
      const tags = `${inWrittenCode(r, written, root) ? '' : ' [given]'}${r.status === 'NoCoverage' ? ' (no test reaches it)' : ''}`;
      return `${where}  ${r.mutatorName}  ${original === undefined ? '' : `${oneLine(original, 60)} `}→ ${oneLine(r.replacement)}${tags}`;
    });
}

/** `<label> <score>: k killed, s survived, t timeout, n no coverage[, e errors] (m mutants)`. */
export function formatSummary(label: string, s: MutationSummary): string {
  const score = s.score === undefined ? 'n/a' : `${s.score.toFixed(1)}%`;
  return (
    `${label} ${score}: ${s.killed} killed, ${s.survived} survived, ${s.timeout} timeout, ${s.noCoverage} no coverage` +
    `${s.errors ? `, ${s.errors} errors` : ''}${s.ignored ? `, ${s.ignored} ignored` : ''} (${s.total} mutants)`
  );
}

async function main(): Promise<void> {
  const { values, positionals } = parseCommandLine({
    args: process.argv.slice(2),
    allowPositionals: true,
    options: {
      concurrency: { type: 'string' },
      bonus: { type: 'boolean' },
      'timeout-ms': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) return void console.log(USAGE);
  if (positionals.length !== 1) throw new UsageError('name one exercise, e.g. ex3');
  const exercise = findExercise(loadManifest(), positionals[0] as string);
  const concurrency = values.concurrency === undefined ? 2 : parseInteger(values.concurrency, '--concurrency', 1, 16);
  const timeoutMs =
    values['timeout-ms'] === undefined ? 45_000 : parseInteger(values['timeout-ms'], '--timeout-ms', 1_000, 600_000);
  for (const file of mutateFiles(exercise))
    if (!existsSync(join(ROOT, file))) throw new Error(`${file} does not exist`);

  process.chdir(ROOT);
  // Inherited by Stryker's test runner processes: quiet nodes, one seed for the dry run and every mutant.
  process.env.RING_LOG ??= 'silent';
  process.env.CI = 'true';
  if (process.env.SEED === undefined || process.env.SEED === '')
    process.env.SEED = String((Math.random() * 2 ** 32) >>> 0);
  mkdirSync(reportDir(exercise), { recursive: true });
  // Leftover generated configs of this tool from runs that were killed.
  for (const name of readdirSync(join(ROOT, 'tools', 'workshop'))) {
    if (name.startsWith(`.mutation-${exercise.id}-`) && name.endsWith('.vitest.config.mjs'))
      rmSync(join(ROOT, 'tools', 'workshop', name), { force: true });
  }
  const config = join('tools', 'workshop', `.mutation-${exercise.id}-${process.pid}.vitest.config.mjs`);
  writeFileSync(join(ROOT, config), vitestConfigText(exercise, values.bonus ?? false));

  process.stderr.write(
    chalk.dim(
      `mutating ${mutateFiles(exercise).join(', ')}; suite ${exercise.folder}${values.bonus ? ' (+ bonus)' : ''}; ` +
        `concurrency ${concurrency}, SEED=${process.env.SEED}\n`,
    ),
  );
  const started = Date.now();
  let results: MutantResult[];
  try {
    // Loaded here, not at the top: importing this module (its tests do) stays cheap.
    const { Stryker } = await loadStryker();
    results = await new Stryker(strykerOptions(exercise, { config, concurrency, timeoutMs })).runMutationTest();
  } finally {
    rmSync(join(ROOT, config), { force: true });
    // Stryker removes its sandboxes but leaves their folders: drop them when empty.
    for (const dir of [tempDir(exercise), '.stryker-tmp']) {
      try {
        rmdirSync(join(ROOT, dir));
      } catch {
        // not empty (another run, or a sandbox kept after an error), or already gone
      }
    }
  }
  const seconds = (Date.now() - started) / 1000;
  const written = writtenLines(exercise);
  const undetected = formatUndetected(results, written);
  if (undetected.length > 0)
    console.log(
      `\n${chalk.bold('undetected mutants')} (${exercise.id}; [given]: in code the stub already has):\n${undetected.map((l) => `  ${l}`).join('\n')}`,
    );
  console.log(`\n${chalk.bold(formatSummary(`${exercise.id} mutation score`, summarize(results)))}`);
  console.log(
    formatSummary(
      `${exercise.id} on the lines the attendee writes`,
      summarize(results.filter((r) => inWrittenCode(r, written))),
    ),
  );
  console.log(chalk.dim(`(${seconds.toFixed(0)} s, concurrency ${concurrency})`));
  console.log(
    chalk.dim(
      `report: ${join(reportDir(exercise), 'index.html')} (replay the suite's randomness with SEED=${process.env.SEED})`,
    ),
  );
}

if (isMain(import.meta.url)) runMain(PROG, main);
