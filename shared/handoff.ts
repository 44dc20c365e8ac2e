/**
 * Handoff (`riak_core_handoff_manager`, `_sender`, `_receiver`): moving a partition's data to
 * the node that should hold it, while the vnode keeps serving.
 *
 * Two kinds, as in riak:
 * - **ownership**: the ring's `next` says partition P moves from us to another node (a join,
 *   a leave). When every service has handed P off, we tell the claimant, which switches the
 *   owner; until every member has seen that switch we forward P's requests to the new owner.
 * - **hinted**: we hold a *fallback* vnode for P (we stood in while P's owner was down) and
 *   the owner is reachable again. After the transfer the fallback vnode is deleted.
 *
 * When: checked every `tickMs` and after every ring change. A vnode hands off once it has
 * been idle for `inactivityMs` (riak's vnode inactivity timeout), or after waiting
 * `maxWaitMs` regardless, so a busy vnode cannot postpone it forever (riak's hinted handoff
 * could stall without a periodic trigger).
 *
 * How (per service and partition):
 * 1. `isEmpty()`: nothing to send → straight to step 6.
 * 2. Open the transfer on the target (`handoff.open`): the target takes one of its
 *    `concurrency` slots or refuses with `max_concurrency` (see below).
 * 3. `handoffStarting(target)`; from now on commands go to `handleHandoffCommand`, which may
 *    `forward()` them to the target (so writes made during the transfer are not lost).
 * 4. The fold request collects `encodeHandoffItem(key, value)` for every item.
 * 5. Items go to the target in batches over RPC (`handoff.data`), up to `batchWindow` of them
 *    in flight; each batch is acknowledged after the target's vnode applied it with
 *    `handleHandoffData` (which must be idempotent: a retried transfer sends everything
 *    again). After the last ack, `handoff.close` frees the target's slot.
 * 6. `handoffFinished(target)`, then `delete()`.
 * A failure (target down, timeout, error) calls `handoffCancelled()`, closes the target's
 * slot (best effort), keeps the data serving here, and retries after `retryMs`.
 *
 * Concurrency (riak's `handoff_concurrency`, default 2): a node takes part in at most
 * `concurrency` transfers at once, *inbound and outbound together*, as riak's
 * `riak_core_handoff_manager` counts its sender and receiver processes together. A node does
 * not start a transfer when its own transfers in + out have reached the limit; a target that
 * has reached it refuses `handoff.open` with RingError `max_concurrency` (riak: the manager
 * answers `{error, max_concurrency}` to `add_inbound`). A refusal is not a failure: it is
 * logged at debug, counted in `stats.refused` (not `stats.failed`), and the transfers to that
 * target wait a short, jittered delay (`refusedRetryMs` × 0.5–1.5, with a tick at its end;
 * jitter so that two nodes refusing each other do not retry in lockstep forever). The target
 * forgets a slot on `handoff.close`, or when its sender has sent no batch for longer than the
 * sender's batch timeout (a killed sender must not hold a slot forever); a batch arriving for
 * a slot it forgot re-takes one if there is room, or is refused with `max_concurrency` like
 * an open.
 */
import { RingError, ringErrorCode } from './errors.js';
import { isReady, type Ring } from './ring.js';
import { guard, type Logger } from './log.js';
import type { Rpc } from './rpc.js';
import { isFoldRequest, type FoldRequest, type Vnode } from './vnode.js';
import type { VnodeMaster } from './vnode_master.js';
import { Type } from '@sinclair/typebox';
import { MAX_NAME_CHARS, MAX_RING_SIZE } from './wire.js';

/** `{service, partition}`: which vnode a handoff RPC is about. */
const HandoffTarget = Type.Object({
  service: Type.String({ minLength: 1, maxLength: MAX_NAME_CHARS }),
  partition: Type.Integer({ minimum: 0, maximum: MAX_RING_SIZE - 1 }),
});
/** `handoff.open`: the target and the sender's batch timeout (ms). */
const HandoffOpenArgs = Type.Composite([
  HandoffTarget,
  Type.Object({ timeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 600_000 })) }),
]);
/** `handoff.data`: a batch of encoded items (each the vnode's `encodeHandoffItem`, checked by its `handleHandoffData`). */
const HandoffDataArgs = Type.Composite([
  HandoffTarget,
  Type.Object({ items: Type.Array(Type.Uint8Array(), { maxItems: 100_000 }) }),
]);

