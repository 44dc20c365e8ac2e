/**
 * The bench's child processes: TypeScript workers forked with tsx that answer requests over
 * IPC (`startChild` in the bench, `serveParent` in the worker), and timed commands (`timeCommand`).
 * Every one has a deadline and is killed by pid when the bench is done with it.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { BENCH_REPO } from './options.js';
import { TooSlowError } from './runner.js';

/** The last `max` characters of a process's output, for error messages. */
class Tail {
  private text = '';
  constructor(private readonly max = 2000) {}
  push(chunk: Buffer | string): void {
    this.text = (this.text + chunk.toString()).slice(-this.max);
  }
  /** The text, without terminal colour codes. */
  toString(): string {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escapes start with ESC
    return this.text.replace(/\x1b\[[0-9;]*m/g, '').trim();
  }
}

/** A forked worker; see {@link startChild}. */
export interface Child {
  readonly pid: number;
  /**
   * Send `{ cmd, ...args }` and wait for the worker's answer.
   * @throws the worker's error (its message); TooSlowError after `timeoutMs`; Error if it exits.
   */
  request<T>(cmd: string, args: Record<string, unknown>, timeoutMs: number): Promise<T>;
  /** SIGTERM, then SIGKILL after 3 s; resolves when it is gone. */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();

/** Kill every child still running, with its process group if it leads one (the bench's exit path). */
export function killAll(): void {
  for (const c of running) {
    try {
      if (c.pid && c.spawnargs[0] !== process.execPath) process.kill(-c.pid, 'SIGKILL');
      else c.kill('SIGKILL');
    } catch {
      c.kill('SIGKILL');
    }
  }
}

/**
 * Fork `script` (a .ts file of tools/bench/, run with tsx) with `args`, in the bench's repository.
 * @throws Error if it exits before answering its first request.
 */
export function startChild(script: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Child {
  const child = fork(new URL(script, import.meta.url), [...args], {
    cwd: BENCH_REPO,
    // `npm run bench -- --cpu-prof DIR` (tools/bench.ts sets BENCH_CPU_PROF): each worker
    // writes a V8 CPU profile there when it exits.
    execArgv: [
      '--import',
      'tsx',
      ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []),
    ],
    env: { ...process.env, FORCE_COLOR: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  running.add(child);
  const tail = new Tail();
  child.stdout?.on('data', (c: Buffer) => tail.push(c));
  child.stderr?.on('data', (c: Buffer) => tail.push(c));
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let exited: Error | undefined;
  const gone = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      running.delete(child);
      exited = new Error(`${script} exited (${signal ?? `code ${code}`})${tail.toString() ? `: ${tail}` : ''}`);
      for (const p of pending.values()) p.reject(exited);
      pending.clear();
      resolve();
    }),
  );
  child.on('message', (m: { id: number; ok: boolean; value?: unknown; error?: string }) => {
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.ok) p.resolve(m.value);
    else p.reject(new Error(m.error ?? 'worker failed'));
  });
  let next = 0;
  return {
    pid: child.pid ?? -1,
    request<T>(cmd: string, a: Record<string, unknown>, timeoutMs: number): Promise<T> {
      if (exited) return Promise.reject(exited);
      const id = ++next;
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new TooSlowError(`${script} ${cmd}`, timeoutMs));
        }, timeoutMs);
        pending.set(id, {
          resolve: (v) => {
            clearTimeout(timer);
            resolve(v as T);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        });
        child.send({ id, cmd, ...a });
      });
    },
    async stop(): Promise<void> {
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await gone;
      clearTimeout(timer);
    },
  };
}

/** A request handler of a worker: its answer goes back to the bench. */
export type Handler = (msg: Record<string, unknown>) => unknown;

/**
 * In a worker: answer the bench's requests with `handlers[cmd]`, and exit when the bench goes
 * (IPC closed) so that no worker outlives it.
 */
export function serveParent(handlers: Record<string, Handler>): void {
  process.on('message', (m: { id: number; cmd: string } & Record<string, unknown>) => {
    void (async () => {
      try {
        const h = handlers[m.cmd];
        if (!h) throw new Error(`unknown command ${m.cmd}`);
        process.send?.({ id: m.id, ok: true, value: await h(m) });
      } catch (err) {
        process.send?.({ id: m.id, ok: false, error: err instanceof Error ? err.message : String(err) });
      }
    })();
  });
  process.on('disconnect', () => process.exit(0));
  // An orderly exit on stop(), so that a --cpu-prof profile (BENCH_CPU_PROF) gets written.
  process.on('SIGTERM', () => process.exit(0));
}

/** How a command ended. */
export interface CommandRun {
  readonly ms: number;
  readonly code: number | null;
  /** The end of its output. */
  readonly tail: string;
}

/**
 * Run `command args` in `cwd` and time it (wall clock, ms).
 * @throws TooSlowError after `timeoutMs` (the command's process group is killed).
 */
export function timeCommand(
  command: string,
  args: readonly string[],
  cwd: string,
  timeoutMs: number,
  env: NodeJS.ProcessEnv = {},
): Promise<CommandRun> {
  const t0 = performance.now();
  const child = spawn(command, [...args], {
    cwd,
    env: { ...process.env, CI: 'true', FORCE_COLOR: '0', NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group: a timeout kills vitest's workers too
  });
  running.add(child);
  const tail = new Tail(4000);
  child.stdout?.on('data', (c: Buffer) => tail.push(c));
  child.stderr?.on('data', (c: Buffer) => tail.push(c));
  return new Promise<CommandRun>((resolve, reject) => {
    const timer = setTimeout(() => {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
      reject(new TooSlowError(`${command} ${args.join(' ')}`, timeoutMs));
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      running.delete(child);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      running.delete(child);
      resolve({ ms: performance.now() - t0, code, tail: tail.toString() });
    });
  });
}
