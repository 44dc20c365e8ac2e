/**
 * The optional redis anchor: a `redis-server` on loopback (when one is on the PATH) and a
 * minimal pipelining RESP client for SET, so a coordinated put can be compared with a
 * single-node in-memory store on the same machine.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { delimiter, join } from 'node:path';

/** The path of `name` on the PATH, or undefined. */
export function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not here
    }
  }
  return undefined;
}

/** A free loopback port (bound and released; redis cannot pick an ephemeral port itself). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A running redis-server with one client connection. */
export interface Redis {
  /** SET key value; resolves on `+OK`. @throws Error with redis's error line. */
  set(key: string, value: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Start `redis-server` (no persistence) on a free loopback port and connect to it.
 * @throws Error if it does not accept a connection within `timeoutMs`.
 */
export async function startRedis(binary: string, timeoutMs = 5000): Promise<Redis> {
  const port = await freePort();
  const server = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  const deadline = Date.now() + timeoutMs;
  let socket: Socket | undefined;
  while (!socket) {
    try {
      socket = await new Promise<Socket>((resolve, reject) => {
        const s = connect(port, '127.0.0.1', () => resolve(s));
        s.once('error', reject);
      });
    } catch (err) {
      if (Date.now() > deadline) {
        server.kill('SIGKILL');
        throw new Error(`redis-server did not accept a connection on port ${port}: ${(err as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const conn = socket;
  conn.setNoDelay(true);
  const waiting: { resolve: () => void; reject: (e: Error) => void }[] = [];
  let buffered = '';
  conn.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('latin1');
    for (let nl = buffered.indexOf('\r\n'); nl >= 0; nl = buffered.indexOf('\r\n')) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 2);
      const w = waiting.shift();
      if (line.startsWith('+')) w?.resolve();
      else w?.reject(new Error(`redis: ${line}`));
    }
  });
  const bulk = (s: string) => `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
  return {
    set: (key, value) =>
      new Promise<void>((resolve, reject) => {
        waiting.push({ resolve, reject });
        conn.write(`*3\r\n${bulk('SET')}${bulk(key)}${bulk(value)}`);
      }),
    stop: async () => {
      conn.destroy();
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
    },
  };
}
