/**
 * Show how two files differ: `git diff --no-index` when git is there, else a plain unified
 * diff computed here.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import chalk from 'chalk';

type Op = { readonly kind: ' ' | '-' | '+'; readonly line: string };

/** Line-level edit script from `a` to `b` (longest common subsequence; fine for source files). */
function editScript(a: readonly string[], b: readonly string[]): Op[] {
  const n = a.length;
  const m = b.length;
  // lcs[i][j]: length of the LCS of a[i..] and b[j..], flattened.
  const lcs = new Uint32Array((n + 1) * (m + 1));
  const at = (i: number, j: number) => lcs[i * (m + 1) + j] ?? 0;
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * (m + 1) + j] = a[i] === b[j] ? at(i + 1, j + 1) + 1 : Math.max(at(i + 1, j), at(i, j + 1));
    }
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      ops.push({ kind: ' ', line: a[i++] ?? '' });
      j++;
    } else if (i < n && (j === m || at(i + 1, j) >= at(i, j + 1))) {
      ops.push({ kind: '-', line: a[i++] ?? '' }); // removals first, as git shows them
    } else {
      ops.push({ kind: '+', line: b[j++] ?? '' });
    }
  }
  return ops;
}

const lines = (text: string) => {
  const l = text.replace(/\r\n/g, '\n').split('\n');
  if (l.at(-1) === '') l.pop();
  return l;
};

/**
 * A unified diff of two texts with `context` lines around each change; '' when they are
 * equal (line ends aside).
 */
export function unifiedDiff(a: string, b: string, aName: string, bName: string, context = 3): string {
  const ops = editScript(lines(a), lines(b));
  if (ops.every((o) => o.kind === ' ')) return '';
  const out = [`--- ${aName}`, `+++ ${bName}`];
  const changed = ops.map((o, k) => (o.kind !== ' ' ? k : -1)).filter((k) => k >= 0);
  let k = 0;
  while (k < changed.length) {
    // Grow a hunk while the next change is within 2×context lines of this one.
    const first = changed[k] ?? 0;
    let last = first;
    while (k + 1 < changed.length && (changed[k + 1] ?? 0) - last <= 2 * context) last = changed[++k] ?? last;
    k++;
    const from = Math.max(0, first - context);
    const to = Math.min(ops.length - 1, last + context);
    // Line numbers where the hunk starts in a and in b.
    let aLine = 1;
    let bLine = 1;
    for (const o of ops.slice(0, from)) {
      if (o.kind !== '+') aLine++;
      if (o.kind !== '-') bLine++;
    }
    const hunk = ops.slice(from, to + 1);
    const aCount = hunk.filter((o) => o.kind !== '+').length;
    const bCount = hunk.filter((o) => o.kind !== '-').length;
    out.push(`@@ -${aCount === 0 ? aLine - 1 : aLine},${aCount} +${bCount === 0 ? bLine - 1 : bLine},${bCount} @@`);
    for (const o of hunk) out.push(o.kind + o.line);
  }
  return out.join('\n') + '\n';
}

/**
 * 1-based numbers of the lines of `b` that are not in `a`, by the same edit script as
 * {@link unifiedDiff} (its `+` lines). `npm run mutation` uses it to tell the lines of a
 * solution the attendee writes from those the stub already has.
 */
export function addedLines(a: string, b: string): Set<number> {
  const out = new Set<number>();
  let bLine = 0;
  for (const o of editScript(lines(a), lines(b))) {
    if (o.kind !== '-') bLine++;
    if (o.kind === '+') out.add(bLine);
  }
  return out;
}

/** Colour a unified diff like git does (headers bold, hunks cyan, - red, + green). */
function colourDiff(diff: string): string {
  return diff
    .split('\n')
    .map((l) => (/^(---|\+\+\+) /.test(l) ? chalk.bold(l) : l.startsWith('@@') ? chalk.cyan(l) : l.startsWith('-') ? chalk.red(l) : l.startsWith('+') ? chalk.green(l) : l))
    .join('\n');
}

/**
 * The diff from file `a` to file `b` (paths relative to `root`, shown as such); '' when they
 * are equal. Uses `git diff --no-index` (coloured when chalk colours), else {@link unifiedDiff}.
 * A missing file counts as empty.
 */
export function fileDiff(root: string, a: string, b: string): string {
  const colour = chalk.level > 0 ? 'always' : 'never';
  const git = spawnSync('git', ['diff', '--no-index', `--color=${colour}`, '--', a, b], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  // git diff --no-index exits 0 when equal, 1 when different; anything else is trouble.
  if (!git.error && (git.status === 0 || git.status === 1) && existsSync(join(root, a)) && existsSync(join(root, b))) return git.stdout;
  const read = (p: string) => (existsSync(join(root, p)) ? readFileSync(join(root, p), 'utf8') : '');
  const diff = unifiedDiff(read(a), read(b), a, b);
  return chalk.level > 0 ? colourDiff(diff) : diff;
}
