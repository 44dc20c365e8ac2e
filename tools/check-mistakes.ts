/**
 * `npm run check:mistakes [-- ex3 ex4] [--jobs N] [--json FILE] [--verbose]`: our own mutation
 * testing. `tools/mistakes/exN.json` lists plausible wrong solutions an attendee could write,
 * each as small find/replace edits to the reference solution. For every mistake this copies
 * solutions/ into a scratch tree, applies the edits, runs that exercise's suite against it and
 * reports which test caught it. A mistake no test catches is a SURVIVOR: the suite would grade
 * that wrong solution as passed. Exit code 1 if any mistake survived, does not apply any more
 * (its `find` text is gone from the solution) or breaks the code so the suite cannot load (a
 * mistake must be caught by a test, not by a syntax error). StrykerJS's idea (mutants, killed
 * or survived), with mutants chosen by people who know what attendees get wrong.
 *
 * File shape (one per exercise):
 *   { "exercise": "ex3", "mistakes": [ { "id": "count-failed-replies",
 *       "mistake": "counts a vnode's error reply as an acknowledgement",
 *       "edits": [ { "file": "ex3-coordinator/coordinator.ts", "find": "…", "replace": "…" } ] } ] }
 * `file` is relative to solutions/; each `find` must occur exactly once in its file.
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { basename, join } from 'node:path';
import chalk from 'chalk';
import { isMain, parseCommandLine, parseInteger, runMain, UsageError } from '../shared/cli/options.js';
import { findExercise, loadManifest, ROOT, type Exercise } from './workshop/manifest.js';
import { DIR_PROJECT, gradeReport, noReportMessage, runVitest, writeDirConfig } from './workshop/vitest_report.js';

const PROG = 'npm run check:mistakes';
const MISTAKES_DIR = join(ROOT, 'tools', 'mistakes');

const USAGE = `usage: ${PROG} -- [exN ...] [--jobs N] [--json FILE] [--verbose]

Apply every curated mistake (tools/mistakes/exN.json) to a copy of solutions/ and run that
exercise's suite against it: each mistake must be caught by a test.

  exN ...      only these exercises (default: every exercise with a mistakes file)
  --jobs N     mistakes checked at once (default 2)
  --json FILE  write the results as JSON
  --verbose    print vitest's output`;

/** One edit of a solution file: replace the one occurrence of `find` by `replace`. */
export interface MistakeEdit {
  /** Path relative to solutions/, e.g. `ex3-coordinator/coordinator.ts`. */
  readonly file: string;
  readonly find: string;
  readonly replace: string;
}

/** A plausible wrong solution. */
export interface Mistake {
  /** Short kebab-case id, unique within its exercise. */
  readonly id: string;
  /** What the attendee got wrong, in one sentence. */
  readonly mistake: string;
  readonly edits: readonly MistakeEdit[];
}

/** How a mistake fared. `caught`: the tests that failed on it (file order). */
export type Verdict =
  | { readonly kind: 'caught'; readonly by: readonly string[] }
  | { readonly kind: 'survived' }
  | { readonly kind: 'stale'; readonly why: string }
  | { readonly kind: 'broken'; readonly why: string };

export interface MistakeResult {
  readonly exercise: string;
  readonly id: string;
  readonly mistake: string;
  readonly verdict: Verdict;
  /** Wall time of the suite run, ms. */
  readonly ms: number;
}

/**
 * Read `tools/mistakes/<id>.json` of every exercise in `exercises` that has one.
 * @throws Error naming the file for malformed JSON, a wrong shape or a duplicate id.
 */
export function loadMistakes(exercises: readonly Exercise[], dir: string = MISTAKES_DIR): Map<Exercise, Mistake[]> {
  const out = new Map<Exercise, Mistake[]>();
  for (const e of exercises) {
    const file = join(dir, `${e.id}.json`);
    if (!existsSync(file)) continue;
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { exercise?: unknown; mistakes?: unknown };
    if (doc.exercise !== e.id || !Array.isArray(doc.mistakes))
      throw new Error(`${file}: expected {"exercise": "${e.id}", "mistakes": [...]}`);
    const seen = new Set<string>();
    for (const m of doc.mistakes as Mistake[]) {
      const ok =
        typeof m?.id === 'string' &&
        typeof m.mistake === 'string' &&
        Array.isArray(m.edits) &&
        m.edits.length > 0 &&
        m.edits.every(
          (x) =>
            typeof x?.file === 'string' &&
            typeof x.find === 'string' &&
            x.find !== '' &&
            typeof x.replace === 'string' &&
            x.find !== x.replace,
        );
      if (!ok)
        throw new Error(
          `${file}: mistake ${JSON.stringify(m?.id)} needs id, mistake and non-empty edits {file, find, replace} with find ≠ replace`,
        );
      if (seen.has(m.id)) throw new Error(`${file}: two mistakes are called ${m.id}`);
      seen.add(m.id);
    }
    out.set(e, doc.mistakes as Mistake[]);
  }
  return out;
}

