/**
 * Ring gossip (`riak_core_gossip`): how every member comes to hold the same ring.
 *
 * - After every local change the ring goes to every other member, at most once per
 *   `minIntervalMs` (changes in between are coalesced into the next send): bounded rate.
 * - Every `periodMs` it also goes to one random member, which repairs anything lost.
 * - A received ring is reconciled with ours (see `reconcile` in ring.ts); if that changed
 *   ours, we pass it on. If the sender's ring is older than ours, we send ours back.
 * - Rings of another lineage (`clusterId`) are ignored.
 */
import type { Logger } from './log.js';
import { looksLikeRing, members, reconcile, type Ring } from './ring.js';
import type { RingManager } from './ring_manager.js';
import type { Frame } from './frame.js';
import * as vc from './vclock.js';

/** Gossip timing, in ms. */
export interface GossipOptions {
  /** Minimum time between two broadcasts (default 20). */
  minIntervalMs?: number;
  /** Period of the random anti-entropy gossip (default 1000). */
  periodMs?: number;
}

export class Gossip {
  private readonly minIntervalMs: number;
  private readonly periodMs: number;
  private lastBroadcast = 0;
  private scheduled?: NodeJS.Timeout;
  private periodic?: NodeJS.Timeout;
  /** Rings received and sent, for status and tests. */
  readonly stats = { received: 0, sent: 0 };

  constructor(
    private readonly self: string,
    private readonly manager: RingManager,
    private readonly send: (node: string, frame: Frame) => boolean,
    private readonly log: Logger,
    opts: GossipOptions = {},
    private readonly random: () => number = Math.random,
  ) {
    this.minIntervalMs = opts.minIntervalMs ?? 20;
    this.periodMs = opts.periodMs ?? 1000;
  }

  /** Start periodic gossip and broadcast on every ring change. */
  start(): void {
    this.manager.on('ring', () => this.changed());
    this.periodic = setInterval(() => this.gossipToRandom(), this.periodMs);
    this.periodic.unref();
  }

  stop(): void {
    clearInterval(this.periodic);
    clearTimeout(this.scheduled);
    this.scheduled = undefined;
  }

  /** Our ring changed: send it to everyone soon, respecting the rate bound. */
  changed(): void {
    if (this.scheduled) return;
    const wait = Math.max(0, this.lastBroadcast + this.minIntervalMs - Date.now());
    this.scheduled = setTimeout(() => {
      this.scheduled = undefined;
      this.broadcast();
    }, wait);
    this.scheduled.unref();
  }

  /** Other members we gossip with: all but ourselves and removed members. */
  private targets(ring: Ring): string[] {
    return members(ring).filter((n) => n !== this.self);
  }

  private broadcast(): void {
    this.lastBroadcast = Date.now();
    const ring = this.manager.ring;
    for (const node of this.targets(ring)) this.sendRing(node, ring);
  }

  private gossipToRandom(): void {
    const targets = this.targets(this.manager.ring);
    if (targets.length === 0) return;
    this.sendRing(targets[Math.floor(this.random() * targets.length)] as string, this.manager.ring);
  }

  private sendRing(node: string, ring: Ring): void {
    if (this.send(node, { t: 'ring', ring })) this.stats.sent++;
  }

  /** Handle a `ring` frame. @returns true if the frame was ours. */
  handleFrame(from: string, frame: Frame): boolean {
    if (frame.t !== 'ring') return false;
    const theirs = frame.ring;
    if (!looksLikeRing(theirs)) {
      this.log.warn(`ignoring malformed ring from ${from}`);
      return true;
    }
    this.stats.received++;
    const mine = this.manager.ring;
    if (theirs.clusterId !== mine.clusterId) {
      this.log.debug(`ignoring ring of another cluster from ${from}`);
      return true;
    }
    const { ring, changed } = reconcile(mine, theirs, this.self);
    if (changed) this.manager.set(ring);
    // The sender is behind us: bring it up to date (riak gossips back in this case too).
    if (vc.descends(mine.vclock, theirs.vclock) && !vc.equal(mine.vclock, theirs.vclock))
      this.sendRing(from, this.manager.ring);
    return true;
  }
}
