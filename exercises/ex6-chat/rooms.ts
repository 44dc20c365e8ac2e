/**
 * Exercise 6, given: the client side of rooms. Each function sends one request to the N
 * replicas of a room (the active preference list of `chashKey('room', name)`, fallbacks
 * included) and waits for W of them, like exercise 3's coordinator. The first entry of the
 * list gets `broadcast: true`: that replica pushes the request's events to the members, the
 * others only record it. A request that pushes waits for that replica's answer too: if it
 * cannot answer, nobody was told, and the caller gets an error instead of silence.
 *
 * Chat servers call these on the node a client is connected to; any node serves any room.
 */
import { randomUUID } from 'node:crypto';
import type { AplEntry } from '../../shared/apl.js';
import { chashKey } from '../../shared/chash.js';
import { RemoteError, RingError } from '../../shared/errors.js';
import type { RingNode } from '../../shared/node.js';
import {
  HISTORY_SHOWN,
  memberKey,
  SERVICE,
  type HistoryEntry,
  type JoinReply,
  type LeaveReply,
  type Member,
  type RoomRequest,
  type WhoReply,
} from './room_types.js';

/** Rooms are hashed under this bucket: `chashKey('room', name)`. */
export const BUCKET = 'room';

/** n: replicas of a room; w: replicas that must answer; timeoutMs: deadline of one request. */
export interface RoomOptions {
  readonly n?: number;
  readonly w?: number;
  readonly timeoutMs?: number;
}

/** N = 3, W = 2, 2000 ms. */
export const DEFAULTS = { n: 3, w: 2, timeoutMs: 2000 } as const;

/** A room request that could not get its answers: `unavailable` (too few replicas up) or `timeout`. */
export class RoomError extends RingError {
  constructor(
    code: 'unavailable' | 'timeout',
    readonly op: RoomRequest['type'],
    readonly room: string,
    message: string,
  ) {
    super(code, message);
    this.name = 'RoomError';
  }
}

/** The active preference list of room `room`. */
export function roomApl(node: RingNode, room: string, n: number = DEFAULTS.n): AplEntry[] {
  return node.getApl({ hash: chashKey(BUCKET, room) }, n, SERVICE);
}

type Make = (broadcast: boolean) => RoomRequest;

/**
 * Send `make(i === 0)` to every replica `i` of the room's preference list; resolve with the
 * first W successful replies (the broadcaster's among them when `pushes`).
 * @throws RoomError `unavailable` or `timeout`; RemoteError with a replica's own error as soon
 *   as too many replicas failed for W to be reached (an unfinished step fails fast this way).
 */
export function roomRequest<T>(
  node: RingNode,
  room: string,
  make: Make,
  opts: RoomOptions = {},
  pushes = true,
): Promise<T[]> {
  const { n, w, timeoutMs } = { ...DEFAULTS, ...opts };
  const op = make(false).type;
  const apl = roomApl(node, room, n);
  if (apl.length < w) {
    return Promise.reject(
      new RoomError('unavailable', op, room, `${op} ${room}: only ${apl.length} replicas up, ${w} needed`),
    );
  }
  const first = apl[0] as AplEntry;
  return new Promise((resolve, reject) => {
    const ok = new Map<number, T>();
    const failed = new Map<number, RemoteError>();
    const finish = (err?: Error) => {
      clearTimeout(timer);
      node.vnodes.release(sender);
      if (err) reject(err);
      else resolve([...ok.values()]);
    };
    const sender = node.vnodes.newSender((r) => {
      const p = r.from.partition;
      if (!apl.some((e) => e.partition === p) || ok.has(p) || failed.has(p)) return;
      if (r.ok) ok.set(p, r.value as T);
      else failed.set(p, new RemoteError(r.from.node, r.error.name, r.error.message));
      if (failed.size > 0 && (apl.length - failed.size < w || (pushes && failed.has(first.partition)))) {
        return finish(failed.get(first.partition) ?? [...failed.values()][0]);
      }
      if (ok.size >= w && (!pushes || ok.has(first.partition))) finish();
    }, timeoutMs);
    const timer = setTimeout(() => {
      const firstMissing =
        pushes && !ok.has(first.partition)
          ? ` (not the first replica, ${first.partition}@${first.node}, which pushes its lines)`
          : '';
      finish(
        new RoomError(
          'timeout',
          op,
          room,
          `${op} ${room}: ${ok.size} of ${w} replicas answered within ${timeoutMs} ms${firstMissing}`,
        ),
      );
    }, timeoutMs);
    apl.forEach((entry, i) => {
      node.command([entry], make(i === 0), sender, SERVICE);
    });
  });
}

/** Nodes that run rooms and are up, as this node sees them (sent along with every request). */
const up = (node: RingNode) => node.upNodes(SERVICE);

/** Merge histories from several replicas: each line once (by id), by time, the last `max`. */
export function mergeHistory(histories: readonly (readonly HistoryEntry[])[], max = HISTORY_SHOWN): HistoryEntry[] {
  const byId = new Map<string, HistoryEntry>();
  for (const h of histories) for (const e of h) byId.set(e.id, e);
  return [...byId.values()].sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).slice(-max);
}

/**
 * `member` joins `room`. The members (this one included) are told `* name has joined room`.
 * @returns the room's recent lines, merged from the replicas that answered.
 */
export async function joinRoom(
  node: RingNode,
  room: string,
  member: Member,
  opts?: RoomOptions,
): Promise<HistoryEntry[]> {
  const replies = await roomRequest<JoinReply>(
    node,
    room,
    (broadcast) => ({ type: 'join', room, member, up: up(node), broadcast }),
    opts,
  );
  return mergeHistory(replies.map((r) => r.history));
}

/**
 * `member` leaves `room`; the others are told `* name has left room` (not when `quiet`).
 * @returns whether it was a member (on any replica that answered).
 */
export async function leaveRoom(
  node: RingNode,
  room: string,
  member: Member,
  opts?: RoomOptions & { quiet?: boolean },
): Promise<boolean> {
  const quiet = opts?.quiet ?? false;
  const replies = await roomRequest<LeaveReply>(
    node,
    room,
    (broadcast) => ({ type: 'leave', room, member, quiet, up: up(node), broadcast }),
    opts,
  );
  return replies.some((r) => r.wasMember);
}

let lastAt = 0;
/**
 * The time of a line: ms since the epoch with µs precision, never the same twice in this
 * process, so lines said one after the other sort in that order on every replica.
 */
export function lineTime(): number {
  lastAt = Math.max(performance.timeOrigin + performance.now(), lastAt + 0.001);
  return lastAt;
}

/** `member` says `text` in `room`: every member, `member` included, gets it once. */
export async function sayRoom(
  node: RingNode,
  room: string,
  member: Member,
  text: string,
  opts?: RoomOptions,
): Promise<void> {
  const id = `${node.name}/${randomUUID()}`;
  const at = lineTime();
  await roomRequest(
    node,
    room,
    (broadcast) => ({ type: 'say', room, member, id, at, text, up: up(node), broadcast }),
    opts,
  );
}

/** The members of `room` (each connection once), merged from the replicas that answered. */
export async function whoRoom(node: RingNode, room: string, opts?: RoomOptions): Promise<Member[]> {
  const replies = await roomRequest<WhoReply>(
    node,
    room,
    (broadcast) => ({ type: 'who', room, up: up(node), broadcast }),
    opts,
    false,
  );
  const members = new Map<string, Member>();
  for (const r of replies) for (const m of r.members) members.set(memberKey(m), m);
  return [...members.values()];
}
