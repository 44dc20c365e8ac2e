/**
 * Clusters of real node processes, for riak_test-style scenarios: every node is its own OS
 * process running shared/cli/node_console.ts exactly as `npm start` (devrel) runs it, so faults are
 * real ones: SIGKILL, SIGSTOP/SIGCONT, a restart from the ring file, and links cut inside the
 * nodes' transports (`--nemesis`, the `admin.nemesis` RPC).
 *
 *     const cluster = await ProcessCluster.start(3);           // dev1..dev3, one ring, settled
 *     await cluster.kill('dev1');
 *     await cluster.admin('dev2', 'admin.down', { node: 'dev1@127.0.0.1' });
 *     await cluster.stop();                                     // always, e.g. in afterEach
 *
 * Nodes are named `devK@127.0.0.1` and may be passed as `devK` too. Each node keeps its ports
 * (node-to-node and HTTP, picked free on loopback up front) and its ring file across restarts.
 * Everything a node prints is kept in memory; failures of the harness's waits end with the
 * tail of the relevant nodes' logs. Waits poll with deadlines ({@link waitFor}), never sleep.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { connectAdmin, type AdminConnection } from '../admin_client.js';
import { PARENT_PID_ENV } from '../cli/options.js';
import type { MemberRow, RingStatusData } from '../console.js';
import { commitWhenReady } from '../commit.js';
import { RemoteError, type RingErrorCode } from '../errors.js';
import { AbortWait, waitFor } from './wait.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NODE_CONSOLE = fileURLToPath(new URL('../cli/node_console.ts', import.meta.url));
const HOST = '127.0.0.1';
/** Lines of output kept per node (older ones are dropped). */
const LOG_LINES = 5000;
/** Default deadline (ms) of an admin call. */
const ADMIN_TIMEOUT_MS = 5000;

/** What `admin.status` answers. */
export interface NodeStatus {
  readonly node: string;
  readonly addr: string;
  /** Every member valid and reachable, the ring ready, no pending ownership transfers. */
  readonly settled: boolean;
  /** member_status rows (every member but invalid ones); `ringPercent` is 0..100. */
  readonly members: readonly MemberRow[];
  readonly ring: RingStatusData;
  /** Transfers leaving the node now (items counted in items). */
  readonly handoffs?: readonly {
    kind: string;
    service: string;
    partition: number;
    target: string;
    items: number;
    sentItems: number;
  }[];
}

/** What `admin.transfers` answers (see `handleTransfers` in shared/cli/node_console.ts). */
export interface NodeTransfers {
  readonly node: string;
  readonly running: readonly {
    kind: string;
    service: string;
    partition: number;
    target: string;
    items: number;
    sentItems: number;
  }[];
  readonly fallbacks: readonly { service: string; partition: number; owner: string }[];
  readonly ownership: readonly { partition: number; nextOwner: string }[];
}

/** Options of {@link ProcessCluster.start}. */
export interface ProcessClusterOptions {
  /** Cluster cookie (default: a random one, so two clusters never talk). */
  readonly cookie?: string;
  /** Q (default 64). */
  readonly ringSize?: number;
  /** Extra console arguments for every node, e.g. `['--handoff-batch-items', '20']`. */
  readonly args?: readonly string[];
  /** Deadline (ms) for starting the processes and forming the ring (default 30 000). */
  readonly startTimeoutMs?: number;
  /** Where progress lines go (default console.log); the scenario's own log. */
  readonly say?: (line: string) => void;
}

/** Options of a wait on the cluster. */
export interface ClusterWaitOptions {
  /** Give up after this many ms (default 30 000). */
  readonly timeoutMs?: number;
  /** Nodes whose log tails a timeout message shows (default: every node of the wait). */
  readonly logsOf?: readonly string[];
}

