/**
 * `npm run check:stubs`: the CI guarantee that the two trees fit the manifest and each other.
 *
 * For every exercise of `exercises/manifest.json` (no directory listing):
 *  (a) its folder and every stub file exist in exercises/ and solutions/;
 *  (b) every stub file calls `todo(` in exercises/ and does not in solutions/;
 *  (c) every `given` file exists once, in exercises/ (solutions/ holds only finished stubs);
 *  (d) every `uses` path is a finished stub or given file of an earlier exercise;
 *  (e) with the untouched stubs (vitest project `exercises`, run once), every test fails, and
 *      every failure names the exercise and a step in its first line (`ex3-coordinator step 1`,
 *      the stub's own message, see {@link namesStep}): what an attendee reads first says where
 *      to work;
 *  (f) against solutions/ every test passes, bonus suites included: read from
 *      `--solutions-report FILE` (a vitest JSON report of the `solutions` project, as `.ci/run`
 *      writes it) or, without the flag, by running the `solutions` project.
 * And across the trees: no block of 20+ lines stands in exercises/ and solutions/, or in two
 * exercise folders (one copy of every given line; see {@link sharedBlocks}).
 * Prints one table; exits 1 if any check fails, 2 on bad options.
 *
 * Usage: npm run check:stubs [-- --solutions-report .vitest-results/solutions.json]
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import chalk from 'chalk';
import { isMain, parseCommandLine, runMain, UsageError } from '../shared/cli/options.js';
import { loadManifest, ROOT, type Exercise } from './workshop/manifest.js';
import {
  gradeReport,
  noReportMessage,
  readReport,
  runVitest,
  type GradedExercise,
  type GradedSuite,
  type GradedTest,
  type VitestReport,
} from './workshop/vitest_report.js';

const PROG = 'npm run check:stubs';

const USAGE = `usage: ${PROG} [-- --solutions-report FILE]

Checks, for every exercise of exercises/manifest.json, that its stub and given files are in
place in exercises/ and solutions/, that every untouched stub fails every test of its suite
with its own message, and that the solutions pass every test (bonus included).

  --solutions-report FILE   vitest JSON report of the solutions project (e.g.
                            .vitest-results/solutions.json from .ci/run) instead of running it`;

/** A stub file "calls todo(" when this matches its text. */
const TODO_CALL = /\btodo\(/;

/**
 * File checks (a)–(d) of one exercise.
 * @returns the problems, each a sentence naming the file(s); empty when all is well.
 */
export function checkFiles(ex: Exercise, all: readonly Exercise[], root: string = ROOT): string[] {
  const problems: string[] = [];
  const exDir = `exercises/${ex.name}`;
  const solDir = `solutions/${ex.name}`;
  const read = (rel: string): string | undefined => {
    const abs = join(root, rel);
    return existsSync(abs) && statSync(abs).isFile() ? readFileSync(abs, 'utf8') : undefined;
  };
  const isDir = (rel: string) => existsSync(join(root, rel)) && statSync(join(root, rel)).isDirectory();

  if (ex.folder !== exDir) problems.push(`manifest folder is "${ex.folder}", expected "${exDir}"`);
  for (const dir of [exDir, solDir]) if (!isDir(dir)) problems.push(`${dir}/ is missing`);
  for (const file of ex.stubs.filter((f) => ex.given.includes(f)))
    problems.push(`${file} is listed both as a stub and as given`);

  for (const file of ex.stubs) {
    const stub = read(`${exDir}/${file}`);
    const solution = read(`${solDir}/${file}`);
    if (stub === undefined) problems.push(`stub ${exDir}/${file} is missing`);
    else if (!TODO_CALL.test(stub)) problems.push(`stub ${exDir}/${file} does not call todo(`);
    if (solution === undefined) problems.push(`solution ${solDir}/${file} is missing`);
    else if (TODO_CALL.test(solution)) problems.push(`solution ${solDir}/${file} still calls todo(`);
  }
  // One copy of everything given: it lives next to the stubs, and solutions/ holds only the
  // finished stub files.
  for (const file of ex.given) {
    if (read(`${exDir}/${file}`) === undefined) problems.push(`given ${exDir}/${file} is missing`);
    if (read(`${solDir}/${file}`) !== undefined)
      problems.push(`given ${exDir}/${file} has a copy in ${solDir}/: given files exist once`);
  }
  if (isDir(solDir)) {
    for (const file of readdirSync(join(root, solDir))) {
      if (!ex.stubs.includes(file) && !ex.given.includes(file))
        problems.push(`${solDir}/${file} is not a stub of ${ex.id}: solutions/ holds only the finished stub files`);
    }
  }
  // What this exercise builds on from earlier ones: their finished stubs or their given files.
  const index = all.findIndex((e) => e.id === ex.id);
  for (const path of ex.uses) {
    const owner = all.findIndex(
      (e) =>
        ex !== e &&
        (e.stubs.some((f) => path === `solutions/${e.name}/${f}`) ||
          e.given.some((f) => path === `exercises/${e.name}/${f}`)),
    );
    if (owner < 0)
      problems.push(
        `uses ${path}: not a finished stub (solutions/exN-*/) or given file (exercises/exN-*/) of another exercise`,
      );
    else if (owner >= index) problems.push(`uses ${path}: ${all[owner]?.id} is not an earlier exercise than ${ex.id}`);
    if (read(path) === undefined) problems.push(`uses ${path}: missing`);
  }
  return problems;
}

/** Blocks of at least this many lines may not stand in two places (see {@link sharedBlocks}). */
export const SHARED_BLOCK_LINES = 20;

/** A code line: not blank, not a comment (`//`, or a line of a `/** … *\/` block). Trimmed. */
export const isCode = (line: string): boolean => line !== '' && !/^(\/\/|\/\*|\*)/.test(line);

/**
 * The code lines of a file (trimmed, see {@link isCode}) with their line numbers, without import
 * declarations: a stub and its solution import the same names, one per line once a list is long.
 */
export function codeLines(text: string): { text: string; line: number }[] {
  const out: { text: string; line: number }[] = [];
  let inImport = false;
  text.split('\n').forEach((raw, i) => {
    const t = raw.trim();
    if (!inImport && /^import\b/.test(t)) inImport = true;
    if (inImport) {
      if (/\bfrom\s+['"][^'"]+['"];?$/.test(t) || t.endsWith(';')) inImport = false;
      return;
    }
    if (isCode(t)) out.push({ text: t, line: i + 1 });
  });
  return out;
}

/**
 * Blocks of `minLines` or more consecutive code lines (see {@link codeLines}) that stand in two
 * files that must not share code: a file of exercises/ and one of solutions/, or files of two
 * different exercise folders. A stub and its solution may share a short skeleton, not more.
 * `files` maps a path relative to the root (`exercises/ex3-coordinator/coordinator.ts`) to its text.
 * @returns one sentence per pair of files, naming the first shared line of each.
 */
export function sharedBlocks(files: ReadonlyMap<string, string>, minLines: number = SHARED_BLOCK_LINES): string[] {
  const tree = (path: string) => path.split('/')[0];
  const folder = (path: string) => path.split('/')[1];
  const mayShare = (a: string, b: string) => tree(a) === tree(b) && folder(a) === folder(b);
  const lines = new Map<string, { text: string; line: number }[]>();
  for (const [path, text] of files) {
    lines.set(path, codeLines(text));
  }
  // Every window of minLines lines, by its text; a window seen in two files that may not share is a hit.
  const seen = new Map<string, { path: string; line: number }>();
  const found = new Map<string, string>();
  for (const [path, ls] of lines) {
    for (let i = 0; i + minLines <= ls.length; i++) {
      const key = ls
        .slice(i, i + minLines)
        .map((l) => l.text)
        .join('\n');
      const first = seen.get(key);
      if (!first) seen.set(key, { path, line: ls[i]!.line });
      else if (!mayShare(first.path, path)) {
        const pair = `${first.path} ${path}`;
        if (!found.has(pair))
          found.set(pair, `${first.path}:${first.line} and ${path}:${ls[i]!.line} share ${minLines}+ lines`);
      }
    }
  }
  return [...found.values()];
}

/** The code files (.ts) of exercises/ and solutions/, suites excluded, by path relative to `root`. */
export function exerciseSources(root: string = ROOT): Map<string, string> {
  const files = new Map<string, string>();
  for (const tree of ['exercises', 'solutions']) {
    for (const entry of readdirSync(join(root, tree), { recursive: true, encoding: 'utf8' })) {
      const path = `${tree}/${entry.split(sep).join('/')}`;
      if (path.endsWith('.ts') && !path.endsWith('.test.ts')) files.set(path, readFileSync(join(root, path), 'utf8'));
    }
  }
  return files;
}

/** One row of the table: everything the verdict depends on. */
export interface StubRow {
  readonly exercise: Exercise;
  /** The suite run against the untouched stubs (project `exercises`, no bonus). */
  readonly stub: GradedSuite;
  /** The suite (main and bonus together, see {@link combineSuites}) run against solutions/. */
  readonly solution: GradedSuite;
  /** How many of `solution`'s tests are bonus tests (shown in the table). */
  readonly bonusTests: number;
  /** Problems found by {@link checkFiles}. */
  readonly files: readonly string[];
}

/** Main and bonus suite as one: counts added, tests concatenated, the worse status. */
export function combineSuites(graded: GradedExercise): GradedSuite {
  const { main, bonus } = graded;
  if (!bonus) return main;
  const rank = { pass: 0, fail: 1, error: 2 } as const;
  const message = main.message ?? bonus.message;
  return {
    status: rank[bonus.status] > rank[main.status] ? bonus.status : main.status,
    passed: main.passed + bonus.passed,
    total: main.total + bonus.total,
    tests: [...main.tests, ...bonus.tests],
    ...(message !== undefined ? { message } : {}),
  };
}

/** The first line of a failure: the error as vitest prints it, above any diff and stack. */
export const headline = (failure: string): string => failure.split('\n', 1)[0] ?? '';

/**
 * True when `failure` names the exercise and a step in its first line (`ex3-coordinator step 4`),
 * as the stub's NotImplementedError does. A step cut short (`ex3-coordinator step…`, vitest's
 * shortened diff of an error object) or named only further down does not count.
 */
export function namesStep(exercise: Exercise, failure: string): boolean {
  const name = exercise.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`\\b${name} step \\d+`).test(headline(failure));
}

