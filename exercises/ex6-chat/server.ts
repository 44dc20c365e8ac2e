/**
 * Exercise 6, given: the chat servers of one node. A TCP line server (`nc`, `telnet`) and,
 * optionally, a WebSocket server speaking the same commands as JSON (for browsers). The
 * commands are not here: {@link startChatServer} takes them as a {@link LineHandler} (chat.ts's
 * `handleLine`, which chat.ts's `startChat` passes in).
 *
 * Everything about bytes lives here, away from the commands: lines end with `\n`
 * or `\r\n`; a line longer than `maxLineBytes`, one that is not UTF-8, or one with control
 * characters gets an error line and is dropped; the server keeps nothing unbounded per client
 * (a line that never ends is discarded as it arrives; a client that sends faster than its
 * commands are answered is no longer read until they are; one that does not read what we send
 * is disconnected). Nothing a client sends can crash the server or be seen by another client.
 *
 * TCP: every output ends with the prompt `> `: the greeting, each command's replies, each line
 * pushed by a room. Lines pushed while a command of the same connection runs wait until its
 * replies are written, so an answer is never cut in two.
 *
 * WebSocket: one JSON object per message, both ways (nested at most {@link MAX_JSON_DEPTH} deep).
 *   client → server  { "cmd": "set-name", "name": "ada" }   { "cmd": "join", "room": "lobby" }
 *                    { "cmd": "say", "room": "lobby", "text": "hi" }   { "cmd": "leave" | "who", "room": … }
 *                    { "cmd": "help" }   { "cmd": "quit" }
 *   server → client  { "type": "hello", "node", "text" }   then the replies (protocol.ts) as they are:
 *                    ok (cmd, text, name?, room?, members?), error (message), history (room, messages, text),
 *                    message (room, id, at, name, text, line), notice (room, name, event, text)
 * A JSON command becomes the matching line (`say lobby hi`) and goes through the same checks
 * and the same `handleLine`, so both doors behave the same.
 *
 * Rooms push events with `ctx.notify(node, 'chat', { conns, event })`; the server subscribes to
 * that topic and hands each event to its connections. An event for a connection this server
 * no longer has (it closed before its room heard of it) makes the server tell the room to
 * forget that member, quietly.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { Endpoint } from '../../shared/app.js';
import type { RingNode } from '../../shared/node.js';
import { error, eventReply, GREETING_HINT, replyText, type Reply } from './protocol.js';
import { TOPIC, type ChatPush } from './room_types.js';
import { leaveRoom } from './rooms.js';
import { Session } from './session.js';

/**
 * The commands behind the servers: one line of `session` (no line end, checked: length, UTF-8,
 * no control characters) → the replies to send. What it throws is sent as `error: <message>`.
 */
export type LineHandler = (session: Session, line: string) => Promise<Reply[]>;

/** Options of {@link startChatServer}. */
export interface ChatOptions {
  /** Address to bind (default 127.0.0.1). */
  readonly host?: string;
  /** TCP port of the line protocol (default 0: any free port). */
  readonly port?: number;
  /** Port of the WebSocket server (0: any free port; undefined: no WebSocket server). */
  readonly wsPort?: number;
  /** Longest line accepted, in bytes, line end excluded (default 1024). */
  readonly maxLineBytes?: number;
}

/** The running chat servers of one node. */
export interface ChatServer {
  readonly tcpPort: number;
  /** undefined without a WebSocket server. */
  readonly wsPort: number | undefined;
  /** `{ kind: 'chat', url: 'tcp://host:port' }` and, with WebSockets, `{ kind: 'ws', url: 'ws://host:port' }`. */
  readonly endpoints: readonly Endpoint[];
  /** Connections open now. */
  connections(): number;
  /** Stop listening, close every connection (their rooms are left, best effort). */
  close(): Promise<void>;
}

/** Commands queued for a connection at which we stop reading from it, until half are done. */
const PAUSE_AT = 64;
/** Commands queued at which a connection is closed: it went on sending while paused. */
const MAX_QUEUED = 100_000;
/** Bytes waiting to be written to a client that does not read, before it is closed. */
const MAX_UNSENT = 1024 * 1024;
/** Largest WebSocket message accepted (ws closes the connection with 1009 above it). */
const MAX_WS_MESSAGE = 16 * 1024;
/**
 * Deepest nesting of a WebSocket message's JSON (arrays and objects inside each other; a
 * command is one flat object, depth 1): exercise 5's limit for HTTP bodies. A deeper message
 * is refused on its text, before it is parsed.
 */
export const MAX_JSON_DEPTH = 32;

