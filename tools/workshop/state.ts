/**
 * The attendee's local state, `.workshop/state.json` (gitignored): how many hints of each
 * exercise have been shown. Shape: `{ "version": 1, "hints": { "ex3": 2 } }`.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Exercise } from './manifest.js';

/** Everything the tools remember between runs. */
export interface WorkshopState {
  readonly version: 1;
  /** Exercise id → number of hints shown so far (0..hints.length). */
  readonly hints: Readonly<Record<string, number>>;
}

export const EMPTY_STATE: WorkshopState = { version: 1, hints: {} };

/** `<root>/.workshop`: the tools' own directory (state, reset backups). */
export const workshopDir = (root: string) => join(root, '.workshop');

/** `<root>/.workshop/state.json`. */
export const statePath = (root: string) => join(workshopDir(root), 'state.json');

/**
 * Read the state; a missing file is the empty state.
 * @throws Error naming the file (and how to start over) when it is not valid state JSON.
 */
export function loadState(root: string): WorkshopState {
  const file = statePath(root);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return EMPTY_STATE;
    throw err;
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new Error(`${file} is not valid JSON; delete it to start over`);
  }
  const hints = (data as { hints?: unknown } | null)?.hints;
  if (
    typeof hints !== 'object' ||
    hints === null ||
    Array.isArray(hints) ||
    !Object.values(hints).every((n) => Number.isInteger(n) && (n as number) >= 0)
  ) {
    throw new Error(`${file} has no valid "hints" record; delete it to start over`);
  }
  return { version: 1, hints: hints as Record<string, number> };
}

/** Write the state atomically (temporary file + rename), creating `.workshop/` if needed. */
export function saveState(root: string, state: WorkshopState): void {
  mkdirSync(workshopDir(root), { recursive: true });
  const file = statePath(root);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, file);
}

/** What `npm run hint` shows next for an exercise. `index` is 1-based. */
export type HintStep =
  | {
      readonly kind: 'hint';
      readonly index: number;
      readonly total: number;
      readonly text: string;
      readonly last: boolean;
    }
  | { readonly kind: 'done'; readonly total: number }
  | { readonly kind: 'none' };

/**
 * The next hint of `exercise` and the state after showing it (pure).
 * `done` once every hint was shown (the state is unchanged); `none` when it has no hints.
 */
export function nextHint(state: WorkshopState, exercise: Exercise): { step: HintStep; state: WorkshopState } {
  const total = exercise.hints.length;
  if (total === 0) return { step: { kind: 'none' }, state };
  const shown = Math.min(state.hints[exercise.id] ?? 0, total);
  if (shown >= total) return { step: { kind: 'done', total }, state };
  const index = shown + 1;
  return {
    step: { kind: 'hint', index, total, text: exercise.hints[index - 1] ?? '', last: index === total },
    state: { ...state, hints: { ...state.hints, [exercise.id]: index } },
  };
}

/** The state with the hints of `exercise` marked as `shown` (0 starts over). */
export function withHintsShown(state: WorkshopState, exercise: Exercise, shown: number): WorkshopState {
  return { ...state, hints: { ...state.hints, [exercise.id]: Math.max(0, Math.min(shown, exercise.hints.length)) } };
}
