/**
 * Show how two files differ: `git diff --no-index` when git is there, else a plain unified
 * diff computed with jsdiff (the `diff` package).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import chalk, { type ChalkInstance } from 'chalk';
import { diffLines, structuredPatch } from 'diff';

/** `text` with `\r\n` line ends made `\n` and a final `\n` on its last line, so that line ends never count as changes. */
function normalise(text: string): string {
  const l = text.replace(/\r\n/g, '\n').split('\n');
  if (l.at(-1) === '') l.pop();
  return l.length === 0 ? '' : `${l.join('\n')}\n`;
}

/**
 * A unified diff of two texts with `context` lines around each change; '' when they are
 * equal (line ends aside). Headers `--- aName` / `+++ bName`, then hunks
 * `@@ -start,count +start,count @@` (an empty range is numbered by the line before it, as
 * git does: `@@ -0,0 +1,1 @@` for a new file).
 */
export function unifiedDiff(a: string, b: string, aName: string, bName: string, context = 3): string {
  const { hunks } = structuredPatch(aName, bName, normalise(a), normalise(b), undefined, undefined, { context });
  if (hunks.length === 0) return '';
  const range = (start: number, count: number) => `${count === 0 ? start - 1 : start},${count}`;
  const out = [`--- ${aName}`, `+++ ${bName}`];
  for (const h of hunks)
    out.push(`@@ -${range(h.oldStart, h.oldLines)} +${range(h.newStart, h.newLines)} @@`, ...h.lines);
  return `${out.join('\n')}\n`;
}

/**
 * 1-based numbers of the lines of `b` that are not in `a`, by the same line diff as
 * {@link unifiedDiff} (its `+` lines). `npm run mutation` uses it to tell the lines of a
 * solution the attendee writes from those the stub already has.
 */
export function addedLines(a: string, b: string): Set<number> {
  const out = new Set<number>();
  let bLine = 0;
  for (const change of diffLines(normalise(a), normalise(b))) {
    if (change.removed) continue;
    for (let i = 0; i < change.count; i++) {
      bLine++;
      if (change.added) out.add(bLine);
    }
  }
  return out;
}

/** Colour a unified diff like git does (headers bold, hunks cyan, - red, + green). */
function colourDiff(diff: string, c: ChalkInstance): string {
  return diff
    .split('\n')
    .map((l) =>
      /^(---|\+\+\+) /.test(l)
        ? c.bold(l)
        : l.startsWith('@@')
          ? c.cyan(l)
          : l.startsWith('-')
            ? c.red(l)
            : l.startsWith('+')
              ? c.green(l)
              : l,
    )
    .join('\n');
}

/**
 * The diff from file `a` to file `b` (paths relative to `root`, shown as such); '' when they
 * are equal. Uses `git diff --no-index` (coloured when `c`, the output's chalk, colours),
 * else {@link unifiedDiff}. A missing file counts as empty.
 */
export function fileDiff(root: string, a: string, b: string, c: ChalkInstance = chalk): string {
  const colour = c.level > 0 ? 'always' : 'never';
  const git = spawnSync('git', ['diff', '--no-index', `--color=${colour}`, '--', a, b], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  // git diff --no-index exits 0 when equal, 1 when different; anything else is trouble.
  if (!git.error && (git.status === 0 || git.status === 1) && existsSync(join(root, a)) && existsSync(join(root, b)))
    return git.stdout;
  const read = (p: string) => (existsSync(join(root, p)) ? readFileSync(join(root, p), 'utf8') : '');
  const diff = unifiedDiff(read(a), read(b), a, b);
  return c.level > 0 ? colourDiff(diff, c) : diff;
}
