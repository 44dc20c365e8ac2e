/**
 * Exercise 5: an HTTP API in front of the replicated KV store, with fastify.
 * Read README.md in this folder: you write the routes, a fastify plugin (steps 1-3, 5, 6), and
 * the mapping of the coordinator's errors to HTTP (step 4). Given: server.ts (the fastify
 * instance, its error handler; it registers these routes) and api.ts (limits, the shared
 * schemas the routes `$ref`, HttpError, quorumOf). Stuck? `npm run hint -- ex5`
 *
 *   PUT    /api/store/:key?n=&w=&timeout=   body: any JSON → 200 { key, version, answered }
 *   GET    /api/store/:key?n=&r=&timeout=   → 200 { key, value, version, answered } | 404
 *   DELETE /api/store/:key?n=&w=&timeout=   → 200 { key, version, answered }
 *   GET    /api/keys?n=&timeout=            → 200 { keys }
 *   GET    /api/ring                        → 200 { node, ringSize, claimant, ringReady, owners, pending, … }
 *   GET    /api/members                     → 200 { members }
 *
 * Every error is JSON of one shape: `{ error: { status, code, message, ...details } }`.
 * Every node serves every key: the coordinator runs on whichever node got the request.
 */
import {
  DEFAULTS,
  fetch,
  QuorumError,
  QuorumParamError,
  remove,
  store,
} from '../../solutions/ex3-coordinator/coordinator.js';
import { listKeys } from '../../exercises/ex5-http/list_keys.js';
import {
  HttpError,
  keyRoute,
  paramOf,
  quorumOf,
  ref,
  replies,
  requireBody,
  type KeyRoute,
  type KeysRoute,
  type RoutesPlugin,
} from '../../exercises/ex5-http/api.js';

/**
 * Step 4: the coordinator's typed errors as HTTP errors; undefined for any other error (the
 * error handler of server.ts asks it about every error a route throws).
 * - QuorumParamError → 400 `invalid_param`, with `param` the query parameter to fix
 *   (`n`, `w`, `r` or `timeout`).
 * - QuorumError → 503 `quorum_not_reached`: the request was fine, the cluster could not serve
 *   it now. Details: `reason` (`timeout` or `unavailable`), `op`, `needed`, `asked` and
 *   `answered` (vnodes: partition, node, type), and `replies`: one `{ from, ok, error? }` per
 *   reply received.
 */
export function coordinatorError(err: unknown): HttpError | undefined {
  if (err instanceof QuorumParamError)
    return new HttpError(400, 'invalid_param', err.message, { param: paramOf(err.param) });
  if (err instanceof QuorumError) {
    return new HttpError(503, 'quorum_not_reached', err.message, {
      reason: err.code,
      op: err.op,
      needed: err.needed,
      asked: err.asked,
      answered: err.answered,
      replies: err.replies.map(({ from, reply }) =>
        reply.ok ? { from, ok: true } : { from, ok: false, error: reply.error.message },
      ),
    });
  }
  return undefined;
}

/**
 * The routes, a fastify plugin: server.ts registers it with the node to serve,
 * `app.register(routes, { node })`. fastify has validated the request against the route's
 * schema before a handler runs; the handler returns the 200 body, or throws an HttpError.
 */
export const routes: RoutesPlugin = async (app, { node }) => {
  app.put<KeyRoute>('/api/store/:key', { schema: keyRoute('WriteReply'), preHandler: requireBody }, async (request) => {
    // Step 1: store the body under the key, answer with the version and who acknowledged.
    const { key } = request.params;
    const result = await store(node, key, request.body, quorumOf(request.query));
    return { key, version: result.version, answered: result.answered };
  });

  app.get<KeyRoute>('/api/store/:key', { schema: keyRoute('ReadReply') }, async (request) => {
    // Step 2: a quorum read; a missing or deleted key is a 404 that says who answered.
    const { key } = request.params;
    const result = await fetch(node, key, quorumOf(request.query));
    if (!result.found)
      throw new HttpError(404, 'not_found', `no value for key "${key}"`, { key, answered: result.answered });
    return { key, value: result.value, version: result.version, answered: result.answered };
  });

  app.delete<KeyRoute>('/api/store/:key', { schema: keyRoute('WriteReply') }, async (request) => {
    // Step 3: a delete is a write of a tombstone.
    const { key } = request.params;
    const result = await remove(node, key, quorumOf(request.query));
    return { key, version: result.version, answered: result.answered };
  });

  app.get<KeysRoute>(
    '/api/keys',
    { schema: { querystring: ref('KeysQuery'), response: replies('KeysReply') } },
    async (request) => {
      // Step 5: list every live key through a coverage request.
      const { n, timeout } = request.query;
      return { keys: await listKeys(node, { n: n ?? DEFAULTS.n, timeoutMs: timeout ?? DEFAULTS.timeoutMs }) };
    },
  );

  app.get('/api/ring', { schema: { response: replies('RingReply') } }, async () => {
    // Step 6: ring_status as JSON, plus who owns each partition.
    const ring = node.ring;
    return {
      node: node.name,
      ...node.ringStatusData(),
      owners: ring.owners.map((owner, partition) => ({ partition, node: owner })),
    };
  });

  app.get('/api/members', { schema: { response: replies('MembersReply') } }, async () => {
    // Step 6: member_status as JSON.
    return { members: node.memberStatusData() };
  });
};
