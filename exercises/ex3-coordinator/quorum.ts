/**
 * The vocabulary of the quorum coordinator (given): its options and defaults, its results, and
 * its typed errors. The coordinator you write (coordinator.ts) uses these; so do the HTTP API
 * (exercise 5) and the later exercises, through the finished coordinator.
 */
import type { AplEntry } from '../../shared/apl.js';
import { chashKey } from '../../shared/chash.js';
import { RingError } from '../../shared/errors.js';
import type { RingNode } from '../../shared/node.js';
import type { VnodeReply } from '../../shared/vnode.js';
import { SERVICE, type Entry, type Version } from './kv_vnode.js';

/** Bucket under which keys are hashed: `chashKey('kv', key)`. */
export const BUCKET = 'kv';

/** Quorum parameters. n: replicas; w: acks a write waits for; r: replies a read waits for; timeoutMs: deadline. */
export interface QuorumOptions {
  readonly n?: number;
  readonly w?: number;
  readonly r?: number;
  readonly timeoutMs?: number;
}

/** Defaults used by the HTTP API later too: N=3, W=2, R=2, 1000 ms. */
export const DEFAULTS = { n: 3, w: 2, r: 2, timeoutMs: 1000 } as const;

/** A vnode that answered, and whether it was a primary or a fallback. */
export type Answer = AplEntry;

/** One reply a coordinator received: from which vnode in the preference list, and what. */
export interface Received {
  readonly from: AplEntry;
  readonly reply: VnodeReply;
}

/**
 * Not enough replies. `code` is `unavailable` when fewer vnodes could be asked than needed,
 * `timeout` when the deadline passed first. Carries everything the coordinator knew.
 */
export class QuorumError extends RingError {
  constructor(
    code: 'timeout' | 'unavailable',
    readonly op: 'store' | 'fetch' | 'delete' | 'ping',
    readonly needed: number,
    /** Every vnode the request was sent to (empty for `unavailable`). */
    readonly asked: readonly AplEntry[],
    /** The vnodes that answered successfully before the deadline. */
    readonly answered: readonly AplEntry[],
    /** Every reply received, failures included. */
    readonly replies: readonly Received[],
    /**
     * The vnodes that could have been asked: the active preference list. For `unavailable`,
     * the too-short list (nothing was sent to it); for `timeout`, the same as `asked`.
     */
    readonly available: readonly AplEntry[] = asked,
  ) {
    super(
      code,
      code === 'unavailable'
        ? `${op}: only ${available.length} ${available.length === 1 ? 'vnode' : 'vnodes'} available, ${needed} needed`
        : `${op}: ${answered.length} of ${needed} needed replies before the deadline (asked ${asked.length})`,
    );
    this.name = 'QuorumError';
  }
}

/** Thrown for bad quorum parameters, before anything is sent. `param` names the culprit. */
export class QuorumParamError extends RangeError {
  constructor(
    readonly param: 'n' | 'w' | 'r' | 'timeoutMs',
    message: string,
  ) {
    super(message);
    this.name = 'QuorumParamError';
  }
}

/** What {@link collect} resolves with: the successful replies, in arrival order. */
export interface Collected {
  readonly asked: readonly AplEntry[];
  readonly ok: readonly Received[];
  readonly all: readonly Received[];
}

/** The active preference list of `key`: its first `n` up vnodes, fallbacks included (`getApl`). */
export const aplFor = (node: RingNode, key: string, n: number) =>
  node.getApl({ hash: chashKey(BUCKET, key) }, n, SERVICE);

/** Result of a write: its version and which vnodes acknowledged it. */
export interface WriteResult {
  readonly version: Version;
  readonly answered: readonly Answer[];
}

/** Result of a read, with the replies it was decided from. */
export type FetchResult = (
  | { readonly found: true; readonly value: unknown; readonly version: Version }
  | { readonly found: false; readonly version?: Version }
) & {
  readonly answered: readonly Answer[];
  /** What each answering vnode had (null: never saw the key). */
  readonly entries: readonly { readonly from: Answer; readonly entry: Entry | null }[];
};
