/**
 * ex6-chat: chat rooms on the ring, a TCP line protocol and a WebSocket door on every node.
 * Runs against exercises/ (npm test -- ex6) or solutions/ (npm run test:solutions -- ex6).
 *
 * Clients wait for each expected line with a deadline of a few seconds and fail at the first
 * line that differs, so an unfinished step (`ex6-chat step N is not done yet: …`, sent by the
 * server as an error line) fails a test at once.
 */
import { describe, expect, it, type TestContext } from 'vitest';
import { startChat } from '@ex/ex6-chat/chat.js';
import { roomService, type RoomVnode } from '@ex/ex6-chat/room_vnode.js';
import { chashKey } from '../../shared/chash.js';
import { LineClient, STEP_MS, WsClient } from '../../shared/harness/chat_client.js';
import { inspectVnode } from '../../shared/harness/inspect.js';
import { TestCluster } from '../../shared/harness/cluster.js';
import { AbortWait, waitFor } from '../../shared/harness/wait.js';
import type { NodeTiming, RingNode } from '../../shared/node.js';
import { members, preflist } from '../../shared/ring.js';
import {
  HISTORY_MAX,
  HISTORY_SHOWN,
  SERVICE,
  TOPIC,
  type ChatPush,
  type Member,
  type RoomEvent,
} from './room_types.js';
import { joinRoom, leaveRoom, roomApl, roomRequest, sayRoom, whoRoom } from './rooms.js';
import type { ChatServer } from './server.js';

/**
 * Down detection of the test clusters: far above any deadline here. A killed node is noticed at
 * once anyway (its connections close); a node that is only slow (this machine being busy)
 * stays up, so its members are not dropped from rooms and requests go to the primaries.
 */
const TIMING: NodeTiming = { downAfterMs: 20_000 };

/**
 * What one test started: its cluster, chat servers, clients and subscriptions, closed when the
 * test ends. The tests run concurrently (describe.concurrent), each on a cluster of its own.
 */
class Scope {
  readonly sockets: { close(): void }[] = [];
  readonly cleanups: (() => void)[] = [];
  readonly chats: ChatServer[] = [];
  cluster?: TestCluster;

  constructor({ onTestFinished }: TestContext) {
    scopes.add(this);
    onTestFinished(() => this.close());
  }

  /** The scope of the test that started `what` (a chat server, or a node of its cluster). */
  static of(what: ChatServer | RingNode): Scope {
    for (const scope of scopes)
      if (scope.chats.includes(what as ChatServer) || scope.cluster?.nodes.includes(what as RingNode)) return scope;
    throw new Error('test setup: a chat server or node that start() did not start');
  }

  private async close(): Promise<void> {
    scopes.delete(this);
    for (const s of this.sockets.splice(0)) s.close();
    for (const f of this.cleanups.splice(0)) f();
    for (const s of this.chats) nodeOf.delete(s);
    await Promise.all(this.chats.splice(0).map((s) => s.close()));
    await this.cluster?.stop();
  }
}

/** The scopes of the tests running now. */
const scopes = new Set<Scope>();
/** The node each chat server runs on. */
const nodeOf = new Map<ChatServer, RingNode>();

let clusters = 0;
/**
 * A 3-node cluster running rooms, stopped when the test ends. Each cluster has its own cookie, so
 * a node of one test never talks to a node of another that got a recycled port.
 */
async function startCluster(t: TestContext): Promise<{ c: TestCluster; scope: Scope }> {
  const scope = new Scope(t);
  const c = await TestCluster.start({
    size: 3,
    services: () => [roomService()],
    timing: TIMING,
    cookie: `ex6-${++clusters}`,
  });
  scope.cluster = c;
  return { c, scope };
}

/** A 3-node cluster running rooms, and one chat server (TCP + WebSocket) per node: `servers[i]` on `c.node(i)`. */
async function start(t: TestContext): Promise<{ c: TestCluster; servers: ChatServer[] }> {
  const { c, scope } = await startCluster(t);
  const servers: ChatServer[] = [];
  for (const node of c.nodes) {
    const s = await startChat(node, { host: '127.0.0.1', port: 0, wsPort: 0 });
    scope.chats.push(s);
    nodeOf.set(s, node);
    servers.push(s);
  }
  return { c, servers };
}

/**
 * Wait until every replica of `room` has handled every request sent to it before: ask all of
 * them (W = 3) from `node`. Whatever a replica pushed to `node` before has then reached it:
 * a push and a reply from one node to another travel the same link, in order.
 */
async function settle(node: RingNode, room: string): Promise<void> {
  await roomRequest(
    node,
    room,
    (broadcast) => ({ type: 'who', room, up: node.upNodes(SERVICE), broadcast }),
    { w: 3 },
    false,
  );
}

