/**
 * Vector clocks, as riak_core's `vclock` module uses them to order ring versions.
 *
 * A clock maps an actor (a node name) to a counter: `{ 'dev1@127.0.0.1': 3, ... }`.
 * Plain objects so they survive msgpack/JSON unchanged. riak also stores a timestamp per
 * entry for pruning; our clusters are small and short-lived, so we keep counters only.
 */
export type VClock = Readonly<Record<string, number>>;

/** A clock with `actor`'s counter one higher (riak: `vclock:increment/2`). */
export function increment(clock: VClock, actor: string): VClock {
  return { ...clock, [actor]: (clock[actor] ?? 0) + 1 };
}

/** True when `a` has seen everything `b` has: every counter in `b` is ≤ the one in `a` (riak: `vclock:descends/2`). Equal clocks descend each other. */
export function descends(a: VClock, b: VClock): boolean {
  for (const [actor, n] of Object.entries(b)) if ((a[actor] ?? 0) < n) return false;
  return true;
}

/** True when the clocks hold the same counters. */
export function equal(a: VClock, b: VClock): boolean {
  return descends(a, b) && descends(b, a);
}

/** Neither descends the other: the histories diverged. */
export function concurrent(a: VClock, b: VClock): boolean {
  return !descends(a, b) && !descends(b, a);
}

/** Pointwise maximum (riak: `vclock:merge/1`). */
export function merge(a: VClock, b: VClock): VClock {
  const out: Record<string, number> = { ...a };
  for (const [actor, n] of Object.entries(b)) out[actor] = Math.max(out[actor] ?? 0, n);
  return out;
}
