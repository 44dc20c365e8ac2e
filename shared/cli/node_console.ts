/**
 * `npm run node -- --name dev1 --port 8101`: one ring node with a REPL, like riak's
 * `make devrel && dev/dev1/bin/riak console`. `npm start` (devrel.ts) runs three of these
 * with `--no-repl`.
 */
import { resolve } from 'node:path';
import repl, { type REPLEval } from 'node:repl';
import { types } from 'node:util';
import chalk from 'chalk';
import type { App, AppServers } from '../app.js';
import { DEFAULT_RING_SIZE } from '../chash.js';
import { RingError } from '../errors.js';
import { commitJoin, JOIN_HANDSHAKE_TIMEOUT_MS, joinWithRetry } from '../join.js';
import { RingNode } from '../node.js';
import type { Ring } from '../ring.js';
import { loadRingFile } from '../ring_manager.js';
import { loadApp, type AppTree } from './app_loader.js';
import { breakNode, type FaultRoute, freezeMs, registerFaults } from './faults.js';
import {
  DEFAULT_HOST,
  isMain,
  nonEmpty,
  parseAddr,
  parseCommandLine,
  parseInteger,
  parseNodeName,
  parsePort,
  parseRingSize,
  PARENT_PID_ENV,
  printError,
  runMain,
  UsageError,
} from './options.js';

const PROG = 'npm run node';

/** `--stage` means something only with `--join`. @throws UsageError otherwise. */
function joinOnly(stage: boolean, join: string | undefined): boolean {
  if (stage && join === undefined) throw new UsageError('--stage goes with --join ADDR (it stages that join)');
  return stage;
}

export const USAGE = `Usage: npm run node -- --name NAME [options]

Start one ring node with a REPL (like riak's "dev1 console").

Options:
  --name NAME          node name, e.g. dev1@127.0.0.1 (required; "dev1" means dev1@127.0.0.1)
  --port PORT          port for node-to-node and admin traffic (default 0: any free port)
  --host HOST          address to bind (default ${DEFAULT_HOST}: this machine only;
                       0.0.0.0 lets a partner's laptop connect)
  --advertise-host H   address other nodes dial to reach this one (default: --host, or
                       ${DEFAULT_HOST} when binding 0.0.0.0); for a two-laptop pair use this
                       laptop's LAN address
  --cookie SECRET      cluster cookie; only nodes with the same cookie talk (default workshop)
  --ring-size Q        partitions in a fresh ring, a power of two 8..1024 (default ${DEFAULT_RING_SIZE})
  --ring-file PATH     load the ring from PATH if it exists, and save it there on every change
  --join ADDR          after starting, join the cluster at ADDR (host:port) and commit;
                       a failed attempt (seed busy, slow network) is retried until it works
                       or you stop the node; a wrong cookie is final
  --stage              with --join: only stage the join (riak's cluster join); the
                       instructor reviews the plan and commits once for the whole room
  --handshake-timeout MS
                       deadline of each join attempt's handshake (default ${JOIN_HANDSHAKE_TIMEOUT_MS})
  --no-repl            no REPL, log only (used by npm start)
  --exercises          run your stubs (exercises/) instead of the finished code (solutions/)
  --app NAME           which exercise stage to run: ex1 … ex7 (default: the latest)
  --http-port PORT     serve the app's HTTP API here, if it has one (0: any free port)
  --chat-port PORT     serve the app's chat here, if it has one (0: any free port)
  --handoff-batch-items N
                       items per handoff batch, 1..100000 (default 500); for tests: a small
                       batch makes a transfer take several round trips
  --nemesis            for tests: accept admin.nemesis calls that cut links
  --help               show this help

Example:
  npm run node -- --name dev4 --port 8104 --join 127.0.0.1:8101`;

