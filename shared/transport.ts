/**
 * Node-to-node transport: WebSockets (`ws`) carrying msgpack frames (`msgpackr`), the part
 * Erlang distribution plays for riak_core.
 *
 * - A frame is a msgpack map with a string `t` (frame.ts: the codec, the one decoder, the
 *   close codes). Frames sent to a peer are encoded at once (later changes to the object do
 *   not leak) and written once per tick per socket: one frame as one binary message, several
 *   as one batch message of at most {@link MAX_BATCH_BYTES} (riak's distribution buffers its
 *   port the same way). A socket write per frame was a quarter of a busy node's CPU.
 * - Nodes of one cluster share a cookie, like Erlang. A connection is accepted only after a
 *   mutual challenge/response (handshake.ts): each side proves it knows the cookie with an
 *   HMAC-SHA256 of the other's random nonce. The cookie itself never crosses the wire.
 * - Oversized frames (ws `maxPayload`), text frames and frames that do not decode close
 *   that one connection; the node keeps running.
 * - Each node keeps one outbound connection per peer and sends on it; it receives on any.
 *   Heartbeat frames go out every `heartbeatMs`; a peer is *up* while our outbound
 *   connection is open and we heard from it within `downAfterMs`.
 */
import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { CLOSE, encodeBatch, encodeFrame, readFrame, readFrames, type Frame } from './frame.js';
import {
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_MAX_FRAME_BYTES,
  dial,
  isCookieMismatch,
  ServerHandshake,
  type PeerRole,
} from './handshake.js';
import { guard, type Logger } from './log.js';
import { frameProblem, Refusals } from './wire.js';

export type { Frame } from './frame.js';
export type { PeerRole } from './handshake.js';

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

/**
 * Largest batch message a link writes (bytes), and never more than the sender's
 * `maxFrameBytes`: a frame alone may be as large as the limit, frames batched together stay
 * below this (nodes of one cluster are expected to share the limit, ≥ 64 KiB).
 */
export const MAX_BATCH_BYTES = 64 * 1024;

/** Frames encoded for one socket, waiting for the end of the tick. */
interface Outbox {
  frames: Buffer[];
  bytes: number;
}

interface Peer {
  addr: string;
  socket?: WebSocket;
  dialling: boolean;
  retryTimer?: NodeJS.Timeout;
  lastHeard: number;
  up: boolean;
  /**
   * Known only from its hello, not from the ring: redialled with a growing delay, and forgotten
   * after {@link TRANSIENT_MAX_FAILURES} failed dials in a row (a peer announcing an address
   * nobody answers on must not be dialled forever).
   */
  transient: boolean;
  /** Failed dials since the last success. */
  failures: number;
}

/** Failed dials in a row after which a transient peer (not a ring member) is forgotten. */
export const TRANSIENT_MAX_FAILURES = 6;
/** Most transient peers kept at once; hellos beyond that are not dialled back. */
export const MAX_TRANSIENT_PEERS = 64;
/** Longest delay between two dials of a transient peer (ms). */
const TRANSIENT_MAX_DELAY_MS = 30_000;

/**
 * The transport of one node. Events:
 * - `frame` (from: string, frame: Frame, role: PeerRole, reply: (f: Frame) => void)
 * - `up` (node) / `down` (node): liveness of a peer changed
 * - `hello` (node, addr, role): a peer authenticated on an inbound connection
 * - `heartbeat` (node, services): a peer's heartbeat arrived (for the node watcher)
 * - `removed` (node): a peer was forgotten (it left the ring, or was transient and unreachable)
 *
 * Every frame is checked against its schema (wire.ts) before anyone sees it; one that does not
 * fit is dropped and counted in {@link refusals}. An error thrown while handling a message
 * closes that one connection, never the node.
 */
export class Transport extends EventEmitter {
  readonly node: string;
  private readonly opts: Required<Omit<TransportOptions, 'heartbeat' | 'log' | 'advertiseHost'>> &
    Pick<TransportOptions, 'heartbeat' | 'advertiseHost'>;
  private readonly log: Logger;
  private server?: WebSocketServer;
  private readonly peers = new Map<string, Peer>();
  private readonly inbound = new Set<WebSocket>();
  private heartbeatTimer?: NodeJS.Timeout;
  private closed = false;
  private filter?: LinkFilter;
  /** Sockets with frames waiting to be written at the end of this tick. */
  private readonly outboxes = new Map<WebSocket, Outbox>();
  private flushScheduled = false;
  /** `host:port` other nodes dial to reach us (the advertised host), known after {@link listen}. */
  addr = '';
  /** What this node refused at its boundary (frames here; gossip, RPC and the vnode master add theirs). */
  readonly refusals: Refusals;