/** Whether the JSON text `text` opens more than `max` arrays and objects at once (outside strings). One linear scan, no parsing. */
function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if ((c === '[' || c === '{') && ++depth > max) return true;
    else if (c === ']' || c === '}') depth--;
  }
  return false;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
// C0 controls except tab, DEL, C1 controls.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/u;

/** Why a line is refused before it reaches the commands, or its text. */
function checkLine(bytes: Buffer, maxLineBytes: number): { line: string } | { refused: string } {
  if (bytes.length > maxLineBytes)
    return { refused: `sorry, that line is too long (the limit is ${maxLineBytes} bytes)` };
  let line: string;
  try {
    line = utf8.decode(bytes);
  } catch {
    return { refused: 'sorry, that line is not UTF-8 text' };
  }
  if (CONTROL.test(line)) return { refused: 'sorry, control characters are not allowed' };
  return { line };
}

/**
 * One client, whatever the transport: runs its lines one at a time, holds pushed events while
 * a command runs, and leaves its rooms when it closes.
 */
abstract class Connection {
  readonly session: Session;
  private tail: Promise<void> = Promise.resolve();
  private queued = 0;
  private held: Reply[] = [];
  closed = false;

  constructor(
    protected readonly server: ChatServerImpl,
    conn: string,
  ) {
    this.session = new Session(server.node, conn);
  }

  /** Send replies; on TCP followed by the prompt (unless the session is closing). */
  protected abstract send(replies: readonly Reply[]): void;
  /** Close the transport after what was sent. */
  protected abstract end(): void;
  /** Close the transport now (the server stops). */
  abstract kill(): void;
  /** Stop reading from the client, or read again (backpressure). */
  protected abstract pauseInput(paused: boolean): void;

  /** A line (checked) or a refusal, in arrival order. */
  submit(item: { line: string } | { refused: string }): void {
    if (this.closed || this.session.closing) return;
    if (++this.queued > MAX_QUEUED) {
      this.kill();
      return;
    }
    if (this.queued === PAUSE_AT) this.pauseInput(true);
    this.tail = this.tail
      .then(async () => {
        let replies: Reply[];
        if ('refused' in item) replies = [error(item.refused)];
        else {
          try {
            replies = await this.server.handleLine(this.session, item.line);
            if (!Array.isArray(replies))
              throw new Error(`handleLine must return an array of replies, got ${String(replies)}`);
          } catch (err) {
            replies = [error(`error: ${err instanceof Error ? err.message : String(err)}`)];
          }
        }
        if (--this.queued === PAUSE_AT / 2) this.pauseInput(false);
        if (this.closed) return;
        // A command without replies (say: its line comes back as a push) writes nothing; an
        // empty line writes the prompt alone.
        if (replies.length > 0 || ('line' in item && item.line.trim() === '')) this.send(replies);
        if (this.session.closing) return this.end();
        this.flush();
      })
      .catch((err: unknown) => {
        // Only a reply we cannot send gets here (a bug): drop this connection, not the server.
        this.server.node.log.error(
          `chat: connection ${this.session.conn}: ${err instanceof Error ? err.stack : String(err)}`,
        );
        this.kill();
      });
  }

  /** An event from a room. */
  push(reply: Reply): void {
    if (this.closed || this.session.closing) return;
    if (this.queued > 0) this.held.push(reply);
    else this.send([reply]);
  }

  private flush(): void {
    const held = this.held;
    this.held = [];
    for (const reply of held) this.send([reply]);
  }

  /** The client sent everything it will send: close once its commands are answered. */
  finish(): void {
    void this.tail.then(() => {
      this.session.closing = true;
      this.end();
    });
  }

  /** The transport closed: once the running command is done, leave every room. */
  closedByPeer(): void {
    if (this.closed) return;
    this.closed = true;
    this.server.forgetConnection(this);
    const { conn, rooms, name } = this.session;
    void this.tail.then(async () => {
      await Promise.all(
        [...rooms].map((room) =>
          leaveRoom(this.server.node, room, { name: name ?? '?', node: this.server.node.name, conn }).catch(
            (err: Error) =>
              this.server.node.log.debug(`chat: leaving ${room} for closed connection ${conn}: ${err.message}`),
          ),
        ),
      );
      this.server.departed(conn);
    });
  }
}

class TcpConnection extends Connection {
  private chunks: Buffer[] = [];
  private size = 0;
  /** True while dropping the rest of an over-long line. */
  private discarding = false;

