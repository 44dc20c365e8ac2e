/**
 * A small Jepsen-style checker for key/value stores: clients run a bounded workload of reads
 * and writes while a nemesis breaks things; the history of what was *acknowledged* is then
 * checked against what the store returns once healed.
 *
 * The model is one register per key with one sequential writer per key (each key belongs to
 * one client). For every key, a final read must return the value of the last acknowledged
 * write, or the value of a write attempted after it whose outcome is unknown (it failed or
 * timed out, but may still have been applied: "indeterminate" in Jepsen's terms). A key
 * never acknowledged may read as not found or as any attempted value.
 */
import { prng } from './seed.js';
import { waitFor } from './wait.js';

/** Marker for "the key does not exist". */
export const NOT_FOUND = Symbol('not found');
export type Observed = string | typeof NOT_FOUND;

interface KeyHistory {
  /** Values written, in order, with their outcome. */
  writes: { value: string; outcome: 'pending' | 'ok' | 'failed' }[];
}

/** What clients did, per key. */
export class History {
  private readonly keys = new Map<string, KeyHistory>();
  /** Completed operations (ok or failed), for progress and reports. */
  completed = 0;
  acknowledged = 0;
  failed = 0;

  private key(k: string): KeyHistory {
    let h = this.keys.get(k);
    if (!h) this.keys.set(k, (h = { writes: [] }));
    return h;
  }

  /** A write of `value` to `key` starts; returns a handle to finish it. */
  write(key: string, value: string): { ok(): void; fail(): void } {
    const w = { value, outcome: 'pending' as 'pending' | 'ok' | 'failed' };
    this.key(key).writes.push(w);
    return {
      ok: () => {
        w.outcome = 'ok';
        this.completed++;
        this.acknowledged++;
      },
      fail: () => {
        w.outcome = 'failed';
        this.completed++;
        this.failed++;
      },
    };
  }

  /** A read completed (reads only count towards progress). */
  read(ok: boolean): void {
    this.completed++;
    if (!ok) this.failed++;
  }

  /** Keys that were written. */
  writtenKeys(): string[] {
    return [...this.keys.keys()].sort();
  }

  /** Values a read of `key` may return now that every write has finished. */
  acceptable(key: string): Observed[] {
    const writes = this.key(key).writes;
    const lastOk = writes.map((w) => w.outcome).lastIndexOf('ok');
    const after = writes.slice(lastOk + 1).map((w) => w.value);
    return lastOk < 0 ? [NOT_FOUND, ...after] : [(writes[lastOk] as { value: string }).value, ...after];
  }

  /** The last acknowledged value of `key`, if any. */
  lastAcknowledged(key: string): string | undefined {
    const w = this.key(key)
      .writes.filter((x) => x.outcome === 'ok')
      .pop();
    return w?.value;
  }

  /** True if `value` was ever written to `key` (any outcome). */
  wasWritten(key: string, value: string): boolean {
    return this.key(key).writes.some((w) => w.value === value);
  }

  /**
   * Check final reads. @returns one line per violation (empty: the history is fine).
   */
  check(finalReads: ReadonlyMap<string, Observed>): string[] {
    const problems: string[] = [];
    for (const key of this.writtenKeys()) {
      const seen = finalReads.get(key);
      const ok = this.acceptable(key);
      if (seen === undefined) problems.push(`${key}: no final read`);
      else if (!ok.includes(seen)) {
        const show = (v: Observed) => (v === NOT_FOUND ? 'not found' : JSON.stringify(v));
        problems.push(
          `${key}: read ${show(seen)}, last acknowledged ${JSON.stringify(this.lastAcknowledged(key) ?? null)}, acceptable ${ok.map(show).join(' | ')}`,
        );
      }
    }
    return problems;
  }
}

/** How the workload talks to the store under test. Both may throw (counted as failures). */
export interface WorkloadOps<N> {
  write(node: N, key: string, value: string): Promise<void>;
  /** Resolves with the value, or NOT_FOUND. */
  read(node: N, key: string): Promise<Observed>;
}

/** Options of {@link Workload}. */
export interface WorkloadOptions<N> {
  readonly seed: number;
  /** Number of concurrent clients; client c owns keys `k<c>-0 … k<c>-<keysPerClient-1>`. */
  readonly clients: number;
  readonly keysPerClient: number;
  /** Stop after this many operations in total (a bound on the loop). */
  readonly maxOps: number;
  /** Fraction of operations that are writes (default 0.6). */
  readonly writeRatio?: number;
  /** The nodes a client may send its next request to (e.g. not killed, not cut off). */
  readonly coordinators: () => readonly N[];
  readonly ops: WorkloadOps<N>;
}

/**
 * Concurrent clients, each a sequential loop of reads and writes on its own keys, bounded by
 * `maxOps`. Randomness comes from the seed (interleaving still depends on timing).
 */
export class Workload<N> {
  readonly history = new History();
  private stopped = false;
  private readonly running: Promise<void>[] = [];
  /** Per client: when its last *finished* operation had started (ms, performance.now()). */
  private readonly finishedStart: number[] = [];
  /** Values read back during the run that were never written (must stay empty). */
  readonly phantomReads: string[] = [];
  private started = 0;

  constructor(private readonly opts: WorkloadOptions<N>) {}

  /** Start every client. */
  start(): void {
    for (let c = 0; c < this.opts.clients; c++) this.running.push(this.client(c));
  }

  private async client(c: number): Promise<void> {
    const random = prng(this.opts.seed + c * 7919);
    const keys = Array.from({ length: this.opts.keysPerClient }, (_, i) => `k${c}-${i}`);
    let n = 0;
    while (!this.stopped && this.started < this.opts.maxOps) {
      this.started++;
      const startedAt = performance.now();
      const key = random.pick(keys);
      const nodes = this.opts.coordinators();
      if (nodes.length === 0) {
        this.history.read(false);
        await new Promise((r) => setImmediate(r));
        this.finishedStart[c] = startedAt;
        continue;
      }
      const node = random.pick(nodes);
      if (random.next() < (this.opts.writeRatio ?? 0.6)) {
        const value = `c${c}-${n++}`;
        const op = this.history.write(key, value);
        await this.opts.ops.write(node, key, value).then(op.ok, op.fail);
      } else {
        try {
          const v = await this.opts.ops.read(node, key);
          if (v !== NOT_FOUND && !this.history.wasWritten(key, v)) this.phantomReads.push(`${key}=${v}`);
          this.history.read(true);
        } catch {
          this.history.read(false);
        }
      }
      this.finishedStart[c] = startedAt;
    }
  }

  /** Wait until `count` more operations have completed (bounded by `timeoutMs`). */
  async progress(count: number, timeoutMs = 20_000): Promise<void> {
    const target = this.history.completed + count;
    await waitFor(`${count} more operations`, () => this.history.completed >= target || this.done(), { timeoutMs });
  }

  /**
   * Wait until every client has started an operation after `since` and finished it, so no
   * operation in flight at `since` is still running (used to keep faults apart).
   */
  async drained(since: number, timeoutMs = 20_000): Promise<void> {
    await waitFor(
      'every client to finish an operation started after the fault healed',
      () =>
        this.done() ||
        Array.from({ length: this.opts.clients }, (_, c) => this.finishedStart[c] ?? -1).every((t) => t > since),
      { timeoutMs },
    );
  }

  private done(): boolean {
    return this.started >= this.opts.maxOps;
  }

  /** Stop the clients and wait for their last operations. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.running);
  }
}
