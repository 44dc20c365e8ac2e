/**
 * The runtime under test, loaded from the measured tree (`--root`): its RingNode, TestCluster,
 * the solutions' coordinator and vnodes, and ex5's HTTP server, imported by absolute path so
 * that the same bench measures this repository or an older worktree. Typed as this tree's
 * modules; the bench uses only APIs both have.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The modules of one tree the bench drives. */
export interface Runtime {
  readonly root: string;
  readonly node: typeof import('../../shared/node.js');
  readonly cluster: typeof import('../../shared/harness/cluster.js');
  readonly wait: typeof import('../../shared/harness/wait.js');
  readonly ring: typeof import('../../shared/ring.js');
  readonly vclock: typeof import('../../shared/vclock.js');
  readonly chash: typeof import('../../shared/chash.js');
  readonly commit: typeof import('../../shared/commit.js');
  readonly log: typeof import('../../shared/log.js');
  /** exercises/ex3-coordinator/kv_vnode.ts: the replicated KV vnode, `Disk`, versions. */
  readonly kv3: typeof import('../../exercises/ex3-coordinator/kv_vnode.js');
  /** The finished quorum coordinator (store / fetch). */
  readonly coordinator: typeof import('../../solutions/ex3-coordinator/coordinator.js');
  /** The finished KV vnode with handoff. */
  readonly kv4: typeof import('../../solutions/ex4-handoff/kv_vnode.js');
  readonly ping: typeof import('../../solutions/ex1-ping/ping_vnode.js');
  /** ex5's given fastify factory and the finished routes, as exercises/app.ts serves them. */
  readonly server: typeof import('../../exercises/ex5-http/server.js');
  readonly http: typeof import('../../solutions/ex5-http/http.js');
}

/** Import `file` (relative to `root`, with its .ts name). */
export function importFrom<M>(root: string, file: string): Promise<M> {
  return import(pathToFileURL(join(root, file)).href) as Promise<M>;
}

/**
 * Load the runtime of the tree at `root`.
 * @throws the import error when a module is missing or does not compile.
 */
export async function loadRuntime(root: string): Promise<Runtime> {
  const load = <M>(file: string) => importFrom<M>(root, file);
  return {
    root,
    node: await load('shared/node.ts'),
    cluster: await load('shared/harness/cluster.ts'),
    wait: await load('shared/harness/wait.ts'),
    ring: await load('shared/ring.ts'),
    vclock: await load('shared/vclock.ts'),
    chash: await load('shared/chash.ts'),
    commit: await load('shared/commit.ts'),
    log: await load('shared/log.ts'),
    kv3: await load('exercises/ex3-coordinator/kv_vnode.ts'),
    coordinator: await load('solutions/ex3-coordinator/coordinator.ts'),
    kv4: await load('solutions/ex4-handoff/kv_vnode.ts'),
    ping: await load('solutions/ex1-ping/ping_vnode.ts'),
    server: await load('exercises/ex5-http/server.ts'),
    http: await load('solutions/ex5-http/http.ts'),
  };
}