/** Handoff tuning. Times in ms, sizes in bytes. */
export interface HandoffOptions {
  /** Period of the handoff tick (default 200). */
  tickMs?: number;
  /** A vnode idle this long may hand off (default 1000). */
  inactivityMs?: number;
  /** A vnode hands off after waiting this long even if busy (default 5 × inactivityMs). */
  maxWaitMs?: number;
  /** Retry a failed transfer after this long (default 1000). */
  retryMs?: number;
  /**
   * Ask a target that refused a transfer (`max_concurrency`) again after about this long,
   * times a random factor in [0.5, 1.5) (default tickMs / 4, at least 1).
   */
  refusedRetryMs?: number;
  /**
   * Transfers this node takes part in at once, inbound and outbound together (default 2, as
   * riak's `handoff_concurrency`). Also the number of inbound slots a target grants.
   */
  concurrency?: number;
  /** Items per batch (default 500). */
  batchItems?: number;
  /** Bytes per batch, roughly (default 256 KiB). */
  batchBytes?: number;
  /**
   * Batches of one transfer in flight at once, each acknowledged after the target applied it
   * (default 4; 1 waits for each ack before sending the next). Bounds a transfer's data in
   * flight to `batchWindow` × `batchBytes`.
   */
  batchWindow?: number;
  /**
   * Deadline for one batch's acknowledgement, and for `handoff.open`/`handoff.close`
   * (default 5000). The target frees the slot of a sender silent for longer than this.
   */
  batchTimeoutMs?: number;
  /** How often a running transfer logs its progress (default 1000). */
  progressEveryMs?: number;
}

/** What the handoff manager needs from its node. */
export interface HandoffLinks {
  readonly node: string;
  ring(): Ring;
  readonly vnodes: VnodeMaster;
  readonly rpc: Rpc;
  /** True when `node` is up and runs `service`. */
  isUp(node: string, service: string): boolean;
  /** Tell the claimant that every service handed `partition` off to `nextOwner`. */
  transferComplete(partition: number, nextOwner: string, services: readonly string[]): Promise<void>;
  log: Logger;
  /** Source of randomness for the jitter of refused transfers (default Math.random; 0 ≤ x < 1). */
  random?: () => number;
}

/** A transfer that is running, for status displays and tests. */
export interface ActiveTransfer {
  readonly kind: 'ownership' | 'hinted';
  readonly service: string;
  readonly partition: number;
  readonly target: string;
  readonly startedAt: number;
  items: number;
  sentItems: number;
  sentBytes: number;
}

/**
 * A transfer arriving at this node (it holds one of our `concurrency` slots), for status
 * displays and tests (riak: a `riak_core_handoff_receiver`). Times are `Date.now()` ms.
 */
export interface InboundTransfer {
  readonly service: string;
  readonly partition: number;
  /** The sending node. */
  readonly source: string;
  readonly startedAt: number;
  /** When the last batch arrived or was applied (or the transfer was opened). */
  lastBatchAt: number;
  /** The slot is freed if the sender stays silent longer than this (ms; its batch timeout). */
  readonly silenceMs: number;
  /** Items and bytes applied so far. */
  items: number;
  bytes: number;
}

/** Counters of what this node's handoff manager did. */
export interface HandoffStats {
  completed: number;
  /** Transfers out that failed (target down, timeout, error); a refusal is not a failure. */
  failed: number;
  /** Transfers out the target refused for now with `max_concurrency` (retried soon). */
  refused: number;
  /** Transfers in this node refused with `max_concurrency`. */
  refusedInbound: number;
  itemsSent: number;
  bytesSent: number;
  itemsReceived: number;
  /** Message of the most recent failure, if any. */
  lastError?: string;
}

const key = (service: string, partition: number) => `${service}/${partition}`;
const inboundKey = (source: string, service: string, partition: number) => `${source}|${service}/${partition}`;
/** True if `err` is a target's refusal for now (riak: `{error, max_concurrency}`). */
const isRefusal = (err: unknown) => ringErrorCode(err) === 'max_concurrency';

