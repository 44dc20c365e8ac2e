/**
 * The cookie handshake that opens every connection (Erlang distribution's challenge/response
 * with the cookie, `dist_util`). Nodes of one cluster, and the admin tools, share a cookie; a
 * connection is accepted only after a mutual proof that both sides know it. The cookie itself
 * never crosses the wire.
 *
 *     client (dial)                               server (ServerHandshake)
 *                    ◀── challenge {node, nonce}
 *     hello {node, role, addr, nonce', proof} ──▶   proof = HMAC(cookie, role:nonce:node)
 *                    ◀── welcome {node, proof'}     proof' = HMAC(cookie, server:nonce':server)
 *
 * A wrong proof closes the connection with {@link CLOSE}.wrongCookie, anything but a hello
 * with {@link CLOSE}.badHandshake. Frames are read with the one decoder of frame.ts.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { WebSocket } from 'ws';
import { CLOSE, encodeFrame, readFrame, type Frame } from './frame.js';
import { ChallengeFrame, fits, HelloFrame, WelcomeFrame } from './wire.js';

/** `node`: a cluster member. `client`: an admin tool; it gets no heartbeats and is never "up". */
export type PeerRole = 'node' | 'client';

/** Default time allowed for the handshake (ms). */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 3000;

/** Default largest frame (bytes) a connection accepts: 8 MiB. */
export const DEFAULT_MAX_FRAME_BYTES = 8 * 1024 * 1024;

const proof = (cookie: string, role: string, nonce: string, node: string) =>
  createHmac('sha256', cookie).update(`${role}:${nonce}:${node}`).digest('hex');

function proofMatches(expected: string, got: unknown): boolean {
  if (typeof got !== 'string' || got.length !== expected.length) return false;
  return timingSafeEqual(Buffer.from(expected), Buffer.from(got));
}

const nonce = () => randomBytes(16).toString('hex');

/**
 * Why {@link dial}'s handshake failed:
 * - `wrong_cookie`: the peer refused our proof (we do not know its cookie);
 * - `peer_wrong_cookie`: the peer's proof was wrong (it does not know ours);
 * - `handshake_timeout`: no welcome within the deadline;
 * - `connection_closed`: the peer closed the connection for another reason;
 * - `bad_handshake`: the peer sent something that is not a frame, or not the expected one.
 */
export type HandshakeErrorCode =
  | 'wrong_cookie'
  | 'peer_wrong_cookie'
  | 'handshake_timeout'
  | 'connection_closed'
  | 'bad_handshake';

/** The handshake of {@link dial} failed; `code` says why. */
export class HandshakeError extends Error {
  constructor(
    readonly code: HandshakeErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'HandshakeError';
  }
}

/** True if `err` says the two sides do not share a cookie (either side refused the other's proof). */
export function isCookieMismatch(err: unknown): boolean {
  return err instanceof HandshakeError && (err.code === 'wrong_cookie' || err.code === 'peer_wrong_cookie');
}

