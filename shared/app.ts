/**
 * What a workshop app gives the command-line tools: its vnode services and the commands the
 * node console (REPL) offers. `solutions/app.ts` is the finished app; `exercises/app.ts`
 * is the attendee's, built from the same exercise files.
 */
import type { RingNode } from './node.js';
import type { VnodeModule } from './vnode.js';

/** A REPL command bound to a node, e.g. `store('k', 'v')`. */
export interface AppCommand {
  /** One line for `help()`, e.g. `store(key, value): put value under key (ex2)`. */
  readonly help: string;
  run(node: RingNode, ...args: unknown[]): Promise<unknown>;
}

export interface App {
  /** Fresh service modules for one node. */
  services(): VnodeModule[];
  readonly commands: Readonly<Record<string, AppCommand>>;
}
