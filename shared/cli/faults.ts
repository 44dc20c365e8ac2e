/**
 * Faults an attendee causes on purpose, the same way on every OS: `crash` (the node process
 * exits at once, as after `kill -9`: no leave, no goodbye to its peers, its ring file as it was)
 * and `freeze` (the whole process stops for a while, heartbeats and timers included, as after
 * `kill -STOP` … `kill -CONT`, which Windows does not have). riak_test breaks nodes with
 * `rt:brutal_kill/1` and by suspending the VM; these are the workshop's equivalents.
 *
 * A node started by `npm run node` (so also under `npm start`) answers the admin methods
 * `admin.crash` and `admin.freeze` ({@link registerFaults}); `npm run admin -- crash <node>` and
 * `freeze <node> <ms>`, and `crash(node)` / `freeze(node, ms)` in a node console, find the
 * target's address in the ring of the node they talk to and ask the target itself
 * ({@link breakNode}). In-process test clusters do not register them: a freeze would stop every
 * node of the process (use the nemesis there).
 */
import { connectAdmin } from '../admin_client.js';
import { RingError } from '../errors.js';
import type { RingNode } from '../node.js';

/** The longest freeze, in ms: long enough for any down detection, short enough to come back. */
export const MAX_FREEZE_MS = 600_000;

/** What the fault handlers do to the process (replaceable in tests). */
export interface FaultActions {
  /** End the process at once (default: `process.exit(137)`, the exit code of a SIGKILLed process). */
  readonly exit: () => void;
  /** Stop the whole process for `ms` (default: block its only thread, {@link blockFor}). */
  readonly block: (ms: number) => void;
}

/** Block the calling thread for `ms` without spinning: nothing in this process runs meanwhile. */
export function blockFor(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

const DEFAULT_ACTIONS: FaultActions = { exit: () => process.exit(137), block: blockFor };

/**
 * The duration of a freeze from the wire or the command line.
 * @throws RingError `bad_request` unless it is a whole number of ms in 1..{@link MAX_FREEZE_MS}.
 */
export function freezeMs(value: unknown): number {
  const ms = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 1 || ms > MAX_FREEZE_MS)
    throw new RingError('bad_request', `a freeze lasts 1 to ${MAX_FREEZE_MS} ms, got ${JSON.stringify(value)}`);
  return ms;
}

/**
 * Register `admin.crash` (answers `{ crashing: name }`, then exits) and `admin.freeze`
 * (`{ ms }`: answers `{ frozen: name, ms }`, then stops the process for `ms`) on `node.rpc`,
 * for admin clients only (a member cannot call them). The answer goes out first (the fault starts 50 ms later), so the tool
 * that asked can say what happened.
 */
export function registerFaults(node: RingNode, actions: FaultActions = DEFAULT_ACTIONS): void {
  const later = (fn: () => void) => setTimeout(fn, 50);
  node.rpc.handle(
    'admin.crash',
    () => {
      node.log.warn('crash asked for through the admin API: exiting now, as after kill -9');
      later(actions.exit);
      return { crashing: node.name };
    },
    { clients: 'only' },
  );
  node.rpc.handle(
    'admin.freeze',
    (args) => {
      const ms = freezeMs((args as { ms?: unknown } | null)?.ms);
      node.log.warn(`freeze asked for through the admin API: this process stops for ${ms} ms`);
      later(() => {
        actions.block(ms);
        node.log.info(`frozen for ${ms} ms: running again`);
      });
      return { frozen: node.name, ms };
    },
    { clients: 'only' },
  );
}

/** How {@link breakNode} reaches the cluster: through a node's admin API, or in its console. */
export interface FaultRoute {
  /** Address (`host:port`) of `node` in the ring of the node asked. @throws RingError `not_member`. */
  addrOf(node: string): Promise<string>;
  readonly cookie: string;
}

/**
 * Crash or freeze `target`: find its address through `route`, connect to it with the cookie
 * and call `admin.crash` / `admin.freeze`.
 * @returns the target's answer (`{ crashing }` or `{ frozen, ms }`).
 * @throws RingError `not_member` if the ring does not know `target`; `bad_request` for a bad
 *   duration; the connection's error if the target cannot be reached (it is down already).
 */
export async function breakNode(
  route: FaultRoute,
  fault: 'crash' | 'freeze',
  target: string,
  ms?: number,
): Promise<unknown> {
  const args = fault === 'freeze' ? { ms: freezeMs(ms) } : {};
  const addr = await route.addrOf(target);
  const conn = await connectAdmin(addr, route.cookie);
  try {
    return await conn.call(`admin.${fault}`, args, 5000);
  } finally {
    conn.close();
  }
}
