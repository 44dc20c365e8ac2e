/**
 * Exercise 7, given: the vocabulary of fencing. The store's vnode (exercise 4's, extended in
 * fenced_kv_vnode.ts) keeps, per key, the highest *epoch* it has granted: its *fence*. Two new
 * requests use it:
 * - `claim`: a compare-and-set. Granted (and the fence raised to `epoch`) only if `epoch` is
 *   higher than the fence; the reply carries the fence and the key's entry either way.
 * - `fenced_put`: a put that carries the writer's epoch; refused if the fence is higher.
 *
 * The fence is kept as one more entry of the vnode's data, under {@link fenceKey}, whose
 * version's `t` is the epoch: exercise 4's handoff moves it with the data and its
 * last-write-wins merge keeps the highest epoch. It is a tombstone, so listing keys skips it.
 *
 * {@link askPrimaries} is the small coordinator the fencing code (fencing.ts) sends with: the
 * key's *primary* replicas only, never fallbacks.
 */
import type { AplEntry } from '../../shared/apl.js';
import { chashKey } from '../../shared/chash.js';
import type { RingNode } from '../../shared/node.js';
import { Type, type Static } from '@sinclair/typebox';
import {
  compareVersions,
  EntrySchema,
  handoffItemDecoder,
  KeySchema,
  KvRequestSchema,
  type Entry,
} from '../ex3-coordinator/kv_vnode.js';
import { BUCKET } from '../ex3-coordinator/quorum.js';
import { SERVICE } from '../ex3-coordinator/kv_vnode.js';

/**
 * An entry written by a fenced put: it remembers the writer's epoch. Entries order by epoch
 * first, then by version ({@link compareFenced}): a late write of an activation that lost its
 * epoch (it reached a replica on its side of a partition) never beats what the newer
 * activation wrote, whatever the clocks say.
 */
export const FencedEntrySchema = Type.Composite([
  EntrySchema,
  Type.Object({ epoch: Type.ReadonlyOptional(Type.Number()) }),
]);
/** See {@link FencedEntrySchema}. */
export type FencedEntry = Static<typeof FencedEntrySchema>;

/**
 * What a replica that is handing off held for a key *before* it applied a fenced request it
 * then forwards: the new owner may not have received that key yet (the handoff streams the
 * data after its fold), so it first merges this, and decides as the old owner would have.
 * `fenceEntry`: the entry that stores the fence (see {@link fenceEntry}).
 */
export const HeldSchema = Type.Object({
  fence: Type.Readonly(Type.Number()),
  fenceEntry: Type.Readonly(Type.Union([FencedEntrySchema, Type.Null()])),
  entry: Type.Readonly(Type.Union([FencedEntrySchema, Type.Null()])),
});
/** See {@link HeldSchema}. */
export type Held = Static<typeof HeldSchema>;

/** The two fenced requests (`held` is set by a replica that forwards one during a handoff). */
export const FencedRequestSchema = Type.Union([
  Type.Object({
    type: Type.Readonly(Type.Literal('claim')),
    key: Type.Readonly(KeySchema),
    epoch: Type.Readonly(Type.Number()),
    held: Type.Optional(HeldSchema),
  }),
  Type.Object({
    type: Type.Readonly(Type.Literal('fenced_put')),
    key: Type.Readonly(KeySchema),
    entry: Type.Readonly(EntrySchema),
    epoch: Type.Readonly(Type.Number()),
    held: Type.Optional(HeldSchema),
  }),
]);
/** See {@link FencedRequestSchema}. */
export type FencedRequest = Static<typeof FencedRequestSchema>;

/**
 * Requests of the fenced KV vnode: exercise 3's, plus `claim` and `fenced_put`; what
 * `fencedKvService` passes as its `requests`.
 */
export const FencedKvRequestSchema = Type.Union([...KvRequestSchema.anyOf, ...FencedRequestSchema.anyOf]);
/** See {@link FencedKvRequestSchema}. */
export type FencedKvRequest = Static<typeof FencedKvRequestSchema>;

