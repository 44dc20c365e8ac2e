// The pure parts of `npm run grade` and `npm run check:stubs`: mapping a vitest JSON report to
// exercises and to results.json, message cleaning, and the verdict of every CI table row.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../shared/cli/options.js';
import {
  checkFiles,
  codeLines,
  combineSuites,
  exerciseSources,
  sharedBlocks,
  namesStep,
  stubTestsWithoutStep,
  verdict,
  type StubRow,
} from '../check-stubs.js';
import { parseGradeArgs } from '../workshop/grade.js';
import type { Exercise } from '../workshop/manifest.js';
import {
  cleanMessage,
  gradeReport,
  gradeSuite,
  MESSAGE_LIMIT,
  NOT_RUN,
  resultsJson,
  type GradedSuite,
  type VitestReport,
} from '../workshop/vitest_report.js';

const ROOT = '/repo';
const ex = (n: number, name: string, over: Partial<Exercise> = {}): Exercise => ({
  id: `ex${n}`,
  name: `ex${n}-${name}`,
  title: `Title ${n}`,
  folder: `exercises/ex${n}-${name}`,
  stubs: [],
  given: [],
  uses: [],
  goals: [],
  hints: [],
  ...over,
});
const EXERCISES = [ex(1, 'ping'), ex(2, 'kv'), ex(3, 'coord'), ex(4, 'gone')];
const RED = (s: string) => `\u001b[31m${s}\u001b[39m`;

// A report as vitest 4 writes it (fields we do not read left out). Files are out of path order
// and the tests inside a file are not alphabetical: the mapping must keep file order.
const REPORT: VitestReport = {
  success: false,
  testResults: [
    {
      name: `${ROOT}/exercises/ex3-coord/ex3-coord.test.ts`,
      status: 'failed',
      message: '',
      assertionResults: [
        { ancestorTitles: ['setup'], title: 'z first', status: 'skipped', failureMessages: [] },
        { ancestorTitles: ['setup'], title: 'a second', status: 'skipped', failureMessages: [] },
      ],
    },
    {
      name: `${ROOT}/exercises/ex1-ping/ex1-ping.test.ts`,
      status: 'failed',
      message: '',
      assertionResults: [
        { ancestorTitles: ['ex1-ping: pingKey'], title: 'zeta answers', status: 'passed', failureMessages: [] },
        {
          ancestorTitles: ['ex1-ping: pingKey', 'nested'],
          title: 'alpha fails',
          status: 'failed',
          failureMessages: [
            `${RED('NotImplementedError')}: ex1-ping step 2 is not done yet: implement pingKey()\n    at todo (/repo/shared/todo.ts:23:9)\n    at pingKey (/repo/exercises/ex1-ping/ping.ts:30:3)`,
          ],
        },
      ],
    },
    // Sorts before ex1-ping.test.ts; passed, so its skipped test was skipped on purpose.
    {
      name: `${ROOT}/exercises/ex1-ping/ex1-ping.a.test.ts`,
      status: 'passed',
      message: '',
      assertionResults: [
        { ancestorTitles: ['a'], title: 'from a', status: 'passed', failureMessages: [] },
        { ancestorTitles: ['a'], title: 'deliberately skipped', status: 'skipped', failureMessages: [] },
      ],
    },
    {
      name: `${ROOT}/exercises/ex1-ping/ex1-ping.bonus.test.ts`,
      status: 'failed',
      message: '',
      assertionResults: [
        {
          ancestorTitles: ['bonus'],
          title: 'extra',
          status: 'failed',
          failureMessages: ['AssertionError: expected 1 to be 2'],
        },
      ],
    },
    {
      name: `${ROOT}/exercises/ex2-kv/ex2-kv.test.ts`,
      status: 'failed',
      message: "Cannot find module '@ex/ex2-kv/kv.js'",
      assertionResults: [],
    },
    // Not an exercise suite: ignored.
    {
      name: `${ROOT}/shared/test/ring.test.ts`,
      status: 'passed',
      message: '',
      assertionResults: [{ ancestorTitles: [], title: 'ring', status: 'passed' }],
    },
  ],
};