/**
 * The stub tests that do not pass and whose first failure does not name the exercise and a step
 * (see {@link namesStep}); a test that did not run (its file failed) has no failure and is one.
 */
export function stubTestsWithoutStep(exercise: Exercise, stub: GradedSuite): GradedTest[] {
  return stub.tests.filter((t) => t.status !== 'pass' && !namesStep(exercise, t.raw[0] ?? ''));
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * What is wrong with a row; empty means ok. In table order: stub, solution, files.
 * Kinds: `no stub results`, `stub passes N tests`, `N stub tests without "<name> step N"`,
 * `no solution results`, `solution fails N tests`, `solution errors`, `N file problems`.
 */
export function verdict(row: StubRow): string[] {
  const { exercise, stub, solution, files } = row;
  const out: string[] = [];
  if (stub.total === 0) out.push('no stub results');
  else {
    if (stub.passed > 0) out.push(`stub passes ${plural(stub.passed, 'test')}`);
    const unnamed = stubTestsWithoutStep(exercise, stub).length;
    if (unnamed > 0) out.push(`${plural(unnamed, 'stub test')} without "${exercise.name} step N"`);
  }
  if (solution.total === 0) out.push('no solution results');
  else if (solution.passed < solution.total)
    out.push(`solution fails ${plural(solution.total - solution.passed, 'test')}`);
  else if (solution.status !== 'pass') out.push('solution errors');
  if (files.length > 0) out.push(plural(files.length, 'file problem'));
  return out;
}

/** The table, then the details behind every non-ok verdict. */
export function formatRows(rows: readonly StubRow[]): string {
  const head = ['exercise', 'tests', 'stub fails', 'names step', 'solution passes', 'files', 'verdict'];
  const cells = rows.map((r) => {
    const v = verdict(r);
    const sol = `${r.solution.passed}/${r.solution.total}${r.bonusTests > 0 ? ` (${r.bonusTests} bonus)` : ''}`;
    return [
      r.exercise.name,
      String(r.stub.total),
      `${r.stub.total - r.stub.passed}/${r.stub.total}`,
      `${r.stub.total - r.stub.passed - stubTestsWithoutStep(r.exercise, r.stub).length}/${r.stub.total - r.stub.passed}`,
      sol,
      r.files.length === 0 ? 'ok' : String(r.files.length),
      v.length === 0 ? 'ok' : v.join('; '),
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (c: readonly string[]) =>
    c.map((s, i) => (i === c.length - 1 ? s : s.padEnd(widths[i] ?? 0))).join('  ');
  const out = [chalk.bold(line(head))];
  cells.forEach((c, i) => {
    const text = line(c);
    out.push(verdict(rows[i] as StubRow).length === 0 ? text : chalk.red(text));
  });

  const details: string[] = [];
  for (const r of rows) {
    const id = r.exercise.id;
    for (const p of r.files) details.push(`  ${id}: ${p}`);
    if (r.stub.message !== undefined) details.push(`  ${id}: stub suite: ${r.stub.message.replace(/\s+/g, ' ')}`);
    for (const t of r.stub.tests.filter((t) => t.status === 'pass'))
      details.push(`  ${id}: the stub passes "${t.name}"`);
    for (const t of stubTestsWithoutStep(r.exercise, r.stub))
      details.push(
        `  ${id}: the stub fails "${t.name}" without naming its step: ${headline(t.raw[0] ?? t.message ?? 'no failure message').slice(0, 200)}`,
      );
    if (r.solution.message !== undefined)
      details.push(`  ${id}: solution suite: ${r.solution.message.replace(/\s+/g, ' ')}`);
    for (const t of r.solution.tests.filter((t) => t.status !== 'pass')) {
      details.push(`  ${id}: the solution fails "${t.name}": ${(t.message ?? '').replace(/\s+/g, ' ').slice(0, 200)}`);
    }
  }
  if (details.length > 0) out.push('', ...details);
  return out.join('\n');
}

/** Run one vitest project over the exercise suites, or read a report; throws if no report comes out. */
async function projectReport(project: string): Promise<VitestReport> {
  const outcome = await runVitest({ projects: [project] });
  if (!outcome.report) throw new Error(`project ${project}: ${noReportMessage(outcome)}`);
  return outcome.report;
}

async function main(): Promise<void> {
  const { values } = parseCommandLine({
    args: process.argv.slice(2),
    options: { 'solutions-report': { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const exercises = loadManifest();
  const reportFile = values['solutions-report'];
  // Read the given report first: a bad path should fail before a minute of tests.
  let solutionsReport: VitestReport | undefined;
  try {
    if (reportFile !== undefined)
      solutionsReport = readReport(resolve(process.env.INIT_CWD ?? process.cwd(), reportFile));
  } catch (err) {
    throw new UsageError(`--solutions-report ${(err as Error).message}`);
  }

  process.stderr.write(chalk.dim('running every suite against the untouched stubs (project exercises) …\n'));
  const stubs = gradeReport(await projectReport('exercises'), exercises);
  if (!solutionsReport)
    process.stderr.write(chalk.dim('running every suite against solutions/ (project solutions) …\n'));
  const solutions = gradeReport(solutionsReport ?? (await projectReport('solutions')), exercises);

  const rows: StubRow[] = exercises.map((exercise, i) => {
    const solved = solutions[i] as GradedExercise;
    return {
      exercise,
      stub: (stubs[i] as GradedExercise).main,
      solution: combineSuites(solved),
      bonusTests: solved.bonus?.total ?? 0,
      files: checkFiles(exercise, exercises),
    };
  });
  console.log(formatRows(rows));
  const shared = sharedBlocks(exerciseSources());
  for (const s of shared) console.log(chalk.red(`  copy: ${s}`));
  const ok = rows.every((r) => verdict(r).length === 0) && shared.length === 0;
  console.log(
    ok
      ? chalk.green('every stub fails its own suite, every solution passes, files match the manifest')
      : chalk.red('stub check FAILED'),
  );
  process.exitCode = ok ? 0 : 1;
}

if (isMain(import.meta.url)) runMain(PROG, main);
