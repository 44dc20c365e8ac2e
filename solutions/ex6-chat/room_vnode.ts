/**
 * Exercise 6: the room vnode. A chat room lives on the ring like a key: its name is hashed
 * (`chashKey('room', name)`) and the N = 3 vnodes of its preference list each hold a replica
 * of the room: who is in it, and its recent history.
 * Read README.md in this folder: you write membership (step 1) and say, history and the
 * broadcast (step 2). Stuck? `npm run hint -- ex6`
 *
 * Given: the rooms, their pruning, the routing of requests to these handlers and the handoff
 * callbacks (room_vnode_base.ts); members, requests and replies (room_types.ts).
 * Replicas apply requests idempotently: a join of a member already in, a leave of one already
 * gone, a say whose id is already in the history change nothing and push nothing.
 */
import type { VnodeModule } from '../../shared/vnode.js';
import {
  HISTORY_MAX,
  HISTORY_SHOWN,
  memberKey,
  SERVICE,
  TOPIC,
  type ChatPush,
  type HistoryEntry,
  type JoinReply,
  type JoinRequest,
  type LeaveReply,
  type LeaveRequest,
  type Room,
  type RoomEvent,
  type RoomRequest,
  RoomRequestSchema,
  type SayReply,
  type SayRequest,
  type WhoReply,
  type WhoRequest,
} from '../../exercises/ex6-chat/room_types.js';
import { RoomVnodeBase } from '../../exercises/ex6-chat/room_vnode_base.js';

/** The rooms of one partition on one node: the request handlers. */
export class RoomVnode extends RoomVnodeBase {
  /**
   * Step 1: add the member (idempotent: one entry per connection), answer with the last
   * {@link HISTORY_SHOWN} lines. Step 2: if it is new and `broadcast` is set, push
   * `{ type: 'joined' }` to every member, the new one included.
   */
  join(req: JoinRequest): JoinReply {
    const room = this.room(req.room, req.up);
    const key = memberKey(req.member);
    const isNew = !room.members.has(key);
    room.members.set(key, req.member);
    if (isNew && req.broadcast) this.broadcast(room, { type: 'joined', room: room.name, name: req.member.name });
    return { history: room.history.slice(-HISTORY_SHOWN) };
  }

  /**
   * Step 1: remove the member, answer whether it was in. Step 2: if it was, `broadcast` is set
   * and the leave is not `quiet`, push `{ type: 'left' }` to the members that remain.
   */
  leave(req: LeaveRequest): LeaveReply {
    const room = this.room(req.room, req.up);
    const wasMember = room.members.delete(memberKey(req.member));
    if (wasMember && req.broadcast && !req.quiet)
      this.broadcast(room, { type: 'left', room: room.name, name: req.member.name });
    return { wasMember };
  }

  /** Step 1: the members. */
  who(req: WhoRequest): WhoReply {
    return { members: [...this.room(req.room, req.up).members.values()] };
  }

  /**
   * Step 2: append the line to the history (at most {@link HISTORY_MAX}, oldest dropped) and, if
   * `broadcast` is set, push it to every member. A say whose id is already in the history was
   * seen before (a retry, a forward during handoff): neither stored nor pushed again.
   */
  say(req: SayRequest): SayReply {
    const room = this.room(req.room, req.up);
    if (room.history.some((h) => h.id === req.id)) return { ok: true };
    const entry: HistoryEntry = { id: req.id, at: req.at, name: req.member.name, text: req.text };
    room.history.push(entry);
    if (room.history.length > HISTORY_MAX) room.history.splice(0, room.history.length - HISTORY_MAX);
    if (req.broadcast) this.broadcast(room, { type: 'message', room: room.name, ...entry });
    return { ok: true };
  }

  /**
   * Step 2: push `event` to every member of `room`: one `ctx.notify(node, TOPIC, push)` per
   * node, carrying the connections of that node (a {@link ChatPush}).
   */
  broadcast(room: Room, event: RoomEvent): void {
    const byNode = new Map<string, string[]>();
    for (const m of room.members.values()) byNode.set(m.node, [...(byNode.get(m.node) ?? []), m.conn]);
    for (const [node, conns] of byNode) this.ctx.notify(node, TOPIC, { conns, event } satisfies ChatPush);
  }
}

/** The room service for one node (fresh, empty vnodes). */
export const roomService = (): VnodeModule<RoomRequest> => ({
  service: SERVICE,
  requests: RoomRequestSchema,
  init: (ctx) => new RoomVnode(ctx),
});
