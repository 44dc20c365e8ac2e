/**
 * Exercise 6, given: what a room is made of, and the requests its replicas answer. Shared by
 * the room vnode (room_vnode.ts), the client side of rooms (rooms.ts) and the chat servers.
 *
 * A member is a connection on some node's chat server: `{ name, node, conn }`. The vnode never
 * talks to connections; it pushes events to the member's node with
 * `ctx.notify(node, TOPIC, { conns, event })` (a {@link ChatPush}), and that node's chat server
 * writes them out.
 */

/** The service name: `roomService()` registers it, rooms.ts sends to it. */
export const SERVICE = 'room';
/** Topic of the pushes to chat servers: `ctx.notify(member.node, TOPIC, push)`. */
export const TOPIC = 'chat';
/** Lines of history a replica keeps per room. */
export const HISTORY_MAX = 50;
/** Lines of history a join answers with. */
export const HISTORY_SHOWN = 10;

/** A connection in a room: its user's name, and where it is (`conn` is unique on `node`). */
export interface Member {
  readonly name: string;
  readonly node: string;
  readonly conn: string;
}

/** One line said in a room. `id` is unique (the op's id); `at`: when, by the coordinator's clock (ms since the epoch, µs precision). */
export interface HistoryEntry {
  readonly id: string;
  readonly at: number;
  readonly name: string;
  readonly text: string;
}

/** What the room vnode pushes to members. The chat server turns it into a line (or JSON). */
export type RoomEvent =
  | ({ readonly type: 'message'; readonly room: string } & HistoryEntry)
  | { readonly type: 'joined'; readonly room: string; readonly name: string }
  | { readonly type: 'left'; readonly room: string; readonly name: string };

/** The payload of one push: an event for some connections of one node. */
export interface ChatPush {
  readonly conns: readonly string[];
  readonly event: RoomEvent;
}

/**
 * Fields every request has. `up`: the nodes the sender saw up (members on other nodes are
 * dropped first). `broadcast`: this replica is the one that pushes events.
 */
interface Op {
  readonly room: string;
  readonly up: readonly string[];
  readonly broadcast: boolean;
}

export type JoinRequest = Op & { readonly type: 'join'; readonly member: Member };
/** `quiet`: forget the member without a part notice (a connection its server does not know). */
export type LeaveRequest = Op & { readonly type: 'leave'; readonly member: Member; readonly quiet?: boolean };
export type SayRequest = Op & {
  readonly type: 'say';
  readonly member: Member;
  readonly id: string;
  readonly at: number;
  readonly text: string;
};
export type WhoRequest = Op & { readonly type: 'who' };
export type RoomRequest = JoinRequest | LeaveRequest | SayRequest | WhoRequest;

/** Replies. join → the last {@link HISTORY_SHOWN} lines; leave → whether it was a member. */
export interface JoinReply {
  readonly history: readonly HistoryEntry[];
}
export interface LeaveReply {
  readonly wasMember: boolean;
}
export interface SayReply {
  readonly ok: true;
}
export interface WhoReply {
  readonly members: readonly Member[];
}

/** One room as a replica holds it. */
export interface Room {
  readonly name: string;
  /** By {@link memberKey}. */
  readonly members: Map<string, Member>;
  /** Oldest first, at most {@link HISTORY_MAX}. */
  history: HistoryEntry[];
}

/** A member's identity: the same connection joining twice is one member. */
export const memberKey = (m: Pick<Member, 'node' | 'conn'>): string => `${m.node}|${m.conn}`;
