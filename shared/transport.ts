/**
 * Node-to-node transport: WebSockets (`ws`) carrying msgpack frames (`msgpackr`), the part
 * Erlang distribution plays for riak_core.
 *
 * - Every frame is one binary WebSocket message holding a msgpack map with a string `t`.
 * - Nodes of one cluster share a cookie, like Erlang. A connection is accepted only after a
 *   mutual challenge/response: each side proves it knows the cookie with an HMAC-SHA256 of
 *   the other's random nonce. The cookie itself never crosses the wire.
 * - Oversized frames (ws `maxPayload`), text frames and frames that do not decode close
 *   that one connection; the node keeps running.
 * - Each node keeps one outbound connection per peer and sends on it; it receives on any.
 *   Heartbeat frames go out every `heartbeatMs`; a peer is *up* while our outbound
 *   connection is open and we heard from it within `downAfterMs`.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Packr } from 'msgpackr';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { Logger } from './log.js';

/** A message between nodes: a msgpack map with a string tag `t`. */
export interface Frame {
  readonly t: string;
  readonly [field: string]: unknown;
}

/** `node`: a cluster member. `client`: an admin tool; it gets no heartbeats and is never "up". */
export type PeerRole = 'node' | 'client';

/** What the nemesis (test harness) may do with a frame on its way to `to`. */
export type LinkVerdict = 'deliver' | 'drop' | { delayMs: number };
/** Decides the fate of each outgoing frame; installed by the test harness's nemesis. */
export type LinkFilter = (to: string, frame: Frame) => LinkVerdict;

/** Options for {@link Transport}. Times in ms, sizes in bytes. */
export interface TransportOptions {
  /** This node's name, e.g. `dev1@127.0.0.1`. */
  node: string;
  /** Address to bind (default `127.0.0.1`: loopback unless told otherwise). */
  host?: string;
  /** Port to bind; 0 picks an ephemeral port. */
  port?: number;
  /**
   * Host other nodes should dial to reach us (told to peers in the handshake). Default: `host`,
   * or 127.0.0.1 when binding every interface (0.0.0.0 / ::), which nobody can dial.
   */
  advertiseHost?: string;
  /** Shared secret of the cluster. */
  cookie: string;
  log: Logger;
  /** Largest accepted frame (default 8 MiB). */
  maxFrameBytes?: number;
  /** Heartbeat period (default 250 ms). */
  heartbeatMs?: number;
  /** A peer is down after this long without a frame (default 1500 ms). */
  downAfterMs?: number;
  /** Time allowed for the cookie handshake (default 3000 ms). */
  handshakeTimeoutMs?: number;
  /** Extra fields for our heartbeat frames (the node watcher puts its services here). */
  heartbeat?: () => Record<string, unknown>;
}

const packr = new Packr({ useRecords: false, moreTypes: false });
/** Encode a frame (exported for tests that speak the protocol by hand). */
export const encodeFrame = (frame: Frame): Buffer => packr.pack(frame);
/** Decode a frame. @throws Error if the bytes are not a msgpack map with a string `t`. */
export function decodeFrame(data: Buffer): Frame {
  const value: unknown = packr.unpack(data);
  if (typeof value !== 'object' || value === null || Array.isArray(value) || typeof (value as Frame).t !== 'string') {
    throw new Error('frame is not a map with a string "t"');
  }
  return value as Frame;
}

const proof = (cookie: string, role: string, nonce: string, node: string) =>
  createHmac('sha256', cookie).update(`${role}:${nonce}:${node}`).digest('hex');

