/**
 * A minimal HTTP/1.1 load client over raw keep-alive sockets: `connections` sockets, one
 * request outstanding on each, until the deadline (like autocannon without pipelining). Far
 * cheaper per request than node:http's client, so the servers, not the client, set the rate.
 */
import { connect, type Socket } from 'node:net';

/** What to send. The path gets a fresh key per request: `${pathPrefix}${n}${pathSuffix}`. */
export interface HttpLoadSpec {
  readonly host: string;
  readonly port: number;
  readonly method: string;
  readonly pathPrefix: string;
  readonly pathSuffix?: string;
  /** JSON body (sent with content-type application/json), or none. */
  readonly body?: string;
  readonly connections: number;
  readonly durationMs: number;
}

/** What came back. */
export interface HttpLoadResult {
  /** Responses with a 2xx status. */
  readonly ok: number;
  /** Responses by status code. */
  readonly statuses: Record<string, number>;
  /** Socket errors and closed connections. */
  readonly errors: number;
  readonly firstError?: string;
  readonly elapsedMs: number;
  /** 2xx responses per second. */
  readonly perSecond: number;
}

const HEADER_END = Buffer.from('\r\n\r\n');
const CHUNKED_END = Buffer.from('0\r\n\r\n');

/**
 * Length of the first complete response in `buf` with its status, or undefined if it is not
 * all there yet. Handles content-length and chunked bodies (the latter up to the last chunk).
 */
export function responseLength(buf: Buffer): { length: number; status: number } | undefined {
  const end = buf.indexOf(HEADER_END);
  if (end < 0) return undefined;
  const head = buf.subarray(0, end).toString('latin1');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  if (length) {
    const total = end + 4 + Number(length[1]);
    return buf.length >= total ? { length: total, status } : undefined;
  }
  if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
    const last = buf.indexOf(CHUNKED_END, end + 4);
    return last < 0 ? undefined : { length: last + CHUNKED_END.length, status };
  }
  return { length: end + 4, status };
}

/** Run the load described by `spec`. */
export async function httpLoad(spec: HttpLoadSpec): Promise<HttpLoadResult> {
  const statuses: Record<string, number> = {};
  let ok = 0;
  let errors = 0;
  let firstError: string | undefined;
  let seq = 0;
  const body = spec.body === undefined ? undefined : Buffer.from(spec.body);
  const request = () => {
    const head =
      `${spec.method} ${spec.pathPrefix}${seq++}${spec.pathSuffix ?? ''} HTTP/1.1\r\nhost: ${spec.host}:${spec.port}\r\n` +
      (body ? `content-type: application/json\r\ncontent-length: ${body.length}\r\n` : '') +
      '\r\n';
    return body ? Buffer.concat([Buffer.from(head, 'latin1'), body]) : Buffer.from(head, 'latin1');
  };
  const t0 = performance.now();
  const end = t0 + spec.durationMs;
  const open = () =>
    new Promise<Socket>((resolve, reject) => {
      const s = connect(spec.port, spec.host, () => resolve(s));
      s.once('error', reject);
    });
  const worker = async () => {
    while (performance.now() < end) {
      let socket: Socket;
      try {
        socket = await open();
      } catch (err) {
        errors++;
        firstError ??= (err as Error).message;
        await new Promise((r) => setTimeout(r, 10));
        continue;
      }
      socket.setNoDelay(true);
      // One request at a time on this socket until the deadline or the socket dies.
      await new Promise<void>((resolve) => {
        let buf: Buffer = Buffer.alloc(0);
        const finish = () => {
          socket.removeAllListeners();
          socket.on('error', () => undefined);
          socket.destroy();
          resolve();
        };
        socket.on('data', (chunk: Buffer) => {
          buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
          for (let r = responseLength(buf); r; r = responseLength(buf)) {
            buf = buf.subarray(r.length);
            statuses[r.status] = (statuses[r.status] ?? 0) + 1;
            if (r.status >= 200 && r.status < 300) ok++;
            if (performance.now() >= end) return finish();
            socket.write(request());
          }
        });
        const fail = (why: string) => {
          errors++;
          firstError ??= why;
          finish();
        };
        socket.on('error', (err) => fail(err.message));
        socket.on('close', () => fail('connection closed by the server'));
        socket.write(request());
      });
    }
  };
  await Promise.all(Array.from({ length: spec.connections }, worker));
  const elapsedMs = performance.now() - t0;
  return { ok, statuses, errors, firstError, elapsedMs, perSecond: (ok * 1000) / elapsedMs };
}
