/**
 * The last recorded suite results per exercise, `.workshop/results.json` (gitignored), so that
 * `npm run progress` can answer from them instead of running every suite again.
 *
 * Each record carries the exercise's *fingerprint*: a hash of every file its suite's outcome can
 * depend on. A record counts only while the fingerprint still matches; editing a stub changes
 * that exercise's fingerprint (and no other), updating the workshop (shared/, solutions/, given
 * files, suites, config, dependencies) changes all of them. Results are recorded by
 * `npm run progress` itself and by `npm test` (the vitest reporter in record_reporter.ts).
 *
 * Shape: `{ "version": 1, "exercises": { "ex3": { "fingerprint": "…", "at": "<ISO time>",
 * "by": "npm test", "suite": SuiteResult } } }`.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { Exercise } from './manifest.js';
import type { SuiteResult } from './run_suite.js';
import { workshopDir } from './state.js';

/** One exercise's recorded results. */
export interface RecordedSuite {
  /** {@link fingerprints} of the exercise when its suite started. */
  readonly fingerprint: string;
  /** When the run ended (ISO 8601). */
  readonly at: string;
  /** What ran it: `npm test`, `npm run progress`. */
  readonly by: string;
  readonly suite: SuiteResult;
}

/** Everything `.workshop/results.json` holds: exercise id → its last recorded results. */
export interface RecordedResults {
  readonly version: 1;
  readonly exercises: Readonly<Record<string, RecordedSuite>>;
}

/** `<root>/.workshop/results.json`. */
export const resultsPath = (root: string) => join(workshopDir(root), 'results.json');

/** Longest failure message kept per test (the status needs its first lines only). */
const MESSAGE_CHARS = 4000;

/** Top-level folders whose files make up the workshop the suites run on (besides the stubs). */
const TREES = ['shared', 'solutions', 'exercises'];
/** Files at the root that change what a suite does. */
const ROOT_FILES = ['package.json', 'package-lock.json', 'vitest.config.ts', 'tsconfig.json'];
/** File names that never change a suite's outcome. */
const IGNORED = /\.(md|txt)$|^\./;

/** Every file under `dir` (relative to `root`, `/`-separated), sorted; node_modules and dot entries skipped. */
function listFiles(root: string, dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(join(root, dir));
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const name of entries.sort()) {
    if (name === 'node_modules' || IGNORED.test(name)) continue;
    const path = `${dir}/${name}`;
    const st = statSync(join(root, path), { throwIfNoEntry: false });
    if (st?.isDirectory()) out.push(...listFiles(root, path));
    else if (st?.isFile()) out.push(path);
  }
  return out;
}

/** sha1 over `paths` (name and content of each; a missing file counts as missing). */
function hashFiles(root: string, paths: readonly string[]): string {
  const h = createHash('sha1');
  for (const p of paths) {
    h.update(`${p}\0`);
    try {
      h.update(readFileSync(join(root, p)));
    } catch {
      h.update('\0missing\0');
    }
    h.update('\0');
  }
  return h.digest('hex');
}

/**
 * The fingerprint of each exercise, by id: a hash of the exercise's own stub files and of
 * everything else its suite can depend on (every non-stub file under shared/, solutions/ and
 * exercises/, and the root's package and config files). An attendee's edit to one stub changes
 * one fingerprint. Reads every file once (a few hundred KB: milliseconds).
 */
export function fingerprints(root: string, exercises: readonly Exercise[]): Map<string, string> {
  const stubs = new Set(exercises.flatMap((e) => e.stubs.map((s) => `${e.folder}/${s}`)));
  const common = [...ROOT_FILES, ...TREES.flatMap((t) => listFiles(root, t)).filter((p) => !stubs.has(p))];
  const base = hashFiles(root, common);
  return new Map(
    exercises.map((e) => [
      e.id,
      `${base.slice(0, 16)}-${hashFiles(
        root,
        e.stubs.map((s) => `${e.folder}/${s}`),
      )}`,
    ]),
  );
}

/** Read the recorded results; a missing or unreadable file is an empty record (it is only a cache). */
export function loadResults(root: string): RecordedResults {
  try {
    const data = JSON.parse(readFileSync(resultsPath(root), 'utf8')) as Partial<RecordedResults> | null;
    if (data?.version === 1 && typeof data.exercises === 'object' && data.exercises !== null)
      return { version: 1, exercises: data.exercises };
  } catch {
    // missing or corrupt: nothing recorded
  }
  return { version: 1, exercises: {} };
}

/** A suite result with each failure message cut to {@link MESSAGE_CHARS} characters. */
function trimmed(suite: SuiteResult): SuiteResult {
  const cut = (m: string) => {
    const kept = m
      .split('\n')
      .filter((l) => !/^\s+at .*node_modules/.test(l))
      .join('\n');
    return kept.length <= MESSAGE_CHARS ? kept : `${kept.slice(0, MESSAGE_CHARS - 1)}…`;
  };
  return {
    tests: suite.tests.map((t) => ({ ...t, messages: t.messages.slice(0, 3).map(cut) })),
    errors: suite.errors.slice(0, 3).map(cut),
  };
}

/**
 * Merge `records` (exercise id → record) into `.workshop/results.json`, written atomically
 * (temporary file + rename). Read-modify-write: of two tools recording at the same moment one
 * record may be lost, which costs one more suite run later, never a wrong status.
 */
export function saveResults(root: string, records: ReadonlyMap<string, RecordedSuite>): void {
  if (records.size === 0) return;
  const current = loadResults(root);
  const exercises: Record<string, RecordedSuite> = { ...current.exercises };
  for (const [id, r] of records) exercises[id] = { ...r, suite: trimmed(r.suite) };
  mkdirSync(workshopDir(root), { recursive: true });
  const file = resultsPath(root);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify({ version: 1, exercises }, null, 1)}\n`);
  renameSync(tmp, file);
}

/**
 * The exercise a test file belongs to (`exercises/<name>/…` under `root`), or undefined.
 * Bonus suites (`*.bonus.test.ts`) belong to none: they do not decide whether an exercise passes.
 */
export function exerciseOfFile(root: string, file: string, exercises: readonly Exercise[]): Exercise | undefined {
  if (file.endsWith('.bonus.test.ts')) return undefined;
  const rel = relative(root, file).split(sep).join('/');
  return exercises.find((e) => rel.startsWith(`${e.folder}/`));
}
