/**
 * Ring gossip (`riak_core_gossip`): how every member comes to hold the same ring, with a number
 * of messages per change that grows like N (a tree), not N² (everyone to everyone).
 *
 * Every gossip frame has `t: 'ring'` (so a link filter that names ring frames sees all of them)
 * and a kind `k`:
 * - `push`: dissemination down a tree (riak: `recursive_gossip/2` over `build_tree(2, Members,
 *   [cycles])`). A node that makes a new version (a claimant decision, `down`, a takeover, a
 *   reconcile that merged divergent rings) is the root: members (sorted, rotated so the root is
 *   first) form a tree of fan-out `fanout` (default 2), and the root sends to its children. A
 *   member that receives a push and then holds that version forwards it to its own children, once
 *   per (version, root). Each member gets the version once: N−1 frames per change, depth
 *   ⌈log₂ N⌉. A child that is not connected (the send fails) or not up is covered: its children
 *   are sent to directly, and it is retried (below). A child known to hold the version (its own
 *   `seen` mark says so) is skipped, its children covered.
 * - `report`: a member that received a version tells the claimant it has seen it (a small *seen
 *   digest*, below), once per (version, claimant). That is how the claimant learns `ring_ready`
 *   (riak: the claimant learns `seen` by gossip) without every member broadcasting its `seen`
 *   change to everyone.
 * - `sync`: anti-entropy and direct sends, answered push-pull: every `periodMs` a member sends its
 *   ring to one random member (riak: the periodic `gossip_ring` to a random node) — only a seen
 *   digest when that member is known to hold our version already; a member whose ring is not
 *   ready also sends a digest to the claimant. The receiver answers with its ring when the
 *   sender's is older (riak gossips back too), with its digest when it is older itself or knows
 *   of more members that have seen the version, and reconciles otherwise.
 *
 * A *seen digest* (`cid`, `v`: a version, `at`: members that have seen exactly `v`) is what a
 * ring's `seen` table says about its current version, without the ring (a few hundred bytes
 * instead of a whole ring). Once every member has seen a version (the claimant's ring is
 * ready), the claimant pushes its digest down the tree, so every member's ring becomes ready too
 * (handoff stops forwarding on that, and `isSettled` needs it).
 *
 * Per version, then: N−1 pushes of the ring, N−1 reports, N−1 pushes of the digest, plus one
 * anti-entropy frame per member per `periodMs`. A ring is encoded once per burst of sends (the
 * frame carries it as msgpack bytes, `bin`, and every peer gets the same frame object).
 *
 * A send the transport could not make (no open link yet: a joiner the claimant has not dialled
 * yet) is retried, with the current ring, when the node comes up or after a short backoff, so a
 * joiner hears of the commit as soon as it is reachable.
 *
 * Rings of another lineage (`clusterId`) are ignored. Local changes are coalesced: at most one
 * round of own pushes and reports per `minIntervalMs`.
 */
import { Packr } from 'msgpackr';
import type { Frame } from './frame.js';
import { guard, type Logger } from './log.js';
import { isReady, memberStatus, members, reconcile, type Ring } from './ring.js';
import { ringProblem, type Refusals, type RingFrame } from './wire.js';
import type { RingManager } from './ring_manager.js';
import * as vc from './vclock.js';
import type { VClock } from './vclock.js';

/** Gossip timing, in ms, and the tree's fan-out. */
export interface GossipOptions {
  /** Minimum time between two rounds of own pushes and reports (default 20). */
  minIntervalMs?: number;
  /** Period of the random anti-entropy gossip (default 1000). */
  periodMs?: number;
  /** Children per member in the dissemination tree (default 2, as riak's `build_tree(2, …)`). */
  fanout?: number;
}

/** What gossip needs from its node. */
export interface GossipLinks {
  /** This node's name. */
  readonly self: string;
  readonly manager: RingManager;
  /** Send a frame to a peer. @returns false when the peer is not connected (nothing was sent). */
  send(node: string, frame: Frame): boolean;
  /** True while `node` is connected and heard from (riak: in `nodes()`). */
  isUp(node: string): boolean;
  log: Logger;
  /** Source of randomness for the anti-entropy target (default Math.random; 0 ≤ x < 1). */
  random?: () => number;
  /** Where refused rings are counted (the transport's); default: only logged. */
  refusals?: Refusals;
}

