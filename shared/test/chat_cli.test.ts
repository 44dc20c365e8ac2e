/**
 * `npm run chat` (shared/cli/chat.ts) against the chat of exercise 6 (the finished code, as
 * `npm start` runs it): a one-node in-process cluster with the room service and its chat servers
 * on ephemeral loopback ports. The client runs in-process (runChat with pipes for stdin and
 * stdout); a second user on the harness's line client checks that lines go both ways. One real
 * process checks the entry point's error when nothing listens.
 */
import { spawnSync } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Chalk } from 'chalk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChat } from '../../solutions/ex6-chat/chat.js';
import { roomService } from '../../solutions/ex6-chat/room_vnode.js';
import type { ChatServer } from '../../exercises/ex6-chat/server.js';
import { type ChatIo, commandJson, parseChatArgs, replyLines, runChat } from '../cli/chat.js';
import { parseAdminArgs, runAdmin } from '../cli/admin.js';
import { UsageError } from '../cli/options.js';
import { LineClient } from '../harness/chat_client.js';
import { TestCluster } from '../harness/cluster.js';
import { waitFor } from '../harness/wait.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const STEP = { timeoutMs: 8000 };

/** runChat in-process: stdin is a pipe the test writes to, stdout and stderr are collected. */
function startClient(argv: string[]) {
  const input = new PassThrough();
  const output = new PassThrough();
  let out = '';
  let err = '';
  output.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  const io: ChatIo = {
    input,
    output,
    terminal: false,
    stdout: (t) => {
      out += t;
    },
    stderr: (t) => {
      err += t;
    },
    chalk: new Chalk({ level: 0 }),
    env: {},
  };
  const exit = runChat(argv, io);
  return {
    exit,
    type: (line: string) => input.write(`${line}\n`),
    end: () => input.end(),
    out: () => out,
    err: () => err,
    /** Wait until the output holds `line` as a whole line. */
    sees: (line: string) =>
      waitFor(
        `chat client output to show ${JSON.stringify(line)} (got ${JSON.stringify(out)})`,
        () => out.split('\n').includes(line),
        STEP,
      ),
  };
}