  constructor(
    server: ChatServerImpl,
    conn: string,
    private readonly socket: Socket,
  ) {
    super(server, conn);
    socket.on('data', (data: Buffer) => this.data(data));
    socket.on('error', () => undefined); // a reset connection is just a closed one
    // The client is done sending (`printf … | nc -N`): answer what it sent, then close.
    socket.on('end', () => {
      if (this.size > 0 || this.discarding) this.data(Buffer.from('\n')); // a last line without its newline
      this.finish();
    });
    socket.on('close', () => this.closedByPeer());
    this.write(`connected to ${server.node.name}! ${GREETING_HINT}\n> `);
  }

  private data(data: Buffer): void {
    let start = 0;
    for (let nl = data.indexOf(0x0a); nl !== -1; nl = data.indexOf(0x0a, start)) {
      this.take(data.subarray(start, nl));
      const line = Buffer.concat(this.chunks, this.size);
      this.chunks = [];
      this.size = 0;
      const max = this.server.maxLineBytes;
      if (this.discarding) {
        this.discarding = false;
        this.submit({ refused: `sorry, that line is too long (the limit is ${max} bytes)` });
      } else {
        const end = line.length > 0 && line[line.length - 1] === 0x0d ? line.length - 1 : line.length;
        this.submit(checkLine(line.subarray(0, end), max));
      }
      start = nl + 1;
      if (this.closed || this.socket.destroyed) return;
    }
    this.take(data.subarray(start));
  }

  /** Keep bytes of the current line, or drop them once it is over the limit (+1 for a `\r`). */
  private take(bytes: Buffer): void {
    if (this.discarding || bytes.length === 0) return;
    if (this.size + bytes.length > this.server.maxLineBytes + 1) {
      this.discarding = true;
      this.chunks = [];
      this.size = 0;
      return;
    }
    this.chunks.push(Buffer.from(bytes));
    this.size += bytes.length;
  }

  protected send(replies: readonly Reply[]): void {
    const lines = replies.map((r) => `${replyText(r)}\n`).join('');
    this.write(this.session.closing ? lines : `${lines}> `);
  }

  private write(text: string): void {
    if (this.socket.destroyed) return;
    if (this.socket.writableLength > MAX_UNSENT) {
      this.socket.destroy(); // it does not read what we send: stop buffering for it
      return;
    }
    this.socket.write(text);
  }

  protected end(): void {
    this.socket.destroySoon(); // after what we wrote is sent
  }

  kill(): void {
    this.socket.destroy();
  }

  protected pauseInput(paused: boolean): void {
    if (paused) this.socket.pause();
    else this.socket.resume();
  }
}

/** A JSON command as the line it stands for; a string: what is wrong with it. */
function lineOf(data: RawData, isBinary: boolean): { line: string } | { refused: string } {
  const usage = `sorry, send one JSON object like {"cmd":"join","room":"lobby"}`;
  if (isBinary) return { refused: usage };
  const json = Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.concat(data as Buffer[]).toString('utf8');
  if (nestsDeeperThan(json, MAX_JSON_DEPTH))
    return { refused: `sorry, that message is nested deeper than ${MAX_JSON_DEPTH} arrays and objects` };
  let msg: unknown;
  try {
    msg = JSON.parse(json);
  } catch {
    return { refused: usage };
  }
  if (typeof msg !== 'object' || msg === null || typeof (msg as { cmd?: unknown }).cmd !== 'string')
    return { refused: usage };
  const { cmd, name, room, text } = msg as { cmd: string; name?: unknown; room?: unknown; text?: unknown };
  const field = (v: unknown) => (typeof v === 'string' ? v : '');
  switch (cmd) {
    case 'set-name':
      return { line: `set-name ${field(name)}` };
    case 'join':
    case 'leave':
    case 'who':
      return { line: `${cmd} ${field(room)}` };
    case 'say':
      return { line: `say ${field(room)} ${field(text)}` };
    default:
      return { line: cmd };
  }
}

class WsConnection extends Connection {
  constructor(
    server: ChatServerImpl,
    conn: string,
    private readonly ws: WebSocket,
  ) {
    super(server, conn);
    ws.on('message', (data, isBinary) => {
      const item = lineOf(data, isBinary);
      this.submit('line' in item ? checkLine(Buffer.from(item.line, 'utf8'), server.maxLineBytes) : item);
    });
    ws.on('error', () => undefined);
    ws.on('close', () => this.closedByPeer());
    this.sendJson({
      type: 'hello',
      node: server.node.name,
      text: `connected to ${server.node.name}! ${GREETING_HINT}`,
    });
  }

  private sendJson(msg: unknown): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    if (this.ws.bufferedAmount > MAX_UNSENT) return void this.ws.terminate();
    this.ws.send(JSON.stringify(msg));
  }

  protected send(replies: readonly Reply[]): void {
    for (const r of replies) this.sendJson(r);
  }

  protected end(): void {
    this.ws.close(1000, 'bye');
  }

  kill(): void {
    this.ws.terminate();
  }

  protected pauseInput(paused: boolean): void {
    if (paused) this.ws.pause();
    else this.ws.resume();
  }
}