/** Counters of gossip frames, for status, tests and the bench. */
export interface GossipStats {
  /** Gossip frames received (every kind). */
  received: number;
  /** Gossip frames handed to the transport (every kind). */
  sent: number;
  /** Of `sent`: frames carrying a whole ring. */
  rings: number;
  /** Of `sent`: seen digests. */
  digests: number;
  /** Rings encoded (once per burst, whatever the number of peers). */
  encodes: number;
}

/** The kind of a gossip frame: see the module header. */
export type GossipKind = 'push' | 'report' | 'sync';

const packr = new Packr({ useRecords: false, moreTypes: false });
/** Remembered (version, root) pairs already forwarded: enough for the pushes in flight. */
const FORWARDED_MEMORY = 64;

/** The canonical text of a clock (map order does not matter). */
const canon = (c: VClock) =>
  Object.keys(c)
    .sort()
    .map((k) => `${k}:${c[k]}`)
    .join(',');

/** True if `ring` records that `node` has seen exactly its current version. */
const hasSeen = (ring: Ring, node: string) => {
  const s = ring.seen[node];
  return s !== undefined && vc.equal(s, ring.vclock);
};

/** Nodes that have seen exactly `ring`'s current version, sorted. */
export function seenAt(ring: Ring): string[] {
  return Object.keys(ring.seen)
    .filter((n) => hasSeen(ring, n))
    .sort();
}

/**
 * `ring` with `nodes` recorded as having seen version `v` (merged pointwise, as `reconcile`
 * merges seen tables). Returns `ring` itself when nothing changes.
 */
export function withSeen(ring: Ring, v: VClock, nodes: readonly string[]): Ring {
  let seen: Record<string, VClock> | undefined;
  for (const n of nodes) {
    const old = ring.seen[n];
    if (old !== undefined && vc.descends(old, v)) continue;
    seen ??= { ...ring.seen };
    seen[n] = vc.merge(old ?? {}, v);
  }
  return seen ? { ...ring, seen } : ring;
}

/**
 * The dissemination tree of a version pushed from `root`: `ring`'s members (and the root),
 * sorted, rotated so the root is first. Position i's children are positions
 * `fanout·i + 1 … fanout·i + fanout` (riak: `riak_core_util:build_tree/3`). Every member
 * computes the same tree from the same version.
 */
export function treeOrder(ring: Ring, root: string): string[] {
  const names = members(ring);
  if (!names.includes(root)) {
    names.push(root);
    names.sort();
  }
  const r = names.indexOf(root);
  return [...names.slice(r), ...names.slice(0, r)];
}

export class Gossip {
  private readonly self: string;
  private readonly manager: RingManager;
  private readonly minIntervalMs: number;
  private readonly periodMs: number;
  private readonly fanout: number;
  private readonly random: () => number;
  private lastFlush = 0;
  private scheduled?: NodeJS.Timeout;
  private periodic?: NodeJS.Timeout;
  private retryTimer?: NodeJS.Timeout;
  private retryRound = 0;
  /** The last version this node disseminated or received whole: not pushed again as root. */
  private handled?: VClock;
  /** `version|claimant` of the last report (or own push, which reaches the claimant too). */
  private reported = '';
  /** The version our ring was not ready at in the last anti-entropy round ('' if it was ready). */
  private unready = '';
  private stopped = false;
  /** Version whose readiness the claimant last pushed. */
  private readyPushed = '';
  /** `kind|version|root` of pushes already forwarded. */
  private readonly forwarded = new Set<string>();
  /** Members a send to could not be made (no open link): retried with the current ring. */
  private readonly pending = new Set<string>();
  /** The last ring encoded, and its bytes: rings are immutable, so the reference is the key. */
  private encoded?: { ring: Ring; bin: Buffer };
  private onRing?: () => void;
  readonly stats: GossipStats = { received: 0, sent: 0, rings: 0, digests: 0, encodes: 0 };

