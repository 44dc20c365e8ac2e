/**
 * The pristine version of a stub file: what the workshop handed out, before the attendee
 * edited it. It comes from git: the most recent commit reachable from HEAD whose version of
 * the file still calls `todo(`. Plain `HEAD:<path>` is not enough, because an attendee may
 * have committed their (finished) work.
 *
 * Limitation: an attendee commit of a *partly* done stub still calls `todo(`, so it would be
 * taken as pristine; `git log -- <path>` and `git checkout <commit> -- <path>` restore by hand.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Exercise } from './manifest.js';

/** A stub's pristine content and the commit it was read from. `path` is relative to the root. */
export interface Pristine {
  readonly path: string;
  readonly commit: string;
  readonly content: Buffer;
}

/** Why no pristine version could be found; the message says how to restore by hand. */
export class PristineError extends Error {
  override name = 'PristineError';
}

/** The marker every unfinished stub contains (see shared/todo.ts). */
export const STUB_MARKER = 'todo(';

/**
 * Run git in `root` and return its stdout.
 * @throws PristineError when git is missing or fails (its message carries git's stderr).
 */
function git(root: string, args: readonly string[]): Buffer {
  const r = spawnSync('git', args, { cwd: root, maxBuffer: 64 * 1024 * 1024 });
  if (r.error)
    throw new PristineError(`git is not available (${r.error.message}); the pristine stubs come from git history`);
  if (r.status !== 0) throw new PristineError(`git ${args[0]} failed: ${r.stderr.toString('utf8').trim()}`);
  return r.stdout;
}

/**
 * Find the pristine version of `path` (relative to `root`, `/`-separated).
 * @throws PristineError if git is unavailable, `root` is not in a git repository, or no
 *   version of the file in the history reachable from HEAD contains `todo(`.
 */
export function findPristine(root: string, path: string): Pristine {
  // --topo-order: children before parents, whatever the commit dates say.
  const commits = git(root, ['log', '--topo-order', '--format=%H', '--', path])
    .toString('utf8')
    .split('\n')
    .filter((c) => c !== '');
  if (commits.length === 0) {
    throw new PristineError(`${path} has no history in git; take it from a fresh copy of the workshop`);
  }
  for (const commit of commits) {
    // `<commit>:./<path>` is relative to the working directory (root), wherever the repository starts.
    const shown = spawnSync('git', ['show', `${commit}:./${path}`], { cwd: root, maxBuffer: 64 * 1024 * 1024 });
    if (shown.status !== 0) continue; // deleted in that commit
    if (shown.stdout.includes(STUB_MARKER)) return { path, commit, content: shown.stdout };
  }
  throw new PristineError(
    `no version of ${path} in git history calls ${STUB_MARKER}); restore it by hand: pick a commit from ` +
      `\`git log --oneline -- ${path}\` and run \`git checkout <commit> -- ${path}\``,
  );
}

/** Same text, ignoring the difference between CRLF and LF line ends (git's autocrlf). */
export function sameText(a: Buffer, b: Buffer): boolean {
  return a.equals(b) || a.toString('utf8').replace(/\r\n/g, '\n') === b.toString('utf8').replace(/\r\n/g, '\n');
}

/** One stub file of an exercise compared with its pristine version. */
export interface StubState {
  /** Relative to the root: `exercises/ex3-coordinator/coordinator.ts`. */
  readonly path: string;
  readonly pristine?: Pristine;
  /** The working copy differs from the pristine version (or is missing); unknown on error. */
  readonly changed?: boolean;
  /** Why the pristine version is unknown. */
  readonly error?: string;
}

/** Compare every stub file of `exercise` with its pristine version. Never throws for one file. */
export function stubStates(root: string, exercise: Exercise): StubState[] {
  return exercise.stubs.map((stub) => {
    const path = `${exercise.folder}/${stub}`;
    let pristine: Pristine;
    try {
      pristine = findPristine(root, path);
    } catch (err) {
      return { path, error: (err as Error).message };
    }
    let current: Buffer | undefined;
    try {
      current = readFileSync(join(root, path));
    } catch {
      current = undefined;
    }
    return { path, pristine, changed: current === undefined || !sameText(current, pristine.content) };
  });
}

/** True when every stub is pristine, false when one changed, undefined when that is unknown. */
export function allPristine(states: readonly StubState[]): boolean | undefined {
  if (states.some((s) => s.changed === true)) return false;
  if (states.some((s) => s.changed === undefined)) return undefined;
  return true;
}
