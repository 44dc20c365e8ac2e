/**
 * Loads the workshop app (see shared/app.ts) that the command-line tools run:
 * `solutions/app.ts` by default, `exercises/app.ts` with `--exercises`.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { App } from '../app.js';

/** Which tree of the repository to run: the finished code or the attendee's. */
export type AppTree = 'solutions' | 'exercises';

/** Absolute path of `<tree>/app.ts` in this repository. */
export function appPath(tree: AppTree): string {
  return fileURLToPath(new URL(`../../${tree}/app.ts`, import.meta.url));
}

/**
 * Import `<tree>/app.ts` (relative to this file, so it works from any working directory;
 * tsx compiles the .ts on the fly) and return its `app` export.
 * @throws Error if the file does not exist, fails to load (the loader's message is kept, and
 *   the original error is the `cause`), or does not export `app` with `services()` and `commands`.
 */
export async function loadApp(tree: AppTree): Promise<App> {
  const file = appPath(tree);
  const shown = `${tree}/app.ts`;
  if (!existsSync(file)) throw new Error(`${shown} not found (expected ${file} to export "app: App", see shared/app.ts)`);
  let mod: { app?: unknown };
  try {
    mod = (await import(new URL(`../../${tree}/app.ts`, import.meta.url).href)) as { app?: unknown };
  } catch (err) {
    throw new Error(`cannot load ${shown}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const app = mod.app as Partial<App> | undefined;
  if (!app || typeof app.services !== 'function' || typeof app.commands !== 'object' || app.commands === null) {
    throw new Error(`${shown} must export "app" with services() and commands (see shared/app.ts)`);
  }
  return app as App;
}