/**
 * Decode one handoff item of the fenced vnode (exercise 4's `[key, entry]`, the entry maybe
 * with its epoch). @throws RingError `bad_request` for a malformed item.
 */
export const decodeFencedItem: (data: Uint8Array) => [string, FencedEntry] = handoffItemDecoder(FencedEntrySchema);

/** -1, 0 or 1 as `a` is older than, the same as, or newer than `b`: by epoch (none: 0), then version. */
export function compareFenced(a: FencedEntry, b: FencedEntry): number {
  const ea = a.epoch ?? 0;
  const eb = b.epoch ?? 0;
  if (ea !== eb) return ea < eb ? -1 : 1;
  return compareVersions(a.version, b.version);
}

/** The newest of `entries` by {@link compareFenced}, or null if none. */
export function newestFenced(entries: readonly (FencedEntry | null)[]): FencedEntry | null {
  let best: FencedEntry | null = null;
  for (const e of entries) if (e && (!best || compareFenced(e, best) > 0)) best = e;
  return best;
}

/** Reply to `claim`: whether it was granted, the fence now held, and the key's entry (null: none). */
export interface ClaimReply {
  readonly granted: boolean;
  readonly fence: number;
  readonly entry: Entry | null;
}

/** Reply to `fenced_put`: accepted (and applied by last-write-wins) or refused, and the fence now held. */
export interface FencedPutReply {
  readonly accepted: boolean;
  readonly fence: number;
}

/** Where a vnode keeps the fence of `key`: next to it, in the same partition's data. */
export const fenceKey = (key: string): string => `${key}\u0000fence`;

/** The entry that stores fence `epoch`: a tombstone whose version orders by the epoch. */
export const fenceEntry = (epoch: number): Entry => ({
  value: null,
  version: { t: epoch, node: 'fence', seq: 0 },
  deleted: true,
});

/** The fence an entry made by {@link fenceEntry} holds (0 for none). */
export const fenceOf = (entry: Entry | undefined): number => entry?.version.t ?? 0;

/** Replicas of every object record: N=3, as the store's default. */
export const N = 3;

/** A strict majority of `n` replicas. */
export const majority = (n: number): number => Math.floor(n / 2) + 1;

/** The up *primary* replicas of `key` in the store (at most {@link N}; no fallbacks). */
export const primariesOf = (node: RingNode, key: string): AplEntry[] =>
  node.getPrimaryApl({ hash: chashKey(BUCKET, key) }, N, SERVICE);

/** The replies {@link askPrimaries} collected. */
export interface Asked<R> {
  /** The vnodes asked. */
  readonly asked: readonly AplEntry[];
  /** Replies that passed `accept`. */
  readonly accepted: readonly R[];
  /** Replies that did not. */
  readonly refused: readonly R[];
  /** True if the deadline passed before every asked vnode answered (or `need` accepted). */
  readonly timedOut: boolean;
}

/**
 * Send `request` to the vnodes `to` and collect their replies until `need` of them pass
 * `accept`, or every vnode answered, or `timeoutMs` passed, whichever comes first. Never
 * throws for a missing or failed reply: the caller decides from what came back.
 */
export function askPrimaries<R>(
  node: RingNode,
  to: readonly AplEntry[],
  request: FencedKvRequest,
  accept: (reply: R) => boolean,
  need: number,
  timeoutMs: number,
): Promise<Asked<R>> {
  return new Promise((resolve) => {
    const accepted: R[] = [];
    const refused: R[] = [];
    let answered = 0;
    const finish = (timedOut: boolean) => {
      clearTimeout(timer);
      node.vnodes.release(sender);
      resolve({ asked: to, accepted, refused, timedOut });
    };
    const sender = node.vnodes.newSender((r) => {
      answered++;
      if (r.ok && accept(r.value as R)) accepted.push(r.value as R);
      else if (r.ok) refused.push(r.value as R);
      if (accepted.length >= need || answered >= to.length) finish(false);
    }, timeoutMs);
    const timer = setTimeout(() => finish(true), timeoutMs);
    if (to.length === 0) finish(false);
    else node.command(to, request, sender, SERVICE);
  });
}
