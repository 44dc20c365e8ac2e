/**
 * Exercise 6: the chat commands. One {@link Session} per connection (TCP or WebSocket);
 * the server (server.ts, given) reads a line, checks it (length, UTF-8, control characters),
 * calls {@link handleLine} and writes the replies, each followed by the prompt `> ` on TCP.
 * Read README.md in this folder: you write `handleLine` (step 3) and `roomCommand` (step 4).
 * The replies and their text, the checks of names and rooms, and the help are given.
 *
 * The line protocol is the 2016 workshop's, plus leave, who, help and quit:
 *
 *   set-name <name>        → ok your name is <name>
 *   join <room>            → joined <room>! 'say <room> <message>' to chat   (+ recent lines)
 *   say <room> <message>   → every member, you included, gets `<room> - <name>: <message>`
 *   leave <room>           → left <room>      (the others get `* <name> has left <room>`)
 *   who <room>             → in <room>: ada, bob
 *   help, quit
 */
import type { RingNode } from '../../shared/node.js';
import { todo } from '../../shared/todo.js';
import type { HistoryEntry, Member, RoomEvent } from './room_vnode.js';
import { joinRoom, leaveRoom, sayRoom, whoRoom } from './rooms.js';

// --- replies (given) -----------------------------------------------------------------------

/**
 * What the server sends a client. On TCP each reply is its `text` (or `message`) as one or more
 * lines; on a WebSocket it is this object as JSON.
 */
export type Reply =
  | { readonly type: 'ok'; readonly cmd: string; readonly text: string; readonly name?: string; readonly room?: string; readonly members?: readonly string[] }
  | { readonly type: 'error'; readonly message: string }
  | { readonly type: 'history'; readonly room: string; readonly messages: readonly HistoryEntry[]; readonly text: string }
  | { readonly type: 'message'; readonly room: string; readonly id: string; readonly at: number; readonly name: string; readonly text: string; readonly line: string }
  | { readonly type: 'notice'; readonly room: string; readonly name: string; readonly event: 'joined' | 'left'; readonly text: string };

/** A command's answer: `ok('set-name', 'ok your name is ada', { name: 'ada' })`. */
export const ok = (cmd: string, text: string, extra: { name?: string; room?: string; members?: readonly string[] } = {}): Reply => ({ type: 'ok', cmd, text, ...extra });

/** A refusal or failure; on TCP the message is the line. */
export const error = (message: string): Reply => ({ type: 'error', message });

/** How a line said in a room looks: `lobby - ada: hello`. */
export const messageLine = (room: string, name: string, text: string): string => `${room} - ${name}: ${text}`;

/** The recent lines of a room, shown after `joined <room>!`. */
export const history = (room: string, messages: readonly HistoryEntry[]): Reply => ({
  type: 'history',
  room,
  messages,
  text: ['the most recent messages are:', ...messages.map((m) => messageLine(room, m.name, m.text))].join('\n'),
});

/** A pushed event as a reply: a message, or a join/part notice (`* ada has joined lobby`). */
export function eventReply(event: RoomEvent): Reply {
  switch (event.type) {
    case 'message':
      return { type: 'message', room: event.room, id: event.id, at: event.at, name: event.name, text: event.text, line: messageLine(event.room, event.name, event.text) };
    case 'joined':
      return { type: 'notice', room: event.room, name: event.name, event: 'joined', text: `* ${event.name} has joined ${event.room}` };
    case 'left':
      return { type: 'notice', room: event.room, name: event.name, event: 'left', text: `* ${event.name} has left ${event.room}` };
  }
}

/** A reply as the text a TCP client sees (without the newline and prompt). */
export function replyText(reply: Reply): string {
  switch (reply.type) {
    case 'error':
      return reply.message;
    case 'message':
      return reply.line;
    default:
      return reply.text;
  }
}

export const GREETING_HINT = "'set-name <name>' and 'join <room>' to get started, 'help' for more";

export const HELP = [
  'commands:',
  '  set-name <name>        choose your name: one word, letters, digits, - _ .',
  '  join <room>            join a room and see its recent lines',
  '  say <room> <message>   say something to everyone in a room you joined',
  '  leave <room>           leave a room',
  '  who <room>             who is in a room',
  '  help                   this list',
  '  quit                   leave your rooms and disconnect',
].join('\n');

/** Longest name or room name, in characters. */
export const MAX_WORD = 32;
const WORD = /^[\p{L}\p{N}_.#-]+$/u;

/**
 * Check a user name (`what = 'name'`) or room name: one word of 1 to {@link MAX_WORD}
 * letters, digits, `-`, `_`, `.` or `#`. @returns what is wrong, or undefined if it is fine.
 */
export function checkWord(word: string | undefined, what: 'name' | 'room'): string | undefined {
  if (word && [...word].length <= MAX_WORD && WORD.test(word)) return undefined;
  return `sorry, a ${what} is one word of up to ${MAX_WORD} letters, digits, '-', '_', '.' or '#'`;
}

/** The words of a line, split on spaces and tabs. */
export const words = (line: string): string[] => line.split(/[ \t]+/).filter((w) => w !== '');

/** What follows the first `n` words of `line`, trimmed (the message of `say <room> <message>`). */
export function rest(line: string, n: number): string {
  const m = new RegExp(`^[ \\t]*(?:[^ \\t]+[ \\t]+){${n}}(.*)$`).exec(line);
  return (m?.[1] ?? '').trim();
}

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

// --- the commands (steps 3 and 4) ---------------------------------------------------------

/**
 * Step 3: one line from the client → the replies to send. The line has no line end and passed
 * the server's checks (length, UTF-8, no control characters).
 * - no words: no replies (the server writes the prompt alone);
 * - `help`, `quit` (set `session.closing`), `set-name <name>`: any time;
 * - anything else needs a name: `must set a name before joining/chatting`;
 * - then the room commands ({@link roomCommand}), and `sorry, I don't understand '<line>'`
 *   (the line trimmed) for what is none of them.
 * Errors thrown here (a ring request that failed) are sent by the server as `error: <message>`.
 */
export async function handleLine(session: Session, line: string): Promise<Reply[]> {
  const [cmd, ...args] = words(line);
  void args;
  void HELP;
  void checkWord;
  void roomCommand;
  return todo('ex6-chat', 3, import.meta.url, `handleLine(): answer the line ${JSON.stringify(line)} (command ${JSON.stringify(cmd ?? '')}): empty, help, quit, set-name, the name check, then roomCommand() or "sorry, I don't understand"`);
}

/**
 * Step 4: the room commands of a session with a name, through rooms.ts. `args` are the words
 * after `cmd`; `line` is the whole line (for the message of `say`, use `rest(line, 2)`).
 * @returns the replies, or undefined if `cmd` is not a room command.
 */
export async function roomCommand(session: Session, cmd: string, args: readonly string[], line: string): Promise<Reply[] | undefined> {
  if (!['join', 'say', 'leave', 'who'].includes(cmd)) return undefined;
  void session;
  void line;
  void [joinRoom, sayRoom, leaveRoom, whoRoom, history, rest];
  return todo('ex6-chat', 4, import.meta.url, `roomCommand(): "${cmd} ${args.join(' ')}" through joinRoom/sayRoom/leaveRoom/whoRoom, answered with the protocol's lines`);
}
