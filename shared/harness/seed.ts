/**
 * Seeds for anything random in tests, so every failure can be replayed.
 *
 * `testSeed(label)` returns `Number(process.env.SEED)` when set (`npm run replay` sets it),
 * otherwise a fresh random 32-bit seed, and always prints
 * `[seed] <label>: <seed> (replay: npm run replay -- <exercise or test file> <seed>)`.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

export function testSeed(label: string): number {
  const fromEnv = process.env.SEED;
  const seed = fromEnv !== undefined && fromEnv !== '' ? Number(fromEnv) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
  console.log(`[seed] ${label}: ${seed} (replay: ${replayCommand(expect.getState().testPath, seed)})`);
  return seed;
}

/**
 * The command that replays `seed` in the test file at `testPath` (absolute, either separator):
 * `npm run replay -- ex3 42` for an exercise suite, `npm run replay -- shared/test/x.test.ts 42`
 * for another test file. The same on every OS (tools/workshop/replay.ts).
 */
export function replayCommand(testPath: string | undefined, seed: number): string {
  const file = (testPath ?? '').split(path.win32.sep).join('/');
  const exercise = /\/exercises\/(ex\d+)-[^/]+\//.exec(file)?.[1];
  const root = fileURLToPath(new URL('../..', import.meta.url))
    .split(path.win32.sep)
    .join('/')
    .replace(/\/$/, '');
  const target = exercise ?? (file.startsWith(`${root}/`) ? file.slice(root.length + 1) : file || '<test file>');
  return `npm run replay -- ${target} ${seed}`;
}

/**
 * A small deterministic PRNG (mulberry32). `next()` returns a float in [0, 1).
 * Used by the harness and nemesis so a printed seed replays the same choices.
 */
export function prng(seed: number): {
  next(): number;
  int(maxExclusive: number): number;
  pick<T>(xs: readonly T[]): T;
} {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (max: number) => Math.floor(next() * max);
  return { next, int, pick: <T>(xs: readonly T[]) => xs[int(xs.length)] as T };
}
