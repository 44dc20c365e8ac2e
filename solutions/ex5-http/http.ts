/**
 * Exercise 5: an HTTP API in front of the replicated KV store, with fastify.
 * Read README.md in this folder: you write the route handlers (steps 1-3, 5, 6) and the
 * mapping of the coordinator's errors to HTTP (step 4). The server, the schemas and the
 * error handler are given.
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
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { RingNode } from '../../shared/node.js';
import { RingError } from '../../shared/errors.js';
import { NotImplementedError } from '../../shared/todo.js';
import { DEFAULTS, fetch, listKeys, QuorumError, QuorumParamError, remove, store, type QuorumOptions } from './coordinator.js';

// --- errors ------------------------------------------------------------------------------

/** The body of every error response. `details` (e.g. `param`, `needed`) sit next to the code. */
export interface ErrorBody {
  readonly error: { readonly status: number; readonly code: string; readonly message: string; readonly [detail: string]: unknown };
}

/**
 * An error with its HTTP status, a stable machine-readable `code` and details for the client.
 * Throw it from a handler (or return it from {@link coordinatorError}); the error handler sends
 * `{ error: { status, code, message, ...details } }`.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }

  toBody(): ErrorBody {
    return { error: { status: this.status, code: this.code, message: this.message, ...this.details } };
  }
}

/** The HTTP name of a coordinator option: `timeoutMs` is the query parameter `timeout`. */
const paramOf = (p: QuorumParamError['param']) => (p === 'timeoutMs' ? 'timeout' : p);

/**
 * Step 4: the coordinator's typed errors as HTTP errors; undefined for any other error.
 * - QuorumParamError → 400 `invalid_param`, with `param` the query parameter to fix
 *   (`n`, `w`, `r` or `timeout`: the coordinator calls the last one `timeoutMs`).
 * - QuorumError → 503 `quorum_not_reached`: the request was fine, the cluster could not serve
 *   it now. Details: `reason` (the error's code, `timeout` or `unavailable`), `op`, `needed`,
 *   `asked` and `answered` (vnodes: partition, node, type), and `replies`: one
 *   `{ from, ok, error? }` per reply received.
 */
export function coordinatorError(err: unknown): HttpError | undefined {
  if (err instanceof QuorumParamError) return new HttpError(400, 'invalid_param', err.message, { param: paramOf(err.param) });
  if (err instanceof QuorumError) {
    return new HttpError(503, 'quorum_not_reached', err.message, {
      reason: err.code,
      op: err.op,
      needed: err.needed,
      asked: err.asked,
      answered: err.answered,
      replies: err.replies.map(({ from, reply }) => (reply.ok ? { from, ok: true } : { from, ok: false, error: reply.error.message })),
    });
  }
  return undefined;
}

/** fastify's schema validation error → the parameter it is about (`key`, `w`, an unknown one…). */
function invalidParam(err: FastifyError): HttpError {
  const first = err.validation?.[0];
  const params = (first?.params ?? {}) as { additionalProperty?: string; missingProperty?: string };
  const param = first?.instancePath.split('/')[1] || params.additionalProperty || params.missingProperty || err.validationContext || 'request';
  const message =
    first?.keyword === 'additionalProperties'
      ? `unknown ${err.validationContext} parameter "${param}"`
      : param === 'key'
        ? `the key must be 1 to ${MAX_KEY_LENGTH} characters, without control characters or '/'`
        : err.message;
  return new HttpError(400, 'invalid_param', message, { param });
}

/** Anything thrown while serving a request → the HttpError to answer with. */
function toHttpError(err: unknown, request: FastifyRequest): HttpError {
  if (err instanceof HttpError) return err;
  // An unfinished step: its message names the exercise, the step and the file.
  if (err instanceof NotImplementedError) return new HttpError(500, 'not_implemented', err.message);
  const fe = err as Partial<FastifyError>;
  if (fe.validation) return invalidParam(fe as FastifyError);
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new HttpError(413, 'body_too_large', `the body is larger than the limit of ${request.routeOptions.bodyLimit} bytes`, { limit: request.routeOptions.bodyLimit });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new HttpError(415, 'unsupported_media_type', `send the value as JSON with content-type: application/json (got ${request.headers['content-type'] ?? 'none'})`);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new HttpError(400, 'invalid_body', fe.message ?? 'the body is not valid JSON');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new HttpError(400, 'invalid_param', 'the key is too long (at most 512 characters)', { param: 'key' });
    case 'FST_ERR_BAD_URL':
      return new HttpError(400, 'bad_url', 'the URL is not valid (bad percent-encoding?)');
  }
  try {
    const mapped = coordinatorError(err);
    if (mapped) return mapped;
  } catch (stub) {
    if (stub instanceof NotImplementedError) return new HttpError(500, 'not_implemented', stub.message);
    throw stub;
  }
  // Other errors of the runtime (a coverage plan without enough vnodes, a vnode that did not
  // answer, a node that went away): the cluster cannot serve this now.
  if (err instanceof RingError) return new HttpError(503, 'unavailable', err.message, { reason: err.code });
  // fastify's own client errors (4xx) keep their status.
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new HttpError(fe.statusCode, 'bad_request', fe.message ?? 'bad request');
  }
  // A bug. Log it with its stack; the client gets the message only.
  request.log.error({ err }, 'internal error');
  return new HttpError(500, 'internal', `internal error: ${err instanceof Error ? err.message : String(err)}`);
}

