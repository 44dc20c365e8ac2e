/**
 * Exercise 5, given: the contract of the HTTP API. What a request may carry (limits, the
 * schemas of the key and of the query parameters), what a reply looks like (the reply
 * schemas) and the one shape of every error (HttpError, ErrorBody).
 *
 * The schemas are *shared*: server.ts adds each of SHARED_SCHEMAS to the fastify instance
 * with `app.addSchema`, and a route points at them by `$id`, `{ $ref: 'KeyParams#' }`
 * (built by ref, replies and keyRoute below). fastify validates requests and serializes
 * replies with them; a property a reply schema does not list is not sent.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { HttpError } from '../../shared/http_error.js';
import type { RingNode } from '../../shared/node.js';
import { DEFAULTS, type QuorumOptions, type QuorumParamError } from '../ex3-coordinator/quorum.js';

// --- errors ------------------------------------------------------------------------------

// The one error shape of every HTTP answer (shared/http_error.ts, which the dashboard uses too):
// throw an HttpError from a handler (or return it from `coordinatorError`); the error handler of
// server.ts sends `{ error: { status, code, message, ...details } }`.
export { type ErrorBody, HttpError } from '../../shared/http_error.js';

// --- limits ------------------------------------------------------------------------------

/** Longest key, in characters. */
export const MAX_KEY_LENGTH = 512;
/** Longest timeout a client may ask for, in ms. */
export const MAX_TIMEOUT_MS = 60_000;
/**
 * Deepest nesting of a JSON body: arrays and objects inside each other (`1` is 0, `[]` is 1,
 * `{"a":[1]}` is 2). server.ts refuses a deeper body with 400 `body_too_deep` before parsing
 * it: deeply nested values overflow the stack of recursive code (parsers, serializers,
 * msgpack), and a write must never be acknowledged that cannot be read back. Well under the
 * store's own limit (exercise 3's `MAX_VALUE_DEPTH`, 64), so whatever passes here is stored,
 * even wrapped once more (exercise 7's records), and read back.
 */
export const MAX_JSON_DEPTH = 32;

/**
 * How deeply the JSON text `text` nests: the most `[` and `{` open at once outside strings
 * (see {@link MAX_JSON_DEPTH}). One linear scan without parsing, so it never recurses and does
 * not check that `text` is valid JSON (the parser does that next). Stops as soon as the depth
 * passes `limit`, and then answers a number above `limit`.
 */
export function jsonDepth(text: string, limit = Number.POSITIVE_INFINITY): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // a backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > deepest && (deepest = depth) > limit) return deepest;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

// --- shared schemas ----------------------------------------------------------------------

const positiveInt = { type: 'integer', minimum: 1 } as const;
const timeoutParam = { type: 'integer', minimum: 1, maximum: MAX_TIMEOUT_MS } as const;