class ChatServerImpl implements ChatServer {
  /** Prefix of this server's connection ids, unique per server: a restarted node never reuses one. */
  private readonly id = randomUUID().slice(0, 8);
  private next = 0;
  private readonly open = new Map<string, Connection>();
  /** Closed connections still leaving their rooms (with a part notice): not to be forgotten quietly. */
  private readonly departing = new Set<string>();
  private readonly tcp: Server;
  private wss: WebSocketServer | undefined;
  private readonly unsubscribe: () => void;
  tcpPort = 0;
  wsPort: number | undefined;
  endpoints: Endpoint[] = [];

  constructor(
    readonly node: RingNode,
    readonly handleLine: LineHandler,
    readonly maxLineBytes: number,
  ) {
    this.tcp = createServer({ allowHalfOpen: true }, (socket) =>
      this.track(new TcpConnection(this, this.newConn(), socket)),
    );
    this.tcp.on('error', (err) => node.log.error(`chat server: ${err.message}`));
    this.unsubscribe = node.subscribe(TOPIC, (payload) => this.deliver(payload));
  }

  async listen(host: string, port: number, wsPort: number | undefined): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.tcp.once('error', reject);
      this.tcp.listen({ host, port }, () => {
        this.tcp.off('error', reject);
        resolve();
      });
    });
    this.tcpPort = (this.tcp.address() as AddressInfo).port;
    this.endpoints.push({ kind: 'chat', url: `tcp://${host}:${this.tcpPort}` });
    if (wsPort === undefined) return;
    const wss = new WebSocketServer({ host, port: wsPort, maxPayload: MAX_WS_MESSAGE });
    this.wss = wss;
    await new Promise<void>((resolve, reject) => {
      wss.once('error', reject);
      wss.once('listening', () => {
        wss.off('error', reject);
        resolve();
      });
    });
    wss.on('error', (err) => this.node.log.error(`chat ws server: ${err.message}`));
    wss.on('connection', (ws) => this.track(new WsConnection(this, this.newConn(), ws)));
    this.wsPort = (wss.address() as AddressInfo).port;
    this.endpoints.push({ kind: 'ws', url: `ws://${host}:${this.wsPort}` });
  }

  private newConn(): string {
    return `${this.id}.${++this.next}`;
  }

  private track(c: Connection): void {
    this.open.set(c.session.conn, c);
  }

  forgetConnection(c: Connection): void {
    this.open.delete(c.session.conn);
    this.departing.add(c.session.conn);
  }

  departed(conn: string): void {
    this.departing.delete(conn);
  }

  connections(): number {
    return this.open.size;
  }

  /** A push from a room: to our connections; a connection we do not have is forgotten there. */
  private deliver(payload: unknown): void {
    const push = payload as ChatPush;
    if (!push || !Array.isArray(push.conns) || typeof push.event?.room !== 'string') return;
    const reply = eventReply(push.event);
    for (const conn of push.conns) {
      if (typeof conn !== 'string' || !conn.startsWith(`${this.id}.`)) continue; // another server's
      const c = this.open.get(conn);
      if (c) c.push(reply);
      else if (!this.departing.has(conn)) {
        const gone = { name: '?', node: this.node.name, conn };
        leaveRoom(this.node, push.event.room, gone, { quiet: true }).catch(() => undefined);
      }
    }
  }

  async close(): Promise<void> {
    this.unsubscribe();
    const closing = [new Promise<void>((resolve) => this.tcp.close(() => resolve()))];
    if (this.wss) {
      for (const ws of this.wss.clients) ws.terminate();
      const wss = this.wss;
      closing.push(new Promise<void>((resolve) => wss.close(() => resolve())));
    }
    for (const c of this.open.values()) c.kill();
    await Promise.all(closing);
  }
}

/**
 * Start the chat servers of `node`: TCP on `port`, WebSocket on `wsPort` (if given), each line
 * of a client answered by `handleLine`.
 * @throws the listen error (e.g. EADDRINUSE).
 */
export async function startChatServer(
  node: RingNode,
  handleLine: LineHandler,
  opts: ChatOptions = {},
): Promise<ChatServer> {
  const server = new ChatServerImpl(node, handleLine, opts.maxLineBytes ?? 1024);
  try {
    await server.listen(opts.host ?? '127.0.0.1', opts.port ?? 0, opts.wsPort);
  } catch (err) {
    await server.close();
    throw err;
  }
  return server;
}