function sendError(err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const e = toHttpError(err, request);
  if (e.status === 503) void reply.header('retry-after', '1');
  return reply.status(e.status).type('application/json').send(e.toBody());
}

// --- schemas -----------------------------------------------------------------------------

/** Longest key, in characters. */
export const MAX_KEY_LENGTH = 512;
/** Longest timeout a client may ask for, in ms. */
export const MAX_TIMEOUT_MS = 60_000;

const keyParams = {
  type: 'object',
  required: ['key'],
  additionalProperties: false,
  properties: {
    // No control characters, no '/' (a decoded %2F would be ambiguous in paths and logs).
    key: { type: 'string', minLength: 1, maxLength: MAX_KEY_LENGTH, pattern: '^[^\\u0000-\\u001f\\u007f/]+$' },
  },
} as const;

const positiveInt = { type: 'integer', minimum: 1 } as const;
const timeoutParam = { type: 'integer', minimum: 1, maximum: MAX_TIMEOUT_MS } as const;

/** `?n=&w=&r=&timeout=`; each route uses the ones it needs (a write ignores r, a read w). */
const quorumQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { n: positiveInt, w: positiveInt, r: positiveInt, timeout: timeoutParam },
} as const;

const keysQuery = { type: 'object', additionalProperties: false, properties: { n: positiveInt, timeout: timeoutParam } } as const;

const vnodeRef = {
  type: 'object',
  required: ['partition', 'node', 'type'],
  properties: { partition: { type: 'integer' }, node: { type: 'string' }, type: { type: 'string', enum: ['primary', 'fallback'] } },
} as const;
const answered = { type: 'array', items: vnodeRef } as const;
const version = {
  type: 'object',
  required: ['t', 'node', 'seq'],
  properties: { t: { type: 'number' }, node: { type: 'string' }, seq: { type: 'integer' } },
} as const;

/** Every error response: `{ error: { status, code, message, ...details } }`. */
const errorResponse = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['status', 'code', 'message'],
      properties: { status: { type: 'integer' }, code: { type: 'string' }, message: { type: 'string' } },
      additionalProperties: true,
    },
  },
} as const;
const errors = { '4xx': errorResponse, '5xx': errorResponse } as const;

const writeResponse = { type: 'object', required: ['key', 'version', 'answered'], properties: { key: { type: 'string' }, version, answered } } as const;
const readResponse = {
  type: 'object',
  required: ['key', 'value', 'version', 'answered'],
  properties: { key: { type: 'string' }, value: {}, version, answered },
} as const;
const keysResponse = { type: 'object', required: ['keys'], properties: { keys: { type: 'array', items: { type: 'string' } } } } as const;
const ringResponse = {
  type: 'object',
  required: ['node', 'ringSize', 'claimant', 'ringReady', 'owners', 'pending'],
  properties: {
    node: { type: 'string' },
    ringSize: { type: 'integer' },
    claimant: { type: 'string' },
    claimantUp: { type: 'boolean' },
    ringReady: { type: 'boolean' },
    owners: { type: 'array', items: { type: 'object', required: ['partition', 'node'], properties: { partition: { type: 'integer' }, node: { type: 'string' } } } },
    pending: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          partition: { type: 'integer' },
          owner: { type: 'string' },
          nextOwner: { type: 'string' },
          done: { type: 'array', items: { type: 'string' } },
          status: { type: 'string' },
        },
      },
    },
    unreachable: { type: 'array', items: { type: 'string' } },
  },
} as const;
const membersResponse = {
  type: 'object',
  required: ['members'],
  properties: {
    members: {
      type: 'array',
      items: {
        type: 'object',
        required: ['node', 'status', 'ringPercent', 'up'],
        properties: {
          node: { type: 'string' },
          status: { type: 'string' },
          ringPercent: { type: 'number' },
          pendingPercent: { type: ['number', 'null'] },
          up: { type: 'boolean' },
        },
      },
    },
  },
} as const;

/** The validated query of a store route. */
export interface QuorumQuery {
  n?: number;
  w?: number;
  r?: number;
  timeout?: number;
}

