/**
 * `npm run new` (tools/new.ts): the arguments, the files it writes, and that a generated service
 * works: written into the ignored apps/ folder under a name of its own, its stage loads through
 * shared/cli/app_loader.ts (what `npm start -- --app <name>` uses), its modules serve a put and a
 * get on an in-process cluster here, it type-checks, and its own suite passes when vitest runs it
 * as `npm test -- <name>` does (one child process each for tsc and vitest). Removed afterwards.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { generatedApps, loadApp } from '../../shared/cli/app_loader.js';
import { TestCluster } from '../../shared/harness/cluster.js';
import { checkName, identifiers, parseNewArgs, renderService, runNew } from '../new.js';
import { type RecordingIo, recordingIo } from '../../shared/harness/tool_io.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** A name no person picks, unique per run: several runs (and people) share the repository. */
const NAME = `gen-test-${process.pid}`;
const DIR = join(ROOT, 'apps', NAME);
const cleanups: (() => void)[] = [];
afterAll(() => {
  for (const f of cleanups.splice(0)) f();
});

const bufferIo = (): RecordingIo => recordingIo();

describe('npm run new: arguments and templates', () => {
  it('takes one service name: lower case, dashes, not an exercise stage', () => {
    expect(parseNewArgs(['counter'])).toEqual({ name: 'counter', force: false });
    expect(parseNewArgs(['shopping-cart', '--force'])).toEqual({ name: 'shopping-cart', force: true });
    expect(parseNewArgs(['--help'])).toBe('help');
    expect(() => parseNewArgs([])).toThrow('name the service');
    expect(() => checkName('Counter')).toThrow('lower case letters');
    expect(() => checkName('9lives')).toThrow('starting with a letter');
    expect(() => checkName('a--b')).toThrow();
    expect(() => checkName('ex3')).toThrow("an exercise stage's name");
    expect(identifiers('shopping-cart')).toEqual({ camel: 'shoppingCart', pascal: 'ShoppingCart' });
  });

  it('fills every placeholder, and imports shared/ by a path relative to where the files go', () => {
    const files = renderService('shopping-cart', join(ROOT, 'apps', 'shopping-cart'));
    expect([...files.keys()].sort()).toEqual([
      'README.md',
      'app.ts',
      'coordinator.ts',
      'shopping-cart.test.ts',
      'vnode.ts',
    ]);
    for (const [file, text] of files) expect(text, file).not.toMatch(/__[A-Za-z]+__/);
    const vnode = files.get('vnode.ts') as string;
    expect(vnode).toContain("from '../../shared/vnode.js'");
    expect(vnode).toContain('export class ShoppingCartVnode');
    expect(vnode).toContain("export const SERVICE = 'shopping-cart'");
    // The handoff callbacks riak_core_vnode has.
    for (const callback of [
      'handleHandoffCommand',
      'handoffStarting',
      'handoffCancelled',
      'handoffFinished',
      'encodeHandoffItem',
      'handleHandoffData',
      'isEmpty',
      'delete',
    ])
      expect(vnode).toContain(`  ${callback}(`);
    const elsewhere = renderService('counter', join(tmpdir(), 'x', 'counter'), ROOT).get('vnode.ts') as string;
    expect(elsewhere).toMatch(/from '(\.\.\/)+.*shared\/vnode\.js'/);
  });

  it('refuses to overwrite a folder unless --force', () => {
    const root = mkdtempSync(join(tmpdir(), 'ring-new-'));
    cleanups.push(() => rmSync(root, { recursive: true, force: true }));
    // A root of its own (templates from the repository, output in the temp dir).
    const first = bufferIo();
    expect(runNew(['counter'], first, root)).toBe(0);
    expect(readdirSync(join(root, 'apps', 'counter')).sort()).toEqual([
      'README.md',
      'app.ts',
      'coordinator.ts',
      'counter.test.ts',
      'vnode.ts',
    ]);
    expect(first.out()).toContain('npm test -- counter');
    expect(first.out()).toContain('npm start -- --app counter');
    writeFileSync(join(root, 'apps', 'counter', 'mine.ts'), '// mine\n');
    const again = bufferIo();
    expect(runNew(['counter'], again, root)).toBe(1);
    expect(again.out()).toContain('apps/counter exists already (--force replaces it)');
    expect(runNew(['counter', '--force'], bufferIo(), root)).toBe(0);
    expect(existsSync(join(root, 'apps', 'counter', 'mine.ts'))).toBe(false);
    expect(runNew(['Bad'], bufferIo(), root)).toBe(2);
  });
});

describe('npm run new: the generated service', () => {
  it('loads as an app stage, serves on a cluster, type-checks and passes its own suite', async () => {
    cleanups.push(() => rmSync(DIR, { recursive: true, force: true }));
    const io = bufferIo();
    expect(runNew([NAME], io), io.out()).toBe(0);
    expect(readFileSync(join(ROOT, '.gitignore'), 'utf8')).toMatch(/^\/apps\/$/m);
    expect(generatedApps()).toContain(NAME);

    // The stage `npm start -- --app <name>` runs (either tree), with its REPL commands.
    const app = await loadApp('solutions', NAME);
    expect(Object.keys(app.commands).sort()).toEqual(['get', 'put']);
    await expect(loadApp('solutions', 'no-such-service')).rejects.toThrow(`apps/ (npm run new) has: `);
    const cluster = await TestCluster.start({
      size: 2,
      ringSize: 8,
      cookie: NAME,
      services: () =>
        app.services(() => {
          throw new Error('the services of a new app do not call the ring themselves');
        }),
    });
    try {
      const [a, b] = cluster.nodes as [(typeof cluster.nodes)[number], (typeof cluster.nodes)[number]];
      await app.commands.put?.run(a, 'k', 'v', { n: 2, w: 2 });
      expect(await app.commands.get?.run(b, 'k', { n: 2, r: 2 })).toMatchObject({ found: true, value: 'v' });
    } finally {
      await cluster.stop();
    }

    // Type-checks against the runtime, as the attendee's editor will check it.
    const tsconfig = join(DIR, 'tsconfig.check.json');
    writeFileSync(tsconfig, JSON.stringify({ extends: '../../tsconfig.json', include: ['.'] }));
    const tsc = spawnSync(
      process.execPath,
      [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', tsconfig, '--noEmit'],
      {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 120_000,
      },
    );
    expect(tsc.stdout + tsc.stderr, 'tsc on the generated files').toBe('');
    expect(tsc.status).toBe(0);
    rmSync(tsconfig);

    // Its suite, as `npm test -- <name>` runs it (the apps project; once, not watching).
    const vitest = spawnSync(
      process.execPath,
      [join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run', '--project', 'exercises', '--project', 'apps', NAME],
      {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 180_000,
        env: { ...process.env, CI: 'true', FORCE_COLOR: '0', NO_COLOR: '1', RING_LOG: 'silent' },
      },
    );
    // biome-ignore lint/suspicious/noControlCharactersInRegex: colour codes, in case the reporter colours anyway
    const output = (vitest.stdout + vitest.stderr).replace(/\u001b\[[0-9;]*m/g, '');
    expect(output, output).toMatch(new RegExp(`apps/${NAME}/${NAME}\\.test\\.ts`));
    expect(output, output).toMatch(/Tests\s+4 passed \(4\)/);
    expect(vitest.status, output).toBe(0);
  }, 300_000);
});
