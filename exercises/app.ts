/**
 * The workshop app, one stage per exercise (see shared/app.ts and the `app` field of
 * exercises/manifest.json): `npm start` runs it on the finished code in solutions/,
 * `npm start -- --exercises` on your stubs in exercises/, `--app ex3` picks a stage.
 *
 * This file exists once for both trees: {@link loadApps} imports the stub files from the tree
 * it is given, and the given files (which exist only here in exercises/) directly. A stage uses
 * the finished code of earlier exercises (solutions/), as the exercises themselves do, so your
 * ex5 runs even if your ex4 is not done.
 */
import { type App, type AppCommand, type AppServers, type ServeOptions, WS_PORT_OFFSET } from '../shared/app.js';
import type { RingNode } from '../shared/node.js';
import * as kv3done from '../solutions/ex3-coordinator/coordinator.js';
import { kvService as kv4doneService } from '../solutions/ex4-handoff/kv_vnode.js';
import manifest from './manifest.json' with { type: 'json' };
import { kvService as kv3Service } from './ex3-coordinator/kv_vnode.js';
import type { QuorumOptions } from './ex3-coordinator/quorum.js';
import { listKeys } from './ex5-http/list_keys.js';
import { buildServer } from './ex5-http/server.js';
import { whoRoom } from './ex6-chat/rooms.js';
import type { RoutesPlugin } from './ex5-http/api.js';
import { objectRoutes } from './ex7-objects/http_objects.js';

/** Which tree the stub files come from: the finished code or the attendee's. */
export type AppTree = 'solutions' | 'exercises';

/** The stub modules of one tree, typed as the exercise stubs are. */
async function stubs(tree: AppTree) {
  const load = <M>(file: string): Promise<M> =>
    import(new URL(`../${tree}/${file}`, import.meta.url).href) as Promise<M>;
  return {
    ping: await load<typeof import('./ex1-ping/ping.js')>('ex1-ping/ping.ts'),
    pingVnode: await load<typeof import('./ex1-ping/ping_vnode.js')>('ex1-ping/ping_vnode.ts'),
    kv2: await load<typeof import('./ex2-kv/kv.js')>('ex2-kv/kv.ts'),
    kv2Vnode: await load<typeof import('./ex2-kv/kv_vnode.js')>('ex2-kv/kv_vnode.ts'),
    kv3: await load<typeof import('./ex3-coordinator/coordinator.js')>('ex3-coordinator/coordinator.ts'),
    kv4Vnode: await load<typeof import('./ex4-handoff/kv_vnode.js')>('ex4-handoff/kv_vnode.ts'),
    http5: await load<typeof import('./ex5-http/http.js')>('ex5-http/http.ts'),
    room6: await load<typeof import('./ex6-chat/room_vnode.js')>('ex6-chat/room_vnode.ts'),
    chat6: await load<typeof import('./ex6-chat/chat.js')>('ex6-chat/chat.ts'),
    objects7: await load<typeof import('./ex7-objects/objects.js')>('ex7-objects/objects.ts'),
    objectVnode7: await load<typeof import('./ex7-objects/object_vnode.js')>('ex7-objects/object_vnode.ts'),
    fencedKv7: await load<typeof import('./ex7-objects/fenced_kv_vnode.js')>('ex7-objects/fenced_kv_vnode.ts'),
  };
}

const opts = (o: unknown): QuorumOptions => (typeof o === 'object' && o !== null ? (o as QuorumOptions) : {});

/** The REPL commands of a replicated store: a quorum coordinator (ex3's, finished or yours). */
const replicated = (kv: typeof kv3done, stage: string): Record<string, AppCommand> => ({
  store: {
    help: `store(key, value, {n, w}?): replicated write, default N=3 W=2 (${stage})`,
    run: (node, key, value, o) => kv.store(node, String(key), value, opts(o)),
  },
  fetch: {
    help: `fetch(key, {n, r}?): quorum read, default N=3 R=2 (${stage})`,
    run: (node, key, o) => kv.fetch(node, String(key), opts(o)),
  },
  del: {
    help: `del(key, {n, w}?): replicated delete (${stage})`,
    run: (node, key, o) => kv.remove(node, String(key), opts(o)),
  },
  pingN: {
    help: `pingN(n): ping n distinct partitions (${stage})`,
    run: (node, n) => kv.ping(node, n === undefined ? 3 : Number(n)),
  },
});

const keys: AppCommand = { help: 'keys(): every key, through a coverage request (ex5)', run: (node) => listKeys(node) };

/**
 * One app per stage of the manifest (`ex1` … `ex7`), built on `tree`'s stub files.
 * @throws Error if a stub file fails to load, or the stages here and in the manifest differ.
 */