/** One node process slot: name, ports and ring file stay across restarts. */
interface Slot {
  readonly short: string;
  readonly name: string;
  readonly port: number;
  readonly httpPort: number;
  readonly ringFile: string;
  proc?: ChildProcess;
  /** Set once the current process has exited (and its output is flushed). */
  exit?: { code: number | null; signal: NodeJS.Signals | null };
  closed: Promise<void>;
  paused: boolean;
  /** Times started. */
  starts: number;
  readonly log: string[];
  conn?: Promise<AdminConnection>;
}

const describeExit = (e: NonNullable<Slot['exit']>) => (e.signal ? `signal ${e.signal}` : `code ${e.code}`);
/** Errors whose message already ends with log tails ({@link ProcessCluster.withLogs} adds them once). */
const withLogsAlready = new WeakSet<Error>();

/**
 * Free TCP ports on loopback: bind port 0 `count` times at once, read the ports, close.
 * @returns distinct port numbers (free a moment ago; the OS does not hand them out again soon).
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: HOST, port: 0, exclusive: true }, resolve);
      });
    }
    return servers.map((s) => (s.address() as AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}

/** Full node name: `dev2` → `dev2@127.0.0.1`. */
export const nodeName = (node: string): string => (node.includes('@') ? node : `${node}@${HOST}`);

/** A cluster of node processes on loopback. Make one with {@link ProcessCluster.start}; always {@link stop} it. */
export class ProcessCluster {
  private readonly slots: Slot[] = [];
  private readonly dataDir: string;
  private readonly cookie: string;
  private stopped = false;
  private readonly onExit = () => {
    this.killAllNow();
    rmSync(this.dataDir, { recursive: true, force: true });
  };
  private readonly say: (line: string) => void;
  private readonly t0 = Date.now();
  private portLock: Promise<unknown> = Promise.resolve();
  /** Ports handed to nodes so far (never handed out twice). */
  private readonly portsTaken: number[] = [];

  private constructor(private readonly opts: ProcessClusterOptions) {
    this.dataDir = mkdtempSync(join(tmpdir(), 'ring-scenario-'));
    this.cookie = opts.cookie ?? `scenario-${process.pid}-${Math.random().toString(36).slice(2)}`;
    this.say = opts.say ?? ((line) => console.log(line));
    // Last resort when this process exits without stop() (a crash, process.exit): no node is
    // left behind. A process killed by a signal runs no hook; its nodes notice that their
    // IPC channel closed (PARENT_PID_ENV) and stop.
    process.on('exit', this.onExit);
  }

  /**
   * Start `size` nodes (dev1..devN), join dev2..devN to dev1 through the admin API, commit
   * (retried while the claimant answers `ring_not_ready`) and wait until every node's
   * `admin.status` is settled with `size` members.
   * @throws Error if a node exits, or something is not done within `opts.startTimeoutMs`
   *   (default 30 000 ms); the message says what was too slow and ends with the nodes' logs.
   *   Every process started is stopped before it throws.
   */
  static async start(size: number, opts: ProcessClusterOptions = {}): Promise<ProcessCluster> {
    const cluster = new ProcessCluster(opts);
    const timeoutMs = opts.startTimeoutMs ?? 30_000;
    try {
      const names = await Promise.all(Array.from({ length: size }, () => cluster.spawnNode({ timeoutMs })));
      const [first, ...rest] = names;
      for (const name of rest) await cluster.join(name, first, { timeoutMs });
      if (rest.length > 0) await cluster.commit(first as string, { timeoutMs });
      await cluster.waitSettled({ members: size, timeoutMs });
      cluster.note(`cluster of ${size} formed: ${names.join(', ')}`);
      return cluster;
    } catch (err) {
      await cluster.stop();
      throw err;
    }
  }

  // --- nodes -----------------------------------------------------------------------------

  /** Full names of every node ever started (dead ones included), in order. */
  names(): string[] {
    return this.slots.map((s) => s.name);
  }

  /** Full names of nodes whose process is running (paused ones included). */
  running(): string[] {
    return this.slots.filter((s) => s.proc && !s.exit).map((s) => s.name);
  }

  /** `host:port` of the node's node-to-node and admin listener. @throws Error for an unknown node. */
  addr(node: string): string {
    return `${HOST}:${this.slot(node).port}`;
  }