/**
 * Apply `edits` to the tree at `root` (laid out like solutions/).
 * @returns undefined, or why an edit does not apply (file missing, `find` absent or ambiguous).
 */
export function applyEdits(root: string, edits: readonly MistakeEdit[]): string | undefined {
  for (const edit of edits) {
    const path = join(root, edit.file);
    if (!existsSync(path)) return `${edit.file} does not exist`;
    const text = readFileSync(path, 'utf8');
    const count = text.split(edit.find).length - 1;
    if (count !== 1)
      return `${edit.file}: the text to replace occurs ${count} times (must be once): ${JSON.stringify(edit.find.slice(0, 80))}`;
    writeFileSync(
      path,
      text.replace(edit.find, () => edit.replace),
    );
  }
  return undefined;
}

/** One mistake's scratch tree: a copy of solutions/ with the edits applied. */
interface Prepared {
  readonly exercise: Exercise;
  readonly mistake: Mistake;
  /** A direct child of the root (exercise code imports ../../shared/). */
  readonly tree: string;
  /** Why the edits do not apply, if they do not. */
  readonly stale?: string;
}

function prepare(exercise: Exercise, mistake: Mistake): Prepared {
  const tree = mkdtempSync(join(ROOT, `.mistake-${process.pid}-`));
  cpSync(join(ROOT, 'solutions'), tree, { recursive: true });
  const stale = applyEdits(tree, mistake.edits);
  return { exercise, mistake, tree, ...(stale ? { stale } : {}) };
}

/**
 * Type-check every scratch tree in one `tsc` run (a mistake must be code an attendee could
 * hand in: it compiles). @returns the first type error per tree, by tree path.
 */