export class HandoffManager {
  private readonly opts: Required<HandoffOptions>;
  private timer?: NodeJS.Timeout;
  private readonly active = new Map<string, ActiveTransfer>();
  /** Transfers arriving here, by source|service/partition: the slots we granted. */
  private readonly inbound = new Map<string, InboundTransfer>();
  /** Batches being applied per inbound slot (a slot is never expired while one runs). */
  private readonly applying = new Map<string, number>();
  /** target → `Date.now()` before which no transfer to it starts (it refused one). */
  private readonly refusedUntil = new Map<string, number>();
  /** One-shot tick at the earliest `refusedUntil`, so a refused transfer need not wait for the periodic tick. */
  private wakeTimer?: NodeJS.Timeout;
  private wakeAt = 0;
  /** service/partition → node that now holds the data (ownership handoff done, ring not yet switched everywhere). */
  private readonly forwarding = new Map<string, string>();
  /** partition>target → services that finished an ownership handoff of it. */
  private readonly ownershipDone = new Map<string, Set<string>>();
  private readonly reported = new Set<string>();
  private readonly retryAt = new Map<string, number>();
  private readonly waitingSince = new Map<string, number>();
  private readonly warned = new Set<string>();
  private stopped = false;
  readonly stats: HandoffStats = {
    completed: 0,
    failed: 0,
    refused: 0,
    refusedInbound: 0,
    itemsSent: 0,
    bytesSent: 0,
    itemsReceived: 0,
  };

  constructor(
    private readonly links: HandoffLinks,
    opts: HandoffOptions = {},
  ) {
    const inactivityMs = opts.inactivityMs ?? 1000;
    this.opts = {
      tickMs: opts.tickMs ?? 200,
      inactivityMs,
      maxWaitMs: opts.maxWaitMs ?? 5 * inactivityMs,
      retryMs: opts.retryMs ?? 1000,
      refusedRetryMs: Math.max(1, opts.refusedRetryMs ?? (opts.tickMs ?? 200) / 4),
      concurrency: opts.concurrency ?? 2,
      batchItems: opts.batchItems ?? 500,
      batchBytes: opts.batchBytes ?? 256 * 1024,
      batchWindow: Math.max(1, Math.floor(opts.batchWindow ?? 4)),
      batchTimeoutMs: opts.batchTimeoutMs ?? 5000,
      progressEveryMs: opts.progressEveryMs ?? 1000,
    };
    // The receiving side (riak: handoff_receiver). Open: take a slot or refuse.
    links.rpc.handle(
      'handoff.open',
      ({ service, partition, timeoutMs }, from) => {
        this.checkTarget(service, partition);
        this.admit(from, service, partition, timeoutMs ?? this.opts.batchTimeoutMs);
        return true;
      },
      { args: HandoffOpenArgs },
    );
    // A batch: apply it in the target vnode, in order with its commands.
    links.rpc.handle(
      'handoff.data',
      async ({ service, partition, items }, from) => {
        this.checkTarget(service, partition);
        const slot = this.admit(from, service, partition, undefined);
        const k = inboundKey(from, service, partition);
        this.applying.set(k, (this.applying.get(k) ?? 0) + 1);
        try {
          await links.vnodes.vnode(service, partition).run(async (v) => {
            if (!v.handleHandoffData)
              throw new Error(`service ${service} cannot receive handoff data (no handleHandoffData)`);
            for (const item of items) await v.handleHandoffData(item);
          });
        } finally {
          const n = (this.applying.get(k) ?? 1) - 1;
          if (n > 0) this.applying.set(k, n);
          else this.applying.delete(k);
          slot.lastBatchAt = Date.now();
        }
        slot.items += items.length;
        slot.bytes += items.reduce((n, b) => n + (b?.byteLength ?? 0), 0);
        this.stats.itemsReceived += items.length;
        return items.length;
      },
      { args: HandoffDataArgs },
    );
    // Close: the sender is done (or gave up); free the slot.
    links.rpc.handle(
      'handoff.close',
      ({ service, partition }, from) => {
        const released = this.inbound.delete(inboundKey(from, service, partition));
        if (released) this.tick(); // a slot is free: maybe one of our own transfers can start
        return released;
      },
      { args: HandoffTarget },
    );
  }

