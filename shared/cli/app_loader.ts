/**
 * Loads the workshop app (see shared/app.ts) that the command-line tools run: the stages of
 * exercises/app.ts (one file for both trees), built on the stub files of solutions/ by default
 * or of exercises/ with `--exercises`.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { App } from '../app.js';

/** Which tree of the repository to run: the finished code or the attendee's. */
export type AppTree = 'solutions' | 'exercises';

/** Absolute path of the app module, exercises/app.ts, in this repository. */
export function appPath(): string {
  return fileURLToPath(new URL('../../exercises/app.ts', import.meta.url));
}

/**
 * Import exercises/app.ts (relative to this file, so it works from any working directory; tsx
 * compiles the .ts on the fly), build its stages on `tree`'s stub files and return the latest
 * one, or with `name` the stage of that name (`ex1`, `ex2`, …).
 * @throws Error if the file does not exist, fails to load (the loader's message is kept, and
 *   the original error is the `cause`), does not export `loadApps`, or has no stage `name`
 *   (the message lists the stages it has).
 */
export async function loadApp(tree: AppTree, name?: string): Promise<App> {
  const file = appPath();
  const shown = 'exercises/app.ts';
  if (!existsSync(file)) throw new Error(`${shown} not found (expected ${file} to export loadApps, see shared/app.ts)`);
  let apps: Record<string, App>;
  try {
    const mod = (await import(new URL('../../exercises/app.ts', import.meta.url).href)) as {
      loadApps?: (tree: AppTree) => Promise<Record<string, App>>;
    };
    if (typeof mod.loadApps !== 'function') throw new Error('it does not export loadApps(tree)');
    apps = await mod.loadApps(tree);
  } catch (err) {
    throw new Error(`cannot load ${shown} on ${tree}/: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
  const names = Object.keys(apps);
  const app = apps[name ?? names[names.length - 1] ?? ''];
  if (!app) throw new Error(`${shown} has no stage "${name}"; it has: ${names.join(', ') || 'none'}`);
  return app;
}
