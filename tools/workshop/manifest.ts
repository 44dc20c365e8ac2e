/**
 * The exercise manifest (`exercises/manifest.json`): the one list of exercises that every tool
 * reads. Nothing else lists the exercises by hand.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (absolute path, with a trailing separator). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** One exercise of the manifest. Paths are relative to the repository root. */
export interface Exercise {
  /** Short id used on the command line: `ex3`. */
  readonly id: string;
  /** Folder name: `ex3-coordinator` (under exercises/ and solutions/). */
  readonly name: string;
  readonly title: string;
  /** `exercises/<name>`. */
  readonly folder: string;
  /** Files the attendee edits (they call todo() until done). */
  readonly stubs: readonly string[];
  /** Files handed over complete, next to the stubs; they exist only in exercises/<name>/. */
  readonly given: readonly string[];
  /**
   * What this exercise builds on from earlier ones, relative to the root: finished stubs
   * (`solutions/ex3-coordinator/coordinator.ts`) or given files (`exercises/ex3-coordinator/kv_vnode.ts`).
   */
  readonly uses: readonly string[];
  /** What the attendee learns. */
  readonly goals: readonly string[];
  /** Hints, from gentle to nearly the answer. */
  readonly hints: readonly string[];
}

/**
 * Read and check the manifest.
 * @throws Error naming the problem if the file is missing, not JSON, or an entry lacks a field.
 */
export function loadManifest(root: string = ROOT): Exercise[] {
  const file = join(root, 'exercises', 'manifest.json');
  const data = JSON.parse(readFileSync(file, 'utf8')) as { exercises?: unknown };
  if (!Array.isArray(data.exercises)) throw new Error(`${file}: "exercises" must be an array`);
  return data.exercises.map((e: Record<string, unknown>, i: number) => {
    for (const field of ['id', 'name', 'title', 'folder'] as const) {
      if (typeof e[field] !== 'string' || e[field] === '')
        throw new Error(`${file}: exercise #${i + 1} has no "${field}"`);
    }
    for (const field of ['stubs', 'given', 'goals', 'hints'] as const) {
      if (!Array.isArray(e[field])) throw new Error(`${file}: exercise ${String(e.id)} has no "${field}" list`);
    }
    return { uses: [], ...e } as unknown as Exercise;
  });
}

/**
 * Find an exercise by id (`ex3`), name (`ex3-coordinator`) or number (`3`).
 * @throws Error listing the known ids when nothing matches.
 */
export function findExercise(exercises: readonly Exercise[], which: string): Exercise {
  const w = which.trim();
  const found = exercises.find((e) => e.id === w || e.name === w || e.id === `ex${w}`);
  if (!found) throw new Error(`no exercise "${which}"; known: ${exercises.map((e) => e.id).join(', ')}`);
  return found;
}