function proofMatches(expected: string, got: unknown): boolean {
  if (typeof got !== 'string' || got.length !== expected.length) return false;
  return timingSafeEqual(Buffer.from(expected), Buffer.from(got));
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** Close codes we use (4000-4999 are for applications). */
export const CLOSE = { wrongCookie: 4001, badHandshake: 4002, malformed: 1007, tooBig: 1009, shutdown: 1001 } as const;

/** Options for {@link dial}. */
export interface DialOptions {
  node: string;
  role: PeerRole;
  cookie: string;
  /** Our listener address, told to the peer so it can dial back (nodes only). */
  addr?: string;
  maxFrameBytes?: number;
  handshakeTimeoutMs?: number;
}

/** An authenticated connection returned by {@link dial}. */
export interface Dialled {
  socket: WebSocket;
  /** The peer's node name, as proven by the handshake. */
  peer: string;
}

/**
 * Open a WebSocket to `addr` (`host:port`) and run the client half of the cookie handshake.
 * @throws Error `refused by <addr>: wrong cookie` / `handshake with <addr> failed: …` / connection errors.
 */
export function dial(addr: string, opts: DialOptions): Promise<Dialled> {
  const timeoutMs = opts.handshakeTimeoutMs ?? 3000;
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://${addr}/`, { maxPayload: opts.maxFrameBytes ?? 8 * 1024 * 1024, handshakeTimeout: timeoutMs });
    const myNonce = randomBytes(16).toString('hex');
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.terminate();
      reject(err);
    };
    const timer = setTimeout(() => fail(new Error(`handshake with ${addr} timed out after ${timeoutMs} ms`)), timeoutMs);
    socket.on('error', (err) => fail(err));
    socket.on('close', (code, reason) => {
      if (code === CLOSE.wrongCookie) fail(new Error(`refused by ${addr}: wrong cookie`));
      else fail(new Error(`handshake with ${addr} failed: connection closed (${code} ${reason.toString()})`));
    });
    socket.on('message', (data, isBinary) => {
      if (settled) return;
      let frame: Frame;
      try {
        if (!isBinary) throw new Error('text frame');
        frame = decodeFrame(toBuffer(data));
      } catch (err) {
        return fail(new Error(`handshake with ${addr} failed: ${(err as Error).message}`));
      }
      if (frame.t === 'challenge' && typeof frame.nonce === 'string' && typeof frame.node === 'string') {
        socket.send(
          encodeFrame({
            t: 'hello',
            node: opts.node,
            role: opts.role,
            addr: opts.addr ?? '',
            nonce: myNonce,
            proof: proof(opts.cookie, opts.role, frame.nonce, opts.node),
          }),
        );
      } else if (frame.t === 'welcome' && typeof frame.node === 'string') {
        // Mutual: the server must know the cookie too, or we would talk to an impostor.
        if (!proofMatches(proof(opts.cookie, 'server', myNonce, frame.node), frame.proof)) {
          socket.close(CLOSE.wrongCookie, 'wrong cookie');
          return fail(new Error(`refused ${addr}: it does not know our cookie`));
        }
        settled = true;
        clearTimeout(timer);
        socket.removeAllListeners('close');
        socket.removeAllListeners('message');
        socket.removeAllListeners('error');
        socket.on('error', () => undefined); // the owner attaches its own handlers next
        resolve({ socket, peer: frame.node });
      } else {
        fail(new Error(`handshake with ${addr} failed: unexpected frame "${frame.t}"`));
      }
    });
  });
}

interface Peer {
  addr: string;
  socket?: WebSocket;
  dialling: boolean;
  retryTimer?: NodeJS.Timeout;
  lastHeard: number;
  up: boolean;
}

/**
 * The transport of one node. Events:
 * - `frame` (from: string, frame: Frame, role: PeerRole, reply: (f: Frame) => void)
 * - `up` (node) / `down` (node): liveness of a peer changed
 * - `hello` (node, addr, role): a peer authenticated on an inbound connection
 * - `heartbeat` (node, services): a peer's heartbeat arrived (for the node watcher)
 */
