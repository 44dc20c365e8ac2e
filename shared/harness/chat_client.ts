/**
 * Test clients of a chat server (exercise 6): a TCP line client that expects exact lines, each
 * answer followed by the prompt `> `, and a WebSocket client that expects JSON messages. Both
 * wait for each expected line or message with a deadline, and fail at the first one that
 * differs, with everything received so far in the message.
 */
import { connect, type Socket } from 'node:net';
import { WebSocket } from 'ws';
import { expect } from 'vitest';

/** Default deadline for each expected line or message, ms. */
export const STEP_MS = 4000;

/** What a {@link LineClient} reads: a line (without its `\n`), a prompt, or the end of the connection. */
export type LineEvent = { kind: 'line'; text: string } | { kind: 'prompt' } | { kind: 'closed' };
const show = (e: LineEvent) => (e.kind === 'line' ? `line ${JSON.stringify(e.text)}` : e.kind);

/** How {@link LineClient.connect} reaches a server, and what the client needs besides. */
export interface LineClientOptions {
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** The server's TCP port. */
  readonly port: number;
  /** Names the client in failure messages (e.g. the user's name). */
  readonly label: string;
  /** Deadline for each expected event, ms (default {@link STEP_MS}). */
  readonly stepMs?: number;
  /**
   * Resolves once whatever the server side will ever push to this client about `room` has been
   * sent to it, in order (used by {@link LineClient.expectQuiet}). Default: resolves at once.
   */
  readonly settle?: (room: string) => Promise<void>;
}

/**
 * A TCP client that splits what the server sends into lines and prompts (`> ` at the start of
 * a line). `expect(...lines)` takes the next events: exactly those lines, then one prompt.
 */
export class LineClient {
  private buf = '';
  private readonly events: LineEvent[] = [];
  private wake: (() => void) | undefined;
  /** Everything received, for failure messages. */
  private received = '';
  readonly label: string;
  private readonly stepMs: number;
  private readonly settle: (room: string) => Promise<void>;

  /** Everything received so far, as it came. */
  get raw(): string {
    return this.received;
  }

