/**
 * `npm run admin -- <command> [args] --node HOST:PORT`: administer a running cluster through
 * any of its nodes, like `riak-admin member-status` / `riak-admin cluster join …`.
 */
import { connectAdmin, type AdminConnection } from '../admin_client.js';
import { breakNode, freezeMs } from './faults.js';
import { ringErrorCode } from '../errors.js';
import { isCookieMismatch } from '../handshake.js';
import {
  DEFAULT_HOST,
  isMain,
  nonEmpty,
  parseAddr,
  parseCommandLine,
  parseNodeName,
  printError,
  processIo,
  reportFailure,
  type ToolIo,
  UsageError,
} from './options.js';

const PROG = 'npm run admin';

/** One admin command: the RPC method it calls and how it turns arguments and result into text. */
interface Command {
  /** Positional arguments, for usage: `<addr>`, `[node]`. */
  readonly args: string;
  readonly help: string;
  readonly method: string;
  /** Build the call's arguments from the positional arguments (already count-checked). */
  readonly request: (args: readonly string[]) => unknown;
  /** What to print for a successful result (without `--json`). */
  readonly show: (result: unknown, args: readonly string[], node: string) => string;
  /** A fault (shared/cli/faults.ts): the call goes to the node named in the first argument. */
  readonly fault?: 'crash' | 'freeze';
}

const text = (result: unknown) => String((result as { text?: unknown } | null)?.text ?? result);

const COMMANDS: Readonly<Record<string, Command>> = {
  'member-status': {
    args: '',
    help: 'members, their share of the ring, reachability',
    method: 'admin.member_status',
    request: () => ({}),
    show: String,
  },
  'ring-status': {
    args: '',
    help: 'claimant, pending ownership handoffs, unreachable nodes',
    method: 'admin.ring_status',
    request: () => ({}),
    show: String,
  },
  join: {
    args: '<addr>',
    help: 'stage the node at --node joining the cluster of the node at addr (host:port)',
    method: 'admin.join',
    request: ([addr]) => ({ addr: parseAddr(addr as string, 'addr') }),
    show: (_r, [addr], node) => `${node} staged a join to the cluster at ${addr}; now run plan, then commit`,
  },
  leave: {
    args: '[node]',
    help: 'stage node (default: the one at --node) leaving, handing off its partitions',
    method: 'admin.leave',
    request: ([node]) => (node === undefined ? {} : { node: parseNodeName(node, 'node') }),
    show: (_r, [target], node) =>
      `staged: ${target === undefined ? node : parseNodeName(target, 'node')} leaves; now run plan, then commit`,
  },
  remove: {
    args: '<node>',
    help: 'stage removing node without handoff',
    method: 'admin.remove',
    request: ([node]) => ({ node: parseNodeName(node as string, 'node') }),
    show: (_r, [target]) => `staged: remove ${parseNodeName(target as string, 'node')}; now run plan, then commit`,
  },
  down: {
    args: '<node>',
    help: 'mark an unreachable node down',
    method: 'admin.down',
    request: ([node]) => ({ node: parseNodeName(node as string, 'node') }),
    show: (_r, [target]) => `${parseNodeName(target as string, 'node')} marked down`,
  },
  plan: { args: '', help: 'show what commit would do', method: 'admin.plan', request: () => ({}), show: text },
  commit: { args: '', help: 'apply the staged changes', method: 'admin.commit', request: () => ({}), show: text },
  clear: {
    args: '',
    help: 'drop the staged changes',
    method: 'admin.clear',
    request: () => ({}),
    show: () => 'staged changes cleared',
  },
  crash: {
    args: '<node>',
    help: 'make node exit at once, as if killed hard (SIGKILL); restart it to bring it back',
    method: 'admin.crash',
    fault: 'crash',
    request: ([node]) => ({ node: parseNodeName(node as string, 'node') }),
    show: (_r, [target]) => `${parseNodeName(target as string, 'node')} crashed (its process exited)`,
  },
  freeze: {
    args: '<node> <ms>',
    help: 'stop node for ms milliseconds, heartbeats included (as SIGSTOP, then SIGCONT)',
    method: 'admin.freeze',
    fault: 'freeze',
    request: ([node, ms]) => ({ node: parseNodeName(node as string, 'node'), ms: freezeMs(ms) }),
    show: (_r, [target, ms]) => `${parseNodeName(target as string, 'node')} is frozen for ${ms} ms`,
  },
  status: {
    args: '',
    help: "the node's view as JSON: settled?, members, ring, what it refused from peers",
    method: 'admin.status',
    request: () => ({}),
    show: (r) => JSON.stringify(r, null, 2),
  },
};