describe('gradeReport: a vitest JSON report per exercise', () => {
  const graded = gradeReport(REPORT, EXERCISES, ROOT);
  const byId = (id: string) => graded.find((g) => g.exercise.id === id)!;

  it('keeps the manifest order and every exercise, ran or not', () => {
    expect(graded.map((g) => g.exercise.id)).toEqual(['ex1', 'ex2', 'ex3', 'ex4']);
  });

  it('names tests "<describe> > <test>" in file order, failures with their cleaned message', () => {
    const ex1 = byId('ex1').main;
    expect(ex1.tests.map((t) => [t.name, t.status])).toEqual([
      ['a > from a', 'pass'],
      ['ex1-ping: pingKey > zeta answers', 'pass'],
      ['ex1-ping: pingKey > nested > alpha fails', 'fail'],
    ]);
    expect(ex1.tests[2]?.message).toBe('NotImplementedError: ex1-ping step 2 is not done yet: implement pingKey()');
    expect(ex1.tests[2]?.raw[0]).toContain('at pingKey'); // raw keeps the stack, without ANSI
    expect(ex1.tests[2]?.raw[0]).not.toContain('\u001b');
    expect([ex1.status, ex1.passed, ex1.total]).toEqual(['fail', 2, 3]);
  });

  it('leaves out a test skipped on purpose (in a file that passed)', () => {
    expect(byId('ex1').main.tests.some((t) => t.name.includes('deliberately'))).toBe(false);
  });

  it('reports the bonus suite apart, with its own counts', () => {
    const bonus = byId('ex1').bonus;
    expect(bonus?.tests.map((t) => [t.name, t.status])).toEqual([['bonus > extra', 'fail']]);
    expect(byId('ex1').main.tests.some((t) => t.name.startsWith('bonus'))).toBe(false);
    expect(byId('ex2').bonus).toBeUndefined();
  });

  it("a suite that did not load is an error carrying vitest's message", () => {
    const ex2 = byId('ex2').main;
    expect(ex2.status).toBe('error');
    expect(ex2.message).toBe("exercises/ex2-kv/ex2-kv.test.ts did not load: Cannot find module '@ex/ex2-kv/kv.js'");
    expect(ex2.total).toBe(0);
  });

  it('tests skipped in a failed file (a hook failed) are errors, in file order', () => {
    const ex3 = byId('ex3').main;
    expect(ex3.tests).toEqual([
      { name: 'setup > z first', status: 'error', message: NOT_RUN, raw: [] },
      { name: 'setup > a second', status: 'error', message: NOT_RUN, raw: [] },
    ]);
    expect(ex3.status).toBe('error');
  });

  it('an exercise missing from the report is an error', () => {
    expect(byId('ex4').main).toMatchObject({ status: 'error', total: 0 });
    expect(byId('ex4').main.message).toMatch(/no suite of exercises\/ex4-gone ran/);
  });

  it('a file that failed although all its tests passed (afterAll) is an error', () => {
    const suite = gradeSuite(
      [
        {
          name: `${ROOT}/exercises/ex1-ping/ex1-ping.test.ts`,
          status: 'failed',
          message: 'teardown',
          assertionResults: [{ ancestorTitles: [], title: 't', status: 'passed' }],
        },
      ],
      'suite',
      ROOT,
    );
    expect(suite).toMatchObject({
      status: 'error',
      passed: 1,
      total: 1,
      message: 'exercises/ex1-ping/ex1-ping.test.ts failed outside its tests: teardown',
    });
  });

  it('an all-passing suite passes', () => {
    const suite = gradeSuite(
      [
        {
          name: `${ROOT}/exercises/x/x.test.ts`,
          status: 'passed',
          assertionResults: [{ ancestorTitles: ['d'], title: 't', status: 'passed' }],
        },
      ],
      'suite',
      ROOT,
    );
    expect(suite).toEqual({ status: 'pass', passed: 1, total: 1, tests: [{ name: 'd > t', status: 'pass', raw: [] }] });
  });
});