  /**
   * The inbound slot of `source`'s transfer of `service`/`partition`: the existing one
   * (a re-open after a retry takes no second slot), or a new one if this node's transfers in
   * and out are below `concurrency` (riak: `riak_core_handoff_manager:add_inbound/1`).
   * `silenceMs` undefined: keep the slot's own (a batch re-taking a forgotten slot uses ours).
   * @throws RingError `max_concurrency` when the limit is reached.
   */
  /** @throws RingError `bad_request` for a service this node does not run, or a partition outside the ring. */
  private checkTarget(service: string, partition: number): void {
    if (!this.links.vnodes.services().includes(service))
      throw new RingError('bad_request', `no vnode service "${service}" here`);
    const q = this.links.ring().ringSize;
    if (partition >= q) throw new RingError('bad_request', `partition ${partition} in a ring of ${q}`);
  }

  private admit(source: string, service: string, partition: number, silenceMs: number | undefined): InboundTransfer {
    const k = inboundKey(source, service, partition);
    const now = Date.now();
    this.expireInbound(now);
    const existing = this.inbound.get(k);
    if (existing) {
      existing.lastBatchAt = now;
      return existing;
    }
    if (this.stopped || this.active.size + this.inbound.size >= this.opts.concurrency) {
      this.stats.refusedInbound++;
      throw new RingError(
        'max_concurrency',
        `${this.links.node} is at its handoff limit (${this.active.size} out + ${this.inbound.size} in of ${this.opts.concurrency}); ${source} should retry ${service} partition ${partition} later`,
      );
    }
    const slot: InboundTransfer = {
      service,
      partition,
      source,
      startedAt: now,
      lastBatchAt: now,
      silenceMs: silenceMs ?? this.opts.batchTimeoutMs,
      items: 0,
      bytes: 0,
    };
    this.inbound.set(k, slot);
    return slot;
  }

  /** Forget inbound slots whose sender has been silent longer than its batch timeout (it died or gave up). */
  private expireInbound(now: number): void {
    for (const [k, slot] of this.inbound) {
      if (this.applying.has(k) || now - slot.lastBatchAt <= slot.silenceMs) continue;
      this.inbound.delete(k);
      this.links.log.info(
        `handoff of ${slot.service} partition ${slot.partition} from ${slot.source}: no batch for ${now - slot.lastBatchAt} ms; freeing its slot`,
      );
    }
  }

