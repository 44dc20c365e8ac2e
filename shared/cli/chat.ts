/**
 * `npm run chat -- [--host H] [--port 4040 | --ws 4140]`: a terminal client for the chat of
 * exercise 6, for machines without `nc` (Windows, some macOS set-ups). It speaks the TCP line
 * protocol (what `nc 127.0.0.1 4040` does) or the WebSocket JSON door (`--ws 4140`), and in both
 * cases the user types the same commands (`set-name ada`, `join lobby`, `say lobby hi`, `who`,
 * `leave`, `help`, `quit`) and sees the same lines.
 *
 * The server's prompt `> ` becomes readline's prompt: a line pushed by a room while the user is
 * typing is printed above the input line, and what was typed so far is drawn again below it.
 * When the input is not a terminal (`printf 'set-name ada\n' | npm run chat`) only the server's
 * lines are printed, one per line, and the end of the input ends the session once every line
 * sent has been answered (on TCP a half-close, like `nc -N`; on WebSocket a `quit`).
 */
import { WS_PORT_OFFSET } from '../app.js';
import { connect as tcpConnect, type Socket } from 'node:net';
import { clearLine, createInterface, cursorTo, type Interface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { WebSocket } from 'ws';
import {
  DEFAULT_HOST,
  isMain,
  nonEmpty,
  parseCommandLine,
  parsePort,
  processIo,
  reportFailure,
  type ToolIo,
  UsageError,
} from './options.js';

const PROG = 'npm run chat';

/** devrel's chat ports: dev1's TCP line protocol, and its WebSocket door (TCP port + 100). */
export const DEFAULT_CHAT_PORT = 4040;
export const DEFAULT_WS_PORT = DEFAULT_CHAT_PORT + WS_PORT_OFFSET;
/** Deadline (ms) for the connection to open. */
const CONNECT_MS = 5000;

export const USAGE = `Usage: npm run chat -- [--host HOST] [--port PORT | --ws PORT]

A terminal client for the chat of exercise 6 (what "nc ${DEFAULT_HOST} ${DEFAULT_CHAT_PORT}" does, without nc).
Start a cluster first (npm start: chat on ${DEFAULT_CHAT_PORT}-${DEFAULT_CHAT_PORT + 2}, WebSocket on ${DEFAULT_WS_PORT}-${DEFAULT_WS_PORT + 2}), then type the
chat's commands: set-name <name>, join <room>, say <room> <message>, leave <room>, who <room>, help, quit.
Ctrl-D or quit ends the session.

Options:
  --host HOST   the node's address (default ${DEFAULT_HOST})
  --port PORT   its chat port, TCP line protocol (default ${DEFAULT_CHAT_PORT})
  --ws PORT     its WebSocket chat port instead (JSON messages; ${DEFAULT_WS_PORT} is dev1's)
  --help        show this help

Examples:
  npm run chat                 # dev1, TCP
  npm run chat -- --port 4041  # dev2, TCP
  npm run chat -- --ws 4142    # dev3, WebSocket`;

/** Parsed command line of the chat client. */
export interface ChatCliOptions {
  readonly host: string;
  /** `tcp`: the line protocol (`nc`); `ws`: the WebSocket JSON door. */
  readonly transport: 'tcp' | 'ws';
  readonly port: number;
}

/**
 * Parse the chat client's arguments (without `node` and the script).
 * @returns the options, or `'help'` for `--help`.
 * @throws UsageError for an unknown option, a bad port, an empty host, or both `--port` and `--ws`.
 */
export function parseChatArgs(argv: readonly string[]): ChatCliOptions | 'help' {
  const { values } = parseCommandLine({
    args: [...argv],
    options: {
      host: { type: 'string' },
      port: { type: 'string', short: 'p' },
      ws: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  if (values.port !== undefined && values.ws !== undefined)
    throw new UsageError('give either --port (TCP) or --ws (WebSocket), not both');
  const host = nonEmpty(values.host ?? DEFAULT_HOST, '--host');
  if (values.ws !== undefined) return { host, transport: 'ws', port: parsePort(values.ws, '--ws', false) };
  return { host, transport: 'tcp', port: parsePort(values.port ?? String(DEFAULT_CHAT_PORT), '--port', false) };
}

/** What the client reads from the server: a line of text, or the prompt asking for the next command. */
export type ChatEvent = { readonly kind: 'line'; readonly text: string } | { readonly kind: 'prompt' };

/** An open connection to a chat server, either transport. */
export interface ChatLink {
  /** Send one command as the user typed it (no line end). */
  send(line: string): void;
  /** The user is done: the server answers what was sent, then closes (TCP half-close; WebSocket `quit`). */
  finish(): void;
  /** Drop the connection now. */
  close(): void;
  /** Resolves when the connection is closed, by either side. */
  readonly closed: Promise<void>;
}

/** The URL a person would recognise for `opts`: `tcp://127.0.0.1:4040`, `ws://127.0.0.1:4140`. */
export function chatUrl(opts: ChatCliOptions): string {
  const host = opts.host.includes(':') && !opts.host.startsWith('[') ? `[${opts.host}]` : opts.host;
  return `${opts.transport}://${host}:${opts.port}`;
}

/** The error a failed connect becomes: "nothing listens" for a refused one, with what to do. */
function connectError(opts: ChatCliOptions, err: unknown): Error {
  const code = (err as { code?: unknown } | null)?.code;
  const url = chatUrl(opts);
  const start = `start a cluster with \`npm start\` (chat on ${DEFAULT_CHAT_PORT}-${DEFAULT_CHAT_PORT + 2}, WebSocket on ${DEFAULT_WS_PORT}-${DEFAULT_WS_PORT + 2}) or pick another port`;
  if (code === 'ECONNREFUSED') return new Error(`nothing listens on ${url}: ${start}`);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new Error(`cannot resolve host ${opts.host} (${url})`);
  if (code === 'ETIMEDOUT') return new Error(`no answer from ${url} within ${CONNECT_MS} ms: ${start}`);
  const message = err instanceof Error ? err.message : String(err);
  return new Error(`cannot connect to ${url}: ${message}`);
}

/**
 * Connect to the chat server at `opts`; every line and prompt the server sends goes to `onEvent`.
 * @throws Error "nothing listens on tcp://…" when the connection is refused, or another one-line
 *   error (unknown host, no answer within 5 s, a WebSocket port that is not a chat server's).
 */
export async function connectChat(opts: ChatCliOptions, onEvent: (e: ChatEvent) => void): Promise<ChatLink> {
  return opts.transport === 'tcp' ? connectTcp(opts, onEvent) : connectWs(opts, onEvent);
}

/** The TCP line protocol: lines as typed, server output split into lines and prompts (`> `). */
async function connectTcp(opts: ChatCliOptions, onEvent: (e: ChatEvent) => void): Promise<ChatLink> {
  const socket: Socket = tcpConnect({ host: opts.host, port: opts.port, allowHalfOpen: true });
  socket.setTimeout(CONNECT_MS);
  await new Promise<void>((resolve, reject) => {
    const fail = (err: unknown) => {
      socket.destroy();
      reject(connectError(opts, err));
    };
    socket.once('connect', () => {
      socket.off('error', fail);
      socket.off('timeout', timeout);
      socket.setTimeout(0);
      resolve();
    });
    const timeout = () => fail(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' }));
    socket.once('error', fail);
    socket.once('timeout', timeout);
  });
  let buf = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buf += chunk;
    // Same reading as `nc` shows it: a `> ` at the start of a line is the prompt.
    for (;;) {
      if (buf.startsWith('> ')) {
        buf = buf.slice(2);
        onEvent({ kind: 'prompt' });
        continue;
      }
      const nl = buf.indexOf('\n');
      if (nl === -1) break;
      onEvent({ kind: 'line', text: buf.slice(0, nl).replace(/\r$/, '') });
      buf = buf.slice(nl + 1);
    }
  });
  socket.on('end', () => socket.end()); // the server is done (quit): close our half too
  socket.on('error', () => undefined); // a reset is a close
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      if (buf !== '' && buf !== '>') onEvent({ kind: 'line', text: buf });
      resolve();
    }),
  );
  return {
    send: (line) => void (socket.writable && socket.write(`${line}\n`)),
    finish: () => void socket.end(),
    close: () => void socket.destroy(),
    closed,
  };
}