export class Transport extends EventEmitter {
  readonly node: string;
  private readonly opts: Required<Omit<TransportOptions, 'heartbeat' | 'log' | 'advertiseHost'>> & Pick<TransportOptions, 'heartbeat' | 'advertiseHost'>;
  private readonly log: Logger;
  private server?: WebSocketServer;
  private readonly peers = new Map<string, Peer>();
  private readonly inbound = new Set<WebSocket>();
  private heartbeatTimer?: NodeJS.Timeout;
  private closed = false;
  private filter?: LinkFilter;
  /** `host:port` other nodes dial to reach us (the advertised host), known after {@link listen}. */
  addr = '';

  constructor(opts: TransportOptions) {
    super();
    this.node = opts.node;
    this.log = opts.log;
    this.opts = {
      node: opts.node,
      host: opts.host ?? '127.0.0.1',
      port: opts.port ?? 0,
      cookie: opts.cookie,
      maxFrameBytes: opts.maxFrameBytes ?? 8 * 1024 * 1024,
      heartbeatMs: opts.heartbeatMs ?? 250,
      downAfterMs: opts.downAfterMs ?? 1500,
      handshakeTimeoutMs: opts.handshakeTimeoutMs ?? 3000,
      heartbeat: opts.heartbeat,
      advertiseHost: opts.advertiseHost,
    };
  }

  /**
   * Bind the listener and start heartbeats.
   * @returns `host:port` actually bound.
   * @throws the listen error (e.g. EADDRINUSE).
   */
  async listen(): Promise<string> {
    const server = new WebSocketServer({ host: this.opts.host, port: this.opts.port, maxPayload: this.opts.maxFrameBytes });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    server.on('error', (err) => this.log.error(`listener error: ${err.message}`));
    server.on('wsClientError', (err, socket) => {
      this.log.warn(`rejected a malformed WebSocket upgrade: ${err.message}`);
      socket.destroy();
    });
    server.on('connection', (socket, req) => this.accept(socket, req.socket.remoteAddress ?? '?'));
    const { port } = server.address() as AddressInfo;
    const wildcard = this.opts.host === '0.0.0.0' || this.opts.host === '::';
    this.addr = `${this.opts.advertiseHost ?? (wildcard ? '127.0.0.1' : this.opts.host)}:${port}`;
    this.heartbeatTimer = setInterval(() => this.beat(), this.opts.heartbeatMs);
    this.heartbeatTimer.unref();
    return this.addr;
  }

  /** Install (or with `undefined`, remove) the nemesis's filter on outgoing frames. */
  setLinkFilter(filter: LinkFilter | undefined): void {
    this.filter = filter;
  }

  /** Keep an outbound connection to `node` at `addr`, redialling while it is down. */
  addPeer(node: string, addr: string): void {
    if (node === this.node || this.closed || !addr) return;
    const peer = this.peers.get(node);
    if (peer) {
      if (peer.addr !== addr) {
        peer.addr = addr;
        peer.socket?.terminate();
      }
      return;
    }
    this.peers.set(node, { addr, dialling: false, lastHeard: 0, up: false });
    this.redial(node, 0);
  }

  /** Stop talking to `node` (it left the cluster). */
  removePeer(node: string): void {
    const peer = this.peers.get(node);
    if (!peer) return;
    this.peers.delete(node);
    clearTimeout(peer.retryTimer);
    peer.socket?.close(CLOSE.shutdown, 'removed');
    if (peer.up) this.emit('down', node);
  }

  /** The address we dial `node` at, if it is a peer. */
  peerAddr(node: string): string | undefined {
    return this.peers.get(node)?.addr;
  }

  /** Peers we keep connections to. */
  peerNames(): string[] {
    return [...this.peers.keys()];
  }

  /** True while `node` is connected and heard from recently (always true for ourselves). */
  isUp(node: string): boolean {
    return node === this.node || (this.peers.get(node)?.up ?? false);
  }

