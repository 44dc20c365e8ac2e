/**
 * Handoff (`riak_core_handoff_manager`): moving a partition's data to the node that should
 * hold it. Checked on a periodic tick (riak's hinted handoff could stall without one) and
 * whenever the ring changes.
 *
 * This version completes ownership transfers whose vnodes hold no data (not started, no
 * `isEmpty` callback, or `isEmpty()` true), which is all a freshly formed cluster needs. A vnode that holds data waits
 * for a data transfer, which arrives with exercise 4; until then the transfer stays pending
 * and `ring_status` shows it.
 */
import type { Logger } from './log.js';
import type { Ring } from './ring.js';
import type { VnodeMaster } from './vnode_master.js';

/** What the handoff manager needs from its node. */
export interface HandoffLinks {
  readonly node: string;
  ring(): Ring;
  readonly vnodes: VnodeMaster;
  /** Tell the claimant that every service handed `partition` off to `nextOwner`. */
  transferComplete(partition: number, nextOwner: string, services: readonly string[]): Promise<void>;
  log: Logger;
}

export class HandoffManager {
  private timer?: NodeJS.Timeout;
  private readonly reported = new Set<string>();
  private readonly warned = new Set<string>();
  private running = false;

  constructor(private readonly links: HandoffLinks, private readonly tickMs = 200) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.tickMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Look for transfers this node must make, and make them. Safe to call at any time. */
  async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const { node, vnodes, log } = this.links;
      const ring = this.links.ring();
      for (const t of ring.next) {
        if (t.owner !== node || t.status !== 'awaiting') continue;
        const key = `${ring.vclock[ring.claimant] ?? 0}:${t.partition}:${t.nextOwner}`;
        if (this.reported.has(key)) continue;
        const services = vnodes.services();
        const holding: string[] = [];
        for (const service of services) {
          const worker = vnodes.running(service).find((w) => w.id.partition === t.partition);
          // A service without isEmpty keeps no data (a ping service, say): nothing to move.
          if (worker && !(await worker.run((v) => (v.isEmpty ? v.isEmpty() : true)))) holding.push(service);
        }
        if (holding.length > 0) {
          const warnKey = `${t.partition}:${t.nextOwner}`;
          if (!this.warned.has(warnKey)) {
            this.warned.add(warnKey);
            log.warn(`partition ${t.partition} holds data (${holding.join(', ')}) and must move to ${t.nextOwner}; waiting for a data handoff`);
          }
          continue;
        }
        try {
          await this.links.transferComplete(t.partition, t.nextOwner, services);
          this.reported.add(key);
        } catch (err) {
          log.debug(`could not report transfer of ${t.partition}: ${(err as Error).message}`);
        }
      }
    } finally {
      this.running = false;
    }
  }
}
