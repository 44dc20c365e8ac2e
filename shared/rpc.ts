/**
 * Request/response between nodes, and from admin tools to nodes: the part `rpc:call/4` and
 * `gen_server:call/3` play in riak_core. Frames:
 *   `{t: 'call', id, method, args}` → `{t: 'return', id, ok: true, value}` or `{…, ok: false, error}`.
 * Every call has a deadline; a return that arrives after it is dropped.
 */
import { randomUUID } from 'node:crypto';
import { NodeDownError, RemoteError, TimeoutError, toWireError, type WireError } from './errors.js';
import type { Logger } from './log.js';
import type { Frame } from './frame.js';
import type { PeerRole } from './handshake.js';

/** A method callable over RPC. `from` is the caller's node name, `role` whether it is a node or an admin client. */
export type RpcHandler = (args: unknown, from: string, role: PeerRole) => unknown | Promise<unknown>;

/** Default deadline for calls (ms). */
export const DEFAULT_CALL_TIMEOUT_MS = 5000;

/** Throw the error a failed return describes: a RemoteError carrying the remote code (see {@link RemoteError}). */
export function raise(node: string, error: WireError): never {
  throw new RemoteError(node, error.name, error.message, error.code);
}

/** RPC endpoint of one node (or of an admin client). */
export class Rpc {
  private readonly handlers = new Map<string, { fn: RpcHandler; clients: boolean | 'only' }>();
  private readonly waiting = new Map<
    string,
    { resolve: (v: unknown) => void; reject: (e: Error) => void; node: string; timer: NodeJS.Timeout }
  >();

  constructor(
    private readonly self: string,
    private readonly send: (node: string, frame: Frame) => boolean,
    private readonly log: Logger,
  ) {}

  /**
   * Expose `method`. Only handlers registered with `{ clients: true }` may be called by admin
   * clients; everything else is for cluster members. `{ clients: 'only' }`: admin clients
   * only, no member (a fault such as `admin.crash` is an operator's act, not a peer's).
   */
  handle(method: string, fn: RpcHandler, opts: { clients?: boolean | 'only' } = {}): void {
    this.handlers.set(method, { fn, clients: opts.clients ?? false });
  }

  /**
   * Call `method` on `node`. Calls to ourselves run locally.
   * @throws NodeDownError if `node` is not connected; TimeoutError after `timeoutMs`;
   *   RemoteError (with the remote `code`) if the handler threw.
   */
  async call(node: string, method: string, args: unknown, timeoutMs = DEFAULT_CALL_TIMEOUT_MS): Promise<unknown> {
    if (node === this.self) {
      const h = this.handlers.get(method);
      if (!h) throw new Error(`no such method "${method}"`);
      return h.fn(args, this.self, 'node');
    }
    const id = randomUUID();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new TimeoutError(`call ${method} on ${node}`, timeoutMs));
      }, timeoutMs);
      timer.unref();
      this.waiting.set(id, { resolve, reject, node, timer });
      if (!this.send(node, { t: 'call', id, method, args })) {
        clearTimeout(timer);
        this.waiting.delete(id);
        reject(new NodeDownError(node));
      }
    });
  }

  /**
   * Handle `call`/`return` frames. @returns true if the frame was ours.
   * `reply` sends a frame back to the caller.
   */
  handleFrame(from: string, frame: Frame, role: PeerRole, reply: (f: Frame) => void): boolean {
    if (frame.t === 'return') {
      const w = typeof frame.id === 'string' ? this.waiting.get(frame.id) : undefined;
      if (!w) return true; // late or unknown: dropped
      clearTimeout(w.timer);
      this.waiting.delete(frame.id as string);
      if (frame.ok === true) w.resolve(frame.value);
      else {
        try {
          raise(w.node, (frame.error ?? { name: 'Error', message: 'unknown error' }) as WireError);
        } catch (err) {
          w.reject(err as Error);
        }
      }
      return true;
    }
    if (frame.t !== 'call') return false;
    const id = frame.id;
    const method = frame.method;
    const h = typeof method === 'string' ? this.handlers.get(method) : undefined;
    const fail = (error: WireError) => reply({ t: 'return', id, ok: false, error });
    if (typeof id !== 'string' || typeof method !== 'string') {
      this.log.warn(`ignoring malformed call from ${from}`);
      return true;
    }
    if (!h || (role === 'client' && !h.clients) || (role !== 'client' && h.clients === 'only')) {
      fail({ name: 'Error', message: `no such method "${method}"`, code: 'no_such_method' });
      return true;
    }
    Promise.resolve()
      .then(() => h.fn(frame.args, from, role))
      .then(
        (value) => reply({ t: 'return', id, ok: true, value: value ?? null }),
        (err: unknown) => fail(toWireError(err)),
      );
    return true;
  }

  /** Reject every waiting call (shutdown). */
  close(): void {
    for (const w of this.waiting.values()) {
      clearTimeout(w.timer);
      w.reject(new Error('node stopped'));
    }
    this.waiting.clear();
  }
}
