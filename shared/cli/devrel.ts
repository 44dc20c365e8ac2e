/**
 * `npm start`: riak's "devrel", a local cluster of N nodes, each its own OS process running
 * shared/cli/node_console.ts with `--no-repl`. Starts them on consecutive ports, joins dev2..devN
 * to dev1, commits, waits until the ring settles, then stays in the foreground relaying the
 * nodes' logs until Ctrl-C, which stops every node.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import chalk from 'chalk';
import { connectAdmin, type AdminConnection } from '../admin_client.js';
import { type Endpoint, WS_PORT_OFFSET } from '../app.js';
import { DEFAULT_RING_SIZE } from '../chash.js';
import { commitWhenReady } from '../commit.js';
import { appPath, type AppTree } from './app_loader.js';
import {
  DEFAULT_HOST,
  isMain,
  nonEmpty,
  parseCommandLine,
  parseInteger,
  parsePort,
  parseRingSize,
  PARENT_PID_ENV,
  printError,
  runMain,
  UsageError,
} from './options.js';

const PROG = 'npm start';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NODE_CONSOLE = fileURLToPath(new URL('./node_console.ts', import.meta.url));

/**
 * Deadline (ms) for the whole startup: processes up, joined, committed, settled. Generous: a
 * busy laptop (first tsx compile, a virus scanner) took more than 15 s; an idle one needs 3-5.
 */
const STARTUP_DEADLINE_MS = 60_000;
/** How long (ms) nodes get to stop after SIGTERM before they are SIGKILLed. */
const STOP_DEADLINE_MS = 5_000;
/** Poll period (ms) while waiting for nodes during startup. */
const POLL_MS = 100;

export const USAGE = `Usage: npm start [-- options]

Start a local cluster ("devrel"): N nodes, each its own process, joined into one ring.
Ctrl-C stops them all. Every start is a fresh cluster (the nodes' data directories are wiped).

Options:
  --nodes N          number of nodes, 1..9 (default 3)
  --base-port P      devK listens on P+K-1 (default 8101: dev1 on 8101, dev2 on 8102, ...)
  --host HOST        address the nodes bind (default ${DEFAULT_HOST})
  --cookie SECRET    cluster cookie (default workshop)
  --ring-size Q      partitions, a power of two 8..1024 (default ${DEFAULT_RING_SIZE})
  --data DIR         where each node keeps its ring file, in DIR/devK (default data/)
  --exercises        run your stubs (exercises/) instead of the finished code (solutions/)
  --app NAME         which exercise stage to run: ex1 … ex7 (default: the latest)
  --http-base-port P devK serves the app's HTTP API (if it has one) on P+K-1 (default 8091)
  --chat-base-port P devK serves the app's chat (if it has one) on P+K-1 (default 4040),
                     and the chat's WebSocket on P+100+K-1 (4140)
  --help             show this help

Example:
  npm start -- --nodes 4 --base-port 8201`;

/** Parsed devrel options. */
export interface DevrelOptions {
  /** Number of nodes, 1..9. */
  readonly nodes: number;
  /** Port of dev1; devK gets basePort + K - 1. */
  readonly basePort: number;
  readonly host: string;
  readonly cookie: string;
  readonly ringSize: number;
  readonly tree: AppTree;
  /** Which stage of the app to run (see exercises/app.ts); undefined: the latest. */
  readonly app?: string;
  /** devK's HTTP port is httpBasePort + K - 1, its chat port chatBasePort + K - 1. */
  readonly httpBasePort: number;
  readonly chatBasePort: number;
  /** Absolute path of the data directory. */
  readonly dataDir: string;
}

/**
 * Parse devrel's arguments (without `node` and the script).
 * @returns the options, or `'help'` for `--help`.
 * @throws UsageError on an unknown option, a missing value, a node count outside 1..9, or
 *   ports that would run past 65535.
 */
