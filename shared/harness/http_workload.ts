/**
 * A write workload over the HTTP API (solutions/ex5-http/http.ts) of node processes, and the
 * final check of its history: the checker's model (shared/harness/checker.ts) over real HTTP.
 *
 * K concurrent clients; client c owns the keys `<prefix>c-0 … <prefix>c-<keysPerClient-1>`
 * and is their only, sequential writer. Each request is `PUT /api/store/<key>?n=&w=` with the
 * body `{"value": "<key>=<c>.<seq>"}` and its own deadline; 2xx is acknowledged, anything else
 * (an error status, a refused connection, the deadline) is indeterminate: it may or may not
 * have been applied. Afterwards {@link finalCheck} reads every written key with `GET ?n=&r=`
 * and requires a value the history allows (`History.acceptable`).
 *
 *     const load = new HttpWorkload({ seed, clients: 6, keysPerClient: 20, targets: () => urls });
 *     load.start();
 *     await load.acknowledgedMore(50);
 *     ... break things ...
 *     await load.stop();
 *     const report = await finalCheck(load.history, () => urls);
 */
import { History, NOT_FOUND, type Observed } from './checker.js';
import { prng } from './seed.js';
import { AbortWait, waitFor } from './wait.js';

/** Options of {@link HttpWorkload}. */
export interface HttpWorkloadOptions {
  /** Seed of every random choice (which key a client writes next). */
  readonly seed: number;
  /** Concurrent clients. */
  readonly clients: number;
  /** Keys each client owns. */
  readonly keysPerClient: number;
  /**
   * Base URLs (`http://127.0.0.1:PORT`) client `c` may send its next request to; asked before
   * every request, and rotated through. An empty list makes the client wait.
   */
  readonly targets: (client: number) => readonly string[];
  /** Replicas and write quorum (default 3 and 2). */
  readonly n?: number;
  readonly w?: number;
  /** Deadline of one request, in ms (default 3000). */
  readonly requestTimeoutMs?: number;
  /** Prefix of every key (default `k`). */
  readonly keyPrefix?: string;
  /** Each client waits this long between two requests, in ms (default 0): paces the load. */
  readonly pauseMs?: number;
}

/** Counts of a workload, for reports. */
export interface WorkloadCounts {
  /** Writes answered 2xx. */
  readonly acknowledged: number;
  /** Writes that failed or timed out (indeterminate). */
  readonly failed: number;
  /** Keys written at least once (attempted). */
  readonly keys: number;
}

/** Pause between two requests of one client after a failure, in ms (so a dead node is not hammered). */
const FAILURE_PAUSE_MS = 50;

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * PUT `{"value": value}` to `key` on `base` with quorum `n`/`w`.
 * @returns true on 2xx; false on any other status, a network error or the deadline (`timeoutMs`).
 */