// --- the clients (shared/harness/chat_client.ts) ------------------------------------------

/**
 * A line client of chat server `server` (see {@link LineClient}); its `expectQuiet(...rooms)`
 * first {@link settle}s each room from the server's node. Closed after the test.
 */
async function connectLine(server: ChatServer, label: string): Promise<LineClient> {
  const node = nodeOf.get(server);
  if (!node) throw new Error('test setup: a chat server that start() did not start');
  const scope = Scope.of(server);
  const client = await LineClient.connect({ port: server.tcpPort, label, settle: (room) => settle(node, room) });
  scope.sockets.push(client);
  return client;
}

/** A WebSocket client of chat server `server` (see {@link WsClient}). Closed after the test. */
async function connectWs(server: ChatServer): Promise<WsClient> {
  const scope = Scope.of(server);
  if (server.wsPort === undefined) throw new Error('test setup: a chat server without a WebSocket port');
  const client = await WsClient.connect(server.wsPort);
  scope.sockets.push(client);
  return client;
}

const GREETING = /^connected to dev\d@127\.0\.0\.1! .*'set-name <name>'.*'join <room>'/;
const joinedLine = (room: string) => `joined ${room}! 'say ${room} <message>' to chat`;
const NOT_UTF8 = 'sorry, that line is not UTF-8 text';
const CONTROL = 'sorry, control characters are not allowed';
const TOO_LONG = 'sorry, that line is too long (the limit is 1024 bytes)';
const BAD_NAME = /^sorry, a name is one word/;

/** A client of chat server `s`, past the greeting. */
async function client(s: ChatServer, label: string): Promise<LineClient> {
  const c = await connectLine(s, label);
  await c.expect(GREETING);
  return c;
}

/** A client with a name. */
async function named(s: ChatServer, name: string): Promise<LineClient> {
  const c = await client(s, name);
  await c.ask(`set-name ${name}`, `ok your name is ${name}`);
  return c;
}

/** `c` joins `room` (with `history` lines shown) and sees its own join notice. */
async function join(c: LineClient, name: string, room: string, history: string[] = []): Promise<void> {
  c.line(`join ${room}`);
  await c.expect(joinedLine(room), ...(history.length ? ['the most recent messages are:', ...history] : []));
  await c.expect(`* ${name} has joined ${room}`);
}

// --- the line protocol ----------------------------------------------------------------------

describe.concurrent('ex6-chat: the line protocol', () => {
  it('greets with set-name and join, ends every output with the prompt; set-name answers "ok your name is <name>"', async (t) => {
    const { servers } = await start(t);
    const c = await connectLine(servers[0]!, 'ada');
    await c.expect(GREETING);
    await c.ask('set-name ada', 'ok your name is ada');
    await c.ask('set-name ada.l', 'ok your name is ada.l'); // a new name, before joining rooms
    await c.ask(
      'help',
      'commands:',
      /set-name <name>/,
      /join <room>/,
      /say <room> <message>/,
      /leave <room>/,
      /who <room>/,
      /help/,
      /quit/,
    );
    // Byte for byte: each answer is its lines, then "> ".
    expect(c.raw).toMatch(
      /^connected to dev1@127\.0\.0\.1! [^\n]*\n> ok your name is ada\n> ok your name is ada\.l\n> commands:\n(?:[^\n]*\n){7}> $/,
    );
    c.line('quit');
    await c.expectClosed('bye');
  }, 20_000);

  it('set-name, join, say: the exact lines, and the sender gets its own line', async (t) => {
    const { servers } = await start(t);
    const ada = await named(servers[0]!, 'ada');
    await ada.ask('say lobby hi', "you are not in lobby; 'join lobby' first");
    await join(ada, 'ada', 'lobby');
    await ada.ask('join lobby', 'you are already in lobby');
    await ada.ask('set-name bob', /^sorry, leave your rooms before changing your name/);
    await ada.ask('say lobby hello, ring!', 'lobby - ada: hello, ring!');
    await ada.ask('say lobby   spaces  inside   are kept  ', 'lobby - ada: spaces  inside   are kept');
    await ada.ask('say lobby grüße aus köln 🪐', 'lobby - ada: grüße aus köln 🪐');
    await ada.expectQuiet('lobby'); // each line once: no late copy from another replica
  });

  it('before a name: "must set a name before joining/chatting" for everything but set-name, help and quit', async (t) => {
    const { servers } = await start(t);
    const c = await client(servers[1]!, 'anon');
    for (const line of ['join lobby', 'say lobby hi', 'leave lobby', 'who lobby', 'dance']) {
      await c.ask(line, 'must set a name before joining/chatting');
    }
    await c.ask('help', 'commands:', /./, /./, /./, /./, /./, /./, /./);
    await c.ask('set-name zoe', 'ok your name is zoe');
    await c.ask('quit-now', "sorry, I don't understand 'quit-now'");
  });

  it("anything else: sorry, I don't understand '<line>'", async (t) => {
    const { servers } = await start(t);
    const c = await named(servers[2]!, 'ada');
    await c.ask('dance wildly', "sorry, I don't understand 'dance wildly'");
    await c.ask('SET-NAME bob', "sorry, I don't understand 'SET-NAME bob'");
    await c.ask('  join-room lobby  ', "sorry, I don't understand 'join-room lobby'");
  });

  it('an empty line gets only the prompt', async (t) => {
    const { servers } = await start(t);
    const c = await client(servers[0]!, 'anon');
    await c.ask(''); // before a name too
    await c.ask('   \t ');
    await c.ask('set-name ada', 'ok your name is ada');
    await c.ask('');
    c.line('', '\r\n');
    await c.expect();
    await c.expectQuiet();
  });

  it('lines may end with \\r\\n (telnet): no \\r in names, rooms or messages', async (t) => {
    const { servers } = await start(t);
    const c = await client(servers[1]!, 'telnet');
    const ask = async (line: string, ...reply: (string | RegExp)[]) => {
      c.line(line, '\r\n');
      await c.expect(...reply);
    };
    await ask('set-name ada', 'ok your name is ada');
    await ask('join lobby', joinedLine('lobby'));
    await c.expect('* ada has joined lobby');
    await ask('say lobby over telnet', 'lobby - ada: over telnet');
    await ask('who lobby', 'in lobby: ada');
    // A line may also arrive in pieces, its \r\n split between two packets.
    c.send('say lob');
    c.send('by in pieces\r');
    c.send('\n');
    await c.expect('lobby - ada: in pieces');
    await ask('leave lobby', 'left lobby');
  });
});

