/**
 * What a workshop app gives the command-line tools: its vnode services and the commands the
 * node console (REPL) offers. exercises/app.ts builds one app per exercise stage, on the
 * finished stubs (solutions/) or the attendee's (exercises/).
 */
import type { RingNode } from './node.js';
import type { VnodeModule } from './vnode.js';

/** A REPL command bound to a node, e.g. `store('k', 'v')`. */
export interface AppCommand {
  /** One line for `help()`, e.g. `store(key, value): put value under key (ex2)`. */
  readonly help: string;
  run(node: RingNode, ...args: unknown[]): Promise<unknown>;
}

/** Where a node's front doors listen, for people: e.g. `{ kind: 'http', url: 'http://127.0.0.1:8091' }`. */
export interface Endpoint {
  readonly kind: 'http' | 'chat' | 'ws';
  readonly url: string;
}

/** Front doors an app started for one node (HTTP API, chat server). */
export interface AppServers {
  readonly endpoints: readonly Endpoint[];
  /** Stop listening and drop clients. */
  close(): Promise<void>;
}

/** Where the front doors should listen. A port of 0 picks a free one; undefined: do not start it. */
export interface ServeOptions {
  readonly host: string;
  readonly httpPort?: number;
  readonly chatPort?: number;
}

export interface App {
  /**
   * Fresh service modules for one node. `node` returns the RingNode they run on, for services
   * that call the ring themselves (ex7's object vnodes reach the store through it); it is
   * there once the node has started, which is before any vnode starts (vnodes start on their
   * first request). Every node gets every service, front doors or not: a member without one
   * of the ring's services would hold up every transfer to it.
   */
  services(node: () => RingNode): VnodeModule[];
  readonly commands: Readonly<Record<string, AppCommand>>;
  /** Start the app's front doors for `node` (exercises 5 and 6); apps without any omit it. */
  serve?(node: RingNode, opts: ServeOptions): Promise<AppServers>;
}

/**
 * The chat's WebSocket door listens on its TCP chat port + this (4040 → 4140). Not + 1000: a
 * Windows service (Connected Devices Platform) is reported to listen on 5040.
 */
export const WS_PORT_OFFSET = 100;
