/**
 * `npm run mutation` (tools/mutation.ts): the options it gives Stryker, the vitest config it
 * writes, and how it counts and lists mutants, on fixtures and fake results. Stryker itself
 * does not run here (a run takes minutes).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  formatSummary,
  formatUndetected,
  inWrittenCode,
  mutateFiles,
  strykerOptions,
  summarize,
  vitestConfigText,
  writtenLines,
  type MutantResult,
} from '../mutation.js';
import { addedLines } from '../workshop/diff.js';
import type { Exercise } from '../workshop/manifest.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const EX: Exercise = {
  id: 'ex1',
  name: 'ex1-ping',
  title: 'Ping',
  folder: 'exercises/ex1-ping',
  stubs: ['ping_vnode.ts', 'ping.ts'],
  given: [],
  uses: [],
  goals: [],
  hints: [],
};

/** A fake mutant result with what tools/mutation.ts reads. */
function mutant(
  status: string,
  fileName: string,
  line: number,
  endLine = line,
  extra: Partial<MutantResult> = {},
): MutantResult {
  return {
    id: `${fileName}:${line}:${status}`,
    fileName,
    mutatorName: 'StringLiteral',
    replacement: '""',
    status,
    location: { start: { line, column: 5 }, end: { line: endLine, column: 9 } },
    ...extra,
  } as MutantResult;
}

describe('mutation', () => {
  it('mutates the stub files of the exercise in solutions/', () => {
    expect(mutateFiles(EX)).toEqual(['solutions/ex1-ping/ping_vnode.ts', 'solutions/ex1-ping/ping.ts']);
  });

  it('gives Stryker the vitest runner without related mode, reports under .stryker/<id>/, and keeps its own config in the sandbox', () => {
    const config = 'tools/workshop/.mutation-ex1-1.vitest.config.mjs';
    const o = strykerOptions(EX, { config, concurrency: 1, timeoutMs: 45_000 }) as Record<string, unknown>;
    expect(o).toMatchObject({
      mutate: mutateFiles(EX),
      testRunner: 'vitest',
      vitest: { configFile: config, related: false },
      coverageAnalysis: 'perTest',
      concurrency: 1,
      htmlReporter: { fileName: join('.stryker', 'ex1', 'index.html') },
      tempDirName: join('.stryker-tmp', 'ex1'),
    });
    const ignore = o.ignorePatterns as string[];
    expect(ignore).toContain('tools/workshop/.*.vitest.config.mjs');
    expect(ignore.at(-1)).toBe(`!${config}`);
  });

  it('writes a vitest config with paths relative to itself: one project, the exercise suite, @ex/ → solutions/', () => {
    const text = vitestConfigText(EX, false);
    expect(text).toContain("import base from '../../vitest.config.ts'");
    expect(text).toContain("'@ex/': here('../../solutions/')");
    expect(text).toContain('include: ["exercises/ex1-ping/**/*.test.ts"]');
    expect(text).toContain('exclude: ["**/*.bonus.test.ts"]');
    expect(vitestConfigText(EX, true)).toContain('exclude: []');
    expect(text).not.toContain(tmpdir()); // no absolute path: it runs from Stryker's sandbox copy
  });

  it('counts the outcomes; the score leaves out mutants that could not run', () => {
    const results = [
      mutant('Killed', 'a.ts', 1),
      mutant('Killed', 'a.ts', 2),
      mutant('Timeout', 'a.ts', 3),
      mutant('Survived', 'a.ts', 4),
      mutant('NoCoverage', 'a.ts', 5),
      mutant('RuntimeError', 'a.ts', 6),
    ];
    const s = summarize(results);
    expect(s).toMatchObject({ total: 6, killed: 2, timeout: 1, survived: 1, noCoverage: 1, errors: 1 });
    expect(s.score).toBe(60);
    expect(formatSummary('ex1 score', s)).toBe(
      'ex1 score 60.0%: 2 killed, 1 survived, 1 timeout, 1 no coverage, 1 errors (6 mutants)',
    );
    expect(summarize([]).score).toBeUndefined();
  });

  it('tells the lines the attendee writes from those the stub already has', () => {
    expect([...addedLines('a\nb\nc\n', 'a\nb\nx\ny\nc\n')]).toEqual([3, 4]);
    expect([...addedLines('a\n', 'a\n')]).toEqual([]);

    const root = mkdtempSync(join(tmpdir(), 'mutation-test-'));
    dirs.push(root);
    mkdirSync(join(root, 'exercises', 'ex1-ping'), { recursive: true });
    mkdirSync(join(root, 'solutions', 'ex1-ping'), { recursive: true });
    writeFileSync(join(root, 'exercises', 'ex1-ping', 'ping.ts'), 'given();\ntodo();\nmore();\n');
    writeFileSync(join(root, 'solutions', 'ex1-ping', 'ping.ts'), 'given();\nwritten();\nmore();\n');
    writeFileSync(join(root, 'solutions', 'ex1-ping', 'ping_vnode.ts'), 'no stub for this one\n');
    const written = writtenLines(EX, root);
    expect(written.get('solutions/ex1-ping/ping.ts')).toEqual(new Set([2]));
    expect(written.get('solutions/ex1-ping/ping_vnode.ts')).toBe('all');

    const file = join(root, 'solutions', 'ex1-ping', 'ping.ts'); // Stryker reports absolute names
    expect(inWrittenCode(mutant('Survived', file, 2), written, root)).toBe(true);
    expect(inWrittenCode(mutant('Survived', file, 1), written, root)).toBe(false);
    expect(inWrittenCode(mutant('Survived', file, 1, 3), written, root)).toBe(true); // a block spanning a written line
    expect(
      inWrittenCode(mutant('Survived', join(root, 'solutions', 'ex1-ping', 'ping_vnode.ts'), 1), written, root),
    ).toBe(true);

    // Columns are 1-based with an exclusive end: 5..9 is `ten(` of `written();`.
    expect(
      formatUndetected(
        [
          mutant('Killed', file, 2),
          mutant('NoCoverage', file, 3),
          mutant('Survived', file, 2),
          mutant('Survived', file, 1, 2),
        ],
        written,
        root,
      ),
    ).toEqual([
      'solutions/ex1-ping/ping.ts:1:5  StringLiteral  n(); … → ""',
      'solutions/ex1-ping/ping.ts:2:5  StringLiteral  ten( → ""',
      'solutions/ex1-ping/ping.ts:3:5  StringLiteral  (); → "" [given] (no test reaches it)',
    ]);
  });
});
