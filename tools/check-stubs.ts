/**
 * The stub guarantee: every exercise's stub fails its own suite, for the right reason.
 *
 * Runs the `exercises` vitest project (the untouched stubs) with the JSON reporter and checks,
 * per exercise folder `exercises/exN-*`: the suite exists, every test in it fails, and at least
 * one failure is the stub's own NotImplementedError naming that exercise. Also checks that
 * every given file (an exercise file without a `todo(` call) is identical in solutions/, so
 * the two trees cannot drift apart. Prints a table; exits 1 on any problem.
 *
 * Usage: npm run check:stubs
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const exercises = readdirSync(join(root, 'exercises')).filter((d) => /^ex\d+-/.test(d)).sort();
const out = join(mkdtempSync(join(tmpdir(), 'stubs-')), 'results.json');

const run = spawnSync(process.execPath, [join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--project', 'exercises', '--reporter=json', `--outputFile=${out}`], {
  cwd: root,
  stdio: ['ignore', 'ignore', 'inherit'],
  env: { ...process.env, CI: 'true', RING_LOG: 'silent' },
});
if (run.error) throw run.error;

interface Assertion { title: string; status: string; failureMessages: string[] }
const report = JSON.parse(readFileSync(out, 'utf8')) as { testResults: { name: string; assertionResults: Assertion[] }[] };

let ok = true;
console.log('exercise          tests  failing  stub message  verdict');
for (const ex of exercises) {
  const files = report.testResults.filter((r) => relative(root, r.name).startsWith(`exercises/${ex}/`));
  const tests = files.flatMap((f) => f.assertionResults);
  const failing = tests.filter((t) => t.status === 'failed');
  const named = failing.some((t) => t.failureMessages.some((m) => m.includes(`${ex} step`)));
  const good = tests.length > 0 && failing.length === tests.length && named;
  ok &&= good;
  const verdict = tests.length === 0 ? 'NO SUITE' : failing.length < tests.length ? 'STUB PASSES A TEST' : named ? 'ok' : 'FAILS FOR ANOTHER REASON';
  console.log(`${ex.padEnd(17)} ${String(tests.length).padStart(5)}  ${String(failing.length).padStart(7)}  ${(named ? 'yes' : 'no').padStart(12)}  ${verdict}`);
}

// Given files must be the same in both trees.
for (const ex of exercises) {
  for (const file of readdirSync(join(root, 'exercises', ex)).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))) {
    const mine = readFileSync(join(root, 'exercises', ex, file), 'utf8');
    if (mine.includes('todo(')) continue;
    const theirs = join(root, 'solutions', ex, file);
    if (!existsSync(theirs) || readFileSync(theirs, 'utf8') !== mine) {
      ok = false;
      console.log(`given file exercises/${ex}/${file} differs from solutions/${ex}/${file}`);
    }
  }
}
console.log(ok ? 'every stub fails its own suite; given files match solutions/' : 'stub check FAILED');
process.exit(ok ? 0 : 1);