/** Parsed options of the node console. */
export interface ConsoleOptions {
  /** Full node name, always `name@host`. */
  readonly name: string;
  /** Port to bind; 0 = ephemeral. */
  readonly port: number;
  readonly host: string;
  readonly advertiseHost?: string;
  readonly cookie: string;
  readonly ringSize: number;
  /** Absolute path of the ring file, if any. */
  readonly ringFile?: string;
  /** Normalised `host:port` to join after starting, if any. */
  readonly join?: string;
  /** With `join`: only stage it (the instructor commits). */
  readonly stageOnly: boolean;
  /** Handshake deadline of each join attempt (ms). */
  readonly handshakeTimeoutMs: number;
  readonly repl: boolean;
  readonly tree: AppTree;
  /** Which stage of the app to run (see exercises/app.ts); undefined: the latest. */
  readonly app?: string;
  /** Port for the app's HTTP API (undefined: none). */
  readonly httpPort?: number;
  /** Port for the app's chat server (undefined: none). */
  readonly chatPort?: number;
  /** Items per handoff batch (undefined: the runtime's default, 500). */
  readonly handoffBatchItems?: number;
  /** Accept `admin.nemesis` calls (tests cutting links between node processes). */
  readonly nemesis: boolean;
}

/**
 * Parse the console's arguments (without `node` and the script).
 * @returns the options, or `'help'` if `--help` was given.
 * @throws UsageError on an unknown option, a missing value, a missing `--name`, or a bad
 *   port, ring size or address.
 */