/**
 * A typed command as the WebSocket server's JSON (exercises/ex6-chat/server.ts): `say lobby hi`
 * → `{"cmd":"say","room":"lobby","text":"hi"}`. Any other line goes as `{"cmd": line}`, which the
 * server reads as that very line, so it answers exactly as on TCP (`sorry, I don't understand …`).
 */
export function commandJson(line: string): Record<string, string> {
  const m = /^[ \t]*(\S+)(?:[ \t]+(\S+))?(?:[ \t]+(.*))?$/.exec(line);
  const [cmd, first, more] = [m?.[1], m?.[2], m?.[3]?.trim()];
  switch (cmd) {
    case 'set-name':
      if (first !== undefined && more === undefined) return { cmd, name: first };
      break;
    case 'join':
    case 'leave':
    case 'who':
      if (first !== undefined && more === undefined) return { cmd, room: first };
      break;
    case 'say':
      if (first !== undefined && more) return { cmd, room: first, text: more };
      break;
    case 'help':
    case 'quit':
      if (first === undefined) return { cmd };
      break;
  }
  return { cmd: line };
}

/** A WebSocket message as the text a TCP client would see: `message` → its line, `error` → its message, others their `text`. */
export function replyLines(msg: unknown): string[] {
  const m = (msg ?? {}) as { type?: unknown; line?: unknown; message?: unknown; text?: unknown };
  const text = m.type === 'message' ? m.line : m.type === 'error' ? m.message : m.text;
  return typeof text === 'string' ? text.split('\n') : [JSON.stringify(msg)];
}