export function parseDevrelArgs(argv: readonly string[]): DevrelOptions | 'help' {
  const { values } = parseCommandLine({
    args: [...argv],
    options: {
      nodes: { type: 'string' },
      'base-port': { type: 'string' },
      host: { type: 'string' },
      cookie: { type: 'string' },
      'ring-size': { type: 'string' },
      data: { type: 'string' },
      exercises: { type: 'boolean' },
      app: { type: 'string' },
      'http-base-port': { type: 'string' },
      'chat-base-port': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) return 'help';
  const nodes = values.nodes === undefined ? 3 : parseInteger(values.nodes, '--nodes', 1, 9);
  const basePort = values['base-port'] === undefined ? 8101 : parsePort(values['base-port'], '--base-port', false);
  if (basePort + nodes - 1 > 65535)
    throw new UsageError(`--base-port ${basePort} leaves no room for ${nodes} nodes (ports must stay below 65536)`);
  return {
    nodes,
    basePort,
    host: nonEmpty(values.host ?? DEFAULT_HOST, '--host'),
    cookie: nonEmpty(values.cookie ?? 'workshop', '--cookie'),
    ringSize: values['ring-size'] === undefined ? DEFAULT_RING_SIZE : parseRingSize(values['ring-size']),
    tree: values.exercises ? 'exercises' : 'solutions',
    app: values.app === undefined ? undefined : nonEmpty(values.app, '--app'),
    httpBasePort:
      values['http-base-port'] === undefined ? 8091 : parsePort(values['http-base-port'], '--http-base-port', false),
    chatBasePort:
      values['chat-base-port'] === undefined ? 4040 : parsePort(values['chat-base-port'], '--chat-base-port', false),
    dataDir: values.data === undefined ? join(ROOT, 'data') : resolve(nonEmpty(values.data, '--data')),
  };
}

/**
 * Resolve if `port` on `host` can be bound right now (we bind and release it at once).
 * @throws Error naming the port and how to choose others when it is taken.
 */
export function checkPortFree(host: string, port: number, flag = '--base-port'): Promise<void> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE')
        reject(
          new Error(
            `port ${port} on ${host} is already in use (another npm start still running?); pick other ports with ${flag}, e.g. ${flag} ${port < 65000 ? port - (port % 100) + 101 : 8201}`,
          ),
        );
      // EACCES and the like (Windows reserves some ports, e.g. for Hyper-V): the same way out.
      else reject(new Error(`cannot listen on ${host}:${port} (${err.message}); pick other ports with ${flag}`));
    });
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolvePort()));
  });
}

const PALETTE = [
  chalk.cyan,
  chalk.magenta,
  chalk.yellow,
  chalk.green,
  chalk.blue,
  chalk.red,
  chalk.cyanBright,
  chalk.magentaBright,
  chalk.yellowBright,
];

/** One node process. */
interface Node {
  readonly short: string;
  readonly name: string;
  readonly port: number;
  /** `host:port` to dial. */
  readonly addr: string;
  readonly proc: ChildProcess;
  /** Set once the process has exited and its output is flushed. */
  exit?: { code: number | null; signal: NodeJS.Signals | null };
  /** Resolves at that moment. */
  readonly closed: Promise<void>;
}

const describeExit = (e: NonNullable<Node['exit']>) => (e.signal ? `signal ${e.signal}` : `code ${e.code}`);
const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const say = (line: string) => process.stdout.write(`${line}\n`);

/** Copy `from` to `to` line by line, each line prefixed (so interleaved logs stay readable). */
function relay(from: Readable | null, to: Writable, prefix: string): void {
  if (!from) return;
  createInterface({ input: from, crlfDelay: Infinity }).on('line', (line) => to.write(`${prefix}${line}\n`));
}