export function parseConsoleArgs(argv: readonly string[]): ConsoleOptions | 'help' {
  const { values } = parseCommandLine({
    args: [...argv],
    options: {
      name: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      'advertise-host': { type: 'string' },
      cookie: { type: 'string' },
      'ring-size': { type: 'string' },
      'ring-file': { type: 'string' },
      join: { type: 'string' },
      stage: { type: 'boolean' },
      'handshake-timeout': { type: 'string' },
      'no-repl': { type: 'boolean' },
      exercises: { type: 'boolean' },
      app: { type: 'string' },
      'http-port': { type: 'string' },
      'chat-port': { type: 'string' },
      'handoff-batch-items': { type: 'string' },
      nemesis: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) return 'help';
  if (values.name === undefined) throw new UsageError('--name is required, e.g. --name dev1@127.0.0.1');
  return {
    name: parseNodeName(values.name),
    port: values.port === undefined ? 0 : parsePort(values.port),
    host: nonEmpty(values.host ?? DEFAULT_HOST, '--host'),
    advertiseHost:
      values['advertise-host'] === undefined ? undefined : nonEmpty(values['advertise-host'], '--advertise-host'),
    cookie: nonEmpty(values.cookie ?? 'workshop', '--cookie'),
    ringSize: values['ring-size'] === undefined ? DEFAULT_RING_SIZE : parseRingSize(values['ring-size']),
    ringFile: values['ring-file'] === undefined ? undefined : resolve(nonEmpty(values['ring-file'], '--ring-file')),
    join: values.join === undefined ? undefined : parseAddr(values.join, '--join'),
    stageOnly: joinOnly(values.stage ?? false, values.join),
    handshakeTimeoutMs:
      values['handshake-timeout'] === undefined
        ? JOIN_HANDSHAKE_TIMEOUT_MS
        : parseInteger(values['handshake-timeout'], '--handshake-timeout', 100, 600_000),
    repl: !values['no-repl'],
    tree: values.exercises ? 'exercises' : 'solutions',
    app: values.app === undefined ? undefined : nonEmpty(values.app, '--app'),
    httpPort: values['http-port'] === undefined ? undefined : parsePort(values['http-port'], '--http-port'),
    chatPort: values['chat-port'] === undefined ? undefined : parsePort(values['chat-port'], '--chat-port'),
    handoffBatchItems:
      values['handoff-batch-items'] === undefined
        ? undefined
        : parseInteger(values['handoff-batch-items'], '--handoff-batch-items', 1, 100_000),
    nemesis: values.nemesis === true,
  };
}

/** One line for a failed command: `error: <code>: <message>` for runtime errors, else `error: <message>`. */
export function describeError(err: unknown): string {
  if (err instanceof RingError) return `error: ${err.code}: ${err.message}`;
  return `error: ${err instanceof Error ? err.message : String(err)}`;
}

async function start(opts: ConsoleOptions, app: App): Promise<RingNode> {
  let started: RingNode | undefined;
  const self = (): RingNode => {
    if (!started) throw new Error('the node has not started yet');
    return started;
  };
  let ring: Ring | undefined;
  if (opts.ringFile) {
    ring = loadRingFile(opts.ringFile);
    if (ring && !ring.members[opts.name])
      throw new Error(
        `ring file ${opts.ringFile} belongs to another node (${opts.name} is not a member); delete it or pick another --ring-file`,
      );
  }
  try {
    started = await RingNode.start({
      name: opts.name,
      cookie: opts.cookie,
      host: opts.host,
      port: opts.port,
      advertiseHost: opts.advertiseHost,
      ringSize: opts.ringSize,
      services: app.services(self),
      ring,
      ringFile: opts.ringFile,
      handoff: opts.handoffBatchItems === undefined ? undefined : { batchItems: opts.handoffBatchItems },
    });
    return started;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'EADDRINUSE')
      throw new Error(`port ${opts.port} on ${opts.host} is already in use; pick another with --port`);
    if (code === 'EADDRNOTAVAIL')
      throw new Error(`cannot bind ${opts.host}: not an address of this machine (see --host)`);
    throw err;
  }
}

const BUILTIN_HELP: readonly (readonly [string, string])[] = [
  ['memberStatus()', 'print member_status: members, their share of the ring, reachability'],
  ['ringStatus()', 'print ring_status: claimant, pending ownership handoffs, unreachable nodes'],
  [
    'join(addr)',
    'stage this node joining the cluster at addr ("host:port"), retried for 2 min; then plan() and commit()',
  ],
  ['leave(node?)', 'stage node (default: this one) leaving the cluster, handing off its partitions'],
  ['remove(node)', 'stage removing node without handoff (its data is lost)'],
  ['down(node)', 'mark an unreachable node down so that the cluster can change without it'],
  ['plan()', 'print what commit() would do'],
  ['commit()', 'apply the staged changes and print the plan'],
  ['clear()', 'drop the staged changes'],
  ['ring()', 'the current ring, as an object'],
  ['crash(node)', 'make node (this one too) exit at once, as if killed hard; restart it to bring it back'],
  ['freeze(node, ms)', 'stop node for ms milliseconds, heartbeats included (as SIGSTOP, then SIGCONT)'],
  ['help()', 'this list'],
];

/** Reach a member for a fault through this node's ring (shared/cli/faults.ts). */
const faultRoute = (node: RingNode, cookie: string): FaultRoute => ({
  cookie,
  addrOf: async (n) => {
    const addr = node.ring.members[n]?.addr;
    if (!addr) throw new RingError('not_member', `${n} is not a member of ${node.name}'s ring`);
    return addr;
  },
});

/** `dev2` → `dev2@127.0.0.1`, as on the command line. */
const fullName = (node: unknown) => parseNodeName(String(node), 'node');

function startRepl(node: RingNode, app: App, tree: AppTree, cookie: string, onExit: () => void): void {
  const out = (text: string) => process.stdout.write(`${text}\n`);
  // Every function reports failures as one line and returns nothing, so the REPL never shows
  // a stack trace for a refused command.
  const guard =
    <A extends unknown[]>(fn: (...args: A) => unknown) =>
    (...args: A): unknown => {
      const fail = (err: unknown) => void process.stderr.write(`${chalk.red(describeError(err))}\n`);
      try {
        const result = fn(...args);
        return types.isPromise(result) ? result.catch(fail) : result;
      } catch (err) {
        return fail(err);
      }
    };
  const builtins: Record<string, (...args: never[]) => unknown> = {
    memberStatus: () => void out(node.memberStatus()),
    ringStatus: () => void out(node.ringStatus()),
    join: async (addr: unknown) => {
      const seed = parseAddr(String(addr), 'addr');
      // Retried for up to two minutes (a busy seed, a slow network), a line per failed attempt.
      await joinWithRetry(node, seed, { timeoutMs: 120_000, say: out });
      out(`${node.name} staged a join to the cluster at ${seed}: now plan() and commit()`);
    },
    leave: async (n?: unknown) => {
      const target = n === undefined ? node.name : fullName(n);
      await node.leave(target);
      out(`staged: ${target} leaves; now plan() and commit()`);
    },
    remove: async (n: unknown) => {
      const target = fullName(n);
      await node.remove(target);
      out(`staged: remove ${target}; now plan() and commit()`);
    },
    down: async (n: unknown) => {
      const target = fullName(n);
      await node.down(target);
      out(`${target} marked down`);
    },
    plan: async () => void out((await node.plan()).text),
    commit: async () => void out((await node.commit()).text),
    clear: async () => {
      await node.clear();
      out('staged changes cleared');
    },
    ring: () => node.ring,
    crash: async (n: unknown) => {
      const target = fullName(n);
      await breakNode(faultRoute(node, cookie), 'crash', target);
      out(`${target} crashed (its process exited)`);
    },
    freeze: async (n: unknown, ms: unknown) => {
      const target = fullName(n);
      const { ms: frozen } = (await breakNode(faultRoute(node, cookie), 'freeze', target, freezeMs(ms))) as {
        ms: number;
      };
      out(`${target} is frozen for ${frozen} ms`);
    },
  };
  const commands = Object.entries(app.commands);
  // Names the REPL keeps for itself; an app command cannot take them.
  const reserved = new Set(['help', 'node', 'cluster']);
  const shadowed = new Set(commands.map(([name]) => name).filter((name) => name in builtins));
  const help = () => {
    const rows: [string, string][] = BUILTIN_HELP.map(([sig, text]) => {
      const name = sig.slice(0, sig.indexOf('('));
      return [shadowed.has(name) ? `cluster.${sig}` : sig, text];
    });
    rows.push(['node', 'this RingNode (e.g. node.addr, node.upNodes())']);
    const width = Math.max(...rows.map(([sig]) => sig.length)) + 2;
    out(chalk.bold('Cluster (like riak-admin cluster …):'));
    for (const [sig, text] of rows) out(`  ${sig.padEnd(width)}${text}`);
    out(chalk.bold(`App (exercises/app.ts on ${tree}/):`));
    if (commands.length === 0) out('  (no commands)');
    for (const [, cmd] of commands) out(`  ${cmd.help}`);
    out('Async functions print their result; "await" works too. Exit with .exit or Ctrl-D.');
  };

  const prompt = `${node.name.split('@')[0]}> `;
  out('type help() for the commands');
  const server = repl.start({ prompt, ignoreUndefined: true });
  const ctx = server.context;
  // The membership functions are always reachable as cluster.<name>; at the top level an app
  // command of the same name wins (e.g. the kv app's remove(key)), since that is what its help line promises.
  ctx.cluster = Object.fromEntries(Object.entries(builtins).map(([name, fn]) => [name, guard(fn)]));
  for (const [name, fn] of Object.entries(builtins)) ctx[name] = guard(fn);
  ctx.node = node;
  ctx.help = help;
  for (const [name, cmd] of commands) {
    if (reserved.has(name)) {
      process.stderr.write(
        `${chalk.yellow('warning:')} app command "${name}" is hidden by the built-in of that name\n`,
      );
      continue;
    }
    ctx[name] = guard((...args: unknown[]) => cmd.run(node, ...args));
  }
  // Show what a promise resolves to without making people type "await": wrap the default
  // eval (which already handles top-level await) and wait for a promise result.
  const evalDefault = server.eval;
  const autoAwait: REPLEval = function (this: repl.REPLServer, code, context, file, cb) {
    evalDefault.call(this, code, context, file, (err, result) => {
      if (err || !types.isPromise(result)) return cb(err, result);
      (result as Promise<unknown>).then(
        (value) => cb(null, value),
        // Not `instanceof Error`: errors thrown by REPL code come from the REPL's own realm.
        (e: unknown) => cb(e as Error, undefined),
      );
    });
  };
  (server as { eval: REPLEval }).eval = autoAwait;
  server.on('exit', onExit);
}

async function main(): Promise<void> {
  const parsed = parseConsoleArgs(process.argv.slice(2));
  if (parsed === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const opts = parsed;
  const app = await loadApp(opts.tree, opts.app);
  const node = await start(opts, app);

  let servers: AppServers | undefined;
  // Aborted when the node starts stopping: ends a join that is still retrying.
  const stopping = new AbortController();
  const stop = async (code: number, why?: string): Promise<void> => {
    if (stopping.signal.aborted) return;
    stopping.abort();
    if (why) node.log.info(why);
    // A stop that hangs must not keep the process alive: devrel SIGKILLs after 5 s anyway.
    setTimeout(() => process.exit(1), 4000).unref();
    try {
      await servers?.close();
      await node.stop();
    } catch (err) {
      printError(`stopping ${node.name}: ${(err as Error).message}`);
      code = 1;
    }
    process.exit(code);
  };
  process.on('SIGTERM', () => void stop(0, 'SIGTERM: stopping'));
  process.on('SIGINT', () => void stop(0, 'SIGINT: stopping'));
  watchParent(() => void stop(0, 'the devrel that started this node is gone: stopping'));

  const port = node.addr.split(':').pop();
  const services = node.vnodes.services();
  const advertised = opts.advertiseHost ? ` advertised as ${node.addr}` : '';
  process.stdout.write(
    `${node.name} listening on ${opts.host}:${port}${advertised} (services: ${services.length ? services.join(', ') : 'none'})\n`,
  );
  if (app.serve && (opts.httpPort !== undefined || opts.chatPort !== undefined)) {
    try {
      servers = await app.serve(node, { host: opts.host, httpPort: opts.httpPort, chatPort: opts.chatPort });
    } catch (err) {
      printError(`cannot start the app's servers: ${(err as Error).message}`);
      await stop(1);
      return;
    }
    for (const e of servers.endpoints) process.stdout.write(`${node.name} ${e.kind} on ${e.url}\n`);
  }
  // devrel asks every node where its front doors are, to print them in one table.
  node.rpc.handle('admin.endpoints', () => servers?.endpoints ?? [], { clients: true });
  handleTransfers(node);
  registerFaults(node);
  if (opts.nemesis) handleNemesis(node);

  if (opts.join) {
    const say = (line: string) => process.stdout.write(`${line}\n`);
    try {
      // Until it works or the node stops (Ctrl-C, SIGTERM): a busy seed or a slow network only
      // delays the join. A wrong cookie or already_member is final (join.ts).
      const attempts = await joinWithRetry(node, opts.join, {
        handshakeTimeoutMs: opts.handshakeTimeoutMs,
        signal: stopping.signal,
        say,
      });
      if (opts.stageOnly) {
        say(
          `${node.name} staged its join to the cluster at ${opts.join}${attempts > 1 ? ` (attempt ${attempts})` : ''}: the cluster's operator reviews the plan and commits (npm run admin -- plan, then commit)`,
        );
      } else {
        await commitJoin(node, { signal: stopping.signal, say });
        say(`${node.name} joined the cluster at ${opts.join} (committed; partitions are being handed off)`);
      }
    } catch (err) {
      if (stopping.signal.aborted) return;
      printError(`cannot join the cluster at ${opts.join}: ${(err as Error).message}`);
      await stop(1);
      return;
    }
  }
  if (opts.repl) startRepl(node, app, opts.tree, opts.cookie, () => void stop(0));
}

/** What `admin.transfers` answers (riak-admin transfers): handoffs running and waiting on this node. */
export interface TransfersView {
  readonly node: string;
  /** Transfers leaving this node now; `items`/`sentItems` count items, `sentBytes` bytes. */
  readonly running: readonly {
    kind: 'ownership' | 'hinted';
    service: string;
    partition: number;
    target: string;
    items: number;
    sentItems: number;
    sentBytes: number;
  }[];
  /**
   * Fallback vnodes running here (we stood in for `owner` of `partition`): each still has to
   * hand its data back (hinted handoff) before it stops. Empty once hinted handoff drained.
   */
  readonly fallbacks: readonly { service: string; partition: number; owner: string }[];
  /** Ownership transfers of the ring (`next`) leaving this node that are not complete yet. */
  readonly ownership: readonly { partition: number; nextOwner: string }[];
}

/**
 * Register `admin.transfers` (clients allowed): what this node still has to hand off, like
 * `riak-admin transfers` ("waiting to handoff" and "active transfers"). Tests wait on it for
 * hinted handoff to drain, which `admin.status`'s `settled` does not cover.
 */
export function handleTransfers(node: RingNode): void {
  node.rpc.handle(
    'admin.transfers',
    (): TransfersView => {
      const ring = node.ring;
      const fallbacks: { service: string; partition: number; owner: string }[] = [];
      for (const service of node.vnodes.services()) {
        for (const w of node.vnodes.running(service)) {
          const p = w.id.partition;
          const owner = ring.owners[p];
          if (owner === undefined || owner === node.name || node.handoff.forwardTo(service, p) !== undefined) continue;
          // A partition moving to or from us by ownership handoff is not a fallback.
          if (ring.next.some((t) => t.partition === p && (t.nextOwner === node.name || t.owner === node.name)))
            continue;
          fallbacks.push({ service, partition: p, owner });
        }
      }
      return {
        node: node.name,
        running: node.handoff.running().map(({ kind, service, partition, target, items, sentItems, sentBytes }) => ({
          kind,
          service,
          partition,
          target,
          items,
          sentItems,
          sentBytes,
        })),
        fallbacks,
        ownership: ring.next
          .filter((t) => t.owner === node.name && t.status !== 'complete')
          .map((t) => ({ partition: t.partition, nextOwner: t.nextOwner })),
      };
    },
    { clients: true },
  );
}

/**
 * Register `admin.nemesis` (clients allowed; only with `--nemesis`): `{ drop: string[] }`
 * makes this node drop every frame it sends to those nodes (heartbeats included), so they
 * see it down; `{ drop: [] }` delivers everything again. Cutting a link both ways takes a call
 * on both ends: the transport filters outgoing frames only. Admin clients are never cut.
 * @returns `{ drop }`, the nodes now cut off. @throws RingError `bad_request` if `drop` is
 *   not an array of node names.
 */
export function handleNemesis(node: RingNode): void {
  node.rpc.handle(
    'admin.nemesis',
    (args) => {
      const drop = (args as { drop?: unknown } | null)?.drop;
      if (!Array.isArray(drop) || !drop.every((n) => typeof n === 'string' && n !== '')) {
        throw new RingError('bad_request', '"drop" must be an array of node names, e.g. { drop: ["dev3@127.0.0.1"] }');
      }
      const cut = [...new Set(drop as string[])].sort();
      node.transport.setLinkFilter(cut.length === 0 ? undefined : (to) => (cut.includes(to) ? 'drop' : 'deliver'));
      node.log.info(
        cut.length === 0 ? 'nemesis: every link delivers again' : `nemesis: dropping frames to ${cut.join(', ')}`,
      );
      return { drop: cut };
    },
    { clients: true },
  );
}

/**
 * If devrel started us, stop when it goes away (even killed hard), so no node is left behind:
 * the IPC channel it opened closes with it, on every OS (Windows does not re-parent orphans,
 * so watching `process.ppid` would not do there).
 */
function watchParent(onGone: () => void): void {
  if (!process.env[PARENT_PID_ENV] || !process.send) return;
  process.once('disconnect', onGone);
  process.channel?.unref(); // the channel alone must not keep the node running
}

if (isMain(import.meta.url)) runMain(PROG, main);