// --- rooms across nodes ---------------------------------------------------------------------

describe.concurrent('ex6-chat: rooms across nodes', () => {
  it("two clients on different nodes in one room see each other's join notice and lines", async (t) => {
    const { servers } = await start(t);
    const ada = await named(servers[0]!, 'ada');
    const bob = await named(servers[1]!, 'bob');
    await join(ada, 'ada', 'lobby');
    await join(bob, 'bob', 'lobby');
    await ada.expect('* bob has joined lobby');
    await bob.ask('say lobby hi ada', 'lobby - bob: hi ada');
    await ada.expect('lobby - bob: hi ada');
    await ada.ask('say lobby hi bob', 'lobby - ada: hi bob');
    await bob.expect('lobby - ada: hi bob');
    // A room the other is not in stays private.
    await join(ada, 'ada', 'kitchen');
    await ada.ask('say kitchen just me', 'kitchen - ada: just me');
    await bob.ask('who kitchen', 'in kitchen: ada');
    await bob.expectQuiet('lobby', 'kitchen');
    await ada.expectQuiet('lobby', 'kitchen');
  });

  it(`join shows the room's recent lines (the last ${HISTORY_SHOWN}), from any node`, async (t) => {
    const { servers } = await start(t);
    const ada = await named(servers[0]!, 'ada');
    await join(ada, 'ada', 'lobby');
    const said: string[] = [];
    for (let i = 1; i <= 12; i++) {
      await ada.ask(`say lobby line ${i}`, `lobby - ada: line ${i}`);
      said.push(`lobby - ada: line ${i}`);
    }
    const bob = await named(servers[2]!, 'bob');
    await join(bob, 'bob', 'lobby', said.slice(-HISTORY_SHOWN));
    await ada.expect('* bob has joined lobby');
    // The history is the room's, not a node's: it also survives everyone leaving.
    await ada.ask('leave lobby', 'left lobby');
    await bob.expect('* ada has left lobby');
    await bob.ask('leave lobby', 'left lobby');
    const cat = await named(servers[1]!, 'cat');
    await join(cat, 'cat', 'lobby', said.slice(-HISTORY_SHOWN));
    // A new room has no history.
    await join(cat, 'cat', 'fresh');
  });

  it('who lists the members of a room, asked on any node', async (t) => {
    const { servers } = await start(t);
    const ada = await named(servers[0]!, 'ada');
    const bob = await named(servers[1]!, 'bob');
    const cat = await named(servers[2]!, 'cat');
    await cat.ask('who lobby', 'nobody is in lobby');
    await join(bob, 'bob', 'lobby');
    await join(ada, 'ada', 'lobby');
    await bob.expect('* ada has joined lobby');
    for (const c of [ada, bob, cat]) await c.ask('who lobby', 'in lobby: ada, bob');
    await bob.ask('leave lobby', 'left lobby');
    await ada.expect('* bob has left lobby');
    await cat.ask('who lobby', 'in lobby: ada');
    await cat.ask('who', 'usage: who <room>');
  });

  it('leave: "left <room>" to the leaver, a part notice to the others; quit and a dropped connection part too', async (t) => {
    const { servers } = await start(t);
    const ada = await named(servers[0]!, 'ada');
    const bob = await named(servers[1]!, 'bob');
    const cat = await named(servers[2]!, 'cat');
    const dan = await named(servers[2]!, 'dan');
    for (const [c, name] of [
      [ada, 'ada'],
      [bob, 'bob'],
      [cat, 'cat'],
      [dan, 'dan'],
    ] as const)
      await join(c, name, 'lobby');
    await ada.expect('* bob has joined lobby');
    await ada.expect('* cat has joined lobby');
    await ada.expect('* dan has joined lobby');
    await bob.expect('* cat has joined lobby');
    await bob.expect('* dan has joined lobby');
    await cat.expect('* dan has joined lobby');

    await bob.ask('leave lobby', 'left lobby');
    await ada.expect('* bob has left lobby');
    await cat.expect('* bob has left lobby');
    await dan.expect('* bob has left lobby');
    await bob.ask('leave lobby', 'you are not in lobby');
    await bob.ask('say lobby still here?', "you are not in lobby; 'join lobby' first");
    await ada.ask('say lobby bob is gone', 'lobby - ada: bob is gone');
    await cat.expect('lobby - ada: bob is gone');
    await dan.expect('lobby - ada: bob is gone');
    await bob.ask('who lobby', 'in lobby: ada, cat, dan'); // and bob got no line meanwhile

    cat.line('quit');
    await cat.expectClosed('bye');
    await ada.expect('* cat has left lobby');
    await dan.expect('* cat has left lobby');

    dan.close(); // the connection just drops
    await ada.expect('* dan has left lobby');
    await ada.ask('who lobby', 'in lobby: ada');
    await bob.expectQuiet('lobby');
  });

  it('bad input gets an error line; the server stays up and another client in the room notices nothing', async (t) => {
    const { servers } = await start(t);
    const ada = await named(servers[0]!, 'ada');
    const bob = await named(servers[1]!, 'bob');
    await join(ada, 'ada', 'lobby');
    await join(bob, 'bob', 'lobby');
    await ada.expect('* bob has joined lobby');

    const junk = await client(servers[0]!, 'junk'); // on ada's node
    junk.send(Buffer.from([0xff, 0xfe, 0x00, 0x80, 0x0a]));
    await junk.expect(NOT_UTF8);
    junk.send(Buffer.concat([Buffer.from('set-name '), Buffer.from([0xc3, 0x28]), Buffer.from('\r\n')])); // broken UTF-8
    await junk.expect(NOT_UTF8);
    await junk.ask('set-name a\u0007b', CONTROL);
    await junk.ask('set-name \u001b[31mred', CONTROL);
    await junk.ask('x'.repeat(2000), TOO_LONG);
    // An over-long line in pieces, and one that goes on for a while before its newline.
    for (let i = 0; i < 3; i++) junk.send('y'.repeat(600));
    junk.send('\n');
    await junk.expect(TOO_LONG);
    for (let i = 0; i < 64; i++) junk.send('z'.repeat(16 * 1024));
    junk.send('\r\n');
    await junk.expect(TOO_LONG);
    await junk.ask('x'.repeat(1024), 'must set a name before joining/chatting'); // 1024 bytes is fine
    await junk.ask('set-name ada lovelace', BAD_NAME);
    await junk.ask('set-name', BAD_NAME);
    await junk.ask(`set-name ${'n'.repeat(33)}`, BAD_NAME);
    await junk.ask('set-name ada:', BAD_NAME);
    await junk.ask('set-name mallory', 'ok your name is mallory');
    await junk.ask('join two words', 'usage: join <room>');
    await junk.ask('join a/b', /^sorry, a room is one word/);
    await join(junk, 'mallory', 'lobby');
    await ada.expect('* mallory has joined lobby');
    await bob.expect('* mallory has joined lobby');
    await junk.ask('say lobby a\u0000b', CONTROL);
    await junk.ask('say lobby', 'usage: say <room> <message>');
    junk.send(Buffer.from([0xde, 0xad, 0xbe, 0xef]));
    junk.close(); // gone mid-line
    await ada.expect('* mallory has left lobby');
    await bob.expect('* mallory has left lobby');

    // The others chat on as before, and the server takes new clients.
    await bob.ask('say lobby still fine?', 'lobby - bob: still fine?');
    await ada.expect('lobby - bob: still fine?');
    await ada.expectQuiet('lobby');
    const late = await named(servers[0]!, 'late');
    await late.ask('who lobby', 'in lobby: ada, bob');
  });

  it('a node killed while a room is active: members on the surviving nodes keep chatting; who forgets the dead node', async (t) => {
    const { c, servers } = await start(t);
    const dev3 = c.node(2);
    // A room whose first replica (the one that pushes the lines) is on the node we kill.
    const room = Array.from({ length: 200 }, (_, i) => `room${i}`).find(
      (r) => preflist(dev3.ring, chashKey('room', r))[0]?.node === dev3.name,
    )!;
    const ada = await named(servers[0]!, 'ada');
    const bob = await named(servers[1]!, 'bob');
    const cat = await named(servers[2]!, 'cat');
    await join(ada, 'ada', room);
    await join(bob, 'bob', room);
    await join(cat, 'cat', room);
    await ada.expect(`* bob has joined ${room}`);
    await ada.expect(`* cat has joined ${room}`);
    await bob.expect(`* cat has joined ${room}`);
    await ada.ask(`say ${room} before`, `${room} - ada: before`);
    await bob.expect(`${room} - ada: before`);
    await cat.expect(`${room} - ada: before`);

    await c.kill(2);
    await waitFor(
      'dev1 and dev2 to see dev3 down',
      () => c.nodes.every((n) => !n.upNodes(SERVICE).includes(dev3.name)),
      { timeoutMs: 5000 },
    );
    // First thing after the kill: who no longer lists cat, whose node is gone.
    await ada.ask(`who ${room}`, `in ${room}: ada, bob`);
    await ada.ask(`say ${room} after`, `${room} - ada: after`);
    await bob.expect(`${room} - ada: after`);
    await bob.ask(`say ${room} still here`, `${room} - bob: still here`);
    await ada.expect(`${room} - bob: still here`);
    await ada.ask(`who ${room}`, `in ${room}: ada, bob`);
    // The room's history is on the replicas that are left.
    const dan = await named(servers[1]!, 'dan');
    await join(dan, 'dan', room, [`${room} - ada: before`, `${room} - ada: after`, `${room} - bob: still here`]);
    await ada.expect(`* dan has joined ${room}`);
    await bob.expect(`* dan has joined ${room}`);
    await ada.expectQuiet(room);
    await bob.expectQuiet(room);
  });

  it('a member whose connection its server no longer has is dropped at the next push, quietly: no part notice, who forgets it', async (t) => {
    const { c, servers } = await start(t);
    const dev1 = c.node(0);
    const ada = await named(servers[0]!, 'ada');
    const bob = await named(servers[1]!, 'bob');
    await join(ada, 'ada', 'lobby');
    await join(bob, 'bob', 'lobby');
    await ada.expect('* bob has joined lobby');
    // A member on dev1 whose connection dev1's chat server does not have (as if it closed
    // before its join reached the room): a connection id of that server that never existed.
    const adaConn = (await whoRoom(dev1, 'lobby')).find((m) => m.name === 'ada')?.conn ?? '';
    expect(adaConn, "ada's connection id as the room holds it").toMatch(/^[^.]+\.\d+$/);
    const ghost: Member = { name: 'ghost', node: dev1.name, conn: `${adaConn.split('.')[0]}.999999` };
    await joinRoom(dev1, 'lobby', ghost);
    await ada.expect('* ghost has joined lobby');
    await bob.expect('* ghost has joined lobby');
    await waitFor(
      'the room to forget the ghost',
      async () => !(await whoRoom(dev1, 'lobby')).some((m) => m.name === 'ghost'),
      { timeoutMs: STEP_MS },
    );
    await ada.expectQuiet('lobby'); // from dev1 first: every replica has handled the ghost's leave
    await bob.expectQuiet('lobby');
    await ada.ask('who lobby', 'in lobby: ada, bob');
    await bob.ask('say lobby just us', 'lobby - bob: just us');
    await ada.expect('lobby - bob: just us');
  });
});