/** Query parameters → the coordinator's options (missing ones take its DEFAULTS). */
export function quorumOf(query: QuorumQuery): QuorumOptions {
  return { n: query.n ?? DEFAULTS.n, w: query.w ?? DEFAULTS.w, r: query.r ?? DEFAULTS.r, timeoutMs: query.timeout ?? DEFAULTS.timeoutMs };
}

type KeyRoute = { Params: { key: string }; Querystring: QuorumQuery };

// --- the server --------------------------------------------------------------------------

/** Options of {@link buildServer}. */
export interface ServerOptions {
  /** Largest accepted request body in bytes (default 1 MiB); larger ones get 413. */
  readonly bodyLimit?: number;
  /** Log requests with fastify's logger (default false). */
  readonly logger?: boolean;
}

/**
 * The HTTP API of one node. Not listening yet: call `listen({ host, port })` on it, and
 * `close()` when done (it does not stop the node).
 */
export function buildServer(node: RingNode, opts: ServerOptions = {}): FastifyInstance {
  const app = Fastify({
    bodyLimit: opts.bodyLimit ?? 1024 * 1024,
    logger: opts.logger ?? false,
    // close() ends every connection at once, busy or idle: stopping a node's API never waits on a client.
    forceCloseConnections: true,
    // Keys are up to 512 characters, up to 12 once percent-encoded (4 UTF-8 bytes, %XX each).
    routerOptions: { maxParamLength: MAX_KEY_LENGTH * 12 },
    // Reject unknown query parameters instead of dropping them: `?W=3` is a typo, not W=2.
    ajv: { customOptions: { removeAdditional: false } },
    // Errors the router raises before any route runs (bad percent-encoding, overlong key).
    frameworkErrors: (err, request, reply) => sendError(err, request, reply),
  });
  // Values are JSON only: without its text/plain parser, fastify answers other types with 415.
  app.removeContentTypeParser('text/plain');
  app.setErrorHandler((err, request, reply) => sendError(err, request, reply));
  app.setNotFoundHandler((request, reply) =>
    sendError(new HttpError(404, 'route_not_found', `no route ${request.method} ${request.url}`, { method: request.method, url: request.url }), request, reply),
  );

  const keyRoute = (response: object) => ({ schema: { params: keyParams, querystring: quorumQuery, response: { 200: response, ...errors } } });

  app.put<KeyRoute>('/api/store/:key', {
    ...keyRoute(writeResponse),
    // A PUT without a body (no content-type, nothing sent) has nothing to store.
    preHandler: async (request) => {
      if (request.body === undefined) throw new HttpError(400, 'invalid_body', 'PUT needs the value as a JSON body (content-type: application/json)');
    },
  }, async (request) => {
    // Step 1: store the body under the key, answer with the version and who acknowledged.
    const { key } = request.params;
    const result = await store(node, key, request.body, quorumOf(request.query));
    return { key, version: result.version, answered: result.answered };
  });

  app.get<KeyRoute>('/api/store/:key', keyRoute(readResponse), async (request) => {
    // Step 2: a quorum read; a missing or deleted key is a 404 that says who answered.
    const { key } = request.params;
    const result = await fetch(node, key, quorumOf(request.query));
    if (!result.found) throw new HttpError(404, 'not_found', `no value for key "${key}"`, { key, answered: result.answered });
    return { key, value: result.value, version: result.version, answered: result.answered };
  });

  app.delete<KeyRoute>('/api/store/:key', keyRoute(writeResponse), async (request) => {
    // Step 3: a delete is a write of a tombstone.
    const { key } = request.params;
    const result = await remove(node, key, quorumOf(request.query));
    return { key, version: result.version, answered: result.answered };
  });

  app.get<{ Querystring: { n?: number; timeout?: number } }>('/api/keys', { schema: { querystring: keysQuery, response: { 200: keysResponse, ...errors } } }, async (request) => {
    // Step 5: list every live key through a coverage request.
    const { n, timeout } = request.query;
    return { keys: await listKeys(node, { n: n ?? DEFAULTS.n, timeoutMs: timeout ?? DEFAULTS.timeoutMs }) };
  });

  app.get('/api/ring', { schema: { response: { 200: ringResponse, ...errors } } }, async () => {
    // Step 6: ring_status as JSON, plus who owns each partition.
    const ring = node.ring;
    return { node: node.name, ...node.ringStatusData(), owners: ring.owners.map((owner, partition) => ({ partition, node: owner })) };
  });

  app.get('/api/members', { schema: { response: { 200: membersResponse, ...errors } } }, async () => {
    // Step 6: member_status as JSON.
    return { members: node.memberStatusData() };
  });

  return app;
}