function typeErrors(trees: readonly string[]): Map<string, string> {
  const config = join(ROOT, `.mistakes-${process.pid}.tsconfig.json`);
  writeFileSync(
    config,
    JSON.stringify({ extends: './tsconfig.json', include: trees.map((t) => `${basename(t)}/**/*.ts`) }),
  );
  const out = new Map<string, string>();
  try {
    const run = spawnSync(
      process.execPath,
      [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', config, '--noEmit', '--pretty', 'false'],
      { cwd: ROOT, encoding: 'utf8' },
    );
    for (const line of `${run.stdout}`.split('\n')) {
      const tree = trees.find((t) => line.startsWith(`${basename(t)}/`));
      if (tree && !out.has(tree)) out.set(tree, line.slice(basename(tree).length + 1).trim());
    }
  } finally {
    rmSync(config, { force: true });
  }
  return out;
}

/** Run the exercise's suite against a prepared tree and judge the outcome. */
async function judge(p: Prepared, typeError: string | undefined, verbose: boolean): Promise<MistakeResult> {
  const base = { exercise: p.exercise.id, id: p.mistake.id, mistake: p.mistake.mistake };
  if (p.stale) return { ...base, verdict: { kind: 'stale', why: p.stale }, ms: 0 };
  if (typeError) return { ...base, verdict: { kind: 'broken', why: `does not compile: ${typeError}` }, ms: 0 };
  const started = Date.now();
  const config = writeDirConfig(p.tree, { bonus: false, by: PROG });
  try {
    const outcome = await runVitest({
      config,
      projects: [DIR_PROJECT],
      filters: [`${p.exercise.folder}/`],
      verbose,
      // No --bail: with concurrent tests (describe.concurrent) a bail cancels the others
      // mid-flight and the report can come back without the failure that caused it.
    });
    const ms = Date.now() - started;
    if (!outcome.report) return { ...base, verdict: { kind: 'broken', why: noReportMessage(outcome) }, ms };
    const suite = gradeReport(outcome.report, [p.exercise])[0]?.main;
    if (!suite || suite.total === 0)
      return { ...base, verdict: { kind: 'broken', why: suite?.message ?? 'the suite ran no test' }, ms };
    const failed = suite.tests.filter((t) => t.status !== 'pass');
    if (failed.length === 0)
      return { ...base, verdict: suite.message ? { kind: 'broken', why: suite.message } : { kind: 'survived' }, ms };
    return { ...base, verdict: { kind: 'caught', by: failed.map((t) => t.name) }, ms };
  } finally {
    rmSync(config, { force: true });
  }
}

/** True if a process with this pid exists (signal 0 probes without sending anything). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The report table: one line per mistake, then a summary line. */
export function formatResults(results: readonly MistakeResult[]): string {
  const lines = [chalk.bold(`${'exercise'.padEnd(8)} ${'mistake'.padEnd(34)} verdict`)];
  for (const r of results) {
    const v = r.verdict;
    const text =
      v.kind === 'caught'
        ? chalk.green(`caught by "${v.by[0]}"`)
        : v.kind === 'survived'
          ? chalk.red.bold('SURVIVED: no test failed')
          : v.kind === 'stale'
            ? chalk.red(`STALE: ${v.why}`)
            : chalk.red(`BROKEN (the suite did not load): ${v.why.replace(/\s+/g, ' ').slice(0, 200)}`);
    lines.push(`${r.exercise.padEnd(8)} ${r.id.padEnd(34)} ${text}`);
  }
  const bad = results.filter((r) => r.verdict.kind !== 'caught').length;
  lines.push(
    (bad === 0 ? chalk.green : chalk.red)(
      `${results.length - bad}/${results.length} mistakes caught${bad ? `, ${bad} not` : ''}`,
    ),
  );
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values, positionals } = parseCommandLine({
    args: process.argv.slice(2),
    allowPositionals: true,
    options: {
      jobs: { type: 'string' },
      json: { type: 'string' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) return void console.log(USAGE);
  const all = loadManifest();
  const exercises = positionals.length > 0 ? positionals.map((p) => findExercise(all, p)) : all;
  const jobs = values.jobs === undefined ? 2 : parseInteger(values.jobs, '--jobs', 1, 8);
  const lists = loadMistakes(exercises);
  const work = [...lists].flatMap(([e, ms]) => ms.map((m) => ({ e, m })));
  if (work.length === 0)
    throw new UsageError(`no mistakes listed for ${exercises.map((e) => e.id).join(', ')} (in ${MISTAKES_DIR})`);
  // Scratch trees left by a run that was killed (its pid is gone); a concurrent run keeps its own.
  for (const name of readdirSync(ROOT)) {
    const pid = /^\.mistake-(\d+)-/.exec(name)?.[1];
    if (pid !== undefined && !isAlive(Number(pid))) rmSync(join(ROOT, name), { recursive: true, force: true });
  }

  const started = Date.now();
  process.stderr.write(
    chalk.dim(`checking ${work.length} mistakes in ${lists.size} exercise(s), ${jobs} at a time …\n`),
  );
  const prepared = work.map(({ e, m }) => prepare(e, m));
  const results: MistakeResult[] = new Array(work.length);
  try {
    const errors = typeErrors(prepared.filter((p) => !p.stale).map((p) => p.tree));
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < prepared.length; i = next++) {
        const p = prepared[i] as Prepared;
        const r = (results[i] = await judge(p, errors.get(p.tree), values.verbose ?? false));
        rmSync(p.tree, { recursive: true, force: true });
        process.stderr.write(chalk.dim(`  ${r.exercise} ${r.id}: ${r.verdict.kind} (${(r.ms / 1000).toFixed(1)}s)\n`));
      }
    };
    await Promise.all(Array.from({ length: Math.min(jobs, prepared.length) }, worker));
  } finally {
    for (const p of prepared) rmSync(p.tree, { recursive: true, force: true });
  }
  console.log(formatResults(results));
  console.log(chalk.dim(`(${((Date.now() - started) / 1000).toFixed(1)}s)`));
  if (values.json !== undefined) writeFileSync(values.json, `${JSON.stringify(results, null, 2)}\n`);
  process.exitCode = results.every((r) => r.verdict.kind === 'caught') ? 0 : 1;
}

if (isMain(import.meta.url)) runMain(PROG, main);
