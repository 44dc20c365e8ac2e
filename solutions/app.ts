/**
 * The finished workshop app: what `npm start` runs (see shared/app.ts). `apps` has one app per
 * exercise stage (`npm start -- --app ex2`); `app` is the latest.
 */
import type { App, AppCommand, AppServers, ServeOptions } from '../shared/app.js';
import type { RingNode } from '../shared/node.js';
import * as ping from './ex1-ping/ping.js';
import { pingService } from './ex1-ping/ping_vnode.js';
import * as kv2 from './ex2-kv/kv.js';
import { kvService as kv2Service } from './ex2-kv/kv_vnode.js';
import * as kv3 from './ex3-coordinator/coordinator.js';
import { kvService as kv3Service } from './ex3-coordinator/kv_vnode.js';
import * as kv4 from './ex4-handoff/coordinator.js';
import { kvService as kv4Service } from './ex4-handoff/kv_vnode.js';
import * as kv5 from './ex5-http/coordinator.js';
import * as http5 from './ex5-http/http.js';
import { kvService as kv5Service } from './ex5-http/kv_vnode.js';
import { buildServer } from '../exercises/ex5-http/server.js';
import { startChat } from './ex6-chat/chat.js';
import { roomService } from './ex6-chat/room_vnode.js';
import { whoRoom } from '../exercises/ex6-chat/rooms.js';

const pingCommands: Record<string, AppCommand> = {
  ping: { help: 'ping(): ping a vnode picked by hashing the time (ex1)', run: (node) => ping.ping(node) },
  pingKey: { help: 'pingKey(key): ping the vnode that owns key (ex1)', run: (node, key) => ping.pingKey(node, String(key)) },
};

/** The REPL commands of a replicated store (ex3's coordinator, or ex4's copy of it). */
const replicated = (kv: typeof kv3, stage: string): Record<string, AppCommand> => ({
  store: { help: `store(key, value, {n, w}?): replicated write, default N=3 W=2 (${stage})`, run: (node, key, value, o) => kv.store(node, String(key), value, opts(o)) },
  fetch: { help: `fetch(key, {n, r}?): quorum read, default N=3 R=2 (${stage})`, run: (node, key, o) => kv.fetch(node, String(key), opts(o)) },
  del: { help: `del(key, {n, w}?): replicated delete (${stage})`, run: (node, key, o) => kv.remove(node, String(key), opts(o)) },
  pingN: { help: `pingN(n): ping n distinct partitions (${stage})`, run: (node, n) => kv.ping(node, n === undefined ? 3 : Number(n)) },
});

const opts = (o: unknown): kv3.QuorumOptions => (typeof o === 'object' && o !== null ? (o as kv3.QuorumOptions) : {});

/** Exercise 5's HTTP API on `opts.httpPort` (nothing without one). */
async function serveHttp(node: RingNode, opts: ServeOptions): Promise<AppServers> {
  if (opts.httpPort === undefined) return { endpoints: [], close: async () => undefined };
  const server = buildServer(node, http5);
  const address = await server.listen({ host: opts.host, port: opts.httpPort });
  return { endpoints: [{ kind: 'http', url: address }], close: () => server.close() };
}

/**
 * Exercise 6's front doors too: the HTTP API and the chat (TCP line protocol on `chatPort`,
 * WebSocket JSON on `chatPort + 1000`, e.g. 4040 and 5040).
 */
async function serveAll(node: RingNode, opts: ServeOptions): Promise<AppServers> {
  const servers: AppServers[] = [];
  try {
    servers.push(await serveHttp(node, opts));
    if (opts.chatPort !== undefined) {
      servers.push(await startChat(node, { host: opts.host, port: opts.chatPort, wsPort: opts.chatPort === 0 ? 0 : opts.chatPort + 1000 }));
    }
  } catch (err) {
    await Promise.all(servers.map((s) => s.close()));
    throw err;
  }
  return { endpoints: servers.flatMap((s) => s.endpoints), close: async () => void (await Promise.all(servers.map((s) => s.close()))) };
}

export const apps: Record<string, App> = {
  ex1: { services: () => [pingService], commands: pingCommands },
  ex2: {
    services: () => [pingService, kv2Service],
    commands: {
      ...pingCommands,
      store: { help: 'store(key, value): put value under key, one copy (ex2)', run: (node, key, value) => kv2.store(node, String(key), value) },
      fetch: { help: 'fetch(key): read key (ex2)', run: (node, key) => kv2.fetch(node, String(key)) },
      del: { help: 'del(key): delete key (ex2)', run: (node, key) => kv2.remove(node, String(key)) },
    },
  },
  ex3: { services: () => [pingService, kv3Service()], commands: { ...pingCommands, ...replicated(kv3, 'ex3') } },
  ex4: { services: () => [pingService, kv4Service()], commands: { ...pingCommands, ...replicated(kv4, 'ex4') } },
  ex5: {
    services: () => [pingService, kv5Service()],
    commands: {
      ...pingCommands,
      ...replicated(kv5, 'ex5'),
      keys: { help: 'keys(): every key, through a coverage request (ex5)', run: (node) => kv5.listKeys(node) },
    },
    serve: serveHttp,
  },
  ex6: {
    services: () => [pingService, kv5Service(), roomService()],
    commands: {
      ...pingCommands,
      ...replicated(kv5, 'ex6'),
      keys: { help: 'keys(): every key, through a coverage request (ex5)', run: (node) => kv5.listKeys(node) },
      who: { help: 'who(room): members of a chat room (ex6)', run: (node, room) => whoRoom(node, String(room)) },
    },
    serve: serveAll,
  },
};

export const app: App = apps.ex6!;
