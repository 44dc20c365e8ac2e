/**
 * `npm run new -- <name>`: scaffold a new riak_core-style service on the ring (the 2016 talk's
 * closing idea, riak_core's rebar template `riak_core_app` in TypeScript). Writes apps/<name>/
 * (gitignored) from tools/new/templates/: a vnode with the handoff callbacks, a coordinator with
 * N/W/R over the active preference list (as exercises 3 and 4 build them), a test suite on the
 * harness's in-process clusters, a README, and an app stage that shared/cli/app_loader.ts loads
 * for `npm start -- --app <name>`. `npm test -- <name>` runs the suite (vitest project `apps`).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  isMain,
  parseCommandLine,
  printError,
  processIo,
  reportFailure,
  type ToolIo,
  UsageError,
} from '../shared/cli/options.js';

const PROG = 'npm run new';
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const TEMPLATES = fileURLToPath(new URL('./new/templates/', import.meta.url));

/** Where generated services go, relative to the root (gitignored). */
export const APPS_DIR = 'apps';

export const USAGE = `Usage: ${PROG} -- <name> [--force]

Scaffold a new service on the ring in ${APPS_DIR}/<name>/: a vnode with handoff callbacks, a coordinator
with N/W/R, a test suite on in-process clusters, and an app stage. Then:
  npm test -- <name>              run its suite
  npm start -- --app <name>       a local cluster running it

  <name>     lower case letters, digits and dashes, starting with a letter (e.g. counter, shopping-cart);
             not an exercise stage (ex1, ex2, …)
  --force    replace ${APPS_DIR}/<name>/ if it exists
  --help     show this help`;

/** Parsed command line of `npm run new`. */
export interface NewOptions {
  readonly name: string;
  readonly force: boolean;
}

/**
 * Check a service name: lower case letters, digits and single dashes, starting with a letter, at
 * most 40 characters, and not an exercise stage name (`ex3`), which `--app` would mean instead.
 * @returns the name. @throws UsageError saying what is wrong.
 */
export function checkName(name: string): string {
  if (!/^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/.test(name) || name.length > 40)
    throw new UsageError(
      `a service name is lower case letters, digits and dashes, starting with a letter (e.g. counter), got "${name}"`,
    );
  if (/^ex[0-9]+$/.test(name)) throw new UsageError(`"${name}" is an exercise stage's name; pick another`);
  return name;
}

/**
 * Parse the arguments (without `node` and the script).
 * @returns the options, or `'help'` for `--help`. @throws UsageError for a missing or bad name.
 */
export function parseNewArgs(argv: readonly string[]): NewOptions | 'help' {
  const { values, positionals } = parseCommandLine({
    args: [...argv],
    allowPositionals: true,
    options: { force: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) return 'help';
  if (positionals.length !== 1) throw new UsageError('name the service, e.g. npm run new -- counter');
  return { name: checkName(positionals[0] as string), force: values.force ?? false };
}

/** `shopping-cart` → `shoppingCart` (functions) and `ShoppingCart` (classes, types). */
export function identifiers(name: string): { camel: string; pascal: string } {
  const camel = name.replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
  return { camel, pascal: camel.charAt(0).toUpperCase() + camel.slice(1) };
}

/**
 * The files of service `name` as written into `dir` (absolute): output name → text. Placeholders
 * of the templates: `__NAME__` (the name), `__name__` / `__Name__` (identifiers), `__SHARED__`
 * (the path from `dir` to shared/, so the files import the runtime wherever they are written).
 */
export function renderService(name: string, dir: string, root: string = ROOT): Map<string, string> {
  const { camel, pascal } = identifiers(name);
  const shared = relative(dir, join(root, 'shared')).split('\\').join('/');
  const fill = (text: string) =>
    text
      .replaceAll('__SHARED__', shared.startsWith('.') ? shared : `./${shared}`)
      .replaceAll('__NAME__', name)
      .replaceAll('__name__', camel)
      .replaceAll('__Name__', pascal);
  const out = new Map<string, string>();
  for (const template of readdirSync(TEMPLATES).sort()) {
    if (!template.endsWith('.tmpl')) continue;
    const file = template === 'test.ts.tmpl' ? `${name}.test.ts` : template.slice(0, -'.tmpl'.length);
    out.set(file, fill(readFileSync(join(TEMPLATES, template), 'utf8')));
  }
  return out;
}

/**
 * Write service `name` into `dir` (default `<root>/apps/<name>`).
 * @returns the files written (names within `dir`).
 * @throws Error if `dir` exists and `force` is not set.
 */
export function generate(name: string, opts: { dir?: string; force?: boolean; root?: string } = {}): string[] {
  const root = opts.root ?? ROOT;
  const dir = resolve(opts.dir ?? join(root, APPS_DIR, name));
  if (existsSync(dir)) {
    if (!opts.force) throw new Error(`${relative(root, dir) || dir} exists already (--force replaces it)`);
    rmSync(dir, { recursive: true, force: true });
  }
  const files = renderService(name, dir, root);
  mkdirSync(dir, { recursive: true });
  for (const [file, text] of files) writeFileSync(join(dir, file), text);
  formatWithBiome(dir, root);
  return [...files.keys()];
}

/**
 * Format the written files with the repository's Biome (biome.jsonc), so that a long service
 * name still gives code as `npm run format` writes it. Best effort: without Biome the files stay
 * as the templates made them (they compile either way).
 */
function formatWithBiome(dir: string, root: string): void {
  const biome = join(root, 'node_modules', '@biomejs', 'biome', 'bin', 'biome');
  if (!existsSync(biome)) return;
  // apps/ is gitignored, and Biome skips ignored files unless told not to read the ignore file.
  spawnSync(process.execPath, [biome, 'format', '--write', '--vcs-use-ignore-file=false', dir], {
    cwd: root,
    stdio: 'ignore',
  });
}

/**
 * Run `npm run new` with `argv`, writing to `io`.
 * @returns the exit code: 0 written, 1 the folder exists (or cannot be written), 2 bad usage.
 */
export function runNew(argv: readonly string[], io: ToolIo, root: string = ROOT): number {
  try {
    const opts = parseNewArgs(argv);
    if (opts === 'help') {
      io.stdout(`${USAGE}\n`);
      return 0;
    }
    const files = generate(opts.name, { force: opts.force, root });
    const where = `${APPS_DIR}/${opts.name}`;
    io.stdout(
      `created ${where}/: ${files.join(', ')}\n\n` +
        `next:\n` +
        `  npm test -- ${opts.name}            # its suite (in-process clusters)\n` +
        `  npm start -- --app ${opts.name}     # 3 nodes running it\n` +
        `  npm run node -- --name dev4 --port 8104 --join 127.0.0.1:8101 --app ${opts.name}   # one more, with a REPL: put('k', 'v'), get('k')\n` +
        `read ${where}/README.md; ${where}/ is gitignored (copy it elsewhere to keep it in git).\n`,
    );
    return 0;
  } catch (err) {
    if (err instanceof UsageError) return reportFailure(PROG, err, io);
    printError(err instanceof Error ? err.message : String(err), io);
    return 1;
  }
}

if (isMain(import.meta.url)) process.exitCode = runNew(process.argv.slice(2), processIo());