// --- the WebSocket door -------------------------------------------------------------------

describe.concurrent('ex6-chat: WebSocket', () => {
  it('a WebSocket client joins the room of a TCP client and they exchange lines', async (t) => {
    const { servers } = await start(t);
    const ada = await named(servers[0]!, 'ada');
    await join(ada, 'ada', 'lobby');
    await ada.ask('say lobby anyone?', 'lobby - ada: anyone?');

    const ws = await connectWs(servers[1]!);
    await ws.expect({ type: 'hello', node: 'dev2@127.0.0.1', text: expect.stringContaining("'set-name <name>'") });
    ws.send({ cmd: 'join', room: 'lobby' });
    await ws.expect({ type: 'error', message: 'must set a name before joining/chatting' });
    ws.send({ cmd: 'set-name', name: 'wendy' });
    await ws.expect({ type: 'ok', cmd: 'set-name', text: 'ok your name is wendy', name: 'wendy' });
    ws.send({ cmd: 'join', room: 'lobby' });
    await ws.expect({ type: 'ok', cmd: 'join', room: 'lobby', text: joinedLine('lobby') });
    await ws.expect({
      type: 'history',
      room: 'lobby',
      messages: [expect.objectContaining({ name: 'ada', text: 'anyone?' })],
    });
    await ws.expect({
      type: 'notice',
      room: 'lobby',
      name: 'wendy',
      event: 'joined',
      text: '* wendy has joined lobby',
    });
    await ada.expect('* wendy has joined lobby');

    ws.send({ cmd: 'say', room: 'lobby', text: 'hello from a browser' });
    await ws.expect({
      type: 'message',
      room: 'lobby',
      name: 'wendy',
      text: 'hello from a browser',
      line: 'lobby - wendy: hello from a browser',
    });
    await ada.expect('lobby - wendy: hello from a browser');
    await ada.ask('say lobby welcome, wendy', 'lobby - ada: welcome, wendy');
    await ws.expect({ type: 'message', room: 'lobby', name: 'ada', text: 'welcome, wendy' });

    ws.send({ cmd: 'who', room: 'lobby' });
    await ws.expect({ type: 'ok', cmd: 'who', room: 'lobby', members: ['ada', 'wendy'], text: 'in lobby: ada, wendy' });
    ws.send('this is not JSON');
    await ws.expect({ type: 'error', message: expect.stringContaining('JSON') });
    ws.send({ cmd: 'say', room: 'lobby', text: 'two\nlines' });
    await ws.expect({ type: 'error', message: CONTROL });
    ws.send({ cmd: 'set-name', name: 'wendy w' });
    await ws.expect({ type: 'error', message: expect.stringMatching(BAD_NAME) });
    ws.send({ cmd: 'dance' });
    await ws.expect({ type: 'error', message: "sorry, I don't understand 'dance'" });
    ws.send({ cmd: 'quit' });
    await ws.expect({ type: 'ok', cmd: 'quit', text: 'bye' });
    await waitFor('the server to close the WebSocket', () => ws.closed, { timeoutMs: STEP_MS });
    await ada.expect('* wendy has left lobby');
    await ada.expectQuiet('lobby');
  });
});