function spawnNode(k: number, opts: DevrelOptions, dialHost: string, onClose: (node: Node) => void): Node {
  const short = `dev${k}`;
  const name = `${short}@127.0.0.1`;
  const port = opts.basePort + k - 1;
  const args = [
    '--import',
    'tsx',
    NODE_CONSOLE,
    '--name',
    name,
    '--port',
    String(port),
    '--host',
    opts.host,
    '--cookie',
    opts.cookie,
    '--ring-size',
    String(opts.ringSize),
    '--ring-file',
    join(opts.dataDir, short, 'ring.json'),
    '--no-repl',
  ];
  if (opts.tree === 'exercises') args.push('--exercises');
  if (opts.app) args.push('--app', opts.app);
  args.push('--http-port', String(opts.httpBasePort + k - 1), '--chat-port', String(opts.chatBasePort + k - 1));
  // Children write to pipes, where chalk would drop colour; keep ours if our terminal has it.
  const colour = chalk.level > 0 && process.env.FORCE_COLOR === undefined ? { FORCE_COLOR: String(chalk.level) } : {};
  const proc = spawn(process.execPath, args, {
    cwd: ROOT, // --import tsx resolves from here
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'], // the node stops when this channel closes
    detached: false,
    env: { ...process.env, ...colour, [PARENT_PID_ENV]: String(process.pid) },
  });
  let markClosed!: () => void;
  const closed = new Promise<void>((r) => (markClosed = r));
  const node: Node = { short, name, port, addr: `${dialHost}:${port}`, proc, closed };
  const prefix = `${PALETTE[(k - 1) % PALETTE.length]?.(short) ?? short} │ `;
  relay(proc.stdout, process.stdout, prefix);
  relay(proc.stderr, process.stderr, prefix);
  const done = (code: number | null, signal: NodeJS.Signals | null) => {
    if (node.exit) return;
    node.exit = { code, signal };
    markClosed();
    onClose(node);
  };
  // 'close' comes after the last output line; 'error' alone if the process never started.
  proc.on('close', done);
  proc.on('error', (err) => {
    process.stderr.write(`${prefix}${chalk.red(`cannot start: ${err.message}`)}\n`);
    done(null, null);
  });
  return node;
}

/** Open an admin connection to `node` once it accepts them. @throws if it exits or `deadline` passes first. */
async function connectWhenUp(node: Node, cookie: string, deadline: number): Promise<AdminConnection> {
  let last = 'no attempt';
  for (;;) {
    if (node.exit) throw new Error(`${node.short} exited (${describeExit(node.exit)}) before it accepted connections`);
    try {
      return await connectAdmin(node.addr, cookie, `devrel-${process.pid}@localhost`);
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() >= deadline)
      throw new Error(
        `${node.short} did not accept connections on ${node.addr} within ${STARTUP_DEADLINE_MS / 1000} s (last error: ${last})`,
      );
    await delay(POLL_MS);
  }
}

const remaining = (deadline: number) => Math.max(1000, deadline - Date.now());

/** Join dev2..devN to dev1, commit and wait until every node sees a settled ring. */
async function formCluster(nodes: readonly Node[], conns: readonly AdminConnection[], deadline: number): Promise<void> {
  const [first] = nodes;
  const [firstConn] = conns;
  if (!first || !firstConn) return;
  const alive = () => {
    const dead = nodes.find((n) => n.exit);
    if (dead?.exit) throw new Error(`${dead.short} exited (${describeExit(dead.exit)}) during startup`);
  };
  for (let i = 1; i < nodes.length; i++) {
    alive();
    await (conns[i] as AdminConnection).call('admin.join', { addr: first.addr }, remaining(deadline));
  }
  if (nodes.length > 1) {
    // The claimant refuses to commit until every member has seen the staged joins.
    await commitWhenReady(() => firstConn.call('admin.commit', {}, remaining(deadline)), {
      timeoutMs: deadline - Date.now(),
      intervalMs: POLL_MS,
      beforeAttempt: alive,
      timeoutError: () =>
        new Error(`the claimant did not accept the commit within ${STARTUP_DEADLINE_MS / 1000} s (ring not ready)`),
    });
  }
  for (;;) {
    alive();
    const statuses = (await Promise.all(conns.map((c) => c.call('admin.status', {}, remaining(deadline))))) as {
      settled?: boolean;
      members?: unknown[];
    }[];
    if (statuses.every((s) => s.settled === true && s.members?.length === nodes.length)) return;
    if (Date.now() >= deadline) throw new Error(`the ring did not settle within ${STARTUP_DEADLINE_MS / 1000} s`);
    await delay(POLL_MS);
  }
}

/**
 * Everything that can be checked before a process starts: the app exists, every port is free
 * (node, HTTP, chat and the chat's WebSocket for each node), `--data` is a directory if it exists.
 * @throws Error naming what is wrong and how to choose otherwise.
 */
