/**
 * A vitest reporter that records the results of the exercise suites run against `exercises/`
 * (the vitest project `exercises`, i.e. `npm test`) into `.workshop/results.json`, so that
 * `npm run progress` can show them without running those suites again (see results.ts).
 *
 * It records an exercise only when its whole main suite ran: no test skipped (a `-t` filter,
 * `.only`, a run cut short) and every test file of the exercise in the run. Fingerprints are
 * taken when the run starts, so a file saved during the run makes the record stale, never
 * wrong. It never fails a run: any error of its own is ignored (the record is only a cache).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Reporter, TestModule, TestSpecification } from 'vitest/node';
import { loadManifest, type Exercise } from './manifest.js';
import { exerciseOfFile, fingerprints, saveResults, type RecordedSuite } from './results.js';
import type { SuiteResult, TestOutcome } from './run_suite.js';

/** The vitest project whose runs are the attendee's: `@ex/` points at exercises/. */
export const RECORDED_PROJECT = 'exercises';

/** A path with `/` separators (vitest's module ids use them on every platform). */
const slashes = (p: string) => p.replace(/\\/g, '/');

/** The main suite files of `exercise` (absolute, `/`-separated), bonus suites excluded. */
function suiteFiles(root: string, exercise: Exercise): string[] {
  try {
    return readdirSync(join(root, exercise.folder))
      .filter((f) => f.endsWith('.test.ts') && !f.endsWith('.bonus.test.ts'))
      .map((f) => slashes(join(root, exercise.folder, f)));
  } catch {
    return [];
  }
}

/** One test module's results in the shape the status code reads; undefined if a test did not run. */
function moduleResult(module: TestModule): SuiteResult | undefined {
  const tests: TestOutcome[] = [];
  for (const t of module.children.allTests()) {
    const result = t.result();
    if (result.state !== 'passed' && result.state !== 'failed') return undefined; // skipped or unfinished
    const ancestors: string[] = [];
    for (let p = t.parent; p.type === 'suite'; p = p.parent) ancestors.unshift(p.name);
    tests.push({
      name: [...ancestors, t.name].join(' '),
      status: result.state,
      messages: result.state === 'failed' ? result.errors.map((e) => e.stack || e.message) : [],
    });
  }
  const errors = module.errors().map((e) => e.stack || e.message);
  if (tests.length === 0 && errors.length === 0) return undefined; // nothing ran
  return { tests, errors };
}

/** Records the `exercises` project's suite results; add it to vitest's `reporters`. */
export class RecordReporter implements Reporter {
  private started = new Map<string, string>();

  constructor(private readonly root: string) {}

  onTestRunStart(specifications: ReadonlyArray<TestSpecification>): void {
    this.started = new Map();
    try {
      if (!specifications.some((s) => s.project.name === RECORDED_PROJECT)) return;
      this.started = fingerprints(this.root, loadManifest(this.root));
    } catch {
      this.started = new Map();
    }
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    try {
      if (this.started.size === 0) return;
      const exercises = loadManifest(this.root);
      const byExercise = new Map<Exercise, Map<string, SuiteResult | undefined>>();
      for (const m of modules) {
        if (m.project.name !== RECORDED_PROJECT) continue;
        const exercise = exerciseOfFile(this.root, m.moduleId, exercises);
        if (!exercise) continue;
        const files = byExercise.get(exercise) ?? new Map<string, SuiteResult | undefined>();
        byExercise.set(exercise, files);
        files.set(slashes(m.moduleId), m.state() === 'queued' || m.state() === 'pending' ? undefined : moduleResult(m));
      }
      const at = new Date().toISOString();
      const records = new Map<string, RecordedSuite>();
      for (const [exercise, files] of byExercise) {
        const fingerprint = this.started.get(exercise.id);
        const results = suiteFiles(this.root, exercise).map((f) => files.get(f));
        if (!fingerprint || results.length === 0 || results.some((r) => r === undefined)) continue;
        const suite: SuiteResult = {
          tests: results.flatMap((r) => r?.tests ?? []),
          errors: results.flatMap((r) => r?.errors ?? []),
        };
        records.set(exercise.id, { fingerprint, at, by: 'npm test', suite });
      }
      saveResults(this.root, records);
    } catch {
      // only a cache: never fail the attendee's test run
    }
  }
}