  start(): void {
    this.timer = setInterval(
      guard(this.links.log, 'handoff tick', () => this.tick()),
      this.opts.tickMs,
    );
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.wakeTimer);
  }

  /** Tick at `at` (a `Date.now()` time) unless an earlier wake-up is already set. */
  private wakeUpAt(at: number): void {
    if (this.stopped || (this.wakeTimer && this.wakeAt <= at)) return;
    clearTimeout(this.wakeTimer);
    this.wakeAt = at;
    this.wakeTimer = setTimeout(
      guard(this.links.log, 'handoff tick', () => {
        this.wakeTimer = undefined;
        this.tick();
      }),
      Math.max(0, at - Date.now()) + 1,
    ); // +1: a timer may fire a little before Date.now() reaches `at`
    this.wakeTimer.unref();
  }

  /** Forget all forwarding and bookkeeping: the node left its cluster and starts over. */
  reset(): void {
    this.forwarding.clear();
    this.ownershipDone.clear();
    this.reported.clear();
    this.retryAt.clear();
    this.waitingSince.clear();
    this.refusedUntil.clear();
    this.inbound.clear();
  }

  /** Transfers leaving this node right now. */
  running(): ActiveTransfer[] {
    return [...this.active.values()];
  }

  /**
   * Transfers arriving at this node right now: the inbound slots granted by `handoff.open`
   * and not yet closed or expired. `receiving().length + running().length` never exceeds
   * `concurrency` because of this node's own decisions.
   */
  receiving(): InboundTransfer[] {
    this.expireInbound(Date.now());
    return [...this.inbound.values()];
  }

  /**
   * Where requests for `service`'s `partition` must go instead of the local vnode: set after
   * an ownership handoff finished, until every member has seen the new owner (riak: the
   * vnode's forwarding state).
   */
  forwardTo(service: string, partition: number): string | undefined {
    return this.forwarding.get(key(service, partition));
  }

  /** The ring changed: drop forwarding that is no longer needed, look for work. */
  ringChanged(ring: Ring): void {
    for (const [k, target] of this.forwarding) {
      const partition = Number(k.slice(k.indexOf('/') + 1));
      const moved = ring.owners[partition] === target && isReady(ring);
      const abandoned =
        ring.owners[partition] !== target &&
        !ring.next.some((t) => t.partition === partition && t.nextOwner === target);
      if (moved || abandoned) {
        this.forwarding.delete(k);
        this.links.vnodes.forget(k.slice(0, k.indexOf('/')), partition);
      }
    }
    this.tick();
  }

  /**
   * Look for transfers to make and start them, while this node's transfers in and out are
   * below the concurrency limit; skip targets that refused one a moment ago. Safe at any time.
   */
  tick(): void {
    if (this.stopped) return;
    const now = Date.now();
    this.expireInbound(now);
    for (const job of this.candidates()) {
      if (this.active.size + this.inbound.size >= this.opts.concurrency) break;
      const k = key(job.service, job.partition);
      if (this.active.has(k) || (this.retryAt.get(k) ?? 0) > now || (this.refusedUntil.get(job.target) ?? 0) > now)
        continue;
      const worker = this.links.vnodes.vnode(job.service, job.partition);
      const since = this.waitingSince.get(k) ?? now;
      this.waitingSince.set(k, since);
      const idle = worker.pending === 0 && now - worker.lastActive >= this.opts.inactivityMs;
      if (!idle && now - since < this.opts.maxWaitMs) continue;
      this.waitingSince.delete(k);
      void this.transfer(job.kind, job.service, job.partition, job.target);
    }
    void this.reportOwnership();
  }

  /** Work this node should do, as (kind, service, partition, target). */
  private candidates(): { kind: 'ownership' | 'hinted'; service: string; partition: number; target: string }[] {
    const { node, vnodes } = this.links;
    const ring = this.links.ring();
    const out: { kind: 'ownership' | 'hinted'; service: string; partition: number; target: string }[] = [];
    for (const t of ring.next) {
      if (t.owner !== node || t.status !== 'awaiting') continue;
      const done = this.ownershipDone.get(`${t.partition}>${t.nextOwner}`);
      for (const service of vnodes.services()) {
        if (done?.has(service) || this.forwarding.has(key(service, t.partition))) continue;
        if (this.links.isUp(t.nextOwner, service))
          out.push({ kind: 'ownership', service, partition: t.partition, target: t.nextOwner });
      }
    }
    for (const service of vnodes.services()) {
      for (const w of vnodes.running(service)) {
        const p = w.id.partition;
        const owner = ring.owners[p];
        if (owner === undefined || owner === node || this.forwarding.has(key(service, p))) continue;
        // Ours soon (a transfer to us is pending), or ours to move by ownership handoff: not a fallback.
        if (ring.next.some((t) => t.partition === p && (t.nextOwner === node || t.owner === node))) continue;
        if (this.links.isUp(owner, service)) out.push({ kind: 'hinted', service, partition: p, target: owner });
      }
    }
    return out;
  }

  /**
   * Run one transfer; on failure cancel, keep the data and schedule a retry. A refusal by the
   * target (`max_concurrency`) is not a failure: transfers to it wait a short jittered delay.
   */
  private async transfer(
    kind: 'ownership' | 'hinted',
    service: string,
    partition: number,
    target: string,
  ): Promise<void> {
    const { vnodes, log, rpc } = this.links;
    const k = key(service, partition);
    const job: ActiveTransfer = {
      kind,
      service,
      partition,
      target,
      startedAt: Date.now(),
      items: 0,
      sentItems: 0,
      sentBytes: 0,
    };
    this.active.set(k, job);
    const worker = vnodes.vnode(service, partition);
    const timeoutMs = this.opts.batchTimeoutMs;
    let started = false;
    let opened = false;
    try {
      const empty = await worker.run((v) => (v.isEmpty ? v.isEmpty() : true));
      if (!empty) {
        await rpc.call(target, 'handoff.open', { service, partition, timeoutMs }, timeoutMs);
        opened = true;
        if (!(await worker.run((v) => v.handoffStarting?.(target) ?? true)))
          throw new Error('the vnode refused to start handing off (handoffStarting returned false)');
        const items = await this.fold(worker.run.bind(worker), service, partition, () => {
          worker.handoffTarget = target; // set inside the vnode's turn, just before the fold
          started = true;
        });
        job.items = items.length;
        log.info(
          `handoff (${kind}) of ${service} partition ${partition} to ${target}: starting, ${items.length} items`,
        );
        await this.sendBatches(job, items);
        // Every batch is acknowledged: the transfer is done whether or not the close arrives
        // (the target frees a silent sender's slot by itself).
        opened = false;
        await rpc.call(target, 'handoff.close', { service, partition }, timeoutMs).catch((err: unknown) => {
          log.debug(
            `handoff of ${service} partition ${partition}: could not close the transfer on ${target}: ${(err as Error).message}`,
          );
        });
        await worker.run((v) => v.handoffFinished?.(target));
      }
      // Delete and start forwarding in one vnode turn: a command queued behind delete() must
      // reach the new home, not the emptied vnode.
      await worker.run(async (v) => {
        await v.delete?.();
        worker.forwardingTo = target;
        worker.handoffTarget = undefined;
      });
      this.stats.completed++;
      this.stats.itemsSent += job.sentItems;
      this.stats.bytesSent += job.sentBytes;
      if (job.items > 0)
        log.info(`handoff (${kind}) of ${service} partition ${partition} to ${target}: done, ${progress(job)}`);
      if (kind === 'ownership') {
        this.forwarding.set(k, target);
        const doneKey = `${partition}>${target}`;
        this.ownershipDone.set(doneKey, (this.ownershipDone.get(doneKey) ?? new Set()).add(service));
      } else {
        vnodes.forget(service, partition); // the next request here starts a fresh fallback
        await worker.stop('handed off');
      }
      this.retryAt.delete(k);
    } catch (err) {
      worker.handoffTarget = undefined;
      if (opened) void rpc.call(target, 'handoff.close', { service, partition }, timeoutMs).catch(() => undefined);
      if (started) await worker.run((v) => v.handoffCancelled?.()).catch(() => undefined);
      const msg = (err as Error).message;
      if (isRefusal(err)) {
        // riak: the target said max_concurrency. Not a failure; try that target again soon.
        this.stats.refused++;
        const delayMs = Math.max(
          1,
          Math.round(this.opts.refusedRetryMs * (0.5 + (this.links.random ?? Math.random)())),
        );
        const until = Math.max(this.refusedUntil.get(target) ?? 0, Date.now() + delayMs);
        this.refusedUntil.set(target, until);
        this.wakeUpAt(until);
        log.debug(
          `handoff (${kind}) of ${service} partition ${partition} to ${target}: refused for now (${msg}); retrying in ${delayMs} ms`,
        );
      } else {
        this.stats.failed++;
        this.stats.lastError = msg;
        const warnKey = `${k}:${msg}`;
        if (!this.warned.has(warnKey)) {
          this.warned.add(warnKey);
          log.warn(
            `handoff (${kind}) of ${service} partition ${partition} to ${target} failed after ${job.sentItems} items: ${msg}; will retry`,
          );
        }
        this.retryAt.set(k, Date.now() + this.opts.retryMs);
      }
    } finally {
      this.active.delete(k);
    }
    if (!this.stopped) this.tick();
  }

  /**
   * Stream `items` to the target as `handoff.data` batches, keeping up to `batchWindow`
   * batches in flight (riak's handoff sender streams too, with an ack every
   * `handoff_batch_threshold`), so the target applies one batch while the next ones travel.
   * Memory in flight is bounded by `batchWindow` × `batchBytes`. The target applies batches in
   * the order they arrive (one link, one vnode queue). Resolves when every batch is acknowledged.
   * @throws the first failure (timeout, target down, remote error, node stopping); batches
   *   still in flight are then abandoned (their late acks are dropped).
   */
  private async sendBatches(job: ActiveTransfer, items: readonly Uint8Array[]): Promise<void> {
    const { rpc, log } = this.links;
    const { service, partition, target, kind } = job;
    const timeoutMs = this.opts.batchTimeoutMs;
    const inFlight: Promise<void>[] = [];
    let failure: { err: unknown } | undefined;
    let lastLog = Date.now();
    for (const batch of batches(items, this.opts.batchItems, this.opts.batchBytes)) {
      if (failure) break;
      if (this.stopped) throw new Error('node stopping');
      const bytes = batch.reduce((n, b) => n + b.byteLength, 0);
      const ack = rpc.call(target, 'handoff.data', { service, partition, items: batch }, timeoutMs).then(
        () => {
          job.sentItems += batch.length;
          job.sentBytes += bytes;
          if (Date.now() - lastLog >= this.opts.progressEveryMs) {
            lastLog = Date.now();
            log.info(`handoff (${kind}) of ${service} partition ${partition} to ${target}: ${progress(job)}`);
          }
        },
        (err: unknown) => {
          failure ??= { err };
        },
      );
      inFlight.push(ack);
      if (inFlight.length >= this.opts.batchWindow) await inFlight.shift();
    }
    await Promise.all(inFlight);
    if (failure) throw failure.err;
  }

  /** Collect every item of the vnode, encoded, through its fold (riak: `?FOLD_REQ`). */
  private fold(
    run: <T>(fn: (v: Vnode) => T | Promise<T>) => Promise<T>,
    service: string,
    partition: number,
    begin: () => void,
  ): Promise<Uint8Array[]> {
    return run(async (v) => {
      if (!v.handleHandoffCommand || !v.encodeHandoffItem) {
        throw new Error(
          `service ${service} holds data in partition ${partition} but cannot hand it off (needs handleHandoffCommand and encodeHandoffItem)`,
        );
      }
      begin();
      const encode = v.encodeHandoffItem.bind(v);
      const req: FoldRequest = {
        type: '__fold_req__',
        acc0: [],
        foldFun: (k, value, acc) => {
          (acc as Uint8Array[]).push(encode(k, value));
          return acc;
        },
      };
      if (!isFoldRequest(req)) throw new Error('unreachable');
      const result = await v.handleHandoffCommand(req, null);
      if (!('reply' in result) || !Array.isArray(result.reply)) {
        throw new Error(`${service} handleHandoffCommand must answer the fold request with reply(acc)`);
      }
      return result.reply as Uint8Array[];
    });
  }

  /** Report partitions every service has handed off to the claimant (retried every tick until it accepts). */
  private async reportOwnership(): Promise<void> {
    const ring = this.links.ring();
    const services = this.links.vnodes.services();
    for (const t of ring.next) {
      if (t.owner !== this.links.node || t.status !== 'awaiting') continue;
      const doneKey = `${t.partition}>${t.nextOwner}`;
      const done = this.ownershipDone.get(doneKey) ?? new Set<string>();
      if (!services.every((s) => done.has(s)) || this.reported.has(doneKey)) continue;
      this.reported.add(doneKey);
      try {
        await this.links.transferComplete(t.partition, t.nextOwner, services);
      } catch (err) {
        this.reported.delete(doneKey); // try again next tick
        this.links.log.debug(`could not report the transfer of ${t.partition}: ${(err as Error).message}`);
      }
    }
    // Forget bookkeeping of transfers the ring no longer lists.
    for (const doneKey of this.ownershipDone.keys()) {
      const [p, target] = doneKey.split('>');
      if (!ring.next.some((t) => String(t.partition) === p && t.nextOwner === target && t.owner === this.links.node)) {
        this.ownershipDone.delete(doneKey);
        this.reported.delete(doneKey);
      }
    }
  }
}

function* batches(items: readonly Uint8Array[], maxItems: number, maxBytes: number): Generator<Uint8Array[]> {
  let batch: Uint8Array[] = [];
  let bytes = 0;
  for (const item of items) {
    if (batch.length > 0 && (batch.length >= maxItems || bytes + item.byteLength > maxBytes)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(item);
    bytes += item.byteLength;
  }
  if (batch.length > 0) yield batch;
}

function progress(job: ActiveTransfer): string {
  const secs = Math.max(0.001, (Date.now() - job.startedAt) / 1000);
  const kib = (job.sentBytes / 1024).toFixed(1);
  return `${job.sentItems}/${job.items} items, ${kib} KiB in ${secs.toFixed(1)} s (${Math.round(job.sentItems / secs)} items/s)`;
}
