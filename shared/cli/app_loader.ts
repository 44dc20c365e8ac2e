/**
 * Loads the workshop app (see shared/app.ts) that the command-line tools run: the stages of
 * exercises/app.ts (one file for both trees), built on the stub files of solutions/ by default
 * or of exercises/ with `--exercises`; or a service made by `npm run new -- <name>`, whose stage
 * is apps/<name>/app.ts (`export const app: App`; the same on either tree).
 */
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { App } from '../app.js';

/** Which tree of the repository to run: the finished code or the attendee's. */
export type AppTree = 'solutions' | 'exercises';

/** Absolute path of the app module, exercises/app.ts, in this repository. */
export function appPath(): string {
  return fileURLToPath(new URL('../../exercises/app.ts', import.meta.url));
}

/** Absolute path of the stage of the service `name` made by `npm run new`: apps/<name>/app.ts. */
export function generatedAppPath(name: string): string {
  return fileURLToPath(new URL(`../../apps/${name}/app.ts`, import.meta.url));
}

/** The services `npm run new` made (folders of apps/ with an app.ts), sorted. */
export function generatedApps(): string[] {
  const dir = fileURLToPath(new URL('../../apps/', import.meta.url));
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(generatedAppPath(d.name)))
    .map((d) => d.name)
    .sort();
}

/**
 * Import apps/<name>/app.ts, a stage `npm run new` made.
 * @throws Error if it fails to load (the cause kept) or does not export `app`.
 */
async function loadGeneratedApp(name: string): Promise<App> {
  const shown = `apps/${name}/app.ts`;
  let mod: { app?: App };
  try {
    mod = (await import(pathToFileURL(generatedAppPath(name)).href)) as { app?: App };
  } catch (err) {
    throw new Error(`cannot load ${shown}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (typeof mod.app?.services !== 'function') throw new Error(`${shown} does not export app (see shared/app.ts)`);
  return mod.app;
}

/**
 * Import exercises/app.ts (relative to this file, so it works from any working directory; tsx
 * compiles the .ts on the fly), build its stages on `tree`'s stub files and return the latest
 * one, or with `name` the stage of that name (`ex1`, `ex2`, …).
 * @throws Error if the file does not exist, fails to load (the loader's message is kept, and
 *   the original error is the `cause`), does not export `loadApps`, or has no stage `name`
 *   (the message lists the stages it has, and the services of apps/). A `name` that is not
 *   an exercise stage (`ex` and digits) and has apps/<name>/app.ts loads that one instead.
 */
export async function loadApp(tree: AppTree, name?: string): Promise<App> {
  if (name !== undefined && !/^ex[0-9]+$/.test(name) && existsSync(generatedAppPath(name)))
    return loadGeneratedApp(name);
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
  if (!app) {
    const made = generatedApps();
    throw new Error(
      `${shown} has no stage "${name}"; it has: ${names.join(', ') || 'none'}${made.length ? `; apps/ (npm run new) has: ${made.join(', ')}` : ''}`,
    );
  }
  return app;
}
