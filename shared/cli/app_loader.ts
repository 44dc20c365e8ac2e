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
 * tsx compiles the .ts on the fly) and return its `app` export, or with `name` the app of that
 * name from its `apps` export (one per exercise stage: `ex1`, `ex2`, …).
 * @throws Error if the file does not exist, fails to load (the loader's message is kept, and
 *   the original error is the `cause`), does not export `app` with `services()` and `commands`,
 *   or has no app called `name` (the message lists the names it has).
 */
export async function loadApp(tree: AppTree, name?: string): Promise<App> {
  const file = appPath(tree);
  const shown = `${tree}/app.ts`;
  if (!existsSync(file)) throw new Error(`${shown} not found (expected ${file} to export "app: App", see shared/app.ts)`);
  let mod: { app?: unknown; apps?: Record<string, unknown> };
  try {
    mod = (await import(new URL(`../../${tree}/app.ts`, import.meta.url).href)) as typeof mod;
  } catch (err) {
    throw new Error(`cannot load ${shown}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (name !== undefined && !mod.apps?.[name]) {
    throw new Error(`${shown} has no app "${name}"; it has: ${Object.keys(mod.apps ?? {}).join(', ') || 'none'}`);
  }
  const app = (name === undefined ? mod.app : mod.apps?.[name]) as Partial<App> | undefined;
  if (!app || typeof app.services !== 'function' || typeof app.commands !== 'object' || app.commands === null) {
    throw new Error(`${shown} must export "app" with services() and commands (see shared/app.ts)`);
  }
  return app as App;
}