  /** Base URL of the node's HTTP API, e.g. `http://127.0.0.1:40123`. @throws Error for an unknown node. */
  httpUrl(node: string): string {
    return `http://${HOST}:${this.slot(node).httpPort}`;
  }

  /** The process id of the node's current process, if it runs. */
  pid(node: string): number | undefined {
    const s = this.slot(node);
    return s.exit ? undefined : s.proc?.pid;
  }

  /** The last `lines` lines the node printed (all its incarnations), as one string. */
  logTail(node: string, lines = 40): string {
    return this.slot(node).log.slice(-lines).join('\n');
  }

  /**
   * Spawn the next node (devK, K = one more than the last) with fresh ports and its own ring
   * file, and wait until it accepts admin connections. It is not joined to anything.
   * @returns its full name.
   * @throws Error if it exits or does not accept connections within `timeoutMs` (default 30 000).
   */
  async spawnNode(opts: { timeoutMs?: number } = {}): Promise<string> {
    const k = this.slots.length + 1;
    const short = `dev${k}`;
    const slotStub = { short } as Slot; // reserve the number before awaiting ports
    this.slots.push(slotStub);
    const [port, httpPort] = await this.allocPorts();
    mkdirSync(join(this.dataDir, short), { recursive: true });
    const slot: Slot = {
      short,
      name: nodeName(short),
      port,
      httpPort,
      ringFile: join(this.dataDir, short, 'ring.json'),
      closed: Promise.resolve(),
      paused: false,
      starts: 0,
      log: [],
    };
    this.slots[k - 1] = slot;
    this.launch(slot);
    await this.waitAdmin(slot, opts.timeoutMs ?? 30_000);
    return slot.name;
  }

  /**
   * Spawn a new node, join it to `seed` (default dev1), commit and wait until every running
   * node sees a settled ring with one more member.
   * @returns the new node's full name. @throws Error as {@link spawnNode}, {@link join},
   *   {@link commit} and {@link waitSettled} do.
   */
  async addNode(seed = 'dev1', opts: { timeoutMs?: number } = {}): Promise<string> {
    const before = (await this.status(seed)).members.length;
    const name = await this.spawnNode(opts);
    await this.join(name, seed, opts);
    await this.commit(seed, opts);
    await this.waitSettled({ members: before + 1, ...opts });
    return name;
  }

  /**
   * `admin.join` on `node` with `seed`'s address: stage `node` joining the cluster of `seed`
   * (then {@link commit}). @throws the join's error (RemoteError with `code`).
   */
  async join(node: string, seed = 'dev1', opts: { timeoutMs?: number } = {}): Promise<void> {
    await this.admin(node, 'admin.join', { addr: this.addr(seed) }, opts.timeoutMs ?? ADMIN_TIMEOUT_MS);
    this.note(`${nodeName(node)} staged a join to ${nodeName(seed)}`);
  }