describe('resultsJson: the results.json document', () => {
  it('has version 3, the tree, per-exercise status and tests without raw messages; bonus apart', () => {
    const doc = resultsJson(gradeReport(REPORT, EXERCISES.slice(0, 1), ROOT), 'exercises');
    expect(doc).toEqual({
      version: 3,
      status: 'fail',
      tree: 'exercises',
      exercises: [
        {
          id: 'ex1',
          name: 'ex1-ping',
          title: 'Title 1',
          status: 'fail',
          tests: [
            { name: 'a > from a', status: 'pass' },
            { name: 'ex1-ping: pingKey > zeta answers', status: 'pass' },
            {
              name: 'ex1-ping: pingKey > nested > alpha fails',
              status: 'fail',
              message: 'NotImplementedError: ex1-ping step 2 is not done yet: implement pingKey()',
            },
          ],
          bonus: {
            status: 'fail',
            tests: [{ name: 'bonus > extra', status: 'fail', message: 'AssertionError: expected 1 to be 2' }],
          },
        },
      ],
    });
  });

  it('is error when any exercise errored, and pass only when every exercise passed (bonus not counted)', () => {
    expect(resultsJson(gradeReport(REPORT, EXERCISES, ROOT), 'solutions').status).toBe('error');
    const passing: VitestReport = {
      testResults: [
        {
          name: `${ROOT}/exercises/ex1-ping/ex1-ping.test.ts`,
          status: 'passed',
          assertionResults: [{ ancestorTitles: [], title: 't', status: 'passed' }],
        },
        REPORT.testResults.find((f) => f.name.endsWith('.bonus.test.ts'))!, // the failing bonus suite
      ],
    };
    const doc = resultsJson(gradeReport(passing, EXERCISES.slice(0, 1), ROOT), '/tmp/sub');
    expect([doc.status, doc.tree, doc.exercises[0]?.status, doc.exercises[0]?.bonus?.status]).toEqual([
      'pass',
      '/tmp/sub',
      'pass',
      'fail',
    ]);
    expect(
      resultsJson(gradeReport(passing, EXERCISES.slice(0, 1), ROOT), 'x', 'vitest exited with code 1').status,
    ).toBe('error');
  });
});

describe('cleanMessage', () => {
  it(`caps at ${MESSAGE_LIMIT} characters, ending in …`, () => {
    const long = cleanMessage('x'.repeat(MESSAGE_LIMIT + 100));
    expect(long).toHaveLength(MESSAGE_LIMIT);
    expect(long.endsWith('x…')).toBe(true);
    expect(cleanMessage('y'.repeat(MESSAGE_LIMIT))).toBe('y'.repeat(MESSAGE_LIMIT));
  });

  it('strips ANSI codes before measuring, and stack frames', () => {
    const coloured = RED('z'.repeat(MESSAGE_LIMIT)); // 500 visible characters, more with codes
    expect(cleanMessage(coloured)).toBe('z'.repeat(MESSAGE_LIMIT));
    expect(cleanMessage(`Error: boom\n    at f (/repo/a.ts:1:1)\n    at g (/repo/b.ts:2:2)\nmore`)).toBe(
      'Error: boom\nmore',
    );
  });
});

