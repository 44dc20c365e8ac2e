/**
 * The attendee commands (progress, hint, reset, solution) and their modules, on fixtures:
 * temporary workshops (a manifest, stubs, solutions, a git history) and fake vitest reports.
 * No exercise suite runs here. The commands run in-process (their exported functions, output
 * into buffers); two real processes check that the entry points wire argv, streams and exit codes.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { Chalk } from 'chalk';
import { afterAll, describe, expect, it } from 'vitest';
import type { Command } from '../workshop/cli.js';
import { unifiedDiff, fileDiff } from '../workshop/diff.js';
import { hint } from '../workshop/hint.js';
import { findExercise, loadManifest, ROOT, type Exercise } from '../workshop/manifest.js';
import { allPristine, findPristine, PristineError, sameText, stubStates } from '../workshop/pristine.js';
import { progress } from '../workshop/progress.js';
import { reset } from '../workshop/reset.js';
import { solution } from '../workshop/solution.js';
import { suiteResults, type SuiteResult, type VitestReport } from '../workshop/run_suite.js';
import { exerciseOfFile, fingerprints, loadResults, resultsPath, saveResults } from '../workshop/results.js';
import { EMPTY_STATE, loadState, nextHint, saveState, statePath, withHintsShown } from '../workshop/state.js';
import { classify, nextStep, stepMessage } from '../workshop/status.js';

// --- fixtures -------------------------------------------------------------------------------

// Removed at the end: the command tests run concurrently.
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A fresh temporary directory (removed after the file's tests), with a trailing slash like ROOT. */
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'workshop-test-'));
  dirs.push(d);
  return `${d}/`;
}

function write(root: string, path: string, text: string): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), text);
}

