/**
 * Exercise 6, given: the state of one client connection, TCP or WebSocket. The server
 * (server.ts) makes one per connection and hands it with each line to the commands (chat.ts).
 */
import type { RingNode } from '../../shared/node.js';
import type { Member } from './room_types.js';

/** One client connection, TCP or WebSocket. */
export class Session {
  /** Set by `set-name`. */
  name: string | undefined;
  /** Rooms this connection is in (the server leaves them when the connection closes). */
  readonly rooms = new Set<string>();
  /** Set by `quit`: the server sends the replies, then closes the connection. */
  closing = false;

  constructor(
    /** The node this connection's server runs on: where its room requests start. */
    readonly node: RingNode,
    /** Unique on this node: the member's `conn`. */
    readonly conn: string,
  ) {}

  /** This connection as a room member. @throws if no name is set yet. */
  member(): Member {
    if (this.name === undefined) throw new Error('no name set');
    return { name: this.name, node: this.node.name, conn: this.conn };
  }
}