describe('check:stubs verdicts', () => {
  const e = ex(1, 'ping');
  const test = (name: string, status: 'pass' | 'fail' | 'error', raw: string[] = []) => ({ name, status, raw });
  const suite = (tests: ReturnType<typeof test>[], status?: GradedSuite['status'], message?: string): GradedSuite => {
    const passed = tests.filter((t) => t.status === 'pass').length;
    return {
      status: status ?? (passed === tests.length ? 'pass' : 'fail'),
      passed,
      total: tests.length,
      tests,
      ...(message ? { message } : {}),
    };
  };
  const stubFails = suite([
    test('a', 'fail', ['NotImplementedError: ex1-ping step 1 is not done yet']),
    test('b', 'fail', ['Error: ada: expected line "ok", got line "error: ex1-ping step 2 is not done yet"']),
  ]);
  const solved = suite([test('a', 'pass'), test('b', 'pass')]);
  const row = (over: Partial<StubRow> = {}): StubRow => ({
    exercise: e,
    stub: stubFails,
    solution: solved,
    bonusTests: 0,
    files: [],
    ...over,
  });

  it('ok when every stub test fails with its own message and the solution passes', () => {
    expect(verdict(row())).toEqual([]);
    expect(stubTestsWithoutStep(e, stubFails)).toEqual([]);
  });

  it('stub passes', () => {
    expect(
      verdict(row({ stub: suite([test('a', 'pass'), test('b', 'fail', ['ex1-ping step 2 is not done yet'])]) })),
    ).toEqual(['stub passes 1 test']);
  });

  it("every failing stub test must name its exercise and step; another exercise's does not count", () => {
    expect(
      verdict(
        row({
          stub: suite([test('a', 'fail', ['TypeError: x']), test('b', 'fail', ['ex2-kv step 1 is not done yet'])]),
        }),
      ),
    ).toEqual(['2 stub tests without "ex1-ping step N"']);
    // One test without its step is enough, even when the others name theirs.
    const oneShort = suite([
      test('a', 'fail', ['NotImplementedError: ex1-ping step 1 is not done yet']),
      test('b', 'fail', ['TypeError: x']),
    ]);
    expect(verdict(row({ stub: oneShort }))).toEqual(['1 stub test without "ex1-ping step N"']);
    expect(stubTestsWithoutStep(e, oneShort).map((t) => t.name)).toEqual(['b']);
  });

  it('the step counts only in the first line, whole: not cut short by a diff, not only further down', () => {
    expect(namesStep(e, 'NotImplementedError: ex1-ping step 2 is not done yet: implement pingKey()')).toBe(true);
    expect(
      namesStep(e, 'AssertionError: expected NotImplementedError: ex1-ping step… { …(3) } to match object { …(2) }'),
    ).toBe(false);
    expect(namesStep(e, 'AssertionError: expected 1 to be 2\n+ "message": "ex1-ping step 1 is not done yet"')).toBe(
      false,
    );
    expect(namesStep(e, 'Error: xex1-ping step 1')).toBe(false);
    expect(namesStep(ex(1, 'p.ng'), 'ex1-ping step 1')).toBe(false);
  });

  it('a stub test that did not run (its file failed) names no step', () => {
    expect(verdict(row({ stub: suite([test('a', 'error'), test('b', 'error')], 'error', 'did not load') }))).toEqual([
      '2 stub tests without "ex1-ping step N"',
    ]);
  });

  it('no stub results', () => {
    expect(verdict(row({ stub: suite([], 'error', 'did not load') }))).toEqual(['no stub results']);
  });

  it('solution fails, and no solution results', () => {
    expect(verdict(row({ solution: suite([test('a', 'pass'), test('b', 'fail'), test('c', 'error')]) }))).toEqual([
      'solution fails 2 tests',
    ]);
    expect(verdict(row({ solution: suite([], 'error', 'no suite ran') }))).toEqual(['no solution results']);
  });

  it('solution errors although every test passed (a hook outside the tests failed)', () => {
    expect(verdict(row({ solution: suite([test('a', 'pass')], 'error', 'failed outside its tests') }))).toEqual([
      'solution errors',
    ]);
  });

  it('file problems, after the test verdicts; a stub that passes everything is not also "another reason"', () => {
    expect(verdict(row({ stub: suite([test('a', 'pass')]), files: ['x', 'y'] }))).toEqual([
      'stub passes 1 test',
      '2 file problems',
    ]);
  });

  it('a failing bonus suite fails the combined solution suite', () => {
    const combined = combineSuites({ exercise: e, main: solved, bonus: suite([test('bonus > x', 'fail')]) });
    expect([combined.status, combined.passed, combined.total]).toEqual(['fail', 2, 3]);
    expect(verdict(row({ solution: combined, bonusTests: 1 }))).toEqual(['solution fails 1 test']);
  });
});