export async function putValue(
  base: string,
  key: string,
  value: string,
  opts: { n: number; w: number; timeoutMs: number },
): Promise<boolean> {
  try {
    const res = await fetch(`${base}/api/store/${encodeURIComponent(key)}?n=${opts.n}&w=${opts.w}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ value }),
      signal: AbortSignal.timeout(opts.timeoutMs),
    });
    await res.arrayBuffer(); // free the connection
    return res.ok;
  } catch {
    return false;
  }
}

/**
 * GET `key` from `base` with quorum `n`/`r`.
 * @returns the stored `value` string, or NOT_FOUND for a 404 `not_found`.
 * @throws Error for anything else (another status, a body not written by this workload, a
 *   network error, the deadline `timeoutMs`): no observation was made.
 */
export async function getValue(
  base: string,
  key: string,
  opts: { n: number; r: number; timeoutMs: number },
): Promise<Observed> {
  const res = await fetch(`${base}/api/store/${encodeURIComponent(key)}?n=${opts.n}&r=${opts.r}`, {
    signal: AbortSignal.timeout(opts.timeoutMs),
  });
  const text = await res.text();
  const body = JSON.parse(text) as { value?: { value?: unknown }; error?: { code?: string } };
  if (res.status === 404 && body.error?.code === 'not_found') return NOT_FOUND;
  if (res.status !== 200) throw new Error(`GET ${key} on ${base}: HTTP ${res.status} ${text.slice(0, 200)}`);
  const v = body.value?.value;
  if (typeof v !== 'string') throw new Error(`GET ${key} on ${base}: unexpected body ${text.slice(0, 200)}`);
  return v;
}

/** Concurrent HTTP writers with a history (see the module comment). */
export class HttpWorkload {
  /** Every write and its outcome, per key. */
  readonly history = new History();
  private stopping = false;
  private readonly loops: Promise<void>[] = [];
  private readonly n: number;
  private readonly w: number;
  private readonly timeoutMs: number;

  constructor(private readonly opts: HttpWorkloadOptions) {
    this.n = opts.n ?? 3;
    this.w = opts.w ?? 2;
    this.timeoutMs = opts.requestTimeoutMs ?? 3000;
  }

  /** Start every client (once). */
  start(): void {
    if (this.loops.length > 0) throw new Error('the workload already started');
    for (let c = 0; c < this.opts.clients; c++) this.loops.push(this.client(c));
  }

  private async client(c: number): Promise<void> {
    const random = prng(this.opts.seed + c * 7919);
    const prefix = this.opts.keyPrefix ?? 'k';
    const keys = Array.from({ length: this.opts.keysPerClient }, (_, i) => `${prefix}${c}-${i}`);
    let seq = 0;
    while (!this.stopping) {
      const targets = this.opts.targets(c);
      if (targets.length === 0) {
        await delay(FAILURE_PAUSE_MS);
        continue;
      }
      const base = targets[(c + seq) % targets.length] as string;
      const key = random.pick(keys);
      const value = `${key}=${c}.${seq++}`;
      const op = this.history.write(key, value);
      if (await putValue(base, key, value, { n: this.n, w: this.w, timeoutMs: this.timeoutMs })) op.ok();
      else {
        op.fail();
        await delay(FAILURE_PAUSE_MS);
      }
      if (this.opts.pauseMs) await delay(this.opts.pauseMs);
    }
  }

  /**
   * Write `count` keys `<prefix>p-0 …` once each (their only writer), `concurrency` at a
   * time, through `targets` in turn; recorded in the same history.
   * @returns how many were acknowledged.
   */
  async preload(count: number, targets: readonly string[], concurrency = 16): Promise<number> {
    const prefix = this.opts.keyPrefix ?? 'k';
    let next = 0;
    let acked = 0;
    const worker = async () => {
      for (let i = next++; i < count; i = next++) {
        const key = `${prefix}p-${i}`;
        const op = this.history.write(key, `${key}=preload`);
        if (
          await putValue(targets[i % targets.length] as string, key, `${key}=preload`, {
            n: this.n,
            w: this.w,
            timeoutMs: this.timeoutMs,
          })
        ) {
          op.ok();
          acked++;
        } else op.fail();
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
    return acked;
  }

  /**
   * Wait until `count` more writes have been acknowledged than when called.
   * @throws Error after `timeoutMs` (default 20 000) saying how many were acknowledged and failed meanwhile.
   */
  async acknowledgedMore(count: number, timeoutMs = 20_000): Promise<void> {
    const target = this.history.acknowledged + count;
    const failedBefore = this.history.failed;
    try {
      await waitFor(`${count} more acknowledged writes`, () => this.history.acknowledged >= target, {
        timeoutMs,
        intervalMs: 50,
      });
    } catch (err) {
      (err as Error).message +=
        ` (got ${count - (target - this.history.acknowledged)}, ${this.history.failed - failedBefore} failed meanwhile)`;
      throw err;
    }
  }

  /** Stop the clients and wait for their requests in flight (each ends by its deadline). */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.loops);
  }

  /** Counts so far. */
  counts(): WorkloadCounts {
    return {
      acknowledged: this.history.acknowledged,
      failed: this.history.failed,
      keys: this.history.writtenKeys().length,
    };
  }
}

/** What {@link finalCheck} found. */
export interface CheckReport extends WorkloadCounts {
  /** Keys read back and compared with the history. */
  readonly checked: number;
  /** Reads that had to be retried (no answer, or a status other than 200 and 404). */
  readonly retries: number;
}

/** Options of {@link finalCheck}. */
export interface FinalCheckOptions {
  /** Replicas and read quorum (default 3 and 2). */
  readonly n?: number;
  readonly r?: number;
  /** Deadline of one read, in ms (default 3000). */
  readonly requestTimeoutMs?: number;
  /** Deadline for getting an answer for one key (retrying on other nodes), in ms (default 15 000). */
  readonly keyTimeoutMs?: number;
  /** Reads in flight at once (default 16). */
  readonly concurrency?: number;
}

/**
 * The final check: read every key the history wrote, once, with `GET ?n=&r=` through the
 * URLs of `readFrom()` in turn, and compare with the history. A read that is not an
 * observation (503, a network error, the deadline) is retried on the next URL; a 200 or a
 * 404 is the observation, and it must be one of `history.acceptable(key)`.
 * @returns the counts.
 * @throws Error if nothing was acknowledged or no key was written (a check over nothing
 *   proves nothing); if a key got no answer within `keyTimeoutMs`; or, listing the first
 *   violations, if any key read back a value the history does not allow.
 */
export async function finalCheck(
  history: History,
  readFrom: () => readonly string[],
  opts: FinalCheckOptions = {},
): Promise<CheckReport> {
  const keys = history.writtenKeys();
  if (keys.length === 0 || history.acknowledged === 0) {
    throw new Error(
      `nothing to check: ${keys.length} keys written, ${history.acknowledged} writes acknowledged (${history.failed} failed)`,
    );
  }
  const q = { n: opts.n ?? 3, r: opts.r ?? 2, timeoutMs: opts.requestTimeoutMs ?? 3000 };
  const reads = new Map<string, Observed>();
  let retries = 0;
  let turn = 0;
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < keys.length; i = next++) {
      const key = keys[i] as string;
      let attempt = 0;
      const seen = await waitFor(
        `an answer to GET ${key} (R=${q.r})`,
        async (): Promise<{ v: Observed }> => {
          const urls = readFrom();
          if (urls.length === 0) throw new AbortWait('no node to read from');
          if (attempt++ > 0) retries++;
          return { v: await getValue(urls[turn++ % urls.length] as string, key, q) };
        },
        { timeoutMs: opts.keyTimeoutMs ?? 15_000, intervalMs: 100 },
      );
      reads.set(key, seen.v);
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency ?? 16, keys.length) }, worker));
  const problems = history.check(reads);
  if (problems.length > 0) {
    throw new Error(
      `${problems.length} of ${keys.length} keys read back a value the history does not allow (acknowledged ${history.acknowledged}, failed ${history.failed}):\n  ${problems.slice(0, 20).join('\n  ')}`,
    );
  }
  return {
    acknowledged: history.acknowledged,
    failed: history.failed,
    keys: keys.length,
    checked: reads.size,
    retries,
  };
}