export async function loadApps(tree: AppTree): Promise<Record<string, App>> {
  const s = await stubs(tree);
  const pingCommands: Record<string, AppCommand> = {
    ping: { help: 'ping(): ping a vnode picked by hashing the time (ex1)', run: (node) => s.ping.ping(node) },
    pingKey: {
      help: 'pingKey(key): ping the vnode that owns key (ex1)',
      run: (node, key) => s.ping.pingKey(node, String(key)),
    },
  };

  /** Exercise 5's HTTP API on `opts.httpPort` (nothing without one), with `more` routes (ex7's objects). */
  async function serveHttp(node: RingNode, opts: ServeOptions, more?: RoutesPlugin): Promise<AppServers> {
    if (opts.httpPort === undefined) return { endpoints: [], close: async () => undefined };
    const routes: RoutesPlugin = more
      ? async (app, o) => {
          await app.register(s.http5.routes, o);
          await app.register(more, o);
        }
      : s.http5.routes;
    const server = buildServer(node, { routes, coordinatorError: s.http5.coordinatorError });
    const address = await server.listen({ host: opts.host, port: opts.httpPort });
    return { endpoints: [{ kind: 'http', url: address }], close: () => server.close() };
  }

  /**
   * Exercise 6's front doors too: the HTTP API and the chat (TCP line protocol on `chatPort`,
   * WebSocket JSON on `chatPort + WS_PORT_OFFSET`, e.g. 4040 and 4140).
   */
  async function serveAll(node: RingNode, opts: ServeOptions, more?: RoutesPlugin): Promise<AppServers> {
    const servers: AppServers[] = [];
    try {
      servers.push(await serveHttp(node, opts, more));
      if (opts.chatPort !== undefined) {
        servers.push(
          await s.chat6.startChat(node, {
            host: opts.host,
            port: opts.chatPort,
            wsPort: opts.chatPort === 0 ? 0 : opts.chatPort + WS_PORT_OFFSET,
          }),
        );
      }
    } catch (err) {
      await Promise.all(servers.map((x) => x.close()));
      throw err;
    }
    return {
      endpoints: servers.flatMap((x) => x.endpoints),
      close: async () => void (await Promise.all(servers.map((x) => x.close()))),
    };
  }

  const ex6Commands: Record<string, AppCommand> = {
    ...pingCommands,
    ...replicated(kv3done, 'ex6'),
    keys,
    who: { help: 'who(room): members of a chat room (ex6)', run: (node, room) => whoRoom(node, String(room)) },
  };

  const apps: Record<string, App> = {
    ex1: { services: () => [s.pingVnode.pingService], commands: pingCommands },
    ex2: {
      services: () => [s.pingVnode.pingService, s.kv2Vnode.kvService],
      commands: {
        ...pingCommands,
        store: {
          help: 'store(key, value): put value under key, one copy (ex2)',
          run: (node, key, value) => s.kv2.store(node, String(key), value),
        },
        fetch: { help: 'fetch(key): read key (ex2)', run: (node, key) => s.kv2.fetch(node, String(key)) },
        del: { help: 'del(key): delete key (ex2)', run: (node, key) => s.kv2.remove(node, String(key)) },
      },
    },
    ex3: {
      services: () => [s.pingVnode.pingService, kv3Service()],
      commands: { ...pingCommands, ...replicated(s.kv3, 'ex3') },
    },
    ex4: {
      services: () => [s.pingVnode.pingService, s.kv4Vnode.kvService()],
      commands: { ...pingCommands, ...replicated(kv3done, 'ex4') },
    },
    ex5: {
      services: () => [s.pingVnode.pingService, kv4doneService()],
      commands: { ...pingCommands, ...replicated(kv3done, 'ex5'), keys },
      serve: (node, opts) => serveHttp(node, opts),
    },
    ex6: {
      services: () => [s.pingVnode.pingService, kv4doneService(), s.room6.roomService()],
      commands: ex6Commands,
      serve: (node, opts) => serveAll(node, opts),
    },
    ex7: {
      // The object vnodes reach the store through their RingNode (given once it has started).
      services: (node) => [
        s.pingVnode.pingService,
        s.fencedKv7.fencedKvService(),
        s.room6.roomService(),
        s.objectVnode7.objectService({ node }),
      ],
      commands: {
        ...ex6Commands,
        call: {
          help: "call(type, id, call): a call to a live object (ex7), e.g. call('counter', 'c1', { op: 'inc' })",
          run: (node, type, id, call) => s.objects7.callObject(node, String(type), String(id), call),
        },
      },
      serve: (node, opts) => serveAll(node, opts, objectRoutes(s.objects7.callObject)),
    },
  };
  const stages = manifest.exercises.flatMap((e) => ('app' in e && e.app ? [e.id] : []));
  if (stages.join() !== Object.keys(apps).join())
    throw new Error(
      `exercises/app.ts has the stages ${Object.keys(apps).join(', ')}, the manifest ${stages.join(', ')}`,
    );
  return apps;
}