  /**
   * `admin.commit` through `via`, retried while the error's code is one of `retryOn`
   * (default `ring_not_ready`, and `node_down` for a claimant a new member is still dialling).
   * @returns the plan view the claimant answered.
   * @throws the commit's error for any other code (e.g. `nothing_staged`), or a timeout
   *   error after `timeoutMs` (default 30 000) naming the last error.
   */
  async commit(via: string, opts: { timeoutMs?: number; retryOn?: readonly RingErrorCode[] } = {}): Promise<unknown> {
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const what = `the claimant to accept a commit through ${nodeName(via)}`;
    let plan: unknown;
    let timedOut = false;
    try {
      plan = await commitWhenReady(() => this.admin(via, 'admin.commit', {}), {
        timeoutMs,
        retryOn: opts.retryOn ?? ['ring_not_ready', 'node_down'],
        timeoutError: (last) => {
          timedOut = true;
          return new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last error: ${last.message})`);
        },
      });
    } catch (err) {
      if (timedOut) throw this.withLogs(err, [via]);
      const code = (err as { remoteCode?: unknown; code?: unknown }).remoteCode ?? (err as { code?: unknown }).code;
      throw this.withLogs(
        new AbortWait(
          `admin.commit through ${nodeName(via)} failed: ${(err as Error).message}${code ? ` (code ${String(code)})` : ''}`,
        ),
        [via],
      );
    }
    this.note(`committed through ${nodeName(via)}`);
    return plan;
  }

  // --- faults ----------------------------------------------------------------------------

  /**
   * SIGKILL the node's process and wait until it is gone (a paused process dies too).
   * @throws Error if the node does not run, or its exit is not seen within 10 000 ms.
   */
  async kill(node: string): Promise<void> {
    const s = this.live(node);
    this.dropConn(s);
    s.proc?.kill('SIGKILL');
    await this.wait(`${s.name} (pid ${s.proc?.pid}) to exit after SIGKILL`, () => s.exit !== undefined, {
      timeoutMs: 10_000,
      logsOf: [s.name],
    });
    s.paused = false;
    this.note(`SIGKILL ${s.name}`);
  }

  /** SIGSTOP the node: it stops answering anything, its sockets stay open. @throws Error if it does not run. */
  pause(node: string): void {
    const s = this.live(node);
    s.proc?.kill('SIGSTOP');
    s.paused = true;
    this.note(`SIGSTOP ${s.name}`);
  }

  /** SIGCONT a paused node. @throws Error if it does not run. */
  resume(node: string): void {
    const s = this.live(node);
    s.proc?.kill('SIGCONT');
    s.paused = false;
    this.note(`SIGCONT ${s.name}`);
  }

  /**
   * Start a node whose process exited again, on the same ports with the same ring file (it
   * comes back as the member it was), and wait until it accepts admin connections.
   * Links cut with {@link partition} are not cut in the new process.
   * @throws Error if it still runs, or it is not up within `timeoutMs` (default 30 000).
   */
  async restart(node: string, opts: { timeoutMs?: number } = {}): Promise<void> {
    const s = this.slot(node);
    if (s.proc && !s.exit) throw new Error(`${s.name} still runs (pid ${s.proc.pid}); kill it first`);
    this.launch(s);
    await this.waitAdmin(s, opts.timeoutMs ?? 30_000);
    this.note(`restarted ${s.name} (start #${s.starts}) from ${s.ringFile}`);
  }

  /**
   * Cut the links between groups: every running node drops the frames it sends to nodes
   * outside its group (`admin.nemesis`), so both sides stop hearing each other and see each
   * other down. Nodes named in no group form one more group together. Replaces any earlier
   * partition.
   * @throws Error if a node is in two groups, is paused, or the nemesis call fails (nodes must
   *   run with `--nemesis`, which this harness always passes).
   */
  async partition(groups: readonly (readonly string[])[]): Promise<void> {
    const groupOf = new Map<string, number>();
    groups.forEach((g, i) => {
      for (const n of g) {
        if (groupOf.has(nodeName(n))) throw new Error(`${nodeName(n)} is in two groups`);
        groupOf.set(nodeName(n), i);
      }
    });
    const all = this.names();
    const group = (n: string) => groupOf.get(n) ?? -1;
    await Promise.all(
      this.running().map((n) => this.admin(n, 'admin.nemesis', { drop: all.filter((o) => group(o) !== group(n)) })),
    );
    this.note(`partition ${groups.map((g) => `[${g.map(nodeName).join(' ')}]`).join(' | ')}`);
  }

  /** Remove every cut: each running node delivers to everyone again. @throws Error as {@link partition}. */
  async heal(): Promise<void> {
    await Promise.all(this.running().map((n) => this.admin(n, 'admin.nemesis', { drop: [] })));
    this.note('heal');
  }

  // --- admin -----------------------------------------------------------------------------

  /**
   * Call any `admin.*` RPC on the node over a (cached) admin connection.
   * @returns what the node answered.
   * @throws RemoteError (with the node's `code`, e.g. `ring_not_ready`) if the handler failed
   *   there; TimeoutError after `timeoutMs` (default 5000); an Error if the node does not run
   *   or refuses the connection.
   */
  async admin(node: string, method: string, args: unknown = {}, timeoutMs = ADMIN_TIMEOUT_MS): Promise<unknown> {
    const s = this.live(node);
    if (s.paused) throw new Error(`${s.name} is paused (SIGSTOP): it cannot answer ${method}`);
    s.conn ??= connectAdmin(this.addr(s.name), this.cookie, `scenario-${process.pid}@localhost`);
    const conn = s.conn;
    try {
      return await (await conn).call(method, args, timeoutMs);
    } catch (err) {
      // The node answered with an error: the connection is fine. Anything else may be a dead link.
      if (!(err instanceof RemoteError)) this.dropConn(s, conn);
      throw err;
    }
  }

  /** `admin.status` of the node. @throws as {@link admin}. */
  async status(node: string): Promise<NodeStatus> {
    return (await this.admin(node, 'admin.status')) as NodeStatus;
  }

  /** `admin.transfers` of the node: running handoffs, fallback vnodes, pending ownership transfers. @throws as {@link admin}. */
  async transfers(node: string): Promise<NodeTransfers> {
    return (await this.admin(node, 'admin.transfers')) as NodeTransfers;
  }

  /** The partition owners (index = partition) the node's HTTP API reports (`GET /api/ring`). @throws Error on a failed request. */
  async owners(node: string): Promise<string[]> {
    const res = await fetch(`${this.httpUrl(node)}/api/ring`, { signal: AbortSignal.timeout(ADMIN_TIMEOUT_MS) });
    if (!res.ok) throw new Error(`GET /api/ring on ${nodeName(node)}: HTTP ${res.status}`);
    const body = (await res.json()) as { owners: { partition: number; node: string }[] };
    return body.owners.map((o) => o.node);
  }

  // --- waiting ---------------------------------------------------------------------------

  /**
   * Poll `condition` until it returns something truthy (see {@link waitFor}); a timeout
   * message names `what` and ends with the log tails of `opts.logsOf` (default: every node).
   * @throws Error `timed out after <ms> ms waiting for <what>` plus logs; a condition's AbortWait (plus logs).
   */
  async wait<T>(what: string, condition: () => T | Promise<T>, opts: ClusterWaitOptions = {}): Promise<NonNullable<T>> {
    try {
      return await waitFor(what, condition, { timeoutMs: opts.timeoutMs ?? 30_000, intervalMs: 100 });
    } catch (err) {
      throw this.withLogs(err, opts.logsOf ?? this.names());
    }
  }

  /**
   * Wait until each node in `opts.nodes` (default: every running, unpaused node) reports
   * `settled` in `admin.status`, with `opts.members` members (every member but invalid ones) when given,
   * and they all agree on the claimant and the member list. A timeout shows the logs of
   * `opts.logsOf` (default: those nodes).
   * @returns the statuses, in the order of `nodes`.
   * @throws Error after `timeoutMs` (default 30 000) saying which node was not settled and why.
   */
  async waitSettled(
    opts: { nodes?: readonly string[]; members?: number; timeoutMs?: number; logsOf?: readonly string[] } = {},
  ): Promise<NodeStatus[]> {
    const nodes = (opts.nodes ?? this.running().filter((n) => !this.slot(n).paused)).map(nodeName);
    let why = '';
    try {
      return await this.wait(
        `a settled ring on ${nodes.join(', ')}${opts.members === undefined ? '' : ` with ${opts.members} members`}`,
        async () => {
          const statuses = await Promise.all(nodes.map((n) => this.status(n)));
          why = describeUnsettled(statuses, opts.members);
          return why === '' ? statuses : undefined;
        },
        { timeoutMs: opts.timeoutMs, logsOf: opts.logsOf ?? nodes },
      );
    } catch (err) {
      if (why) (err as Error).message = (err as Error).message.replace(/\n|$/, ` (last: ${why})\n`);
      throw err;
    }
  }

  /**
   * Wait until no handoff is left on `nodes` (default: every running, unpaused node): no transfer
   * running, no fallback vnode waiting to hand its data back (hinted handoff drained), no
   * ownership transfer pending.
   * @throws Error after `timeoutMs` (default 30 000) naming what is still left.
   */
  async waitTransfersDone(opts: { nodes?: readonly string[]; timeoutMs?: number } = {}): Promise<void> {
    const nodes = (opts.nodes ?? this.running().filter((n) => !this.slot(n).paused)).map(nodeName);
    let left = '';
    try {
      await this.wait(
        `every handoff to finish on ${nodes.join(', ')}`,
        async () => {
          const all = await Promise.all(nodes.map((n) => this.transfers(n)));
          left = all
            .filter((t) => t.running.length + t.fallbacks.length + t.ownership.length > 0)
            .map(
              (t) =>
                `${t.node}: ${t.running.length} running, ${t.fallbacks.length} fallback vnodes, ${t.ownership.length} ownership transfers`,
            )
            .join('; ');
          return left === '';
        },
        { timeoutMs: opts.timeoutMs, logsOf: nodes },
      );
    } catch (err) {
      if (left) (err as Error).message = (err as Error).message.replace(/\n|$/, ` (left: ${left})\n`);
      throw err;
    }
  }

  /** A progress line for the scenario's log, with the time since the cluster was made. */
  note(line: string): void {
    this.say(`[+${((Date.now() - this.t0) / 1000).toFixed(1)}s] ${line}`);
  }

  /** `err` with the log tails of `nodes` appended to its message. */
  withLogs(err: unknown, nodes: readonly string[], lines = 25): Error {
    const e = err instanceof Error ? err : new Error(String(err));
    const tails = [...new Set(nodes.map(nodeName))]
      .filter((n) => this.slots.some((s) => s.name === n))
      .map((n) => {
        const s = this.slot(n);
        const state = s.exit ? `exited (${describeExit(s.exit)})` : s.paused ? 'paused' : `running, pid ${s.proc?.pid}`;
        return `--- last ${lines} log lines of ${n} (${state}) ---\n${this.logTail(n, lines) || '(nothing)'}`;
      });
    if (tails.length > 0 && !withLogsAlready.has(e)) {
      e.message = `${e.message}\n${tails.join('\n')}`;
      withLogsAlready.add(e);
    }
    return e;
  }

  // --- stopping --------------------------------------------------------------------------

  /**
   * Kill every node (SIGCONT paused ones first, then SIGKILL), wait until they are gone
   * (at most 10 000 ms) and delete the data directory. Idempotent; never throws.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const s of this.slots) this.dropConn(s);
    this.killAllNow();
    const gone = Promise.all(this.slots.map((s) => s.closed));
    await Promise.race([gone, new Promise((r) => setTimeout(r, 10_000).unref())]);
    process.off('exit', this.onExit);
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  private killAllNow(): void {
    for (const s of this.slots) {
      if (!s.proc || s.exit) continue;
      if (s.paused) s.proc.kill('SIGCONT');
      s.proc.kill('SIGKILL');
    }
  }

  // --- internals -------------------------------------------------------------------------

  private slot(node: string): Slot {
    const name = nodeName(node);
    const s = this.slots.find((x) => x.name === name);
    if (!s) throw new Error(`no node ${name} in this cluster (nodes: ${this.names().join(', ') || 'none'})`);
    return s;
  }

  private live(node: string): Slot {
    const s = this.slot(node);
    if (!s.proc || s.exit)
      throw new Error(`${s.name} is not running${s.exit ? ` (exited: ${describeExit(s.exit)})` : ''}`);
    return s;
  }

  private dropConn(s: Slot, which?: Promise<AdminConnection>): void {
    const conn = s.conn;
    if (!conn || (which && conn !== which)) return;
    s.conn = undefined;
    conn.then((c) => c.close()).catch(() => undefined);
  }

  /** Spawn the slot's process as devrel's spawnNode does (plus --http-port and --nemesis). */
  private launch(s: Slot): void {
    if (this.stopped) throw new Error('the cluster is stopped');
    const args = [
      '--import',
      'tsx',
      NODE_CONSOLE,
      '--name',
      s.name,
      '--port',
      String(s.port),
      '--host',
      HOST,
      '--cookie',
      this.cookie,
      '--ring-size',
      String(this.opts.ringSize ?? 64),
      '--ring-file',
      s.ringFile,
      '--no-repl',
      '--http-port',
      String(s.httpPort),
      '--nemesis',
      ...(this.opts.args ?? []),
    ];
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      FORCE_COLOR: '0',
      RING_LOG: process.env.RING_LOG ?? 'info',
      [PARENT_PID_ENV]: String(process.pid),
    };
    // The IPC channel: the node stops when it closes (this process gone, on every OS).
    const proc = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe', 'ipc'], env });
    s.starts++;
    s.proc = proc;
    s.exit = undefined;
    s.paused = false;
    const push = (line: string) => {
      s.log.push(line);
      if (s.log.length > LOG_LINES) s.log.splice(0, s.log.length - LOG_LINES);
    };
    push(`=== start #${s.starts}: pid ${proc.pid}, port ${s.port}, http ${s.httpPort} ===`);
    for (const stream of [proc.stdout, proc.stderr])
      if (stream) createInterface({ input: stream, crlfDelay: Infinity }).on('line', push);
    let markClosed!: () => void;
    s.closed = new Promise<void>((r) => (markClosed = r));
    const done = (code: number | null, signal: NodeJS.Signals | null) => {
      if (s.proc !== proc || s.exit) return;
      s.exit = { code, signal };
      push(`=== exited: ${describeExit(s.exit)} ===`);
      markClosed();
    };
    // 'close' comes after the last output line; 'error' alone if the process never started.
    proc.on('close', done);
    proc.on('error', (err) => {
      push(`=== cannot start: ${err.message} ===`);
      done(null, null);
    });
  }

  /** Two free ports no node of this cluster uses (one allocation at a time, so parallel spawns never share one). */
  private allocPorts(): Promise<[number, number]> {
    const next = this.portLock.then(async () => {
      const used = new Set(this.portsTaken);
      for (;;) {
        const ports = await freePorts(2);
        if (ports.every((p) => !used.has(p))) {
          for (const p of ports) used.add(p);
          this.portsTaken.push(...ports);
          return ports as [number, number];
        }
      }
    });
    this.portLock = next.catch(() => undefined);
    return next;
  }

  /** Wait until the slot's process accepts admin connections (AbortWait if it exits). */
  private async waitAdmin(s: Slot, timeoutMs: number): Promise<void> {
    await this.wait(
      `${s.name} to accept admin connections on ${this.addr(s.name)}`,
      async () => {
        if (s.exit)
          throw new AbortWait(`${s.name} exited (${describeExit(s.exit)}) before it accepted admin connections`);
        return (await this.status(s.name)).node === s.name;
      },
      { timeoutMs, logsOf: [s.name] },
    );
  }
}

/** Why these statuses do not show one settled ring ('' when they do). */
function describeUnsettled(statuses: readonly NodeStatus[], members?: number): string {
  for (const s of statuses) {
    if (!s.settled) {
      const notValid = s.members
        .filter((m) => m.status !== 'valid' || !m.up)
        .map((m) => `${m.node} ${m.status}${m.up ? '' : ' unreachable'}`);
      return `${s.node} not settled (ring ready ${s.ring.ringReady}, ${s.ring.pending.length} pending transfers${notValid.length ? `, ${notValid.join(', ')}` : ''})`;
    }
    if (members !== undefined && s.members.length !== members)
      return `${s.node} sees ${s.members.length} members (${s.members.map((m) => m.node).join(', ')}), not ${members}`;
  }
  const [first, ...rest] = statuses;
  const view = (s: NodeStatus) => `claimant ${s.ring.claimant}, members ${s.members.map((m) => m.node).join(' ')}`;
  for (const s of rest)
    if (first && view(s) !== view(first)) return `${s.node} sees ${view(s)}, ${first.node} sees ${view(first)}`;
  return '';
}