describe('check:stubs file checks (a)–(d)', () => {
  const root = mkdtempSync(join(tmpdir(), 'stubs-test-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const put = (rel: string, text: string) => {
    mkdirSync(join(root, rel, '..'), { recursive: true });
    writeFileSync(join(root, rel), text);
  };
  const e1 = ex(1, 'a', { stubs: ['s.ts'], given: ['h.ts'] });
  const e2 = ex(2, 'b', { stubs: ['t.ts'], given: ['g.ts'], uses: ['solutions/ex1-a/s.ts', 'exercises/ex1-a/h.ts'] });
  const all = [e1, e2];
  put('exercises/ex1-a/s.ts', "todo('ex1-a', 1, import.meta.url, 'x');");
  put('solutions/ex1-a/s.ts', 'export const s = 1;');
  put('exercises/ex1-a/h.ts', 'export const h = 1;');
  put('exercises/ex2-b/t.ts', "todo('ex2-b', 1, import.meta.url, 'x');");
  put('solutions/ex2-b/t.ts', 'export const t = 1;');
  put('exercises/ex2-b/g.ts', 'export const g = 1;');

  it('no problems when everything is in place', () => {
    expect(checkFiles(e1, all, root)).toEqual([]);
    expect(checkFiles(e2, all, root)).toEqual([]);
  });

  it('finds a missing folder and missing files', () => {
    const e3 = ex(3, 'c', { stubs: ['u.ts'], given: ['h.ts'] });
    expect(checkFiles(e3, [...all, e3], root)).toEqual([
      'exercises/ex3-c/ is missing',
      'solutions/ex3-c/ is missing',
      'stub exercises/ex3-c/u.ts is missing',
      'solution solutions/ex3-c/u.ts is missing',
      'given exercises/ex3-c/h.ts is missing',
    ]);
  });

  it('a stub without todo( and a solution still calling it', () => {
    put('exercises/ex1-a/s.ts', 'export const s = 1; // todo later');
    put('solutions/ex1-a/s.ts', "todo('ex1-a', 1, import.meta.url, 'x');");
    expect(checkFiles(e1, all, root)).toEqual([
      'stub exercises/ex1-a/s.ts does not call todo(',
      'solution solutions/ex1-a/s.ts still calls todo(',
    ]);
    put('exercises/ex1-a/s.ts', "todo('ex1-a', 1, import.meta.url, 'x');");
    put('solutions/ex1-a/s.ts', 'export const s = 1;');
  });

  it('a given file copied into solutions/, and any other file there that is not a stub', () => {
    put('solutions/ex2-b/g.ts', 'export const g = 1;');
    put('solutions/ex2-b/extra.ts', 'export const x = 1;');
    expect(checkFiles(e2, all, root)).toEqual([
      'given exercises/ex2-b/g.ts has a copy in solutions/ex2-b/: given files exist once',
      'solutions/ex2-b/extra.ts is not a stub of ex2: solutions/ holds only the finished stub files',
    ]);
    rmSync(join(root, 'solutions/ex2-b/g.ts'));
    rmSync(join(root, 'solutions/ex2-b/extra.ts'));
  });

  it('uses: only finished stubs or given files of earlier exercises', () => {
    const later = ex(1, 'a', { ...e1, uses: ['solutions/ex2-b/t.ts'] });
    expect(checkFiles(later, [later, e2], root)).toEqual([
      'uses solutions/ex2-b/t.ts: ex2 is not an earlier exercise than ex1',
    ]);
    const stranger = ex(2, 'b', { ...e2, uses: ['shared/x.ts', 'exercises/ex1-a/s.ts'] });
    expect(checkFiles(stranger, [e1, stranger], root)).toEqual([
      'uses shared/x.ts: not a finished stub (solutions/exN-*/) or given file (exercises/exN-*/) of another exercise',
      'uses shared/x.ts: missing',
      'uses exercises/ex1-a/s.ts: not a finished stub (solutions/exN-*/) or given file (exercises/exN-*/) of another exercise',
    ]);
  });
});

describe('check:stubs shared blocks', () => {
  const block = (from: number) => Array.from({ length: 20 }, (_, i) => `  line ${from + i};`).join('\n');
  it('flags 20 shared lines between the trees or two exercise folders, not within one folder', () => {
    const files = new Map([
      ['exercises/ex1-a/s.ts', `// stub\nlet a;\n${block(0)}\n`],
      ['exercises/ex1-a/h.ts', `${block(0)}\n`],
      ['solutions/ex1-a/s.ts', `import x;\n\n${block(0).replace(/\n/g, '\n\n')}`],
      ['exercises/ex2-b/t.ts', `/**\n * other\n */\n${block(0)}`],
    ]);
    expect(sharedBlocks(files)).toEqual([
      'exercises/ex1-a/s.ts:3 and solutions/ex1-a/s.ts:3 share 20+ lines',
      'exercises/ex1-a/s.ts:3 and exercises/ex2-b/t.ts:4 share 20+ lines',
    ]);
  });

  it('import declarations do not count, however long their lists', () => {
    const names = Array.from({ length: 25 }, (_, i) => `  name${i},`).join('\n');
    const imports = `import {\n${names}\n} from './given.js';\nimport './side-effect.js';\nconst x = 1;`;
    expect(codeLines(imports)).toEqual([{ text: 'const x = 1;', line: 29 }]);
    expect(
      sharedBlocks(
        new Map([
          ['exercises/ex1-a/s.ts', imports],
          ['solutions/ex1-a/s.ts', imports],
        ]),
      ),
    ).toEqual([]);
  });

  it('19 shared lines are a skeleton, not a copy; comments do not count', () => {
    expect(
      sharedBlocks(
        new Map([
          ['exercises/ex1-a/s.ts', block(0)],
          ['solutions/ex1-a/s.ts', block(1)],
        ]),
      ),
    ).toEqual([]);
    const doc = Array.from({ length: 25 }, (_, i) => ` * doc ${i}`).join('\n');
    expect(
      sharedBlocks(
        new Map([
          ['exercises/ex1-a/s.ts', `/**\n${doc}\n */`],
          ['solutions/ex1-a/s.ts', `/**\n${doc}\n */`],
        ]),
      ),
    ).toEqual([]);
  });

  it('the repository has no shared blocks', () => {
    const files = exerciseSources();
    expect(files.size).toBeGreaterThan(10);
    expect(sharedBlocks(files)).toEqual([]);
  });
});

describe('grade options', () => {
  it("--solutions implies the bonus suites; paths resolve against the caller's directory", () => {
    expect(parseGradeArgs(['--solutions', '--json', 'r.json'], '/home/me')).toMatchObject({
      tree: 'solutions',
      bonus: true,
      json: '/home/me/r.json',
    });
    expect(parseGradeArgs(['--dir', 'sub'], '/home/me')).toMatchObject({
      tree: 'dir',
      dir: '/home/me/sub',
      bonus: false,
    });
    expect(parseGradeArgs([], '/x')).toMatchObject({ tree: 'exercises', bonus: false, verbose: false });
  });

  it('rejects --solutions with --dir, and unknown options', () => {
    expect(() => parseGradeArgs(['--solutions', '--dir', 'x'])).toThrow(UsageError);
    expect(() => parseGradeArgs(['--nope'])).toThrow('unknown option --nope');
  });
});
