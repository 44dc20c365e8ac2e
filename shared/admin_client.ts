/**
 * A connection from an admin tool (or a joining node) to a running node, authenticated with
 * the cluster cookie like any peer but with the `client` role: it may only call methods the
 * node exposes to clients (the `admin.*` family).
 */
import { createLogger } from './log.js';
import { Rpc } from './rpc.js';
import { encodeFrame, readFrame, type Frame } from './frame.js';
import { dial } from './handshake.js';

/** An open admin connection. */
export interface AdminConnection {
  /** Name of the node we are connected to. */
  readonly node: string;
  /**
   * Call a method on the node. @throws RemoteError (with `code`) if it failed there,
   * TimeoutError after `timeoutMs` (default 10 000).
   */
  call(method: string, args?: unknown, timeoutMs?: number): Promise<unknown>;
  close(): void;
}

/**
 * Connect to the node listening at `addr` (`host:port`); `opts.handshakeTimeoutMs` is the
 * handshake's deadline (default 3000 ms, see handshake.ts).
 * @throws HandshakeError if the cookie is refused (`isCookieMismatch`) or the handshake fails;
 *   the socket's error (e.g. ECONNREFUSED) if it cannot connect.
 */
export async function connectAdmin(
  addr: string,
  cookie: string,
  name = `admin-${process.pid}@localhost`,
  opts: { handshakeTimeoutMs?: number } = {},
): Promise<AdminConnection> {
  const { socket, peer } = await dial(addr, { node: name, role: 'client', cookie, ...opts });
  const send = (_node: string, frame: Frame): boolean => {
    if (socket.readyState !== socket.OPEN) return false;
    socket.send(encodeFrame(frame));
    return true;
  };
  const rpc = new Rpc(name, send, createLogger(name));
  socket.on('message', (data, isBinary) => {
    try {
      rpc.handleFrame(peer, readFrame(data, isBinary), 'node', () => undefined);
    } catch {
      socket.terminate();
    }
  });
  socket.on('close', () => rpc.close());
  return {
    node: peer,
    call: (method, args = {}, timeoutMs = 10_000) => rpc.call(peer, method, args, timeoutMs),
    close: () => socket.close(),
  };
}