/** Options for {@link dial}. */
export interface DialOptions {
  /** Our node name (an admin tool makes one up, e.g. `admin-<pid>@localhost`). */
  node: string;
  role: PeerRole;
  cookie: string;
  /** Our listener address, told to the peer so it can dial back (nodes only). */
  addr?: string;
  /** Largest frame accepted on this connection (bytes, default 8 MiB). */
  maxFrameBytes?: number;
  /** Deadline for the whole handshake (ms, default 3000). */
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
 * On success the socket has no listeners left but a no-op `error` one: the owner attaches its own.
 * @throws HandshakeError (`refused by <addr>: wrong cookie`, `refused <addr>: it does not know
 *   our cookie`, `handshake with <addr> failed: …`, `… timed out after <ms> ms`); the socket's
 *   own error (e.g. ECONNREFUSED) if it cannot connect.
 */
export function dial(addr: string, opts: DialOptions): Promise<Dialled> {
  const timeoutMs = opts.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://${addr}/`, {
      maxPayload: opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
      handshakeTimeout: timeoutMs,
    });
    const myNonce = nonce();
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.terminate();
      reject(err);
    };
    const timer = setTimeout(
      () => fail(new HandshakeError('handshake_timeout', `handshake with ${addr} timed out after ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.on('error', (err) => fail(err));
    socket.on('close', (code, reason) => {
      if (code === CLOSE.wrongCookie) fail(new HandshakeError('wrong_cookie', `refused by ${addr}: wrong cookie`));
      else
        fail(
          new HandshakeError(
            'connection_closed',
            `handshake with ${addr} failed: connection closed (${code} ${reason.toString()})`,
          ),
        );
    });
    socket.on('message', (data, isBinary) => {
      if (settled) return;
      let frame: Frame;
      try {
        frame = readFrame(data, isBinary);
      } catch (err) {
        return fail(new HandshakeError('bad_handshake', `handshake with ${addr} failed: ${(err as Error).message}`));
      }
      if (fits(ChallengeFrame, frame)) {
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
      } else if (fits(WelcomeFrame, frame)) {
        // Mutual: the server must know the cookie too, or we would talk to an impostor.
        if (!proofMatches(proof(opts.cookie, 'server', myNonce, frame.node), frame.proof)) {
          socket.close(CLOSE.wrongCookie, 'wrong cookie');
          return fail(new HandshakeError('peer_wrong_cookie', `refused ${addr}: it does not know our cookie`));
        }
        settled = true;
        clearTimeout(timer);
        socket.removeAllListeners('close');
        socket.removeAllListeners('message');
        socket.removeAllListeners('error');
        socket.on('error', () => undefined); // the owner attaches its own handlers next
        resolve({ socket, peer: frame.node });
      } else {
        fail(new HandshakeError('bad_handshake', `handshake with ${addr} failed: unexpected frame "${frame.t}"`));
      }
    });
  });
}

/** A hello that passed: who the peer is, and the welcome to send it. */
export interface HelloAccepted {
  readonly ok: true;
  /** The peer's node name, as proven. */
  readonly peer: string;
  readonly role: PeerRole;
  /** The address the peer listens on, for dialling back ('' for clients). */
  readonly addr: string;
  /** Send this back: it proves that we know the cookie too. */
  readonly welcome: Frame;
}

/**
 * A first frame that failed: close the connection with `close` and `reason`. `expected hello`
 * ({@link CLOSE}.badHandshake): not a well-formed hello; `wrong cookie` ({@link CLOSE}.wrongCookie):
 * the proof of `node` (the name it claims) is wrong.
 */
export type HelloRefused =
  | { readonly ok: false; readonly close: typeof CLOSE.badHandshake; readonly reason: 'expected hello' }
  | {
      readonly ok: false;
      readonly close: typeof CLOSE.wrongCookie;
      readonly reason: 'wrong cookie';
      readonly node: string;
    };

/**
 * The server half of the handshake for one inbound connection: send {@link challenge} first,
 * then hand the first frame the peer sends to {@link answer}. Synchronous, so that the
 * transport reads every frame of a connection with one listener.
 */
export class ServerHandshake {
  private readonly nonce = nonce();

  /**
   * @param node our node name
   * @param cookie the cluster's cookie
   */
  constructor(
    private readonly node: string,
    private readonly cookie: string,
  ) {}

  /** The first frame we send on a new connection. */
  challenge(): Frame {
    return { t: 'challenge', node: this.node, nonce: this.nonce };
  }

  /** Check the peer's first frame: a hello whose proof shows it knows the cookie. */
  answer(frame: Frame): HelloAccepted | HelloRefused {
    // Every field checked before any is used: a nonce that is an object must not reach String().
    if (!fits(HelloFrame, frame)) return { ok: false, close: CLOSE.badHandshake, reason: 'expected hello' };
    if (!proofMatches(proof(this.cookie, frame.role, this.nonce, frame.node), frame.proof)) {
      return { ok: false, close: CLOSE.wrongCookie, reason: 'wrong cookie', node: frame.node };
    }
    return {
      ok: true,
      peer: frame.node,
      role: frame.role,
      addr: frame.addr ?? '',
      welcome: { t: 'welcome', node: this.node, proof: proof(this.cookie, 'server', frame.nonce, this.node) },
    };
  }
}
