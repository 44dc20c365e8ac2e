/**
 * Errors the runtime raises. Each has a stable `code` so callers (HTTP, chat, tests) can
 * branch on it without parsing messages.
 */
export class RingError extends Error {
  constructor(
    /** Stable machine-readable code, e.g. `not_claimant`, `ring_not_ready`. */
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'RingError';
  }
}

/** A remote call did not get an answer in time (`timeoutMs` is the deadline that passed). */
export class TimeoutError extends RingError {
  constructor(what: string, readonly timeoutMs: number) {
    super('timeout', `${what} timed out after ${timeoutMs} ms`);
    this.name = 'TimeoutError';
  }
}

/** The target node is not connected (down, partitioned, or never reachable). */
export class NodeDownError extends RingError {
  constructor(readonly node: string) {
    super('node_down', `node ${node} is not reachable`);
    this.name = 'NodeDownError';
  }
}

/** A remote handler threw; `remoteName`/`message` are what it threw, `node` where. */
export class RemoteError extends RingError {
  constructor(readonly node: string, readonly remoteName: string, message: string) {
    super('remote_error', message);
    this.name = remoteName === 'Error' ? 'RemoteError' : remoteName;
  }
}

/** Serialisable shape of an error crossing the wire. */
export interface WireError {
  name: string;
  message: string;
  code?: string;
}

/** Turn anything thrown into a {@link WireError}. */
export function toWireError(err: unknown): WireError {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { name: err.name, message: err.message, ...(typeof code === 'string' ? { code } : {}) };
  }
  return { name: 'Error', message: String(err) };
}