/** Every JSON schema the routes share, each under its `$id`; server.ts adds them all with `addSchema`. */
export const SHARED_SCHEMAS = [
  {
    // Every error response: `{ error: { status, code, message, ...details } }`.
    $id: 'ErrorBody',
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
  },
  {
    // `/api/store/:key`. No control characters, no '/' (a decoded %2F would be ambiguous in paths and logs).
    $id: 'KeyParams',
    type: 'object',
    required: ['key'],
    additionalProperties: false,
    properties: {
      key: { type: 'string', minLength: 1, maxLength: MAX_KEY_LENGTH, pattern: '^[^\\u0000-\\u001f\\u007f/]+$' },
    },
  },
  {
    // `?n=&w=&r=&timeout=`; each route uses the ones it needs (a write ignores r, a read w).
    $id: 'QuorumQuery',
    type: 'object',
    additionalProperties: false,
    properties: { n: positiveInt, w: positiveInt, r: positiveInt, timeout: timeoutParam },
  },
  {
    $id: 'KeysQuery',
    type: 'object',
    additionalProperties: false,
    properties: { n: positiveInt, timeout: timeoutParam },
  },
  {
    $id: 'VnodeRef',
    type: 'object',
    required: ['partition', 'node', 'type'],
    properties: {
      partition: { type: 'integer' },
      node: { type: 'string' },
      type: { type: 'string', enum: ['primary', 'fallback'] },
    },
  },
  {
    $id: 'Version',
    type: 'object',
    required: ['t', 'node', 'seq'],
    properties: { t: { type: 'number' }, node: { type: 'string' }, seq: { type: 'integer' } },
  },
  {
    // PUT and DELETE.
    $id: 'WriteReply',
    type: 'object',
    required: ['key', 'version', 'answered'],
    properties: {
      key: { type: 'string' },
      version: { $ref: 'Version#' },
      answered: { type: 'array', items: { $ref: 'VnodeRef#' } },
    },
  },
  {
    $id: 'ReadReply',
    type: 'object',
    required: ['key', 'value', 'version', 'answered'],
    properties: {
      key: { type: 'string' },
      value: {},
      version: { $ref: 'Version#' },
      answered: { type: 'array', items: { $ref: 'VnodeRef#' } },
    },
  },
  {
    $id: 'KeysReply',
    type: 'object',
    required: ['keys'],
    properties: { keys: { type: 'array', items: { type: 'string' } } },
  },
  {
    $id: 'RingReply',
    type: 'object',
    required: ['node', 'ringSize', 'claimant', 'ringReady', 'owners', 'pending'],
    properties: {
      node: { type: 'string' },
      ringSize: { type: 'integer' },
      claimant: { type: 'string' },
      claimantUp: { type: 'boolean' },
      ringReady: { type: 'boolean' },
      owners: {
        type: 'array',
        items: {
          type: 'object',
          required: ['partition', 'node'],
          properties: { partition: { type: 'integer' }, node: { type: 'string' } },
        },
      },
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
  },
  {
    $id: 'MembersReply',
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
  },
] as const;

/** The `$id` of a shared schema. */
export type SchemaId = (typeof SHARED_SCHEMAS)[number]['$id'];

/** A reference to the shared schema `id`: `{ $ref: 'id#' }`. */
export const ref = (id: SchemaId) => ({ $ref: `${id}#` }) as const;

/** Response schemas of a route: `ok` for its 200, the ErrorBody for every 4xx and 5xx. */
export const replies = (ok: SchemaId) => ({ 200: ref(ok), '4xx': ref('ErrorBody'), '5xx': ref('ErrorBody') });

/** The schema of a `/api/store/:key` route (key, quorum query) whose 200 is `ok`. */
export const keyRoute = (ok: SchemaId) => ({
  params: ref('KeyParams'),
  querystring: ref('QuorumQuery'),
  response: replies(ok),
});

// --- requests ----------------------------------------------------------------------------

/** The validated query of a store route (the QuorumQuery schema): numbers, or missing. */
export interface QuorumQuery {
  n?: number;
  w?: number;
  r?: number;
  timeout?: number;
}

/** The types fastify gives a `/api/store/:key` route (`app.get<KeyRoute>(…)`). */
export type KeyRoute = { Params: { key: string }; Querystring: QuorumQuery };
/** The types of `/api/keys` (the KeysQuery schema). */
export type KeysRoute = { Querystring: { n?: number; timeout?: number } };

/** Query parameters → the coordinator's options (missing ones take its DEFAULTS). */
export function quorumOf(query: QuorumQuery): QuorumOptions {
  return {
    n: query.n ?? DEFAULTS.n,
    w: query.w ?? DEFAULTS.w,
    r: query.r ?? DEFAULTS.r,
    timeoutMs: query.timeout ?? DEFAULTS.timeoutMs,
  };
}

/** The query parameter of a coordinator option: `timeoutMs` is `timeout` in the URL, the others keep their name. */
export const paramOf = (p: QuorumParamError['param']) => (p === 'timeoutMs' ? 'timeout' : p);

/**
 * preHandler of PUT: a PUT without a body (no content-type, nothing sent) has nothing to store.
 * @throws HttpError 400 `invalid_body`.
 */
export async function requireBody(request: FastifyRequest): Promise<void> {
  if (request.body === undefined)
    throw new HttpError(400, 'invalid_body', 'PUT needs the value as a JSON body (content-type: application/json)');
}

/** What the routes are registered with: the node they serve. */
export type RoutesOptions = { readonly node: RingNode };

/** The routes of the API (http.ts), a fastify plugin; server.ts registers it: `app.register(routes, { node })`. */
export type RoutesPlugin = FastifyPluginAsync<RoutesOptions>;
