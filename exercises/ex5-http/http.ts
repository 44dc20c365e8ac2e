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
import { todo } from '../../shared/todo.js';
import {
  DEFAULTS,
  fetch,
  QuorumError,
  QuorumParamError,
  remove,
  store,
} from '../../solutions/ex3-coordinator/coordinator.js';
import { listKeys } from './list_keys.js';
import {
  type HttpError,
  keyRoute,
  paramOf,
  quorumOf,
  ref,
  replies,
  requireBody,
  type KeyRoute,
  type KeysRoute,
  type RoutesPlugin,
} from './api.js';

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
  void paramOf;
  void QuorumParamError;
  void QuorumError;
  const what = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return todo(
    'ex5-http',
    4,
    import.meta.url,
    `coordinatorError(): map QuorumParamError to 400 and QuorumError to 503 (this request failed with ${what})`,
  );
}

/**
 * The routes, a fastify plugin: server.ts registers it with the node to serve,
 * `app.register(routes, { node })`. fastify has validated the request against the route's
 * schema before a handler runs; the handler returns the 200 body, or throws an HttpError.
 */
export const routes: RoutesPlugin = async (app, { node }) => {
  app.put<KeyRoute>('/api/store/:key', { schema: keyRoute('WriteReply'), preHandler: requireBody }, async (request) => {
    // Step 1: store the body under the key, answer with the version and who acknowledged.
    void store;
    void quorumOf;
    return todo(
      'ex5-http',
      1,
      import.meta.url,
      `PUT /api/store/:key: store(node, key, request.body, quorumOf(request.query)), answer { key, version, answered } (key "${request.params.key}")`,
    );
  });

  app.get<KeyRoute>('/api/store/:key', { schema: keyRoute('ReadReply') }, async (request) => {
    // Step 2: a quorum read; a missing or deleted key is a 404 that says who answered.
    void fetch;
    return todo(
      'ex5-http',
      2,
      import.meta.url,
      `GET /api/store/:key: fetch(), answer { key, value, version, answered }, or throw HttpError 404 not_found with { key, answered } (key "${request.params.key}")`,
    );
  });

  app.delete<KeyRoute>('/api/store/:key', { schema: keyRoute('WriteReply') }, async (request) => {
    // Step 3: a delete is a write of a tombstone.
    void remove;
    return todo(
      'ex5-http',
      3,
      import.meta.url,
      `DELETE /api/store/:key: remove(), answer { key, version, answered } (key "${request.params.key}")`,
    );
  });

  app.get<KeysRoute>(
    '/api/keys',
    { schema: { querystring: ref('KeysQuery'), response: replies('KeysReply') } },
    async (request) => {
      // Step 5: list every live key through a coverage request.
      void listKeys;
      void DEFAULTS;
      void request;
      return todo(
        'ex5-http',
        5,
        import.meta.url,
        'GET /api/keys: listKeys(node, { n, timeoutMs }) from the query (n, timeout), answer { keys }',
      );
    },
  );

  app.get('/api/ring', { schema: { response: replies('RingReply') } }, async () => {
    // Step 6: ring_status as JSON, plus who owns each partition.
    void node;
    return todo(
      'ex5-http',
      6,
      import.meta.url,
      'GET /api/ring: { node, ...node.ringStatusData(), owners: [{ partition, node }] } from node.ring.owners',
    );
  });

  app.get('/api/members', { schema: { response: replies('MembersReply') } }, async () => {
    // Step 6: member_status as JSON.
    return todo('ex5-http', 6, import.meta.url, 'GET /api/members: { members: node.memberStatusData() }');
  });
};
