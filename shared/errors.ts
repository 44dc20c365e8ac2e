/**
 * Errors the runtime raises. Each has a stable `code` so callers (HTTP, chat, tests) can
 * branch on it without parsing messages.
 */

/**
 * Every code a {@link RingError} may carry, by who raises it (riak's `{error, Reason}` atoms
 * where riak has one).
 */
export const RING_ERROR_CODES = [
  // Membership: the claimant (claimant.ts) and the node's admin API (node.ts).
  'already_member', // join: the node is in a cluster with others already
  'not_member', // the node named is not a member (or not one that can do this)
  'not_claimant', // a claimant call reached a node that is not the claimant
  'nothing_staged', // commit without staged changes (riak: nothing_planned)
  'ring_not_ready', // commit or switch while some member has not seen the ring (riak: ring_not_ready)
  'last_member', // leaving or removing the only member
  'remove_self', // the claimant cannot remove itself: it leaves instead
  'down_self', // a node cannot mark itself down
  'node_up', // down of a node that is reachable (riak: is_up)
  'no_such_transfer', // a transfer report for a transfer that is not pending
  'claimant_unreachable', // the claimant is not connected, or silent
  // Requests.
  'bad_request', // an RPC's arguments are malformed
  'no_such_method', // an RPC method that does not exist, or is not open to admin clients
  'insufficient_vnodes', // a coverage plan cannot cover every key space (riak: insufficient_vnodes_available)
  'max_concurrency', // a handoff target at its limit (riak: max_concurrency)
  // Delivery (rpc.ts, vnode_master.ts).
  'timeout', // TimeoutError
  'node_down', // NodeDownError
  'remote_error', // RemoteError whose remote error had no code of this list
  // The exercises' coordinators: too few replicas could be asked (QuorumError, RoomError).
  'unavailable',
] as const;

/** A code of {@link RING_ERROR_CODES}. */
export type RingErrorCode = (typeof RING_ERROR_CODES)[number];

const codes: ReadonlySet<unknown> = new Set(RING_ERROR_CODES);

/** True if `code` is one of {@link RING_ERROR_CODES}. */
export function isRingErrorCode(code: unknown): code is RingErrorCode {
  return codes.has(code);
}

/**
 * The {@link RingErrorCode} `err` carries, or undefined. Structural (any thrown value whose
 * `code` is one of the list), so that callers compare against the union, not free strings.
 */
export function ringErrorCode(err: unknown): RingErrorCode | undefined {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  return isRingErrorCode(code) ? code : undefined;
}

/** An error of the runtime, with a stable {@link RingErrorCode}. */
export class RingError extends Error {
  constructor(
    /** Stable machine-readable code, e.g. `not_claimant`, `ring_not_ready`. */
    readonly code: RingErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'RingError';
  }
}

/** A remote call did not get an answer in time (`timeoutMs` is the deadline that passed). */
export class TimeoutError extends RingError {
  constructor(
    what: string,
    readonly timeoutMs: number,
  ) {
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

/**
 * A remote handler threw; `remoteName`/`message` are what it threw, `node` where. `code` is
 * the remote error's code when that is a {@link RingErrorCode} (a refused commit arrives as
 * `ring_not_ready`), else `remote_error`; `remoteCode` is the remote error's code as it was,
 * whatever it was (e.g. `ECONNREFUSED`), or undefined if it had none.
 */
export class RemoteError extends RingError {
  constructor(
    readonly node: string,
    readonly remoteName: string,
    message: string,
    readonly remoteCode?: string,
  ) {
    super(isRingErrorCode(remoteCode) ? remoteCode : 'remote_error', message);
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