const DEFAULT_NODE = `${DEFAULT_HOST}:8101`;

export const USAGE = `Usage: npm run admin -- <command> [args] [--node HOST:PORT] [--cookie SECRET] [--json]

Administer a running cluster through one of its nodes (like riak-admin).

Commands (\`help\` prints this):
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${`${name} ${c.args}`.trimEnd().padEnd(20)}${c.help}`)
  .join('\n')}

Node names may leave out the host: "dev2" means dev2@${DEFAULT_HOST}.

Options:
  --node HOST:PORT     the node to talk to (default ${DEFAULT_NODE})
  --cookie SECRET      the cluster's cookie (default workshop)
  --json               print the raw result as JSON
  --help               show this help

Example:
  npm run admin -- member-status --node ${DEFAULT_NODE}`;

/** Parsed admin command line. */
export interface AdminOptions {
  readonly command: string;
  readonly args: readonly string[];
  /** Normalised `host:port`. */
  readonly node: string;
  readonly cookie: string;
  readonly json: boolean;
}

/**
 * Parse the admin tool's arguments (without `node` and the script).
 * @returns the options, or `'help'` for `--help` or the command `help`.
 * @throws UsageError for an unknown command or option, a wrong number of arguments, or a bad
 *   address or node name.
 */
export function parseAdminArgs(argv: readonly string[]): AdminOptions | 'help' {
  const { values, positionals } = parseCommandLine({
    args: [...argv],
    allowPositionals: true,
    options: {
      node: { type: 'string' },
      cookie: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  const [command, ...args] = positionals;
  // `help` as a command too (`npm run admin -- help`), as riak-admin and npm itself take it.
  if (values.help || command === 'help') return 'help';
  if (command === undefined) throw new UsageError(`missing command; commands: ${Object.keys(COMMANDS).join(', ')}`);
  const spec = COMMANDS[command];
  if (!spec) throw new UsageError(`unknown command "${command}"; commands: ${Object.keys(COMMANDS).join(', ')}`);
  const required = (spec.args.match(/</g) ?? []).length;
  const allowed = spec.args === '' ? 0 : spec.args.split(' ').length;
  if (args.length < required || args.length > allowed) {
    throw new UsageError(
      `${command} takes ${spec.args === '' ? 'no arguments' : spec.args}, got ${args.length === 0 ? 'none' : args.join(' ')}`,
    );
  }
  try {
    spec.request(args); // validates addresses, names and durations before we connect
  } catch (err) {
    if (ringErrorCode(err) === 'bad_request') throw new UsageError((err as Error).message);
    throw err;
  }
  return {
    command,
    args,
    node: parseAddr(values.node ?? DEFAULT_NODE, '--node'),
    cookie: nonEmpty(values.cookie ?? 'workshop', '--cookie'),
    json: values.json ?? false,
  };
}

/** What a node's `admin.status` answers that {@link advice} reads. */
interface StatusView {
  readonly members: readonly { node: string; status: string; up: boolean }[];
  readonly ring: { claimant: string };
}

/**
 * What to do about a refused admin command, as one line naming the command to run
 * (riak-admin prints similar advice), or undefined when there is nothing better to say than
 * the error itself. May ask the node for its status (who is unreachable, who is claimant).
 * @param err what the call raised (a RemoteError carries the runtime's `code`).
 */
export async function advice(err: unknown, opts: AdminOptions, conn: AdminConnection): Promise<string | undefined> {
  const code = ringErrorCode(err);
  const run = (args: string, node = opts.node) =>
    `npm run admin -- ${args} --node ${node}${opts.cookie === 'workshop' ? '' : ` --cookie ${opts.cookie}`}`;
  const status = async () => (await conn.call('admin.status', {}, 5000)) as StatusView;
  const target = opts.args[0] === undefined ? conn.node : parseNodeName(opts.args[0], 'node');
  switch (code) {
    case 'claimant_unreachable': {
      const { ring } = await status();
      return `if ${ring.claimant} is gone, mark it down (any live member takes over as claimant): ${run(`down ${ring.claimant}`)}; then run ${opts.command} again`;
    }
    case 'ring_not_ready': {
      const unreachable = (await status()).members.filter((m) => !m.up && m.status !== 'down').map((m) => m.node);
      if (unreachable.length === 0)
        return `gossip is still carrying the last change: run ${opts.command} again in a second`;
      return `${unreachable.join(', ')} ${unreachable.length === 1 ? 'is' : 'are'} unreachable: wait until ${unreachable.length === 1 ? 'it is' : 'they are'} back, or mark ${unreachable.length === 1 ? 'it' : 'each'} down: ${run(`down ${unreachable[0]}`)}`;
    }
    case 'nothing_staged':
      return `stage a change first (join, leave or remove), look at it with ${run('plan')}, then commit`;
    case 'node_up':
      return `${target} is reachable, so it is not down; to take it out of the cluster, stage ${run(`leave ${target}`)} (its data is handed off), then commit`;
    case 'down_self':
      return `ask another member to mark ${target} down: ${run(`down ${target}`, '<another member HOST:PORT>')}`;
    case 'not_member':
      return `see the members with ${run('member-status')}`;
    case 'already_member':
      return `the node at ${opts.node} is already in a cluster; to move it, leave that cluster first: ${run('leave')}, then commit`;
    case 'last_member':
      return 'a cluster keeps at least one member; to get rid of the last one, stop its process';
    case 'remove_self':
      return `the claimant leaves instead (another member takes over as claimant): ${run(`leave ${target}`)}, then commit`;
    case 'timeout':
      return `${conn.node} did not answer in time: is it overloaded or stopped (Ctrl-Z, SIGSTOP)? Ask another node: ${run('member-status', '<another member HOST:PORT>')}`;
    default:
      return undefined;
  }
}

/**
 * `npm run admin` in-process: parse `argv` (without `node` and the script), make the one call
 * to the node at `--node`, and write the result (or the error line and the advice) to `io`.
 * The connection is closed (without waiting for the close handshake) before it resolves.
 * @returns the exit code: 0 done, 1 the node is unreachable or refused the command, 2 bad usage.
 */
export async function runAdmin(argv: readonly string[], io: ToolIo): Promise<number> {
  try {
    return await main(argv, io);
  } catch (err) {
    return reportFailure(PROG, err, io);
  }
}

async function main(argv: readonly string[], io: ToolIo): Promise<number> {
  const parsed = parseAdminArgs(argv);
  if (parsed === 'help') {
    io.stdout(`${USAGE}\n`);
    return 0;
  }
  const spec = COMMANDS[parsed.command] as Command;
  let conn: AdminConnection;
  try {
    conn = await connectAdmin(parsed.node, parsed.cookie);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    const hint = isCookieMismatch(err) ? 'does it use another --cookie?' : 'is it running? start one with npm start';
    printError(`cannot reach a node at ${parsed.node}: ${reason} (${hint})`, io);
    return 1;
  }
  let result: unknown;
  try {
    if (spec.fault) {
      const { node, ms } = spec.request(parsed.args) as { node: string; ms?: number };
      const addrOf = async (n: string) => String(await conn.call('admin.addr_of', { node: n }));
      result = await breakNode({ addrOf, cookie: parsed.cookie }, spec.fault, node, ms);
    } else result = await conn.call(spec.method, spec.request(parsed.args));
  } catch (err) {
    printError(err instanceof Error ? err.message : String(err), io);
    const next = await advice(err, parsed, conn).catch(() => undefined);
    if (next) io.stderr(`  next: ${next}\n`);
    conn.close();
    return 1;
  }
  conn.close();
  io.stdout(`${parsed.json ? JSON.stringify(result ?? null, null, 2) : spec.show(result, parsed.args, conn.node)}\n`);
  return 0;
}

// Exit at once, as before: don't wait for the WebSocket close handshake.
if (isMain(import.meta.url)) process.exit(await runAdmin(process.argv.slice(2), processIo()));
