/**
 * Exercise 6: the chat commands. One {@link Session} per connection (TCP or WebSocket);
 * the server (server.ts, given) reads a line, checks it (length, UTF-8, control characters),
 * calls {@link handleLine} and writes the replies, each followed by the prompt `> ` on TCP.
 * Read README.md in this folder: you write `handleLine` (step 3) and `roomCommand` (step 4).
 * Stuck? `npm run hint -- ex6`
 *
 * Given: the replies and their text, the checks of names and rooms, the help (protocol.ts), the
 * session (session.ts) and the room requests (rooms.ts). The line protocol is the 2016
 * workshop's, plus leave, who, help and quit:
 *
 *   set-name <name>        → ok your name is <name>
 *   join <room>            → joined <room>! 'say <room> <message>' to chat   (+ recent lines)
 *   say <room> <message>   → every member, you included, gets `<room> - <name>: <message>`
 *   leave <room>           → left <room>      (the others get `* <name> has left <room>`)
 *   who <room>             → in <room>: ada, bob
 *   help, quit
 */
import type { RingNode } from '../../shared/node.js';
import { checkWord, error, HELP, history, ok, rest, words, type Reply } from '../../exercises/ex6-chat/protocol.js';
import { joinRoom, leaveRoom, sayRoom, whoRoom } from '../../exercises/ex6-chat/rooms.js';
import { startChatServer, type ChatOptions, type ChatServer } from '../../exercises/ex6-chat/server.js';
import type { Session } from '../../exercises/ex6-chat/session.js';

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
  if (cmd === undefined) return [];
  switch (cmd) {
    case 'help':
      return [ok('help', HELP)];
    case 'quit':
      session.closing = true;
      return [ok('quit', 'bye')];
    case 'set-name': {
      const name = args.length === 1 ? args[0] : undefined;
      const bad = checkWord(name, 'name');
      if (bad !== undefined || name === undefined) return [error(bad ?? 'usage: set-name <name>')];
      if (session.rooms.size > 0 && name !== session.name) {
        return [
          error(`sorry, leave your rooms before changing your name (you are in ${[...session.rooms].join(', ')})`),
        ];
      }
      session.name = name;
      return [ok('set-name', `ok your name is ${name}`, { name })];
    }
  }
  if (session.name === undefined) return [error('must set a name before joining/chatting')];
  return (await roomCommand(session, cmd, args, line)) ?? [error(`sorry, I don't understand '${line.trim()}'`)];
}

/**
 * Step 4: the room commands of a session with a name, through rooms.ts. `args` are the words
 * after `cmd`; `line` is the whole line (the message of `say` keeps its inner spaces).
 * @returns the replies, or undefined if `cmd` is not a room command.
 */
export async function roomCommand(
  session: Session,
  cmd: string,
  args: readonly string[],
  line: string,
): Promise<Reply[] | undefined> {
  const node = session.node;
  const room = args[0];
  switch (cmd) {
    case 'join': {
      if (args.length !== 1 || room === undefined) return [error('usage: join <room>')];
      const bad = checkWord(room, 'room');
      if (bad !== undefined) return [error(bad)];
      if (session.rooms.has(room)) return [error(`you are already in ${room}`)];
      const recent = await joinRoom(node, room, session.member());
      session.rooms.add(room);
      const replies = [ok('join', `joined ${room}! 'say ${room} <message>' to chat`, { room })];
      if (recent.length > 0) replies.push(history(room, recent));
      return replies;
    }
    case 'say': {
      const text = rest(line, 2);
      if (room === undefined || text === '') return [error('usage: say <room> <message>')];
      if (!session.rooms.has(room)) return [error(`you are not in ${room}; 'join ${room}' first`)];
      await sayRoom(node, room, session.member(), text);
      return []; // the line comes back to us like to every member
    }
    case 'leave': {
      if (args.length !== 1 || room === undefined) return [error('usage: leave <room>')];
      if (!session.rooms.has(room)) return [error(`you are not in ${room}`)];
      await leaveRoom(node, room, session.member());
      session.rooms.delete(room);
      return [ok('leave', `left ${room}`, { room })];
    }
    case 'who': {
      if (args.length !== 1 || room === undefined) return [error('usage: who <room>')];
      const bad = checkWord(room, 'room');
      if (bad !== undefined) return [error(bad)];
      const names = (await whoRoom(node, room)).map((m) => m.name).sort();
      return [
        ok('who', names.length > 0 ? `in ${room}: ${names.join(', ')}` : `nobody is in ${room}`, {
          room,
          members: names,
        }),
      ];
    }
    default:
      return undefined;
  }
}

/**
 * Start the chat servers of `node` (TCP, and WebSocket with `opts.wsPort`), answering each line
 * with {@link handleLine}. @throws the listen error (e.g. EADDRINUSE).
 */
export const startChat = (node: RingNode, opts?: ChatOptions): Promise<ChatServer> =>
  startChatServer(node, handleLine, opts);