  private constructor(
    private readonly socket: Socket,
    opts: LineClientOptions,
  ) {
    this.label = opts.label;
    this.stepMs = opts.stepMs ?? STEP_MS;
    this.settle = opts.settle ?? (async () => undefined);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.received += chunk;
      this.buf += chunk;
      this.parse();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => this.add({ kind: 'closed' }));
  }

  /** Connect to the server at `opts.host:opts.port`. @throws the connect error (e.g. ECONNREFUSED). */
  static async connect(opts: LineClientOptions): Promise<LineClient> {
    const socket = connect({ host: opts.host ?? '127.0.0.1', port: opts.port });
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return new LineClient(socket, opts);
  }

  private add(e: LineEvent): void {
    this.events.push(e);
    this.wake?.();
  }

  private parse(): void {
    for (;;) {
      if (this.buf.startsWith('> ')) {
        this.buf = this.buf.slice(2);
        this.add({ kind: 'prompt' });
        continue;
      }
      if (this.buf === '>') return; // half a prompt
      const nl = this.buf.indexOf('\n');
      if (nl === -1) return;
      this.add({ kind: 'line', text: this.buf.slice(0, nl) });
      this.buf = this.buf.slice(nl + 1);
    }
  }

  /** Raw bytes or text, as they are. */
  send(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** One line, with `\n` (or the given line end). */
  line(text: string, end = '\n'): void {
    this.socket.write(text + end);
  }

  private fail(what: string): never {
    throw new Error(`${this.label}: ${what}\n--- ${this.label} received so far ---\n${this.received}`);
  }

  /** The next event. @throws Error naming `what` at the deadline. */
  async next(what: string): Promise<LineEvent> {
    const deadline = Date.now() + this.stepMs;
    while (this.events.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) this.fail(`no ${what} within ${this.stepMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
    return this.events.shift() as LineEvent;
  }

  /** The next events are exactly `lines` (strings or patterns), then the prompt `> `. @throws Error at the first that differs. */
  async expect(...lines: (string | RegExp)[]): Promise<void> {
    for (const want of lines) {
      const e = await this.next(`line ${want}`);
      const good = e.kind === 'line' && (typeof want === 'string' ? e.text === want : want.test(e.text));
      if (!good) this.fail(`expected line ${typeof want === 'string' ? JSON.stringify(want) : want}, got ${show(e)}`);
    }
    const e = await this.next('prompt');
    if (e.kind !== 'prompt')
      this.fail(
        `expected the prompt "> " after ${lines.length ? lines.map(String).join(' | ') : 'nothing'}, got ${show(e)}`,
      );
  }

  /** `line` then the expected reply lines and the prompt. */
  async ask(line: string, ...reply: (string | RegExp)[]): Promise<void> {
    this.line(line);
    await this.expect(...reply);
  }

  /** The next lines (then the connection closes, without a prompt). */
  async expectClosed(...lines: string[]): Promise<void> {
    for (const want of lines) {
      const e = await this.next(`line ${want}`);
      if (e.kind !== 'line' || e.text !== want) this.fail(`expected line ${JSON.stringify(want)}, got ${show(e)}`);
    }
    const e = await this.next('the connection to close');
    if (e.kind !== 'closed') this.fail(`expected the connection to close, got ${show(e)}`);
  }

  /**
   * Nothing more arrives, however late. First `settle` runs for each of `rooms` (see
   * {@link LineClientOptions.settle}), so whatever was pushed to this client before is here or
   * on its way in order; then an empty line must be answered by the prompt alone as the very
   * next thing. A duplicate or stray line, early or late, arrives before that prompt.
   */
  async expectQuiet(...rooms: string[]): Promise<void> {
    for (const room of rooms) await this.settle(room);
    this.line('');
    const e = await this.next('the prompt answering an empty line');
    if (e.kind !== 'prompt')
      this.fail(`expected nothing more (an empty line sent to check: its prompt should come next), got ${show(e)}`);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** A message as parsed JSON: checked with toMatchObject, read freely by tests. */
// biome-ignore lint/suspicious/noExplicitAny: a parsed JSON message, asserted with toMatchObject
type Json = any;

/** A WebSocket client that queues the JSON messages it receives. */
export class WsClient {
  private readonly queue: Json[] = [];
  private wake: (() => void) | undefined;
  /** True once the server closed the connection. */
  closed = false;

  private constructor(
    readonly ws: WebSocket,
    private readonly stepMs: number,
  ) {
    ws.on('message', (data) => {
      this.queue.push(JSON.parse(String(data)));
      this.wake?.();
    });
    ws.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
  }

  /**
   * Connect to `ws://host:port` (host default 127.0.0.1); each expected message has `stepMs`
   * (default {@link STEP_MS}). @throws the connection error.
   */
  static async connect(port: number, opts: { host?: string; stepMs?: number } = {}): Promise<WsClient> {
    const ws = new WebSocket(`ws://${opts.host ?? '127.0.0.1'}:${port}`);
    const c = new WsClient(ws, opts.stepMs ?? STEP_MS);
    await new Promise<void>((resolve, reject) =>
      ws
        .once('open', () => resolve())
        .once('error', (err) => {
          ws.terminate();
          reject(err);
        }),
    );
    return c;
  }

  /** A JSON message: `msg` as it is if a string, else `JSON.stringify(msg)`. */
  send(msg: unknown): void {
    this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }

  /**
   * The next message must match `partial` (toMatchObject). @returns it.
   * @throws Error when the connection closes or no message comes within the deadline.
   */
  async expect(partial: Json): Promise<Json> {
    const deadline = Date.now() + this.stepMs;
    while (this.queue.length === 0) {
      if (this.closed) throw new Error(`ws: closed while waiting for ${JSON.stringify(partial)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`ws: no message within ${this.stepMs} ms, expected ${JSON.stringify(partial)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
    const msg = this.queue.shift();
    expect(msg, 'ws message').toMatchObject(partial);
    return msg;
  }

  /** Drop the connection at once. */
  close(): void {
    this.ws.terminate();
  }
}
