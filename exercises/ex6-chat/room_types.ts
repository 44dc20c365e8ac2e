/**
 * Exercise 6, given: what a room is made of, and the requests its replicas answer. Shared by
 * the room vnode (room_vnode.ts), the client side of rooms (rooms.ts) and the chat servers.
 *
 * A member is a connection on some node's chat server: `{ name, node, conn }`. The vnode never
 * talks to connections; it pushes events to the member's node with
 * `ctx.notify(node, TOPIC, { conns, event })` (a {@link ChatPush}), and that node's chat server
 * writes them out.
 */
import { Type, type Static } from '@sinclair/typebox';

/** The service name: `roomService()` registers it, rooms.ts sends to it. */
export const SERVICE = 'room';
/** Topic of the pushes to chat servers: `ctx.notify(member.node, TOPIC, push)`. */
export const TOPIC = 'chat';
/** Lines of history a replica keeps per room. */
export const HISTORY_MAX = 50;
/** Lines of history a join answers with. */
export const HISTORY_SHOWN = 10;

/** Longest room name, user name, node name, connection or line id a request may carry (characters). */
export const MAX_NAME_LENGTH = 255;
/** Longest line a `say` may carry (characters; the chat servers' own limit is lower, 1024 bytes by default). */
export const MAX_TEXT_LENGTH = 64 * 1024;
/** Most nodes a request's `up` may name. */
export const MAX_NODES = 1024;

const Name = Type.String({ maxLength: MAX_NAME_LENGTH });
const ro = Type.Readonly;

/** A connection in a room: its user's name, and where it is (`conn` is unique on `node`). */
export const MemberSchema = Type.Object({ name: ro(Name), node: ro(Name), conn: ro(Name) });
/** See {@link MemberSchema}. */
export type Member = Static<typeof MemberSchema>;

/** One line said in a room. `id` is unique (the op's id); `at`: when, by the coordinator's clock (ms since the epoch, µs precision). */
export const HistoryEntrySchema = Type.Object({
  id: ro(Name),
  at: ro(Type.Number()),
  name: ro(Name),
  text: ro(Type.String({ maxLength: MAX_TEXT_LENGTH })),
});
/** See {@link HistoryEntrySchema}. */
export type HistoryEntry = Static<typeof HistoryEntrySchema>;

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
const op = {
  room: ro(Name),
  up: ro(Type.Array(Name, { maxItems: MAX_NODES })),
  broadcast: ro(Type.Boolean()),
};

export const JoinRequestSchema = Type.Object({ ...op, type: ro(Type.Literal('join')), member: ro(MemberSchema) });
/** `quiet`: forget the member without a part notice (a connection its server does not know). */
export const LeaveRequestSchema = Type.Object({
  ...op,
  type: ro(Type.Literal('leave')),
  member: ro(MemberSchema),
  quiet: Type.ReadonlyOptional(Type.Boolean()),
});
export const SayRequestSchema = Type.Object({
  ...op,
  type: ro(Type.Literal('say')),
  member: ro(MemberSchema),
  id: ro(Name),
  at: ro(Type.Number()),
  text: ro(Type.String({ maxLength: MAX_TEXT_LENGTH })),
});
export const WhoRequestSchema = Type.Object({ ...op, type: ro(Type.Literal('who')) });
/**
 * Every request of the room vnode: what `roomService` passes as its `requests`, so the vnode
 * master refuses anything else (`bad_request`) before a replica sees it.
 */
export const RoomRequestSchema = Type.Union([
  JoinRequestSchema,
  LeaveRequestSchema,
  SayRequestSchema,
  WhoRequestSchema,
]);

export type JoinRequest = Static<typeof JoinRequestSchema>;
export type LeaveRequest = Static<typeof LeaveRequestSchema>;
export type SayRequest = Static<typeof SayRequestSchema>;
export type WhoRequest = Static<typeof WhoRequestSchema>;
export type RoomRequest = Static<typeof RoomRequestSchema>;

/**
 * One room as a handoff item carries it: `[name, { members, history }]` (room_vnode_base.ts
 * encodes and decodes it; a malformed item is refused there).
 */
export const RoomItemSchema = Type.Tuple([
  Name,
  Type.Object({
    members: Type.Array(MemberSchema),
    history: Type.Array(HistoryEntrySchema, { maxItems: HISTORY_MAX }),
  }),
]);

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
