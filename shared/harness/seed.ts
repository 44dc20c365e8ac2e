/**
 * Seeds for anything random in tests, so every failure can be replayed.
 *
 * `testSeed(label)` returns `Number(process.env.SEED)` when set, otherwise a fresh random
 * 32-bit seed, and always prints `[seed] <label>: <seed> (replay with SEED=<seed>)`.
 */
export function testSeed(label: string): number {
  const fromEnv = process.env.SEED;
  const seed = fromEnv !== undefined && fromEnv !== '' ? Number(fromEnv) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
  console.log(`[seed] ${label}: ${seed} (replay with SEED=${seed})`);
  return seed;
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