/** A loopback port nothing listens on (taken, then released). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('npm run chat: arguments', () => {
  it('defaults to dev1 on TCP 4040; --ws picks the WebSocket door; --port and --ws exclude each other', () => {
    expect(parseChatArgs([])).toEqual({ host: '127.0.0.1', transport: 'tcp', port: 4040 });
    expect(parseChatArgs(['--port', '4041', '--host', 'localhost'])).toEqual({
      host: 'localhost',
      transport: 'tcp',
      port: 4041,
    });
    expect(parseChatArgs(['--ws', '4142'])).toEqual({ host: '127.0.0.1', transport: 'ws', port: 4142 });
    expect(parseChatArgs(['--help'])).toBe('help');
    expect(() => parseChatArgs(['--port', '1', '--ws', '2'])).toThrow(UsageError);
    expect(() => parseChatArgs(['--port', 'x'])).toThrow('--port must be an integer between 1 and 65535, got "x"');
    expect(() => parseChatArgs(['--nope'])).toThrow('unknown option --nope');
  });

  it('turns typed commands into the JSON the WebSocket door reads, and its replies into lines', () => {
    expect(commandJson('set-name ada')).toEqual({ cmd: 'set-name', name: 'ada' });
    expect(commandJson('join lobby')).toEqual({ cmd: 'join', room: 'lobby' });
    expect(commandJson('say lobby  hello there ')).toEqual({ cmd: 'say', room: 'lobby', text: 'hello there' });
    expect(commandJson('who lobby')).toEqual({ cmd: 'who', room: 'lobby' });
    expect(commandJson('quit')).toEqual({ cmd: 'quit' });
    // Anything else goes as the line itself, which the server answers as on TCP.
    expect(commandJson('dance now')).toEqual({ cmd: 'dance now' });
    expect(commandJson('join a b')).toEqual({ cmd: 'join a b' });
    expect(replyLines({ type: 'error', message: 'nope' })).toEqual(['nope']);
    expect(replyLines({ type: 'message', line: 'lobby - ada: hi', text: 'hi' })).toEqual(['lobby - ada: hi']);
    expect(replyLines({ type: 'history', text: 'a\nb' })).toEqual(['a', 'b']);
  });

  it('says that nothing listens, with what to do, and exits 1 (in-process and as a process)', async () => {
    const port = await freePort();
    const c = startClient(['--port', String(port)]);
    expect(await c.exit).toBe(1);
    expect(c.err()).toContain(`error: nothing listens on tcp://127.0.0.1:${port}: start a cluster with \`npm start\``);
    const ws = startClient(['--ws', String(port)]);
    expect(await ws.exit).toBe(1);
    expect(ws.err()).toContain(`error: nothing listens on ws://127.0.0.1:${port}`);
    // The entry point, once: the same line and exit code from `npm run chat` (node + tsx).
    const child = spawnSync(process.execPath, ['--import', 'tsx', 'shared/cli/chat.ts', '--port', String(port)], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 30_000,
    });
    expect(child.stderr).toContain(`error: nothing listens on tcp://127.0.0.1:${port}`);
    expect(child.status).toBe(1);
  });
});

// Issue 14 asked for this beside the chat client: `npm run admin -- help` printed `unknown command "help"`.
describe('npm run admin -- help', () => {
  it('prints the usage, like --help', async () => {
    expect(parseAdminArgs(['help'])).toBe('help');
    let out = '';
    const io = {
      stdout: (t: string) => void (out += t),
      stderr: (t: string) => void (out += t),
      chalk: new Chalk({ level: 0 }),
      env: {},
    };
    expect(await runAdmin(['help'], io)).toBe(0);
    expect(out).toMatch(/^Usage: npm run admin -- <command>/);
    expect(out).toContain('member-status');
  });
});

describe('npm run chat against the ex6 chat', () => {
  let cluster: TestCluster;
  let chat: ChatServer;
  const sockets: LineClient[] = [];

  beforeAll(async () => {
    cluster = await TestCluster.start({ size: 1, ringSize: 8, cookie: 'chat-cli', services: () => [roomService()] });
    chat = await startChat(cluster.node(0), { host: '127.0.0.1', port: 0, wsPort: 0 });
  });

  afterAll(async () => {
    for (const s of sockets.splice(0)) s.close();
    await chat?.close();
    await cluster?.stop();
  });

  for (const transport of ['tcp', 'ws'] as const) {
    it(`chats over ${transport === 'tcp' ? 'TCP (the line protocol)' : 'WebSocket (JSON)'} with a user on nc`, async () => {
      const room = `room-${transport}`;
      const ada = `ada-${transport}`;
      const port = transport === 'tcp' ? chat.tcpPort : (chat.wsPort as number);
      const c = startClient([transport === 'tcp' ? '--port' : '--ws', String(port)]);
      await c.sees(`connected to dev1@127.0.0.1! 'set-name <name>' and 'join <room>' to get started, 'help' for more`);
      c.type(`say ${room} too early`);
      await c.sees('must set a name before joining/chatting');
      c.type(`set-name ${ada}`);
      await c.sees(`ok your name is ${ada}`);
      c.type(`join ${room}`);
      await c.sees(`joined ${room}! 'say ${room} <message>' to chat`);
      c.type('dance');
      await c.sees(`sorry, I don't understand 'dance'`);

      // Another user, on the plain line protocol (what nc does).
      const bob = await LineClient.connect({ port: chat.tcpPort, label: `bob-${transport}` });
      sockets.push(bob);
      await bob.expect(/^connected to /);
      await bob.ask(`set-name bob-${transport}`, `ok your name is bob-${transport}`);
      bob.line(`join ${room}`);
      await c.sees(`* bob-${transport} has joined ${room}`);
      c.type(`say ${room} hello from the client`);
      await c.sees(`${room} - ${ada}: hello from the client`);
      await waitFor('bob to get the line', () => bob.raw.includes(`${room} - ${ada}: hello from the client\n`), STEP);
      bob.line(`say ${room} hi ${ada}`);
      await c.sees(`${room} - bob-${transport}: hi ${ada}`);
      c.type(`who ${room}`);
      await c.sees(`in ${room}: ${[ada, `bob-${transport}`].sort().join(', ')}`);

      // The end of the input ends the session once what was sent is answered.
      c.type(`leave ${room}`);
      c.end();
      expect(await c.exit).toBe(0);
      expect(c.out()).toContain(`left ${room}\n`);
      await waitFor('bob to see ada leave', () => bob.raw.includes(`* ${ada} has left ${room}`), STEP);
      expect(c.err()).toBe('');
    });
  }

  it('quit ends the session (TCP)', async () => {
    const c = startClient(['--port', String(chat.tcpPort)]);
    await c.sees(`connected to dev1@127.0.0.1! 'set-name <name>' and 'join <room>' to get started, 'help' for more`);
    c.type('quit');
    expect(await c.exit).toBe(0);
    expect(c.out()).toContain('bye\n');
  });
});
