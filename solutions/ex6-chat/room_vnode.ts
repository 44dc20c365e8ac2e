/**
 * Exercise 6: the room vnode. A chat room lives on the ring like a key: its name is hashed
 * (`chashKey('room', name)`) and the N = 3 vnodes of its preference list each hold a replica
 * of the room: who is in it, and its recent history.
 * Read README.md in this folder: you write membership (step 1) and say, history and the
 * broadcast (step 2). Requests, state, pruning and the handoff callbacks are given.
 *
 * A member is a connection on some node's chat server: `{ name, node, conn }`. The vnode never
 * talks to connections; it pushes events to the member's node with
 * `ctx.notify(node, 'chat', { conns, event })`, and that node's chat server writes them out.
 *
 * Every request goes to all N replicas (see rooms.ts). Each replica records it, so that the room
 * survives the loss of a node; only the one whose request says `broadcast: true` (the first
 * entry of the active preference list) pushes events, so each member gets each line once.
 * Replicas apply requests idempotently: a join of a member already in, a leave of one already
 * gone, a say whose id is already in the history change nothing and push nothing.
 */
import { Packr } from 'msgpackr';
import { forward, isFoldRequest, reply, type CommandResult, type FoldRequest, type HandoffCommandResult, type Sender, type Vnode, type VnodeContext, type VnodeModule } from '../../shared/vnode.js';

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
export type SayRequest = Op & { readonly type: 'say'; readonly member: Member; readonly id: string; readonly at: number; readonly text: string };
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

/** History order: by time, then id (so that every replica sorts a merge the same way). */
const byTime = (a: HistoryEntry, b: HistoryEntry) => a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** The rooms of one partition on one node. */
export class RoomVnode implements Vnode<RoomRequest> {
  readonly rooms = new Map<string, Room>();

  constructor(private readonly ctx: VnodeContext) {}

  /**
   * The room called `name`, created empty on first use, after dropping members whose node is
   * not in `up`: their connections went down with their node.
   */
  room(name: string, up: readonly string[]): Room {
    let room = this.rooms.get(name);
    if (!room) this.rooms.set(name, (room = { name, members: new Map(), history: [] }));
    for (const [key, m] of room.members) if (!up.includes(m.node)) room.members.delete(key);
    return room;
  }

  handleCommand(request: RoomRequest, _sender?: Sender): CommandResult {
    switch (request.type) {
      case 'join':
        return reply(this.join(request));
      case 'leave':
        return reply(this.leave(request));
      case 'say':
        return reply(this.say(request));
      case 'who':
        return reply(this.who(request));
      default:
        throw new Error(`unknown room request ${JSON.stringify(request)}`);
    }
  }

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
    if (wasMember && req.broadcast && !req.quiet) this.broadcast(room, { type: 'left', room: room.name, name: req.member.name });
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

  // --- handoff (given: exercise 4's callbacks, for rooms) ----------------------------------

  /** Node we are handing off to, while a handoff runs. */
  handingOffTo: string | undefined;

  isEmpty(): boolean {
    return this.rooms.size === 0;
  }

  delete(): void {
    this.rooms.clear();
  }

  /** One item per room: `[name, { members, history }]`, msgpack-encoded. */
  encodeHandoffItem(name: unknown, room: unknown): Uint8Array {
    const r = room as Room;
    return packr.pack([name, { members: [...r.members.values()], history: r.history }]);
  }

  /**
   * Merge a room from a handoff sender into ours: members by connection, history by id, sorted
   * and trimmed. Applying an item twice, or after newer requests, changes nothing more.
   * A member who left here while the sender still had them comes back (a union has no
   * tombstones); their server forgets them again at the first line it cannot deliver.
   */
  handleHandoffData(data: Uint8Array): void {
    const [name, theirs] = packr.unpack(data) as [string, { members: Member[]; history: HistoryEntry[] }];
    const room = this.rooms.get(name) ?? { name, members: new Map<string, Member>(), history: [] };
    this.rooms.set(name, room);
    for (const m of theirs.members) room.members.set(memberKey(m), m);
    const ids = new Set(room.history.map((h) => h.id));
    const merged = [...room.history, ...theirs.history.filter((h) => !ids.has(h.id))].sort(byTime);
    room.history = merged.slice(-HISTORY_MAX);
  }

  /**
   * Requests while handing off (like ex4's puts): the fold walks the rooms; `who` is answered
   * here; a join, leave or say is applied here (pushing its events, if ours to push) and then
   * forwarded, so the target has it whether or not the fold already passed this room. The
   * forwarded copy must not push again: the worker forwards this very request object, so
   * clearing its `broadcast` flag here is what the target sees. The target's reply answers.
   */
  handleHandoffCommand(request: RoomRequest | FoldRequest, sender: Sender): HandoffCommandResult {
    if (isFoldRequest(request)) {
      let acc = request.acc0;
      for (const [name, room] of this.rooms) acc = request.foldFun(name, room, acc);
      return reply(acc);
    }
    if (request.type === 'who') return this.handleCommand(request, sender);
    this.handleCommand(request);
    (request as { broadcast: boolean }).broadcast = false;
    return forward();
  }

  handoffStarting(target: string): boolean {
    this.handingOffTo = target;
    return true;
  }

  handoffCancelled(): void {
    this.ctx.log.info(`room partition ${this.ctx.partition}: handoff to ${this.handingOffTo} cancelled, keeping ${this.rooms.size} rooms`);
    this.handingOffTo = undefined;
  }

  handoffFinished(target: string): void {
    this.ctx.log.debug(`room partition ${this.ctx.partition}: handoff to ${target} finished`);
    this.handingOffTo = undefined;
  }
}

const packr = new Packr({ useRecords: false, moreTypes: false });

/** The room service for one node (fresh, empty vnodes). */
export function roomService(): VnodeModule<RoomRequest> {
  return { service: SERVICE, init: (ctx) => new RoomVnode(ctx) };
}