/** Git without the caller's GIT_* variables, with an identity for commits. */
function git(root: string, ...args: string[]): string {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GIT_')));
  const r = spawnSync(
    'git',
    ['-c', 'user.name=Test', '-c', 'user.email=test@example.com', '-c', 'commit.gpgsign=false', ...args],
    { cwd: root, encoding: 'utf8', env },
  );
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

function commit(root: string, message: string): string {
  git(root, 'add', '-A');
  git(root, 'commit', '-qm', message);
  return git(root, 'rev-parse', 'HEAD');
}

const exercise = (over: Partial<Exercise> = {}): Exercise => ({
  id: 'ex1',
  name: 'ex1-demo',
  title: 'Demo one',
  folder: 'exercises/ex1-demo',
  stubs: ['a.ts'],
  given: [],
  uses: [],
  goals: ['learn a', 'learn b'],
  hints: ['first hint', 'second hint', 'third `code` hint'],
  ...over,
});

const STUB_A = "export const a = () => todo('ex1-demo', 1, import.meta.url, 'write a');\n";
const DONE_A = 'export const a = () => 1;\n';
const STUB_B = "export const b = () => todo('ex2-demo', 1, import.meta.url, 'write b');\n";

/**
 * A small workshop in a git repository: ex1-demo (stub a.ts) and ex2-demo (stub b.ts), their
 * solutions, and the manifest, all committed as handed out.
 */
function newWorkshop(): { root: string; pristineCommit: string } {
  const root = tmp();
  const manifest = {
    exercises: [
      exercise(),
      exercise({
        id: 'ex2',
        name: 'ex2-demo',
        title: 'Demo two',
        folder: 'exercises/ex2-demo',
        stubs: ['b.ts'],
        hints: ['only hint'],
      }),
    ],
  };
  write(root, 'exercises/manifest.json', JSON.stringify(manifest, null, 2));
  write(root, 'exercises/ex1-demo/a.ts', STUB_A);
  write(root, 'exercises/ex2-demo/b.ts', STUB_B);
  write(root, 'solutions/ex1-demo/a.ts', DONE_A);
  write(root, 'solutions/ex2-demo/b.ts', 'export const b = () => 2;\n');
  git(root, 'init', '-q');
  return { root, pristineCommit: commit(root, 'the workshop as handed out') };
}

let template: { root: string; pristineCommit: string } | undefined;

/**
 * A fresh copy of {@link newWorkshop}'s workshop, its git history included: made once, then
 * copied (each git process is tens of milliseconds of a busy machine, and spawnSync blocks
 * the concurrent tests).
 */
function workshop(): { root: string; pristineCommit: string } {
  template ??= newWorkshop();
  const root = tmp();
  cpSync(template.root, root, { recursive: true });
  return { root, pristineCommit: template.pristineCommit };
}

type Assertion = VitestReport['testResults'][number]['assertionResults'][number];
const test = (title: string, status: string, failureMessages: string[] = []): Assertion => ({
  title,
  fullName: `suite ${title}`,
  status,
  failureMessages,
});
const report = (
  root: string,
  files: Record<string, Assertion[]>,
  messages: Record<string, string> = {},
): VitestReport => ({
  testResults: Object.entries(files).map(([path, assertionResults]) => ({
    name: join(root, path),
    status: 'failed',
    message: messages[path] ?? '',
    assertionResults,
  })),
});

const notDone = (name: string, step: number, what: string, file: string) =>
  `NotImplementedError: ${name} step ${step} is not done yet: ${what} in exercises/${name}/${file}\n    at todo (/x/shared/todo.ts:23:9)`;

interface Run {
  code: number | null;
  out: string;
  err: string;
}

const COMMANDS: Record<string, Command> = { hint, progress, reset, solution };

/**
 * Run one of the commands on a fixture workshop, in-process (its exported function), without
 * colour and without a terminal: what `npm run <command> -- <args>` would print and exit with.
 */
async function cli(command: string, root: string, ...args: string[]): Promise<Run> {
  const run = COMMANDS[command];
  if (!run) throw new Error(`no command ${command}`);
  let out = '';
  let err = '';
  const code = await run(args, {
    stdout: (text) => {
      out += text;
    },
    stderr: (text) => {
      err += text;
    },
    chalk: new Chalk({ level: 0 }),
    env: { ...process.env, FORCE_COLOR: '0' },
    root,
    columns: undefined,
    stdinIsTTY: false,
    ask: () => Promise.reject(new Error('no terminal to ask on')),
  });
  return { code, out, err };
}

/** Run one of the commands as `npm run` does (`node --import tsx tools/workshop/<command>.ts`): a real process. */
function spawnCli(command: string, root: string, ...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'tools/workshop', `${command}.ts`), ...args], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, WORKSHOP_ROOT: root, FORCE_COLOR: '0' },
    });
    child.stdin.end();
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString('utf8')));
    child.stderr.on('data', (b: Buffer) => (err += b.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

// --- the manifest ----------------------------------------------------------------------------

describe('manifest', () => {
  it('lists every exercise with goals, ordered hints and stubs that exist in both trees', () => {
    const exercises = loadManifest();
    expect(exercises.map((e) => e.id)).toEqual(['ex0', 'ex1', 'ex2', 'ex3', 'ex4', 'ex5', 'ex6', 'ex7']);
    for (const e of exercises) {
      expect(e.folder, e.id).toBe(`exercises/${e.name}`);
      expect(e.goals.length, `${e.id} goals`).toBeGreaterThanOrEqual(2);
      expect(e.goals.length, `${e.id} goals`).toBeLessThanOrEqual(4);
      expect(e.hints.length, `${e.id} hints`).toBeGreaterThanOrEqual(3);
      expect(e.hints.length, `${e.id} hints`).toBeLessThanOrEqual(6);
      for (const text of [...e.goals, ...e.hints]) {
        expect(text.trim().length, `${e.id}: empty goal or hint`).toBeGreaterThan(10);
        expect(text.split('`').length % 2, `${e.id}: unbalanced backticks in ${text}`).toBe(1);
      }
      for (const stub of e.stubs) {
        expect(existsSync(join(ROOT, e.folder, stub)), `${e.folder}/${stub}`).toBe(true);
        expect(existsSync(join(ROOT, 'solutions', e.name, stub)), `solutions/${e.name}/${stub}`).toBe(true);
      }
    }
  });

  it('reports a missing file, a bad shape and a missing field', () => {
    const root = tmp();
    expect(() => loadManifest(root)).toThrow(/manifest\.json/);
    write(root, 'exercises/manifest.json', '{"exercises": {}}');
    expect(() => loadManifest(root)).toThrow(/"exercises" must be an array/);
    write(root, 'exercises/manifest.json', JSON.stringify({ exercises: [{ name: 'x', title: 't', folder: 'f' }] }));
    expect(() => loadManifest(root)).toThrow(/exercise #1 has no "id"/);
    const { hints: _hints, ...noHints } = exercise();
    write(root, 'exercises/manifest.json', JSON.stringify({ exercises: [noHints] }));
    expect(() => loadManifest(root)).toThrow(/exercise ex1 has no "hints" list/);
  });

  it('finds an exercise by id, folder name or number, and lists the ids otherwise', () => {
    const list = [exercise(), exercise({ id: 'ex2', name: 'ex2-demo' })];
    expect(findExercise(list, 'ex2').name).toBe('ex2-demo');
    expect(findExercise(list, 'ex1-demo').id).toBe('ex1');
    expect(findExercise(list, ' 2 ').id).toBe('ex2');
    expect(() => findExercise(list, 'ex9')).toThrow('no exercise "ex9"; known: ex1, ex2');
  });
});

// --- status from a vitest report ---------------------------------------------------------

describe('status', () => {
  it('finds the stub message, also quoted inside another error, and only for its exercise', () => {
    expect(stepMessage(notDone('ex1-demo', 2, 'implement a()', 'a.ts'), 'ex1-demo')).toEqual({
      step: 2,
      text: 'ex1-demo step 2 is not done yet: implement a() in exercises/ex1-demo/a.ts',
    });
    const quoted =
      'Error: ada: expected line "ok", got line "error: ex6-chat step 3 is not done yet: answer the line \\"set-name ada\\" in exercises/ex6-chat/chat.ts"\n--- received';
    expect(stepMessage(quoted, 'ex6-chat')?.text).toBe(
      'ex6-chat step 3 is not done yet: answer the line "set-name ada" in exercises/ex6-chat/chat.ts',
    );
    expect(stepMessage(notDone('ex2-demo', 1, 'b', 'b.ts'), 'ex1-demo')).toBeUndefined();
    expect(stepMessage('expected NotImplementedError: ex1-demo step… { …(3) }', 'ex1-demo')).toBeUndefined();
  });

  it('groups tests by exercise folder and ignores other test files', () => {
    const root = tmp();
    const suites = suiteResults(
      report(root, {
        'exercises/ex1-demo/ex1-demo.test.ts': [
          test('works', 'passed'),
          test('later', 'skipped'),
          test('breaks', 'failed', ['boom']),
        ],
        'shared/test/ring.test.ts': [test('ring', 'passed')],
      }),
      root,
    );
    expect([...suites.keys()]).toEqual(['ex1-demo']);
    expect(suites.get('ex1-demo')?.tests.map((t) => `${t.status}:${t.name}`)).toEqual([
      'passed:suite works',
      'skipped:suite later',
      'failed:suite breaks',
    ]);
  });

  it('classifies: not started, failing, passed', () => {
    const failing = (msgs: string[][]): SuiteResult => ({
      tests: msgs.map((m, i) => ({ name: `t${i}`, status: 'failed', messages: m })),
      errors: [],
    });
    const allFail = failing([[notDone('ex1-demo', 2, 'b', 'a.ts')], [notDone('ex1-demo', 1, 'a', 'a.ts')]]);
    expect(classify(allFail, 'ex1-demo', true)).toEqual({
      status: 'not started',
      passed: 0,
      total: 2,
      next: 'ex1-demo step 1 is not done yet: a in exercises/ex1-demo/a.ts',
    });
    expect(classify(allFail, 'ex1-demo', false).status).toBe('failing');
    expect(classify(allFail, 'ex1-demo', undefined).status).toBe('not started');
    const some: SuiteResult = {
      tests: [
        { name: 'ok', status: 'passed', messages: [] },
        { name: 'bad one', status: 'failed', messages: ['AssertionError: 1 !== 2'] },
      ],
      errors: [],
    };
    expect(classify(some, 'ex1-demo', true)).toEqual({
      status: 'failing',
      passed: 1,
      total: 2,
      next: 'failing: bad one',
    });
    const all: SuiteResult = {
      tests: [
        { name: 'ok', status: 'passed', messages: [] },
        { name: 'later', status: 'skipped', messages: [] },
      ],
      errors: [],
    };
    expect(classify(all, 'ex1-demo', false)).toEqual({ status: 'passed', passed: 1, total: 1 });
  });

  it('an exercise whose suite did not run is failing, with the reason', () => {
    const broken: SuiteResult = {
      tests: [],
      errors: ['\nSyntaxError: Unexpected token in exercises/ex1-demo/a.ts\n  at x'],
    };
    expect(classify(broken, 'ex1-demo', true)).toEqual({
      status: 'failing',
      passed: 0,
      total: 0,
      next: 'the suite did not run: SyntaxError: Unexpected token in exercises/ex1-demo/a.ts',
    });
    expect(classify(undefined, 'ex1-demo', true).status).toBe('failing');
    expect(nextStep({ tests: [], errors: [] }, 'ex1-demo')).toBeUndefined();
  });
});

// --- hints and state -------------------------------------------------------------------------

describe('hint state', () => {
  it('shows the hints in order, once each, then says they are done', () => {
    const ex = exercise();
    let state = EMPTY_STATE;
    const seen: unknown[] = [];
    for (let i = 0; i < 4; i++) {
      const r = nextHint(state, ex);
      seen.push(
        r.step.kind === 'hint'
          ? `${r.step.index}/${r.step.total}${r.step.last ? ' last' : ''}: ${r.step.text}`
          : r.step.kind,
      );
      state = r.state;
    }
    expect(seen).toEqual(['1/3: first hint', '2/3: second hint', '3/3 last: third `code` hint', 'done']);
    expect(state.hints).toEqual({ ex1: 3 });
    expect(EMPTY_STATE.hints).toEqual({}); // not mutated
    expect(nextHint(withHintsShown(state, ex, 0), ex).step).toMatchObject({ kind: 'hint', index: 1 });
    expect(withHintsShown(state, ex, 99).hints.ex1).toBe(3);
    expect(nextHint(state, exercise({ hints: [] })).step.kind).toBe('none');
  });

  it('keeps the state in .workshop/state.json and names a corrupt file', () => {
    const root = tmp();
    expect(loadState(root)).toEqual(EMPTY_STATE);
    saveState(root, { version: 1, hints: { ex3: 2 } });
    expect(loadState(root)).toEqual({ version: 1, hints: { ex3: 2 } });
    expect(readdirSync(join(root, '.workshop'))).toEqual(['state.json']);
    writeFileSync(statePath(root), '{not json');
    expect(() => loadState(root)).toThrow(`${statePath(root)} is not valid JSON; delete it to start over`);
    writeFileSync(statePath(root), '{"hints": {"ex3": -1}}');
    expect(() => loadState(root)).toThrow(/no valid "hints"/);
  });
});

// --- pristine versions from git ------------------------------------------------------------

describe('recorded results', () => {
  it('fingerprints: an edited stub changes its exercise only; anything else the suites use changes all', () => {
    const { root } = workshop();
    const exercises = loadManifest(root);
    const first = fingerprints(root, exercises);
    expect(fingerprints(root, exercises)).toEqual(first); // stable
    writeFileSync(join(root, 'exercises/ex1-demo/a.ts'), DONE_A);
    const edited = fingerprints(root, exercises);
    expect(edited.get('ex1')).not.toBe(first.get('ex1'));
    expect(edited.get('ex2')).toBe(first.get('ex2'));
    write(root, 'shared/runtime.ts', 'export const x = 1;\n'); // the runtime the suites run on
    const updated = fingerprints(root, exercises);
    expect(updated.get('ex1')).not.toBe(edited.get('ex1'));
    expect(updated.get('ex2')).not.toBe(edited.get('ex2'));
    write(root, 'exercises/ex2-demo/README.md', 'words\n'); // documentation changes nothing
    expect(fingerprints(root, exercises)).toEqual(updated);
  });

  it('saves records atomically, merges them, and reads a missing or corrupt file as empty', () => {
    const { root } = workshop();
    expect(loadResults(root)).toEqual({ version: 1, exercises: {} });
    const suite = { tests: [{ name: 'a works', status: 'passed' as const, messages: [] }], errors: [] };
    const at = '2026-01-01T10:00:00.000Z';
    saveResults(root, new Map([['ex1', { fingerprint: 'f1', at, by: 'npm test', suite }]]));
    saveResults(root, new Map([['ex2', { fingerprint: 'f2', at, by: 'npm test', suite }]]));
    expect(Object.keys(loadResults(root).exercises)).toEqual(['ex1', 'ex2']);
    const long = { ...suite, tests: [{ name: 'x', status: 'failed' as const, messages: ['y'.repeat(10_000)] }] };
    saveResults(root, new Map([['ex1', { fingerprint: 'f3', at, by: 'npm test', suite: long }]]));
    expect(loadResults(root).exercises.ex1?.suite.tests[0]?.messages[0]?.length).toBeLessThan(5000);
    writeFileSync(resultsPath(root), '{ not json');
    expect(loadResults(root)).toEqual({ version: 1, exercises: {} });
  });

  it('maps a test file to its exercise; bonus suites and other files to none', () => {
    const exercises = [exercise()];
    expect(exerciseOfFile(ROOT, join(ROOT, 'exercises/ex1-demo/ex1-demo.test.ts'), exercises)?.id).toBe('ex1');
    expect(exerciseOfFile(ROOT, join(ROOT, 'exercises/ex1-demo/ex1-demo.bonus.test.ts'), exercises)).toBeUndefined();
    expect(exerciseOfFile(ROOT, join(ROOT, 'shared/test/ring.test.ts'), exercises)).toBeUndefined();
  });
});

describe('pristine stubs', () => {
  it('takes the newest version that still calls todo(), not the attendee commit on top', () => {
    const { root } = workshop();
    const path = 'exercises/ex1-demo/a.ts';
    write(root, path, `${STUB_A}// a later version of the stub\n`);
    const authors = commit(root, 'the workshop updates the stub');
    write(root, path, DONE_A);
    commit(root, 'my solution');
    const p = findPristine(root, path);
    expect(p.commit).toBe(authors);
    expect(p.content.toString()).toBe(`${STUB_A}// a later version of the stub\n`);
    const [state] = stubStates(root, exercise());
    expect(state).toMatchObject({ path, changed: true });
    write(root, path, `${STUB_A}// a later version of the stub\n`.replace(/\n/g, '\r\n'));
    expect(allPristine(stubStates(root, exercise()))).toBe(true);
  });

  it('says how to restore by hand when no version calls todo(), or the file has no history', () => {
    const { root } = workshop();
    write(root, 'exercises/ex1-demo/a.ts', DONE_A);
    write(root, 'exercises/ex1-demo/new.ts', 'export {};\n');
    commit(root, 'solved');
    expect(findPristine(root, 'exercises/ex1-demo/a.ts').content.toString()).toBe(STUB_A);
    expect(() => findPristine(root, 'exercises/ex1-demo/new.ts')).toThrow(
      /git checkout <commit> -- exercises\/ex1-demo\/new\.ts/,
    );
    expect(() => findPristine(root, 'exercises/ex1-demo/never.ts')).toThrow(/has no history in git/);
  });

  it('outside a git repository, every stub state carries the error', () => {
    const root = tmp();
    write(root, 'exercises/ex1-demo/a.ts', STUB_A);
    const ceiling = process.env.GIT_CEILING_DIRECTORIES;
    process.env.GIT_CEILING_DIRECTORIES = dirname(root.slice(0, -1));
    try {
      expect(() => findPristine(root, 'exercises/ex1-demo/a.ts')).toThrow(PristineError);
      const states = stubStates(root, exercise());
      expect(states[0]?.error).toMatch(/not a git repository/);
      expect(allPristine(states)).toBeUndefined();
    } finally {
      if (ceiling === undefined) delete process.env.GIT_CEILING_DIRECTORIES;
      else process.env.GIT_CEILING_DIRECTORIES = ceiling;
    }
  });

  it('compares text regardless of CRLF', () => {
    expect(sameText(Buffer.from('a\r\nb\r\n'), Buffer.from('a\nb\n'))).toBe(true);
    expect(sameText(Buffer.from('a\nb\n'), Buffer.from('a\nc\n'))).toBe(false);
  });
});

// --- diffs -----------------------------------------------------------------------------------

describe('diff', () => {
  it('makes a unified diff with context, and nothing for equal texts', () => {
    const a = 'one\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\n';
    const b = 'one\ntwo\nthree\nfour\n5\nsix\nseven\neight\nnine\nten\n';
    expect(unifiedDiff(a, a.replace(/\n/g, '\r\n'), 'x', 'y')).toBe('');
    expect(unifiedDiff(a, b, 'x', 'y', 1)).toBe(
      [
        '--- x',
        '+++ y',
        '@@ -4,3 +4,3 @@',
        ' four',
        '-five',
        '+5',
        ' six',
        '@@ -9,1 +9,2 @@',
        ' nine',
        '+ten',
        '',
      ].join('\n'),
    );
    expect(unifiedDiff('', 'new\n', 'x', 'y')).toBe('--- x\n+++ y\n@@ -0,0 +1,1 @@\n+new\n');
  });

  it('diffs two files of the workshop (git diff --no-index)', () => {
    const root = tmp();
    write(root, 'a.ts', 'same\nold\n');
    write(root, 'b.ts', 'same\nnew\n');
    write(root, 'c.ts', 'same\nold\n');
    const plain = stripVTControlCharacters(fileDiff(root, 'a.ts', 'b.ts'));
    expect(plain).toContain('-old');
    expect(plain).toContain('+new');
    expect(fileDiff(root, 'a.ts', 'c.ts')).toBe('');
  });
});

// --- the commands on a fixture workshop ------------------------------------------------------

// In-process: each command call is a few milliseconds and a few git calls.
describe.concurrent('commands', () => {
  it('hint: one more each time, then points to the solution; --reset starts over', async ({ expect }) => {
    const { root } = workshop();
    const outs = [];
    for (let i = 0; i < 4; i++) outs.push(await cli('hint', root, 'ex1')); // in order: each depends on the last
    expect(outs.map((o) => o.code)).toEqual([0, 0, 0, 0]);
    expect(outs[0]?.out).toContain('ex1 · Demo one — hint 1/3\n  first hint');
    expect(outs[1]?.out).toContain('hint 2/3\n  second hint');
    expect(outs[2]?.out).toContain('hint 3/3\n  third `code` hint');
    expect(outs[2]?.out).toMatch(/last hint.*npm run solution -- ex1/);
    expect(outs[3]?.out).toMatch(/No hints left for ex1: you have seen all 3[\s\S]*npm run solution -- ex1/);
    expect(loadState(root).hints).toEqual({ ex1: 3 });
    expect((await cli('hint', root, 'ex1', '--reset')).code).toBe(0);
    expect((await cli('hint', root, '1')).out).toContain('hint 1/3');
    const all = await cli('hint', root, 'ex1-demo', '--all');
    expect(all.out).toMatch(/learn a[\s\S]*hint 1\/3[\s\S]*hint 2\/3[\s\S]*hint 3\/3/);
    expect(loadState(root).hints).toEqual({ ex1: 3 });
  });

  it('bad usage exits 2 with one line; --help exits 0', async ({ expect }) => {
    const { root } = workshop();
    const [unknown, noExercise, badOption, progressArg, help] = await Promise.all([
      cli('hint', root, 'ex9'),
      cli('reset', root),
      cli('solution', root, 'ex1', '--nope'),
      cli('progress', root, 'ex1'),
      cli('reset', root, '--help'),
    ]);
    expect(unknown).toMatchObject({ code: 2, out: '' });
    expect(unknown.err.trim()).toBe('hint: no exercise "ex9"; known: ex1, ex2  (npm run hint -- --help)');
    expect(noExercise).toMatchObject({ code: 2, err: expect.stringMatching(/which exercise\? give one of ex1, ex2/) });
    expect(badOption).toMatchObject({ code: 2, err: expect.stringMatching(/Unknown option '--nope'/) });
    expect(progressArg.code).toBe(2);
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/^Usage: npm run reset -- <exercise> \[--yes\]/);
    expect(existsSync(join(root, '.workshop'))).toBe(false);
  });

  it('reset: refuses without a terminal or --yes, restores with --yes and keeps a backup', async ({ expect }) => {
    const { root } = workshop();
    const file = join(root, 'exercises/ex1-demo/a.ts');
    writeFileSync(file, DONE_A);
    const refused = await cli('reset', root, 'ex1');
    expect(refused.code).toBe(1);
    expect(refused.out).toContain('exercises/ex1-demo/a.ts');
    expect(refused.err).toMatch(/refusing to overwrite 1 file\(s\) without confirmation.*--yes/);
    expect(readFileSync(file, 'utf8')).toBe(DONE_A);

    const done = await cli('reset', root, 'ex1', '--yes');
    expect(done.code).toBe(0);
    expect(done.out).toContain('restored exercises/ex1-demo/a.ts');
    expect(readFileSync(file, 'utf8')).toBe(STUB_A);
    const [backup] = readdirSync(join(root, '.workshop/backup'));
    expect(readFileSync(join(root, '.workshop/backup', backup ?? '', 'exercises/ex1-demo/a.ts'), 'utf8')).toBe(DONE_A);
    expect(git(root, 'status', '--porcelain', 'exercises')).toBe('');

    const again = await cli('reset', root, 'ex1');
    expect(again).toMatchObject({ code: 0, out: expect.stringMatching(/already pristine.*nothing to restore/) });
  });

  it('progress: classifies every exercise from a report and names the next step', async ({ expect }) => {
    const { root } = workshop();
    writeFileSync(join(root, 'exercises/ex1-demo/a.ts'), DONE_A);
    const r = report(root, {
      'exercises/ex1-demo/ex1-demo.test.ts': [test('a works', 'passed'), test('a again', 'passed')],
      'exercises/ex2-demo/ex2-demo.test.ts': [test('b works', 'failed', [notDone('ex2-demo', 1, 'write b', 'b.ts')])],
    });
    write(root, 'report.json', JSON.stringify(r));
    const out = await cli('progress', root, '--report', join(root, 'report.json'));
    expect(out.code).toBe(0);
    const rows = out.out
      .split('\n')
      .filter((l) => /^ex\d /.test(l))
      .map((l) => l.replace(/\s+/g, ' ').trim());
    expect(rows).toEqual([
      'ex1 Demo one passed 2/2',
      'ex2 Demo two not started 0/1 ex2-demo step 1 is not done yet: write b in exercises/ex2-demo/b.ts',
    ]);
    expect(out.out).toMatch(/1 of 2 exercises pass\. Next: ex2 · Demo two/);
    expect(out.out).toContain('npm test -- ex2');

    writeFileSync(join(root, 'exercises/ex2-demo/b.ts'), `${STUB_B}// started\n`);
    const [started, missing] = await Promise.all([
      cli('progress', root, '--report', join(root, 'report.json')),
      cli('progress', root, '--report', join(root, 'missing.json')),
    ]);
    expect(started.out).toMatch(/ex2 +Demo two +failing +0\/1/);
    expect(missing).toMatchObject({ code: 1, err: expect.stringMatching(/cannot read the report/) });
  });

  it('progress: answers from recorded results while the files are unchanged; untouched stubs need no run', async ({
    expect,
  }) => {
    const { root } = workshop();
    writeFileSync(join(root, 'exercises/ex1-demo/a.ts'), DONE_A);
    const prints = fingerprints(root, loadManifest(root));
    const at = new Date().toISOString();
    const half = {
      tests: [
        { name: 'a works', status: 'passed' as const, messages: [] },
        { name: 'a again', status: 'failed' as const, messages: ['AssertionError: expected 2, got 1'] },
      ],
      errors: [],
    };
    saveResults(root, new Map([['ex1', { fingerprint: prints.get('ex1') ?? '', at, by: 'npm test', suite: half }]]));
    // ex1 is recorded (failing: the next step), ex2's stub is untouched: no suite runs (this
    // fixture has no vitest, a run would fail).
    const out = await cli('progress', root);
    expect(out).toMatchObject({ code: 0 });
    const rows = out.out
      .split('\n')
      .filter((l) => /^ex\d /.test(l))
      .map((l) => l.replace(/\s+/g, ' ').trim());
    expect(rows).toEqual(['ex1 Demo one failing 1/2 failing: a again', 'ex2 Demo two not started –']);
    expect(out.out).toMatch(/ex1: from their last run .*; ex2: stubs untouched, not run/);
  });

  it('solution --force: a diff per stub file, or the news that it is the same', async ({ expect }) => {
    const { root } = workshop();
    const diff = await cli('solution', root, 'ex1', '--force');
    expect(diff.code).toBe(0);
    expect(diff.out).toContain("-export const a = () => todo('ex1-demo'");
    expect(diff.out).toContain('+export const a = () => 1;');
    writeFileSync(join(root, 'exercises/ex1-demo/a.ts'), DONE_A);
    expect((await cli('solution', root, 'ex1', '--force')).out).toContain(
      'exercises/ex1-demo/a.ts: the same as solutions/ex1-demo/a.ts',
    );
  });
});

// Real processes (node + tsx, about 1 s of CPU each, several times that when the machine is
// busy): only to see that a command's file runs its command on the process's arguments,
// streams, terminal and $WORKSHOP_ROOT, and exits with its code.
describe('commands as npm runs them', { timeout: 120_000 }, () => {
  it('the entry point wires argv, $WORKSHOP_ROOT, stdout, stderr, stdin and the exit code', async () => {
    const { root } = workshop();
    const file = join(root, 'exercises/ex1-demo/a.ts');
    writeFileSync(file, DONE_A);
    const [shown, refused] = await Promise.all([spawnCli('hint', root, 'ex1'), spawnCli('reset', root, 'ex1')]);
    expect(shown).toMatchObject({ code: 0, err: '' });
    expect(shown.out).toContain('ex1 · Demo one — hint 1/3\n  first hint');
    expect(loadState(root).hints).toEqual({ ex1: 1 });
    expect(refused.code).toBe(1);
    expect(refused.out).toContain('exercises/ex1-demo/a.ts');
    expect(refused.err.trim()).toBe(
      'reset: refusing to overwrite 1 file(s) without confirmation (no terminal to ask); run again with --yes',
    );
    expect(readFileSync(file, 'utf8')).toBe(DONE_A);
  });

  it('each command file runs its command when started as a script, and only then', () => {
    for (const name of Object.keys(COMMANDS)) {
      const source = readFileSync(join(ROOT, 'tools/workshop', `${name}.ts`), 'utf8');
      expect(source.trimEnd().split('\n').at(-1), name).toBe(`if (isMain(import.meta.url)) await runCli(${name});`);
    }
  });
});