async function preflight(opts: DevrelOptions): Promise<void> {
  if (!existsSync(appPath()))
    throw new Error('exercises/app.ts not found; it must export loadApps (see shared/app.ts)');
  for (let k = 1; k <= opts.nodes; k++) {
    await checkPortFree(opts.host, opts.basePort + k - 1);
    await checkPortFree(opts.host, opts.httpBasePort + k - 1, '--http-base-port');
    await checkPortFree(opts.host, opts.chatBasePort + k - 1, '--chat-base-port');
    await checkPortFree(opts.host, opts.chatBasePort + WS_PORT_OFFSET + k - 1, '--chat-base-port'); // the chat's WebSocket
  }
  if (existsSync(opts.dataDir) && !statSync(opts.dataDir).isDirectory())
    throw new Error(`--data ${opts.dataDir} is not a directory`);
}

/** Every start is a fresh cluster: delete dev1..devN's ring files and data. */
function wipeDataDirs(opts: DevrelOptions): void {
  for (let k = 1; k <= opts.nodes; k++) rmSync(join(opts.dataDir, `dev${k}`), { recursive: true, force: true });
}

/** The node processes of one devrel, and how they stop. */
class Devrel {
  readonly nodes: Node[] = [];
  /** Set once stopAll has begun. */
  stopping = false;
  /** Set once the cluster is formed: from then on a node that dies leaves the others running. */
  ready = false;

  /** Start dev1..devN (not joined yet). Nodes bound to every interface are dialled on loopback. */
  spawnAll(opts: DevrelOptions): void {
    const dialHost = opts.host === '0.0.0.0' || opts.host === '::' ? '127.0.0.1' : opts.host;
    for (let k = 1; k <= opts.nodes; k++) this.nodes.push(spawnNode(k, opts, dialHost, (node) => this.onClose(node)));
  }

  /** Ctrl-C, SIGTERM and SIGHUP stop every node cleanly; any other way out SIGKILLs them. */
  handleSignals(): void {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void this.stopAll(0));
    // Last resort on any other way out: never leave a node behind.
    process.on('exit', () => {
      for (const n of this.nodes) if (!n.exit) n.proc.kill('SIGKILL');
    });
  }

  /** Stop every node (SIGTERM, then SIGKILL after STOP_DEADLINE_MS) and exit with `code`. */
  async stopAll(code: number): Promise<void> {
    if (this.stopping) return; // a second Ctrl-C must not cut the clean stop short; the deadline does
    this.stopping = true;
    const running = this.nodes.filter((n) => !n.exit);
    for (const n of running) n.proc.kill('SIGTERM');
    const allClosed = Promise.all(running.map((n) => n.closed));
    await Promise.race([allClosed, delay(STOP_DEADLINE_MS)]);
    const stuck = running.filter((n) => !n.exit);
    for (const n of stuck) {
      say(chalk.yellow(`${n.short} did not stop within ${STOP_DEADLINE_MS / 1000} s: killing it`));
      n.proc.kill('SIGKILL');
    }
    if (stuck.length > 0) await Promise.race([allClosed, delay(2000)]);
    say(`stopped ${running.length} node${running.length === 1 ? '' : 's'}`);
    process.exit(code);
  }

  /** A node process ended without being asked to: say so; once ready, exit when none is left. */
  private onClose(node: Node): void {
    if (this.stopping || !node.exit) return;
    say(
      chalk.red(`${node.short} exited unexpectedly (${describeExit(node.exit)})`) +
        (this.ready ? '; the other nodes keep running' : ''),
    );
    if (this.ready && this.nodes.every((n) => n.exit)) {
      say('all nodes have exited');
      void this.stopAll(1);
    }
  }
}

/** What the ready banner shows, read from the nodes once the cluster is formed. */
interface Formed {
  /** dev1's member_status text. */
  readonly memberStatus: string;
  /** Each node's front doors (HTTP, chat), in node order. */
  readonly endpoints: Endpoint[][];
}

/**
 * Connect to every node, form the cluster and read what the banner shows, all before `deadline`
 * (ms since the epoch). On failure: prints it and stops every node (exit 1).
 * @returns undefined if startup failed or a signal is stopping the nodes.
 */