  constructor(
    private readonly links: GossipLinks,
    opts: GossipOptions = {},
  ) {
    this.self = links.self;
    this.manager = links.manager;
    this.minIntervalMs = opts.minIntervalMs ?? 20;
    this.periodMs = opts.periodMs ?? 1000;
    this.fanout = Math.max(1, Math.floor(opts.fanout ?? 2));
    this.random = links.random ?? Math.random;
  }

  /** Start periodic gossip and react to every ring change. The ring held now is not pushed. */
  start(): void {
    this.handled = this.manager.ring.vclock;
    this.onRing = () => this.changed();
    this.manager.on('ring', this.onRing);
    this.schedulePeriodic();
  }

  /** The next anti-entropy round, `periodMs` × [0.5, 1.5) from now: jitter keeps members out of step. */
  private schedulePeriodic(): void {
    this.periodic = setTimeout(
      () => {
        if (this.stopped) return;
        guard(this.links.log, 'anti-entropy', () => this.antiEntropy())();
        this.schedulePeriodic();
      },
      this.periodMs * (0.5 + this.random()),
    );
    this.periodic.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.onRing) this.manager.off('ring', this.onRing);
    clearTimeout(this.periodic);
    this.periodic = undefined;
    clearTimeout(this.scheduled);
    clearTimeout(this.retryTimer);
    this.scheduled = undefined;
    this.retryTimer = undefined;
    this.pending.clear();
  }

  /**
   * Install a ring this node got whole from the cluster outside gossip (the answer to a join
   * request): its origin disseminates it, so it is not pushed again from here.
   */
  adopt(ring: Ring): void {
    this.handled = ring.vclock;
    this.manager.set(ring);
  }

  /**
   * Send our ring (or `ring`) to one node directly: a member the claimant just removed (gossip
   * no longer reaches it), or the claimant told by a node that left.
   * @returns false if the node is not connected.
   */
  sendRing(node: string, kind: GossipKind = 'sync', ring: Ring = this.manager.ring): boolean {
    return this.sendFrame(node, this.ringFrame(ring, kind));
  }

  /** Our ring changed: push, report or announce readiness soon, at most once per `minIntervalMs`. */
  changed(): void {
    if (this.scheduled) return;
    const wait = Math.max(0, this.lastFlush + this.minIntervalMs - Date.now());
    this.scheduled = setTimeout(
      guard(this.links.log, 'gossip', () => {
        this.scheduled = undefined;
        this.flush();
      }),
      wait,
    );
    this.scheduled.unref();
  }

  /** A peer came up: if a send to it failed, send it our ring now. */
  peerUp(node: string): void {
    if (this.pending.has(node)) this.retryPending();
  }

  private flush(): void {
    this.lastFlush = Date.now();
    const ring = this.manager.ring;
    const key = `${canon(ring.vclock)}|${ring.claimant}`;
    if (!this.handled || !vc.equal(this.handled, ring.vclock)) {
      // A version made here (or merged here): this node is the root of its tree.
      this.handled = ring.vclock;
      this.reported = key; // the claimant is in the tree
      this.pushDown(ring, this.self, () => this.ringFrame(ring, 'push', this.self), true);
    } else if (this.reported !== key && ring.claimant !== this.self && memberStatus(ring, this.self) !== 'invalid') {
      this.reported = key;
      if (!this.sendFrame(ring.claimant, this.digestFrame(ring, 'report'))) this.addPending(ring.claimant);
    }
    if (ring.claimant === this.self && isReady(ring)) this.announceReady(ring);
  }

  /** The claimant's ring is ready: tell every member, down the tree, who has seen this version. */
  private announceReady(ring: Ring): void {
    const v = canon(ring.vclock);
    if (this.readyPushed === v) return;
    this.readyPushed = v;
    this.pushDown(ring, this.self, () => this.digestFrame(ring, 'push', this.self), false);
  }

  /**
   * Send `frame` to our children in the tree of `ring`'s version rooted at `root`, covering the
   * children of any child that is skipped (known to hold the version, when `skipHolders`), not
   * connected, or not up.
   */
  private pushDown(ring: Ring, root: string, makeFrame: () => Frame, skipHolders: boolean): void {
    const order = treeOrder(ring, root);
    const from = order.indexOf(this.self);
    if (from < 0) return;
    let frame: Frame | undefined; // made once, on the first send: one encoding per burst
    const visit = (pos: number) => {
      const first = this.fanout * pos + 1;
      for (let i = first; i < first + this.fanout && i < order.length; i++) {
        const child = order[i] as string;
        if (skipHolders && hasSeen(ring, child)) {
          visit(i);
          continue;
        }
        frame ??= makeFrame();
        const sent = this.sendFrame(child, frame);
        if (!sent) this.addPending(child);
        if (!sent || !this.links.isUp(child)) visit(i);
      }
    };
    visit(from);
  }

  /**
   * Anti-entropy: one random member; and the claimant when our ring has not been ready for a
   * whole round at the same version (a report or the claimant's announcement was lost).
   */
  private antiEntropy(): void {
    const ring = this.manager.ring;
    const others = members(ring).filter((n) => n !== this.self);
    const unready = isReady(ring) ? '' : canon(ring.vclock);
    const stuck = unready !== '' && unready === this.unready;
    this.unready = unready;
    if (others.length === 0) return;
    const target = others[Math.floor(this.random() * others.length)] as string;
    this.sendFrame(target, hasSeen(ring, target) ? this.digestFrame(ring, 'sync') : this.ringFrame(ring, 'sync'));
    const claimant = ring.claimant;
    if (stuck && claimant !== this.self && claimant !== target && others.includes(claimant))
      this.sendFrame(claimant, this.digestFrame(ring, 'sync'));
  }

  private addPending(node: string): void {
    if (node === this.self) return;
    this.pending.add(node);
    this.retryRound = 0;
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.pending.size === 0) return;
    clearTimeout(this.retryTimer);
    // Backoff from minIntervalMs, doubling, up to periodMs; a node coming up retries at once.
    const delay = Math.min(this.periodMs, Math.max(1, this.minIntervalMs) * 2 ** this.retryRound);
    this.retryRound++;
    this.retryTimer = setTimeout(
      guard(this.links.log, 'gossip retry', () => {
        this.retryTimer = undefined;
        this.retryPending();
      }),
      delay,
    );
    this.retryTimer.unref();
  }

  /** Send the current ring to every member a send to failed; forget those that got it or left. */
  private retryPending(): void {
    const ring = this.manager.ring;
    const current = new Set(members(ring));
    for (const node of [...this.pending]) {
      if (!current.has(node) || hasSeen(ring, node) || this.sendRing(node)) this.pending.delete(node);
    }
    if (this.pending.size > 0 && !this.retryTimer) this.scheduleRetry();
  }

  private ringFrame(ring: Ring, kind: GossipKind, root?: string): Frame {
    if (this.encoded?.ring !== ring) {
      this.encoded = { ring, bin: packr.pack(ring) };
      this.stats.encodes++;
    }
    return root === undefined
      ? { t: 'ring', k: kind, bin: this.encoded.bin }
      : { t: 'ring', k: kind, root, bin: this.encoded.bin };
  }

  private digestFrame(ring: Ring, kind: GossipKind, root?: string): Frame {
    const frame = { t: 'ring', k: kind, cid: ring.clusterId, v: ring.vclock, at: seenAt(ring) };
    return root === undefined ? frame : { ...frame, root };
  }

  private sendFrame(node: string, frame: Frame): boolean {
    if (!this.links.send(node, frame)) return false;
    this.stats.sent++;
    if ('at' in frame) this.stats.digests++;
    else this.stats.rings++;
    return true;
  }

  /**
   * Handle a `ring` frame (any kind; its fields were checked by the transport against wire.ts
   * `RingFrame`). A whole ring is adopted only if it fits the ring schema and its invariants
   * (wire.ts `ringProblem`) and has our ring size; else it is refused, counted, and not passed
   * on. @returns true if the frame was ours.
   */
  handleFrame(from: string, frame: Frame): boolean {
    if (frame.t !== 'ring') return false;
    this.stats.received++;
    const f = frame as RingFrame;
    const kind: GossipKind = f.k ?? 'sync';
    if (f.bin !== undefined) {
      let theirs: unknown;
      try {
        theirs = packr.unpack(f.bin);
      } catch (err) {
        return this.refuse(from, `ring bytes do not decode: ${(err as Error).message}`);
      }
      const why = ringProblem(theirs);
      if (why !== undefined) return this.refuse(from, why);
      const ring = theirs as Ring;
      if (ring.clusterId !== this.manager.ring.clusterId) {
        this.links.log.debug(`ignoring ring of another cluster from ${from}`);
        return true;
      }
      if (ring.ringSize !== this.manager.ring.ringSize)
        return this.refuse(from, `ring size ${ring.ringSize}, ours is ${this.manager.ring.ringSize}`);
      this.receiveRing(from, ring, kind, f.root);
    } else if (f.cid !== undefined && f.v !== undefined && f.at !== undefined) {
      this.receiveDigest(from, { cid: f.cid, v: f.v, at: f.at }, kind, f.root);
    } else {
      this.refuse(from, 'neither a ring nor a seen digest');
    }
    return true;
  }

  private refuse(from: string, why: string): true {
    if (this.links.refusals) this.links.refusals.refuse('ring', from, why);
    else this.links.log.warn(`refused a ring from ${from}: ${why}`);
    return true;
  }

  private receiveRing(from: string, theirs: Ring, kind: GossipKind, root: string | undefined): void {
    const mine = this.manager.ring;
    if (theirs.clusterId !== mine.clusterId) {
      this.links.log.debug(`ignoring ring of another cluster from ${from}`);
      return;
    }
    const { ring, changed } = reconcile(mine, theirs, this.self);
    if (changed) this.manager.set(ring);
    const now = this.manager.ring;
    const holds = vc.equal(now.vclock, theirs.vclock);
    // Whole from a peer: its origin disseminates it (a merge made here is pushed by flush).
    if (holds) this.handled = now.vclock;
    if (kind === 'push' && root !== undefined && holds) {
      const key = `r|${canon(now.vclock)}|${root}`;
      if (this.remember(key)) this.pushDown(now, root, () => this.ringFrame(now, 'push', root), true);
    } else if (kind === 'sync') {
      const ahead = vc.descends(mine.vclock, theirs.vclock) && !vc.equal(mine.vclock, theirs.vclock);
      if (ahead) this.sendRing(from);
      else if (holds && seenAt(now).length > seenAt(theirs).length) this.sendFrame(from, this.digestFrame(now, 'sync'));
    }
  }

  private receiveDigest(from: string, d: Digest, kind: GossipKind, root: string | undefined): void {
    const mine = this.manager.ring;
    if (d.cid !== mine.clusterId) return;
    if (!vc.equal(mine.vclock, d.v)) {
      if (kind !== 'sync') return; // a push or report of another version: the tree of the newer one covers it
      // They are older, or diverged: our ring. We are older: our digest, so they send theirs.
      if (vc.descends(d.v, mine.vclock)) this.sendFrame(from, this.digestFrame(mine, 'sync'));
      else this.sendRing(from);
      return;
    }
    const wasReady = isReady(mine);
    this.manager.set(withSeen(mine, d.v, d.at));
    const now = this.manager.ring;
    if (kind === 'push' && root !== undefined && vc.equal(now.vclock, d.v)) {
      const key = `d|${canon(now.vclock)}|${root}`;
      if (this.remember(key)) this.pushDown(now, root, () => this.digestFrame(now, 'push', root), false);
    }
    // A sync, or a report reaching a claimant that was ready already (the reporter missed the
    // announcement): answer with what we know, if it is more.
    const answer = kind === 'sync' || (kind === 'report' && wasReady);
    if (answer && vc.equal(now.vclock, d.v) && seenAt(now).length > new Set(d.at).size)
      this.sendFrame(from, this.digestFrame(now, 'sync'));
  }

  /** Remember a forwarded push. @returns false if it was forwarded before. */
  private remember(key: string): boolean {
    if (this.forwarded.has(key)) return false;
    this.forwarded.add(key);
    if (this.forwarded.size > FORWARDED_MEMORY) this.forwarded.delete(this.forwarded.values().next().value as string);
    return true;
  }
}

/** A seen digest as it arrives: version `v` of lineage `cid` has been seen by `at`. */
interface Digest {
  readonly cid: string;
  readonly v: VClock;
  readonly at: readonly string[];
}