  /**
   * Send a frame to a peer over our outbound connection.
   * @returns false when the peer is not connected (the frame is dropped, as with Erlang's `!`
   * to an unreachable node) — callers that need an answer use deadlines.
   */
  send(node: string, frame: Frame, fallback?: WebSocket): boolean {
    const verdict = this.filter?.(node, frame) ?? 'deliver';
    if (verdict === 'drop') return true; // looks sent; lost in the network
    if (verdict !== 'deliver') {
      setTimeout(() => this.sendNow(node, frame, fallback), verdict.delayMs).unref();
      return true;
    }
    return this.sendNow(node, frame, fallback);
  }

  /** Send on our outbound link, or on `fallback` (the inbound socket a request came on) while we have none. */
  private sendNow(node: string, frame: Frame, fallback?: WebSocket): boolean {
    const own = this.peers.get(node)?.socket;
    const socket = own?.readyState === WebSocket.OPEN ? own : fallback;
    if (!socket || socket.readyState !== WebSocket.OPEN) return false;
    socket.send(encodeFrame(frame));
    return true;
  }

  /** Stop listening and drop every connection. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeatTimer);
    for (const [node, peer] of this.peers) {
      clearTimeout(peer.retryTimer);
      peer.socket?.terminate();
      if (peer.up) this.emit('down', node);
    }
    this.peers.clear();
    for (const s of this.inbound) s.terminate();
    this.inbound.clear();
    const server = this.server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  // --- inbound -------------------------------------------------------------------------

  private accept(socket: WebSocket, remote: string): void {
    if (this.closed) return void socket.terminate();
    this.inbound.add(socket);
    const nonce = randomBytes(16).toString('hex');
    let peer: string | undefined;
    let role: PeerRole = 'node';
    const timer = setTimeout(() => {
      this.log.warn(`closing connection from ${remote}: no handshake within ${this.opts.handshakeTimeoutMs} ms`);
      socket.close(CLOSE.badHandshake, 'handshake timeout');
    }, this.opts.handshakeTimeoutMs);
    socket.on('error', (err) => this.log.warn(`connection from ${peer ?? remote}: ${err.message}`));
    socket.on('close', () => {
      clearTimeout(timer);
      this.inbound.delete(socket);
    });
    socket.send(encodeFrame({ t: 'challenge', node: this.node, nonce }));
    socket.on('message', (data, isBinary) => {
      let frame: Frame;
      try {
        if (!isBinary) throw new Error('text frames are not allowed');
        frame = decodeFrame(toBuffer(data));
      } catch (err) {
        this.log.warn(`closing connection from ${peer ?? remote}: malformed frame (${(err as Error).message})`);
        return socket.close(CLOSE.malformed, 'malformed frame');
      }
      if (peer === undefined) {
        if (frame.t !== 'hello' || typeof frame.node !== 'string' || (frame.role !== 'node' && frame.role !== 'client')) {
          this.log.warn(`closing connection from ${remote}: expected a hello frame`);
          return socket.close(CLOSE.badHandshake, 'expected hello');
        }
        if (!proofMatches(proof(this.opts.cookie, frame.role, nonce, frame.node), frame.proof)) {
          this.log.warn(`refused connection from ${frame.node} (${remote}): wrong cookie`);
          return socket.close(CLOSE.wrongCookie, 'wrong cookie');
        }
        clearTimeout(timer);
        peer = frame.node;
        role = frame.role;
        socket.send(encodeFrame({ t: 'welcome', node: this.node, proof: proof(this.opts.cookie, 'server', String(frame.nonce), this.node) }));
        this.emit('hello', peer, typeof frame.addr === 'string' ? frame.addr : '', role);
        return;
      }
      const from = peer;
      // Replies to nodes pass the nemesis like any frame; admin clients only have this socket.
      this.receive(from, role, frame, (reply) =>
        role === 'node' ? this.send(from, reply, socket) : socket.readyState === WebSocket.OPEN && socket.send(encodeFrame(reply)),
      );
    });
  }

  private receive(from: string, role: PeerRole, frame: Frame, reply: (f: Frame) => void): void {
    const peer = this.peers.get(from);
    if (peer && role === 'node') {
      peer.lastHeard = Date.now();
      if (!peer.up && peer.socket?.readyState === WebSocket.OPEN) this.setUp(from, peer, true);
    }
    if (frame.t === 'hb') {
      if (role === 'node') this.emit('heartbeat', from, frame.services);
      return;
    }
    try {
      this.emit('frame', from, frame, role, reply);
    } catch (err) {
      this.log.error(`handling "${frame.t}" from ${from} failed: ${(err as Error).stack ?? err}`);
    }
  }

  // --- outbound ------------------------------------------------------------------------

  private redial(node: string, delayMs: number): void {
    const peer = this.peers.get(node);
    if (!peer || this.closed) return;
    clearTimeout(peer.retryTimer);
    peer.retryTimer = setTimeout(() => void this.connect(node), delayMs);
    peer.retryTimer.unref();
  }

  private async connect(node: string): Promise<void> {
    const peer = this.peers.get(node);
    if (!peer || peer.dialling || this.closed) return;
    peer.dialling = true;
    try {
      const { socket, peer: name } = await dial(peer.addr, {
        node: this.node,
        role: 'node',
        cookie: this.opts.cookie,
        addr: this.addr,
        maxFrameBytes: this.opts.maxFrameBytes,
        handshakeTimeoutMs: this.opts.handshakeTimeoutMs,
      });
      if (this.closed || this.peers.get(node) !== peer) return void socket.terminate();
      if (name !== node) {
        this.log.warn(`${peer.addr} answered as ${name}, expected ${node}; will retry`);
        socket.terminate();
        return this.redial(node, 1000);
      }
      peer.socket = socket;
      socket.on('error', (err) => this.log.debug(`link to ${node}: ${err.message}`));
      socket.on('message', (data, isBinary) => {
        try {
          if (!isBinary) throw new Error('text frame');
          this.receive(node, 'node', decodeFrame(toBuffer(data)), (f) => this.send(node, f));
        } catch (err) {
          this.log.warn(`closing link to ${node}: malformed frame (${(err as Error).message})`);
          socket.close(CLOSE.malformed, 'malformed frame');
        }
      });
      socket.on('close', () => {
        if (peer.socket === socket) peer.socket = undefined;
        if (peer.up) this.setUp(node, peer, false);
        if (this.peers.get(node) === peer) this.redial(node, this.opts.heartbeatMs);
      });
      // Through the link filter like every frame: a cut link that reconnects must not leak a
      // heartbeat, or the peer would see us up again until downAfterMs passes.
      this.send(node, { t: 'hb', ...this.opts.heartbeat?.() });
    } catch (err) {
      const msg = (err as Error).message;
      if (msg.includes('wrong cookie') || msg.includes('does not know our cookie')) this.log.warn(`cannot connect to ${node}: ${msg}`);
      else this.log.debug(`cannot connect to ${node} at ${peer.addr}: ${msg}`);
      this.redial(node, Math.min(1000, this.opts.heartbeatMs * 2));
    } finally {
      peer.dialling = false;
    }
  }

  private setUp(node: string, peer: Peer, up: boolean): void {
    peer.up = up;
    this.log.debug(`peer ${node} is ${up ? 'up' : 'down'}`);
    this.emit(up ? 'up' : 'down', node);
  }

  private beat(): void {
    const now = Date.now();
    const extra = this.opts.heartbeat?.() ?? {};
    for (const [node, peer] of this.peers) {
      if (peer.up && now - peer.lastHeard > this.opts.downAfterMs) {
        this.setUp(node, peer, false);
        // A silent peer may hold a half-open socket; start over.
        peer.socket?.terminate();
      }
      this.send(node, { t: 'hb', ...extra });
    }
  }
}