  constructor(opts: TransportOptions) {
    super();
    this.node = opts.node;
    this.log = opts.log;
    this.refusals = new Refusals(opts.log);
    this.opts = {
      node: opts.node,
      host: opts.host ?? '127.0.0.1',
      port: opts.port ?? 0,
      cookie: opts.cookie,
      maxFrameBytes: opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
      heartbeatMs: opts.heartbeatMs ?? 250,
      downAfterMs: opts.downAfterMs ?? 1500,
      handshakeTimeoutMs: opts.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
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
    const server = new WebSocketServer({
      host: this.opts.host,
      port: this.opts.port,
      maxPayload: this.opts.maxFrameBytes,
    });
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
    this.heartbeatTimer = setInterval(
      guard(this.log, 'heartbeat', () => this.beat()),
      this.opts.heartbeatMs,
    );
    this.heartbeatTimer.unref();
    return this.addr;
  }

  /** Install (or with `undefined`, remove) the nemesis's filter on outgoing frames. */
  setLinkFilter(filter: LinkFilter | undefined): void {
    this.filter = filter;
  }

  /**
   * Keep an outbound connection to `node` at `addr`, redialling while it is down.
   * `transient`: the peer is known only from its hello, not from the ring (see {@link Peer});
   * a later call without it makes the peer permanent (it became a member). A new `addr` for a
   * peer that is up is ignored: its link works.
   */
  addPeer(node: string, addr: string, opts: { transient?: boolean } = {}): void {
    if (node === this.node || this.closed || !addr) return;
    const transient = opts.transient ?? false;
    const peer = this.peers.get(node);
    if (peer) {
      if (!transient) peer.transient = false;
      // A link that works is kept: an address from a ring (any member may gossip one) must not
      // cut a peer we hear from. A peer that moved (restarted on another port) is down first.
      if (peer.addr !== addr && !peer.up) {
        peer.addr = addr;
        this.outboxes.delete(peer.socket as WebSocket);
        peer.socket?.terminate();
      } else if (peer.addr !== addr)
        this.log.debug(`keeping the link to ${node} at ${peer.addr}, not ${addr}: it is up`);
      return;
    }
    if (transient && [...this.peers.values()].filter((p) => p.transient).length >= MAX_TRANSIENT_PEERS) {
      this.log.debug(`not dialling ${node} back: ${MAX_TRANSIENT_PEERS} peers outside the ring already`);
      return;
    }
    this.peers.set(node, { addr, dialling: false, lastHeard: 0, up: false, transient, failures: 0 });
    this.redial(node, 0);
  }

  /** Stop talking to `node` (it left the cluster). */
  removePeer(node: string): void {
    const peer = this.peers.get(node);
    if (!peer) return;
    this.peers.delete(node);
    clearTimeout(peer.retryTimer);
    this.flushSocket(peer.socket);
    peer.socket?.close(CLOSE.shutdown, 'removed');
    if (peer.up) this.emit('down', node);
    this.emit('removed', node);
  }

  /** The address we dial `node` at, if it is a peer. */
  peerAddr(node: string): string | undefined {
    return this.peers.get(node)?.addr;
  }

  /** True if we keep a connection to `node`. */
  hasPeer(node: string): boolean {
    return this.peers.has(node);
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
    this.enqueue(socket, encodeFrame(frame));
    return true;
  }

  /**
   * Queue an encoded frame for `socket`; every queue is written once the current tick's work
   * is done (setImmediate), in order. A frame too large to batch goes out alone, after what
   * was queued before it.
   */
  private enqueue(socket: WebSocket, bytes: Buffer): void {
    const cap = Math.min(MAX_BATCH_BYTES, this.opts.maxFrameBytes);
    let box = this.outboxes.get(socket);
    if (bytes.length >= cap) {
      if (box) this.flush(socket, box);
      socket.send(bytes);
      return;
    }
    if (box && box.bytes + bytes.length > cap) this.flush(socket, box);
    if (!box || box.frames.length === 0) {
      box = { frames: [], bytes: 0 };
      this.outboxes.set(socket, box);
    }
    box.frames.push(bytes);
    box.bytes += bytes.length;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flushAll());
    }
  }

  /** Write `socket`'s queued frames as one message now (dropped if it closed meanwhile, like a frame sent on a dead link). */
  private flush(socket: WebSocket, box: Outbox): void {
    this.outboxes.delete(socket);
    const frames = box.frames;
    box.frames = [];
    box.bytes = 0;
    if (frames.length > 0 && socket.readyState === WebSocket.OPEN) socket.send(encodeBatch(frames));
  }

  private flushAll(): void {
    this.flushScheduled = false;
    for (const [socket, box] of this.outboxes) this.flush(socket, box);
  }

  /** Write what is queued for `socket` before closing it (a frame sent just before still leaves). */
  private flushSocket(socket: WebSocket | undefined): void {
    const box = socket && this.outboxes.get(socket);
    if (socket && box) this.flush(socket, box);
  }

  /** Stop listening and drop every connection. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeatTimer);
    this.flushAll(); // what was sent before close() still leaves, as when every frame was written at once
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
    const handshake = new ServerHandshake(this.node, this.opts.cookie);
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
    socket.send(encodeFrame(handshake.challenge()));
    socket.on('message', (data, isBinary) => {
      try {
        onMessage(data, isBinary);
      } catch (err) {
        // A bug anywhere below (a listener of ours included) ends this connection, not the node.
        this.log.error(`closing connection from ${peer ?? remote}: ${(err as Error).stack ?? err}`);
        socket.close(CLOSE.malformed, 'internal error');
      }
    });
    const onMessage = (data: RawData, isBinary: boolean) => {
      let frames: Frame[];
      try {
        // One frame until the handshake is done; afterwards a frame or a batch.
        frames = peer === undefined ? [readFrame(data, isBinary)] : readFrames(data, isBinary);
      } catch (err) {
        this.log.warn(`closing connection from ${peer ?? remote}: malformed frame (${(err as Error).message})`);
        return socket.close(CLOSE.malformed, 'malformed frame');
      }
      if (peer === undefined) {
        const hello = handshake.answer(frames[0] as Frame);
        if (!hello.ok) {
          if (hello.close === CLOSE.wrongCookie)
            this.log.warn(`refused connection from ${hello.node} (${remote}): wrong cookie`);
          else this.log.warn(`closing connection from ${remote}: expected a hello frame`);
          return socket.close(hello.close, hello.reason);
        }
        clearTimeout(timer);
        peer = hello.peer;
        role = hello.role;
        socket.send(encodeFrame(hello.welcome));
        this.emit('hello', peer, hello.addr, role);
        return;
      }
      const from = peer;
      // Replies to nodes pass the nemesis like any frame; admin clients only have this socket.
      const reply = (f: Frame) =>
        role === 'node'
          ? this.send(from, f, socket)
          : socket.readyState === WebSocket.OPEN && socket.send(encodeFrame(f));
      for (const frame of frames) this.receive(from, role, frame, reply);
    };
  }

  private receive(from: string, role: PeerRole, frame: Frame, reply: (f: Frame) => void): void {
    const peer = this.peers.get(from);
    if (peer && role === 'node') {
      peer.lastHeard = Date.now();
      if (!peer.up && peer.socket?.readyState === WebSocket.OPEN) this.setUp(from, peer, true);
    }
    const why = frameProblem(frame);
    if (why !== undefined) {
      this.refusals.refuse('frame', from, why);
      return;
    }
    if (frame.t === 'hb') {
      if (role === 'node') this.emit('heartbeat', from, frame.services ?? []);
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
      peer.failures = 0;
      socket.on('error', (err) => this.log.debug(`link to ${node}: ${err.message}`));
      const reply = (f: Frame) => this.send(node, f);
      socket.on('message', (data, isBinary) => {
        let frames: Frame[];
        try {
          frames = readFrames(data, isBinary);
        } catch (err) {
          this.log.warn(`closing link to ${node}: malformed frame (${(err as Error).message})`);
          return socket.close(CLOSE.malformed, 'malformed frame');
        }
        try {
          for (const frame of frames) this.receive(node, 'node', frame, reply);
        } catch (err) {
          this.log.error(`closing link to ${node}: ${(err as Error).stack ?? err}`);
          socket.close(CLOSE.malformed, 'internal error');
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
      if (isCookieMismatch(err)) this.log.warn(`cannot connect to ${node}: ${msg}`);
      else this.log.debug(`cannot connect to ${node} at ${peer.addr}: ${msg}`);
      peer.failures++;
      if (!peer.transient) this.redial(node, Math.min(1000, this.opts.heartbeatMs * 2));
      else if (peer.failures >= TRANSIENT_MAX_FAILURES) {
        this.log.info(`forgetting ${node}: not a ring member, and ${peer.failures} dials to ${peer.addr} failed`);
        setImmediate(() => this.peers.get(node) === peer && this.removePeer(node));
      } else this.redial(node, Math.min(TRANSIENT_MAX_DELAY_MS, this.opts.heartbeatMs * 2 ** peer.failures));
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
        if (peer.socket) this.outboxes.delete(peer.socket);
        peer.socket?.terminate();
      }
      this.send(node, { t: 'hb', ...extra });
    }
  }
}