// --- rooms on the ring ----------------------------------------------------------------------

/** Every push a node's `chat` topic receives, as `conn → events`. */
function recordPushes(node: RingNode): Map<string, RoomEvent[]> {
  const seen = new Map<string, RoomEvent[]>();
  Scope.of(node).cleanups.push(
    node.subscribe(TOPIC, (payload) => {
      const push = payload as ChatPush;
      for (const conn of push.conns) seen.set(conn, [...(seen.get(conn) ?? []), push.event]);
    }),
  );
  return seen;
}

/**
 * The room as the vnode of `partition` on `node` holds it (undefined: no such vnode or room):
 * its members' names, sorted, and its lines by time. A replica appends lines as they arrive,
 * and one that lags behind may get two lines said on different nodes in either order (a join
 * merges the replicas' lines by time), so the order it appended them in is not compared.
 */
async function replica(
  node: RingNode,
  partition: number,
  room: string,
): Promise<{ members: string[]; lines: string[] } | undefined> {
  const held = await inspectVnode(node, SERVICE, partition, (v: RoomVnode) => {
    const r = v.rooms.get(room);
    const byTime = [...(r?.history ?? [])].sort((a, b) => a.at - b.at);
    return (
      r && {
        members: [...r.members.values()].map((m) => m.name).sort(),
        lines: byTime.map((h) => `${h.name}: ${h.text}`),
      }
    );
  });
  return held ?? undefined;
}