async function startup(devrel: Devrel, opts: DevrelOptions, deadline: number): Promise<Formed | undefined> {
  const conns: AdminConnection[] = [];
  try {
    for (const n of devrel.nodes) conns.push(await connectWhenUp(n, opts.cookie, deadline));
    await formCluster(devrel.nodes, conns, deadline);
    const memberStatus = String(await (conns[0] as AdminConnection).call('admin.member_status'));
    const endpoints = (await Promise.all(conns.map((c) => c.call('admin.endpoints')))) as Endpoint[][];
    return devrel.stopping ? undefined : { memberStatus, endpoints };
  } catch (err) {
    if (devrel.stopping) return undefined; // Ctrl-C during startup: stopAll is already under way
    printError(`startup failed: ${(err as Error).message}`);
    await devrel.stopAll(1);
    return undefined;
  } finally {
    for (const c of conns) c.close();
  }
}

/** The banner once the cluster is up: member_status, each node's ports and front doors, what to try next. */
function printReady(opts: DevrelOptions, nodes: readonly Node[], formed: Formed, started: number): void {
  const first = nodes[0] as Node;
  const next = opts.nodes + 1;
  const cookie = opts.cookie === 'workshop' ? '' : ` --cookie ${opts.cookie}`;
  const exercises = (opts.tree === 'exercises' ? ' --exercises' : '') + (opts.app ? ` --app ${opts.app}` : '');
  say('');
  say(formed.memberStatus);
  say('');
  const nameWidth = Math.max(4, ...nodes.map((n) => n.name.length)) + 2;
  const urls = (i: number, kind: Endpoint['kind']) =>
    formed.endpoints[i]?.find((e) => e.kind === kind)?.url.replace(/^[a-z]+:\/\//, '') ?? '-';
  say(
    chalk.bold(
      `${'node'.padEnd(nameWidth)}${'pid'.padEnd(9)}${'port'.padEnd(8)}${'http'.padEnd(18)}${'chat'.padEnd(18)}ws`,
    ),
  );
  nodes.forEach((n, i) => {
    say(
      `${n.name.padEnd(nameWidth)}${String(n.proc.pid ?? '?').padEnd(9)}${String(n.port).padEnd(8)}${urls(i, 'http').padEnd(18)}${urls(i, 'chat').padEnd(18)}${urls(i, 'ws')}`,
    );
  });
  say('');
  const http = [urls(0, 'http'), urls(1, 'http')];
  if (http[0] !== '-') {
    say(`HTTP: curl ${http[0]}/api/members   (the README shows a PUT and a GET on every OS)`);
    say(`dashboard: open http://${http[0]}/ in a browser (the ring live; every node's HTTP port serves one)`);
  }
  if (urls(0, 'chat') !== '-')
    say(
      `chat: npm run chat   (dev1; --port ${opts.chatBasePort + 1} for dev2; then: set-name ada, join lobby, say lobby hello)`,
    );
  say(`Try: npm run admin -- member-status --node ${first.addr}${cookie}`);
  say(
    `or add a node with its own console: npm run node -- --name dev${next}@127.0.0.1 --port ${opts.basePort + opts.nodes} --join ${first.addr}${cookie}${exercises}`,
  );
  say(
    chalk.green(`cluster of ${opts.nodes} ready in ${((Date.now() - started) / 1000).toFixed(1)} s; Ctrl-C stops it`),
  );
}

/** `npm start`: check, wipe, spawn, form, show the banner, then relay logs until Ctrl-C. */
async function main(): Promise<void> {
  const parsed = parseDevrelArgs(process.argv.slice(2));
  if (parsed === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const opts = parsed;
  const started = Date.now();
  await preflight(opts);
  wipeDataDirs(opts);
  const devrel = new Devrel();
  devrel.handleSignals();
  say(
    chalk.bold(
      `starting ${opts.nodes} node${opts.nodes === 1 ? '' : 's'} (the app on ${opts.tree}/, ring size ${opts.ringSize}, ports ${opts.basePort}..${opts.basePort + opts.nodes - 1})`,
    ),
  );
  devrel.spawnAll(opts);
  const formed = await startup(devrel, opts, started + STARTUP_DEADLINE_MS);
  if (!formed) return;
  devrel.ready = true;
  printReady(opts, devrel.nodes, formed, started);
}

if (isMain(import.meta.url)) runMain(PROG, main);
