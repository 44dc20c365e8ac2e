/**
 * Coverage (`riak_core_coverage_plan` and `riak_core_coverage_fsm`): which vnodes to ask so
 * that a request such as "list every key" sees every partition's data exactly once, and the
 * request loop that asks them and gathers their answers.
 *
 * With replication N, the vnode of partition p holds the keys of N *key spaces*: those whose
 * preference list starts at p, p-1, …, p-N+1 (it is the 1st, 2nd, … Nth replica for them).
 * So roughly every N-th partition's vnode is enough. The plan picks up primaries greedily
 * (the vnode covering most key spaces not yet covered, lowest partition first on ties) and
 * tells each vnode which key spaces it answers for, so no key is reported twice. Ties go to
 * the first partition at or after `offset`; varying the offset per request spreads the work
 * over the nodes, as riak does with its request-dependent offset.
 */
import type { Ring } from './ring.js';
import type { UpNodes } from './apl.js';
import { RemoteError, RingError, TimeoutError } from './errors.js';
import type { VnodeMaster } from './vnode_master.js';

/** One vnode of a plan: ask `node`'s vnode for `partition` about the key spaces `keyspaces`. */
export interface CoverageVnode {
  readonly partition: number;
  readonly node: string;
  /** Key spaces (numbered by the partition their preference list starts at) this vnode answers for. */
  readonly keyspaces: readonly number[];
}

const isUp = (up: UpNodes, node: string) =>
  Array.isArray(up) ? up.includes(node) : (up as ReadonlySet<string>).has(node);

/**
 * A minimal-ish set of up primary vnodes covering every key space once
 * (riak: `riak_core_coverage_plan:create_plan/5`, greedy like its `find_coverage`).
 * @param offset where the search starts (any integer; taken modulo Q).
 * @throws RangeError if n is not an integer in 1..Q;
 *   RingError `insufficient_vnodes` when some key space has no up primary among its N owners
 *   (the message names how many key spaces are uncovered).
 */
export function coveragePlan(ring: Ring, n: number, up: UpNodes, offset = 0): CoverageVnode[] {
  const q = ring.ringSize;
  if (!Number.isInteger(n) || n < 1 || n > q) throw new RangeError(`n must be an integer between 1 and ${q}, got ${n}`);
  // The key spaces partition p's vnode holds: p, p-1, …, p-n+1.
  const spaces = (p: number) => Array.from({ length: n }, (_, i) => (p - i + q) % q);
  const uncovered = new Set(Array.from({ length: q }, (_, i) => i));
  const start = ((Math.trunc(offset) % q) + q) % q;
  const candidates = ring.owners
    .map((_, i) => ({ partition: (start + i) % q, node: ring.owners[(start + i) % q] as string }))
    .filter((c) => isUp(up, c.node));
  const plan: CoverageVnode[] = [];
  while (uncovered.size > 0) {
    let best: { partition: number; node: string; keyspaces: number[] } | undefined;
    for (const c of candidates) {
      const keyspaces = spaces(c.partition).filter((s) => uncovered.has(s));
      if (keyspaces.length > (best?.keyspaces.length ?? 0)) best = { ...c, keyspaces };
    }
    if (!best) {
      throw new RingError(
        'insufficient_vnodes',
        `cannot cover ${uncovered.size} of ${q} key spaces: every primary holding them is down`,
      );
    }
    for (const s of best.keyspaces) uncovered.delete(s);
    plan.push({ ...best, keyspaces: best.keyspaces.sort((a, b) => a - b) });
  }
  return plan.sort((a, b) => a.partition - b.partition);
}

/** Default deadline of a coverage request (ms). */
export const DEFAULT_COVERAGE_TIMEOUT_MS = 5000;

/** Options of {@link CoverageFsm.run}. */
export interface CoverageOptions {
  /** Replication factor the data was written with: each vnode holds `n` key spaces (default 3). */
  readonly n?: number;
  /** Deadline for every plan vnode's answer, in ms (default 5000). */
  readonly timeoutMs?: number;
}

/** What a coverage request answers: the plan, and one reply per plan vnode, in plan order. */
export interface CoverageResult {
  readonly plan: CoverageVnode[];
  readonly replies: unknown[];
}

/** What the coverage loop needs from its node. */
export interface CoverageLinks {
  /** The node's current ring. */
  readonly ring: () => Ring;
  /** Up nodes offering `service` (the node watcher's view). */
  readonly upNodes: (service: string) => readonly string[];
  /** Where requests go and replies come back (senders, routing, forwarding after handoff). */
  readonly vnodes: Pick<VnodeMaster, 'newSender' | 'release' | 'coverage'>;
}

/**
 * The coverage request loop of one node (riak: `riak_core_coverage_fsm`): plan over the up
 * primaries, send the request to every plan vnode with the key spaces it answers for, gather
 * one reply per vnode until all have answered, the deadline passes, or one fails.
 */
export class CoverageFsm {
  /** Where the next plan starts: a new offset per request spreads coverage work over the nodes. */
  private offset = 0;

  constructor(private readonly links: CoverageLinks) {}

  /**
   * Ask every vnode of a coverage plan (`coveragePlan` over the up primaries of `service` with
   * replication `opts.n`) and gather their answers. Each vnode's
   * `handleCoverage(request, keyspaces, sender)` answers for its key spaces only.
   * @returns the plan and one answer per plan vnode, in plan order.
   * @throws RingError `insufficient_vnodes` (synchronously, from the plan); RangeError for a
   *   bad `n`. The promise rejects with TimeoutError (after `timeoutMs`, default 5000) if a
   *   vnode does not answer, RemoteError if one fails.
   */
  run(service: string, request: unknown, opts: CoverageOptions = {}): Promise<CoverageResult> {
    const plan = coveragePlan(this.links.ring(), opts.n ?? 3, this.links.upNodes(service), this.offset++);
    const timeoutMs = opts.timeoutMs ?? DEFAULT_COVERAGE_TIMEOUT_MS;
    const vnodes = this.links.vnodes;
    return new Promise((resolve, reject) => {
      const replies = new Map<number, unknown>();
      const done = (err?: Error) => {
        clearTimeout(timer);
        vnodes.release(sender);
        if (err) reject(err);
        else resolve({ plan, replies: plan.map((v) => replies.get(v.partition)) });
      };
      const timer = setTimeout(
        () =>
          done(new TimeoutError(`coverage ${service} (${replies.size} of ${plan.length} vnodes answered)`, timeoutMs)),
        timeoutMs,
      );
      const sender = vnodes.newSender((reply) => {
        if (!reply.ok) return done(new RemoteError(reply.from.node, reply.error.name, reply.error.message));
        replies.set(reply.from.partition, reply.value);
        if (replies.size === plan.length) done();
      });
      for (const v of plan) vnodes.coverage(v, v.keyspaces, request, sender, service);
    });
  }
}
