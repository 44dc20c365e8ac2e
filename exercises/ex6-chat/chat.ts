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
import { todo } from '../../shared/todo.js';
import { checkWord, error, HELP, history, ok, rest, words, type Reply } from './protocol.js';
import { joinRoom, leaveRoom, sayRoom, whoRoom } from './rooms.js';
import { startChatServer, type ChatOptions, type ChatServer } from './server.js';
import type { Session } from './session.js';

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
  return todo(
    'ex6-chat',
    3,
    import.meta.url,
    `handleLine(): answer the line ${JSON.stringify(line)} (command ${JSON.stringify(cmd ?? '')}): empty, help, quit, set-name, the name check, then roomCommand() or "sorry, I don't understand"`,
  );
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
  if (!['join', 'say', 'leave', 'who'].includes(cmd)) return undefined;
  void session;
  void line;
  void [joinRoom, sayRoom, leaveRoom, whoRoom, history, rest];
  return todo(
    'ex6-chat',
    4,
    import.meta.url,
    `roomCommand(): "${cmd} ${args.join(' ')}" through joinRoom/sayRoom/leaveRoom/whoRoom, answered with the protocol's lines`,
  );
}

/**
 * Start the chat servers of `node` (TCP, and WebSocket with `opts.wsPort`), answering each line
 * with {@link handleLine}. @throws the listen error (e.g. EADDRINUSE).
 */
export const startChat = (node: RingNode, opts?: ChatOptions): Promise<ChatServer> =>
  startChatServer(node, handleLine, opts);