const texts = (events: RoomEvent[] | undefined) =>
  (events ?? []).map((e) => (e.type === 'message' ? `${e.name}: ${e.text}` : `* ${e.name} ${e.type} ${e.room}`));

describe.concurrent('ex6-chat: rooms on the ring', () => {
  it('a room lives on its 3 replicas; the first one pushes each event once to each member', async (t) => {
    const { c } = await startCluster(t);
    const [dev1, dev2, dev3] = c.nodes as [RingNode, RingNode, RingNode];
    const pushes = [dev1, dev2, dev3].map(recordPushes);
    const ada: Member = { name: 'ada', node: dev1.name, conn: 't.1' };
    const bob: Member = { name: 'bob', node: dev2.name, conn: 't.2' };
    expect(await joinRoom(dev3, 'lobby', ada)).toEqual([]);
    expect(await joinRoom(dev1, 'lobby', bob)).toEqual([]);
    for (const [i, text] of ['one', 'two', 'three'].entries())
      await sayRoom(c.node(i), 'lobby', i === 1 ? bob : ada, text);
    const expected = ['* ada joined lobby', '* bob joined lobby', 'ada: one', 'bob: two', 'ada: three'];
    await waitFor(
      'ada and bob to get every event',
      () => texts(pushes[0]!.get('t.1')).length >= 5 && texts(pushes[1]!.get('t.2')).length >= 4,
    );
    // A marker after everything: any duplicate push would have arrived before it.
    await sayRoom(dev2, 'lobby', bob, 'marker');
    await waitFor(
      'the marker',
      () =>
        texts(pushes[0]!.get('t.1')).includes('bob: marker') && texts(pushes[1]!.get('t.2')).includes('bob: marker'),
    );
    expect(texts(pushes[0]!.get('t.1'))).toEqual([...expected, 'bob: marker']);
    expect(texts(pushes[1]!.get('t.2'))).toEqual([...expected.slice(1), 'bob: marker']);
    expect(pushes[2]!.size).toBe(0); // nobody on dev3

    // Every replica (the 3 primaries of the room) has the members and the history.
    const apl = roomApl(dev1, 'lobby');
    expect(apl.map((e) => e.type)).toEqual(['primary', 'primary', 'primary']);
    for (const e of apl) {
      await waitFor(
        `replica ${e.partition}@${e.node} to have everything`,
        async () => {
          const r = await replica(c.node(e.node), e.partition, 'lobby');
          return r && r.lines.length === 4 && r;
        },
        { timeoutMs: STEP_MS },
      );
      expect(await replica(c.node(e.node), e.partition, 'lobby')).toEqual({
        members: ['ada', 'bob'],
        lines: ['ada: one', 'bob: two', 'ada: three', 'bob: marker'],
      });
    }
    // A retried say (same id) is stored and pushed once.
    const retry = (broadcast: boolean) => ({
      type: 'say' as const,
      room: 'lobby',
      member: ada,
      id: 'retry-1',
      at: Date.now(),
      text: 'once',
      up: dev1.upNodes(SERVICE),
      broadcast,
    });
    await roomRequest(dev1, 'lobby', retry, { w: 3 });
    await roomRequest(dev2, 'lobby', retry, { w: 3 });
    await sayRoom(dev2, 'lobby', bob, 'marker 2');
    await waitFor('marker 2', () => texts(pushes[0]!.get('t.1')).includes('bob: marker 2'));
    expect(texts(pushes[0]!.get('t.1')).filter((t) => t === 'ada: once')).toHaveLength(1);
    for (const e of apl)
      expect(
        (await replica(c.node(e.node), e.partition, 'lobby'))!.lines.filter((l) => l === 'ada: once'),
      ).toHaveLength(1);

    // who from any node; a leave tells the others, not the leaver.
    for (const n of c.nodes) expect((await whoRoom(n, 'lobby')).map((m) => m.name).sort()).toEqual(['ada', 'bob']);
    expect(await joinRoom(dev2, 'lobby', ada)).toHaveLength(6); // joining twice is one member, no notice
    expect(await leaveRoom(dev3, 'lobby', bob)).toBe(true);
    expect(await leaveRoom(dev3, 'lobby', bob)).toBe(false); // gone already: nothing to announce
    // A marker from the same replica, on the same link: any second notice came before it.
    await sayRoom(dev3, 'lobby', ada, 'marker 3');
    await waitFor('marker 3', () => texts(pushes[0]!.get('t.1')).includes('ada: marker 3'));
    expect(texts(pushes[0]!.get('t.1')).filter((t) => t === '* bob left lobby')).toHaveLength(1);
    expect(texts(pushes[0]!.get('t.1')).filter((t) => t === '* ada joined lobby')).toHaveLength(1);
    await settle(dev2, 'lobby');
    expect(texts(pushes[1]!.get('t.2'))).not.toContain('* bob left lobby');
    expect((await whoRoom(dev2, 'lobby')).map((m) => m.name)).toEqual(['ada']);
  });

  it(`a room keeps only its last ${HISTORY_MAX} lines, on every replica: older lines are dropped, a busy room does not grow without bound`, async (t) => {
    const { c } = await startCluster(t);
    const [dev1, dev2] = c.nodes as [RingNode, RingNode];
    const ada: Member = { name: 'ada', node: dev1.name, conn: 't.1' };
    expect(await joinRoom(dev1, 'busy', ada)).toEqual([]);
    const said = Array.from({ length: HISTORY_MAX + 7 }, (_, i) => `line ${i + 1}`);
    // All from one node: every replica gets the lines in the order they were said.
    for (const text of said) await sayRoom(dev1, 'busy', ada, text);
    await settle(dev1, 'busy');
    const apl = roomApl(dev1, 'busy');
    expect(apl.map((e) => e.type)).toEqual(['primary', 'primary', 'primary']);
    for (const e of apl) {
      expect(
        await replica(c.node(e.node), e.partition, 'busy'),
        `room busy on replica ${e.partition}@${e.node}`,
      ).toEqual({
        members: ['ada'],
        lines: said.slice(-HISTORY_MAX).map((t) => `ada: ${t}`),
      });
    }
    // A join still shows the last few of them.
    const bob: Member = { name: 'bob', node: dev2.name, conn: 't.2' };
    expect((await joinRoom(dev2, 'busy', bob)).map((h) => h.text)).toEqual(said.slice(-HISTORY_SHOWN));
  });

  it('rooms move with handoff when a fourth node joins: members and history arrive whole, nothing twice', async (t) => {
    const { c } = await startCluster(t);
    const [dev1, dev2] = c.nodes as [RingNode, RingNode];
    const pushes = [dev1, dev2].map(recordPushes);
    const rooms = Array.from({ length: 12 }, (_, i) => `room-${i}`);
    for (const [i, room] of rooms.entries()) {
      await joinRoom(c.node(i % 3), room, { name: 'ada', node: dev1.name, conn: `a.${i}` });
      await joinRoom(c.node((i + 1) % 3), room, { name: 'bob', node: dev2.name, conn: `b.${i}` });
      for (let k = 1; k <= 3; k++)
        await sayRoom(c.node((i + k) % 3), room, { name: 'ada', node: dev1.name, conn: `a.${i}` }, `${room} line ${k}`);
    }
    const dev4 = await c.addNode();
    await dev4.join(dev1.addr);
    await c.commitWhenReady(dev1);
    await waitFor(
      'every transfer to finish and the ring to settle',
      () => {
        const stub = c.nodes.map((n) => n.handoff.stats.lastError).find((e) => e?.includes('is not done yet'));
        if (stub) throw new AbortWait(stub);
        return c.nodes.every((n) => n.isSettled() && members(n.ring).length === 4);
      },
      { timeoutMs: 30_000 },
    );
    await c.waitSettled({ timeoutMs: 30_000 });

    let onDev4 = 0;
    for (const room of rooms) {
      const apl = roomApl(dev1, room);
      expect(apl.map((e) => e.type)).toEqual(['primary', 'primary', 'primary']);
      for (const e of apl) {
        if (e.node === dev4.name) onDev4++;
        expect(await replica(c.node(e.node), e.partition, room), `${room} on ${e.partition}@${e.node}`).toEqual({
          members: ['ada', 'bob'],
          lines: [1, 2, 3].map((k) => `ada: ${room} line ${k}`),
        });
      }
    }
    expect(onDev4).toBeGreaterThan(0); // some replicas did move to the new node
    // The rooms work as before, from the new node too.
    const cat: Member = { name: 'cat', node: dev4.name, conn: 'c.0' };
    const catPushes = recordPushes(dev4);
    for (const [i, room] of rooms.entries()) {
      expect((await joinRoom(dev4, room, cat)).map((h) => h.text)).toEqual([1, 2, 3].map((k) => `${room} line ${k}`));
      await sayRoom(dev4, room, cat, `${room} after`);
      await waitFor(
        `${room}: every member to get the line`,
        () =>
          texts(pushes[0]!.get(`a.${i}`)).includes(`cat: ${room} after`) &&
          texts(pushes[1]!.get(`b.${i}`)).includes(`cat: ${room} after`) &&
          texts(catPushes.get('c.0')).includes(`cat: ${room} after`),
      );
    }
    for (const [i, room] of rooms.entries()) {
      const got = texts(pushes[0]!.get(`a.${i}`));
      expect(got.filter((t) => t.startsWith('ada: '))).toEqual([1, 2, 3].map((k) => `ada: ${room} line ${k}`));
      expect(got.filter((t) => t === `cat: ${room} after`)).toHaveLength(1);
    }
  }, 60_000);
});
