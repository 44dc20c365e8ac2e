/**
 * Exercise 6, given: what the room vnode (room_vnode.ts) inherits. The rooms of one partition
 * and their pruning, the routing of a request to its handler, and the handoff callbacks
 * (exercise 4's, for rooms). The handlers themselves (join, leave, who, say, broadcast) are the
 * exercise: room_vnode.ts writes them in a subclass.
 *
 * Every request goes to all N replicas (see rooms.ts). Each replica records it, so that the room
 * survives the loss of a node; only the one whose request says `broadcast: true` (the first
 * entry of the active preference list) pushes events, so each member gets each line once.
 */
import { Packr } from 'msgpackr';
import { RingError } from '../../shared/errors.js';
import { problem } from '../../shared/wire.js';
import {
  forward,
  isFoldRequest,
  reply,
  type CommandResult,
  type FoldRequest,
  type HandoffCommandResult,
  type Sender,
  type Vnode,
  type VnodeContext,
} from '../../shared/vnode.js';
import {
  HISTORY_MAX,
  memberKey,
  type HistoryEntry,
  type JoinReply,
  type JoinRequest,
  type LeaveReply,
  type LeaveRequest,
  type Member,
  type Room,
  type RoomEvent,
  type RoomRequest,
  RoomItemSchema,
  type SayReply,
  type SayRequest,
  type WhoReply,
  type WhoRequest,
} from './room_types.js';

/** History order: by time, then id (so that every replica sorts a merge the same way). */
const byTime = (a: HistoryEntry, b: HistoryEntry) => a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

const packr = new Packr({ useRecords: false, moreTypes: false });

/**
 * A handoff item back to `[name, { members, history }]`.
 * @throws RingError `bad_request` if it is not msgpack of a well-formed room item (see RoomItemSchema).
 */
function decodeRoomItem(data: Uint8Array): [string, { members: Member[]; history: HistoryEntry[] }] {
  let item: unknown;
  try {
    item = packr.unpack(data);
  } catch (err) {
    throw new RingError('bad_request', `room handoff item is not msgpack: ${(err as Error).message}`);
  }
  const why = problem(RoomItemSchema, item);
  if (why === undefined) return item as [string, { members: Member[]; history: HistoryEntry[] }];
  throw new RingError('bad_request', `malformed room handoff item: ${why}`);
}

/** The rooms of one partition on one node, less the request handlers. */
export abstract class RoomVnodeBase implements Vnode<RoomRequest> {
  readonly rooms = new Map<string, Room>();
  /** Node we are handing off to, while a handoff runs. */
  handingOffTo: string | undefined;

  constructor(protected readonly ctx: VnodeContext) {}

  /** A join: add the member, answer the recent lines; announce a new member if ours to push. */
  abstract join(req: JoinRequest): JoinReply;
  /** A leave: remove the member, answer whether it was in; announce it if ours to push. */
  abstract leave(req: LeaveRequest): LeaveReply;
  /** A who: the members. */
  abstract who(req: WhoRequest): WhoReply;
  /** A say: record the line once; push it if ours to push. */
  abstract say(req: SayRequest): SayReply;
  /** Push `event` to every member of `room`, one push per node. */
  abstract broadcast(room: Room, event: RoomEvent): void;

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

  /** A request to its handler; the handler's answer is the reply. @throws on an unknown request type. */
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

  // --- handoff ---------------------------------------------------------------------------------

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
   * @throws RingError `bad_request` for a malformed item, before anything is merged.
   */
  handleHandoffData(data: Uint8Array): void {
    const [name, theirs] = decodeRoomItem(data);
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
    this.ctx.log.info(
      `room partition ${this.ctx.partition}: handoff to ${this.handingOffTo} cancelled, keeping ${this.rooms.size} rooms`,
    );
    this.handingOffTo = undefined;
  }

  handoffFinished(target: string): void {
    this.ctx.log.debug(`room partition ${this.ctx.partition}: handoff to ${target} finished`);
    this.handingOffTo = undefined;
  }
}
