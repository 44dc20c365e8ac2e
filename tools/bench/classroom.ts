/**
 * Rows `room-8/16/32` and `room-down` (issue 17): the whole room joins one ring. A seed node
 * process starts (`npm run node`, the ex1 stage: no HTTP or chat ports), then N node processes
 * start at once with `--join <seed>` while a CPU hog (a busy loop in one more process) loads the
 * machine, as on a laptop projecting slides. Timed from the start of the N processes until the
 * seed's ring holds all N + 1 as `valid` and is settled. A node process that exits meanwhile
 * (it gave up joining) fails the row. At the largest size, one node is then crashed through the
 * admin API, marked down, removed and the removal committed: `room-down` times that until the
 * others are settled again. Processes of the measured tree, this checkout's admin client.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { type AdminConnection, connectAdmin } from '../../shared/admin_client.js';
import { commitWhenReady } from '../../shared/commit.js';
import { freePorts } from '../../shared/harness/processes.js';
import { AbortWait, waitFor } from '../../shared/harness/wait.js';
import { QUICK_SKIPPED } from './rows.js';
import { messageOf, type StepContext } from './runner.js';
import { formatMs } from './stats.js';

const COOKIE = 'bench-classroom';
/** Deadline for N nodes to be valid and settled, and for the ring to settle after a removal (ms). */
const ROOM_MS = 300_000;
const SIZES = [8, 16, 32] as const;

interface Room {
  readonly procs: Map<string, ChildProcess>;
  readonly exited: string[];
  /** Nodes crashed on purpose: their exit is expected. */
  readonly crashed: Set<string>;
  readonly seedAddr: string;
  conn?: AdminConnection;
}

/** What `admin.status` answers that the step reads. */
interface Status {
  readonly settled: boolean;
  readonly members: readonly { node: string; status: string; up: boolean }[];
}

function startNode(ctx: StepContext, room: Room, name: string, port: number, seed?: string): void {
  const args = ['--import', 'tsx', join(ctx.root, 'shared/cli/node_console.ts')];
  args.push('--name', name, '--port', String(port), '--no-repl', '--app', 'ex1', '--cookie', COOKIE);
  if (seed) args.push('--join', seed);
  const proc = spawn(process.execPath, args, {
    cwd: ctx.root,
    stdio: 'ignore',
    env: { ...process.env, RING_LOG: 'error', FORCE_COLOR: '0' },
  });
  proc.once('exit', () => {
    if (!room.crashed.has(name)) room.exited.push(name);
  });
  room.procs.set(name, proc);
}

async function status(room: Room): Promise<Status> {
  room.conn ??= await connectAdmin(room.seedAddr, COOKIE);
  return (await room.conn.call('admin.status', {}, 10_000)) as Status;
}

/** All of `names` valid, nobody else, and the seed's ring settled. */
async function settledWith(room: Room, names: readonly string[]): Promise<boolean> {
  // Not retried: a node that exited gave up joining (or crashed), waiting cannot help.
  if (room.exited.length > 0) throw new AbortWait(`node process(es) exited: ${room.exited.join(', ')}`);
  const s = await status(room).catch(() => undefined);
  if (!s) return false;
  const valid = s.members.filter((m) => m.status === 'valid').map((m) => m.node.split('@')[0]);
  return s.settled && valid.length === names.length && names.every((n) => valid.includes(n));
}

async function stopRoom(room: Room): Promise<void> {
  room.conn?.close();
  await Promise.all(
    [...room.procs.values()].map(
      (p) =>
        new Promise<void>((resolve) => {
          if (p.exitCode !== null || p.signalCode !== null) return resolve();
          p.once('exit', () => resolve());
          p.kill('SIGTERM');
          setTimeout(() => p.kill('SIGKILL'), 5000).unref();
        }),
    ),
  );
}

/** One room of `size` joiners: ms until all valid; with `down`, also the removal of one. */
async function oneRoom(ctx: StepContext, size: number, down: boolean): Promise<void> {
  const step = `room${size}`;
  const ports = await freePorts(size + 1);
  const room: Room = { procs: new Map(), exited: [], crashed: new Set(), seedAddr: `127.0.0.1:${ports[0]}` };
  const hog = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
  try {
    startNode(ctx, room, 'seed', ports[0] as number);
    await waitFor('the seed to answer', () => status(room).then(() => true), { timeoutMs: 60_000, intervalMs: 200 });
    const names = ['seed', ...Array.from({ length: size }, (_, i) => `c${i + 1}`)];
    const t0 = performance.now();
    for (let i = 1; i <= size; i++) startNode(ctx, room, `c${i}`, ports[i] as number, room.seedAddr);
    await waitFor(`${size} nodes to join and the ring to settle`, () => settledWith(room, names), {
      timeoutMs: ROOM_MS,
      intervalMs: 250,
    });
    const ms = performance.now() - t0;
    ctx.results.add(`room-${size}`, ms);
    ctx.progress.line(step, `${size} nodes joined at once (CPU hog running): all valid, settled in ${formatMs(ms)}`);
    if (!down) return;
    const victim = `c${Math.ceil(size / 2)}@127.0.0.1`;
    const conn = room.conn as AdminConnection;
    const t1 = performance.now();
    room.crashed.add(victim.split('@')[0] as string);
    await conn.call('admin.addr_of', { node: victim }).then(async (addr) => {
      const target = await connectAdmin(String(addr), COOKIE);
      await target.call('admin.crash', {}).finally(() => target.close());
    });
    await waitFor(`the seed to see ${victim} unreachable`, async () =>
      (await status(room)).members.some((m) => m.node === victim && !m.up),
    );
    await conn.call('admin.down', { node: victim });
    await conn.call('admin.remove', { node: victim });
    await commitWhenReady(() => conn.call('admin.commit'), { timeoutMs: 60_000, retryOn: ['ring_not_ready'] });
    const rest = names.filter((n) => `${n}@127.0.0.1` !== victim);
    await waitFor('the others to settle without it', () => settledWith(room, rest), { timeoutMs: ROOM_MS });
    const downMs = performance.now() - t1;
    ctx.results.add('room-down', downMs);
    ctx.progress.line(
      step,
      `crash, down, remove, commit of one node: the other ${size} settled in ${formatMs(downMs)}`,
    );
  } finally {
    hog.kill('SIGKILL');
    await stopRoom(room);
  }
}

export async function benchClassroom(ctx: StepContext): Promise<void> {
  const sizes = ctx.quick ? [8] : SIZES;
  for (const size of SIZES) if (!sizes.includes(size)) ctx.results.note(`room-${size}`, QUICK_SKIPPED);
  const reps = ctx.reps ?? 1;
  for (const size of sizes) {
    for (let rep = 1; rep <= reps; rep++) {
      try {
        await oneRoom(ctx, size, size === sizes[sizes.length - 1]);
      } catch (err) {
        ctx.results.note(`room-${size}`, messageOf(err));
        ctx.progress.warn(`room${size}`, messageOf(err));
      }
    }
  }
}
