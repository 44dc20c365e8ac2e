/**
 * Request/response between nodes, and from admin tools to nodes: the part `rpc:call/4` and
 * `gen_server:call/3` play in riak_core. Frames:
 *   `{t: 'call', id, method, args}` → `{t: 'return', id, ok: true, value}` or `{…, ok: false, error}`.
 * Every call has a deadline; a return that arrives after it is dropped.
 */
import { randomUUID } from 'node:crypto';
import { NodeDownError, RemoteError, RingError, TimeoutError, toWireError, type WireError } from './errors.js';
import type { Logger } from './log.js';
import type { Frame } from './frame.js';
import type { PeerRole } from './handshake.js';
import type { TSchema, Static } from '@sinclair/typebox';
import { problem, type CallFrame, type Refusals, type ReturnFrame } from './wire.js';

/** A method callable over RPC. `from` is the caller's node name, `role` whether it is a node or an admin client. */
export type RpcHandler<A = unknown> = (args: A, from: string, role: PeerRole) => unknown | Promise<unknown>;

/** Options of {@link Rpc.handle}. */
export interface HandleOptions<S extends TSchema | undefined> {
  /** Who may call: members only (default), admin clients too (`true`), or admin clients only (`'only'`). */
  clients?: boolean | 'only';
  /**
   * The schema of the method's arguments (TypeBox); the handler gets them typed. A call whose
   * arguments do not fit is answered with `bad_request` and never reaches the handler.
   */
  args?: S;
}

/** Default deadline for calls (ms). */
export const DEFAULT_CALL_TIMEOUT_MS = 5000;

/** Throw the error a failed return describes: a RemoteError carrying the remote code (see {@link RemoteError}). */
export function raise(node: string, error: WireError): never {
  throw new RemoteError(node, error.name, error.message, error.code);
}

/** RPC endpoint of one node (or of an admin client). */
export class Rpc {
  private readonly handlers = new Map<string, { fn: RpcHandler; clients: boolean | 'only'; args?: TSchema }>();
  private readonly waiting = new Map<
    string,
    { resolve: (v: unknown) => void; reject: (e: Error) => void; node: string; timer: NodeJS.Timeout }
  >();

  constructor(
    private readonly self: string,
    private readonly send: (node: string, frame: Frame) => boolean,
    private readonly log: Logger,
    private readonly refusals?: Refusals,
  ) {}

  /**
   * Expose `method`. Only handlers registered with `{ clients: true }` may be called by admin
   * clients; everything else is for cluster members. `{ clients: 'only' }`: admin clients
   * only, no member (a fault such as `admin.crash` is an operator's act, not a peer's).
   * With `args`, the arguments are checked against that schema first (see {@link HandleOptions}).
   */
  handle<S extends TSchema | undefined = undefined>(
    method: string,
    fn: RpcHandler<S extends TSchema ? Static<S> : unknown>,
    opts: HandleOptions<S> = {},
  ): void {
    this.handlers.set(method, { fn: fn as RpcHandler, clients: opts.clients ?? false, args: opts.args });
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
      const why = h.args && problem(h.args, args);
      if (why) throw new RingError('bad_request', `bad arguments to ${method}: ${why}`);
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
    // Frames reach us checked against wire.ts CallFrame / ReturnFrame (the transport does it).
    if (frame.t === 'return') {
      const f = frame as ReturnFrame;
      const w = this.waiting.get(f.id);
      if (!w) return true; // late or unknown: dropped
      clearTimeout(w.timer);
      this.waiting.delete(f.id);
      if (f.ok) w.resolve(f.value);
      else {
        try {
          raise(w.node, f.error ?? { name: 'Error', message: 'unknown error' });
        } catch (err) {
          w.reject(err as Error);
        }
      }
      return true;
    }
    if (frame.t !== 'call') return false;
    const { id, method, args } = frame as CallFrame;
    const h = this.handlers.get(method);
    const fail = (error: WireError) => reply({ t: 'return', id, ok: false, error });
    if (!h || (role === 'client' && !h.clients) || (role !== 'client' && h.clients === 'only')) {
      fail({ name: 'Error', message: `no such method "${method.slice(0, 100)}"`, code: 'no_such_method' });
      return true;
    }
    const why = h.args && problem(h.args, args);
    if (why) {
      if (this.refusals) this.refusals.refuse('rpc', from, `${method}: ${why}`);
      else this.log.warn(`refused a call of ${method} from ${from}: ${why}`);
      fail({ name: 'RingError', message: `bad arguments to ${method}: ${why}`, code: 'bad_request' });
      return true;
    }
    Promise.resolve()
      .then(() => h.fn(args, from, role))
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