/** The WebSocket door: typed commands as JSON, each message back as its lines and a prompt. */
async function connectWs(opts: ChatCliOptions, onEvent: (e: ChatEvent) => void): Promise<ChatLink> {
  const ws = new WebSocket(chatUrl(opts), { handshakeTimeout: CONNECT_MS });
  // Listening before the open event: the greeting can come in the same chunk as the upgrade
  // response, and ws emits it right after 'open', before an awaiting caller runs again.
  ws.on('message', (data) => {
    let msg: unknown;
    try {
      msg = JSON.parse(String(data));
    } catch {
      msg = { text: String(data) };
    }
    for (const text of replyLines(msg)) onEvent({ kind: 'line', text });
    onEvent({ kind: 'prompt' });
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => {
      ws.removeAllListeners('error');
      resolve();
    });
    ws.once('error', (err) => {
      ws.terminate();
      reject(connectError(opts, err));
    });
  });
  ws.on('error', () => undefined); // a reset is a close
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  const send = (line: string) => {
    if (ws.readyState !== ws.OPEN) return;
    // An empty line: TCP answers with the prompt alone, the WebSocket door with nothing.
    if (line.trim() === '') onEvent({ kind: 'prompt' });
    else ws.send(JSON.stringify(commandJson(line)));
  };
  return { send, finish: () => send('quit'), close: () => ws.terminate(), closed };
}

/** Streams of an in-process run of the client: the process's in a real run, pipes in the tests. */
export interface ChatIo extends ToolIo {
  /** What the user types. */
  readonly input: Readable;
  /** Where the server's lines and readline's prompt go. */
  readonly output: Writable;
  /** True when input and output are a terminal: readline edits the line and shows the prompt. */
  readonly terminal: boolean;
}

/** The process's own streams (stdin, stdout; a terminal when both are). */
export function processChatIo(): ChatIo {
  return {
    ...processIo(),
    input: process.stdin,
    output: process.stdout,
    terminal: Boolean(process.stdin.isTTY && process.stdout.isTTY),
  };
}

/**
 * Run the chat client with `argv` (without `node` and the script) until the session ends: the
 * input ends (Ctrl-D, or the end of a pipe), the user types `quit`, Ctrl-C, or the server closes.
 * @returns the exit code: 0 after a session, 1 when the connection could not be made (the
 *   error line says why, e.g. `nothing listens on tcp://127.0.0.1:4040: …`), 2 for bad usage.
 */
export async function runChat(argv: readonly string[], io: ChatIo): Promise<number> {
  let opts: ChatCliOptions;
  let link: ChatLink;
  let rl: Interface | undefined;
  let userEnded = false;
  const show = (e: ChatEvent) => {
    if (!io.terminal) {
      if (e.kind === 'line') io.output.write(`${e.text}\n`);
      return;
    }
    if (e.kind === 'prompt') return void rl?.prompt(true);
    // Above the line being typed: clear it, print, and draw the prompt and the typed text again.
    clearLine(io.output, 0);
    cursorTo(io.output, 0);
    io.output.write(`${e.text}\n`);
    if (rl && pendingPrompt) rl.prompt(true);
  };
  // Until the first prompt, lines go out without redrawing a prompt the server has not sent yet.
  let pendingPrompt = false;
  const onEvent = (e: ChatEvent) => {
    if (e.kind === 'prompt') pendingPrompt = true;
    show(e);
  };
  try {
    const parsed = parseChatArgs(argv);
    if (parsed === 'help') {
      io.stdout(`${USAGE}\n`);
      return 0;
    }
    opts = parsed;
    link = await connectChat(opts, onEvent);
  } catch (err) {
    return reportFailure(PROG, err, io);
  }
  rl = createInterface({ input: io.input, output: io.terminal ? io.output : undefined, terminal: io.terminal });
  rl.setPrompt('> ');
  if (pendingPrompt && io.terminal) rl.prompt(true);
  let quitTyped = false;
  rl.on('line', (line) => {
    if (line.trim() === 'quit') quitTyped = true;
    link.send(line);
  });
  rl.on('SIGINT', () => {
    userEnded = true;
    link.close();
  });
  rl.on('close', () => {
    userEnded = true;
    link.finish();
  });
  await link.closed;
  const dropped = !userEnded && !quitTyped;
  rl.close();
  if (dropped) io.stderr(io.chalk.dim(`${chatUrl(opts)} closed the connection\n`));
  return 0;
}

if (isMain(import.meta.url)) {
  const io = processChatIo();
  const code = await runChat(process.argv.slice(2), io);
  // stdin may still hold the event loop open (a terminal): leave once the session is over.
  process.exit(code);
}
