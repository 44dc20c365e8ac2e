/**
 * Exercise 5, given: the fastify instance of one node's HTTP API. It adds the shared schemas
 * of api.ts, accepts JSON bodies only (nested at most `MAX_JSON_DEPTH` deep), sends every error in the one JSON shape
 * `{ error: { status, code, message, ...details } }`, and registers the routes of http.ts,
 * a fastify plugin, with the node they serve.
 *
 * It takes the routes and `coordinatorError` as a parameter (it never imports http.ts), so
 * the same server runs your stub or the solution: `buildServer(node, { routes, coordinatorError })`.
 * It also serves the live ring dashboard (shared/dashboard.ts: the page at `/` for browsers,
 * `/api/dashboard/*`), which reads the runtime, not your routes.
 */
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { registerDashboard } from '../../shared/dashboard.js';
import { RingError } from '../../shared/errors.js';
import type { RingNode } from '../../shared/node.js';
import { NotImplementedError } from '../../shared/todo.js';
import { HttpError, jsonDepth, MAX_JSON_DEPTH, MAX_KEY_LENGTH, SHARED_SCHEMAS, type RoutesPlugin } from './api.js';

/** Options of {@link buildServer}. */
export interface ServerOptions {
  /** Largest accepted request body in bytes (default 1 MiB); larger ones get 413. */
  readonly bodyLimit?: number;
  /** Log requests with fastify's logger (default false). */
  readonly logger?: boolean;
}

/** What {@link buildServer} needs of http.ts. */
export interface HttpApi {
  /** The routes, registered with `{ node }` as their options. */
  readonly routes: RoutesPlugin;
  /** The coordinator's typed errors as HttpErrors; undefined for any other error. */
  readonly coordinatorError: (err: unknown) => HttpError | undefined;
}

/** Maps the coordinator's errors to HTTP errors (http.ts's `coordinatorError`). */
type CoordinatorErrors = HttpApi['coordinatorError'];

/** fastify's schema validation error → the parameter it is about (`key`, `w`, an unknown one…). */
function invalidParam(err: FastifyError): HttpError {
  const first = err.validation?.[0];
  const params = (first?.params ?? {}) as { additionalProperty?: string; missingProperty?: string };
  const param =
    first?.instancePath.split('/')[1] ||
    params.additionalProperty ||
    params.missingProperty ||
    err.validationContext ||
    'request';
  const message =
    first?.keyword === 'additionalProperties'
      ? `unknown ${err.validationContext} parameter "${param}"`
      : param === 'key'
        ? `the key must be 1 to ${MAX_KEY_LENGTH} characters, without control characters or '/'`
        : err.message;
  return new HttpError(400, 'invalid_param', message, { param });
}

/** Anything thrown while serving a request → the HttpError to answer with. */
function toHttpError(err: unknown, request: FastifyRequest, coordinatorError: CoordinatorErrors): HttpError {
  if (err instanceof HttpError) return err;
  // An unfinished step: its message names the exercise, the step and the file.
  if (err instanceof NotImplementedError) return new HttpError(500, 'not_implemented', err.message);
  const fe = err as Partial<FastifyError>;
  if (fe.validation) return invalidParam(fe as FastifyError);
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new HttpError(
        413,
        'body_too_large',
        `the body is larger than the limit of ${request.routeOptions.bodyLimit} bytes`,
        { limit: request.routeOptions.bodyLimit },
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new HttpError(
        415,
        'unsupported_media_type',
        `send the value as JSON with content-type: application/json (got ${request.headers['content-type'] ?? 'none'})`,
      );
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

function sendError(
  err: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
  coordinatorError: CoordinatorErrors,
): FastifyReply {
  const e = toHttpError(err, request, coordinatorError);
  if (e.status === 503) void reply.header('retry-after', '1');
  return reply.status(e.status).type('application/json').send(e.toBody());
}

/**
 * The HTTP API of one node, serving `api.routes`. Not listening yet: call
 * `listen({ host, port })` on it (that also loads the routes plugin), and `close()` when done
 * (it does not stop the node).
 */
export function buildServer(node: RingNode, api: HttpApi, opts: ServerOptions = {}): FastifyInstance {
  const send = (err: unknown, request: FastifyRequest, reply: FastifyReply) =>
    sendError(err, request, reply, api.coordinatorError);
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
    frameworkErrors: send,
  });
  // Values are JSON only: without its text/plain parser, fastify answers other types with 415.
  app.removeContentTypeParser('text/plain');
  // JSON bodies nested deeper than MAX_JSON_DEPTH are refused on their text, before anything
  // parses them deeply or stores them; the others go to fastify's own JSON parser.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body: string, done) => {
    if (jsonDepth(body, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
      const message = `the body is nested deeper than the limit of ${MAX_JSON_DEPTH} arrays and objects`;
      done(new HttpError(400, 'body_too_deep', message, { limit: MAX_JSON_DEPTH }), undefined);
      return;
    }
    parseJson(request, body, done);
  });
  for (const schema of SHARED_SCHEMAS) app.addSchema(schema);
  // Set on the root instance, so the routes plugin (a child context) inherits them.
  app.setErrorHandler(send);
  app.setNotFoundHandler((request, reply) =>
    send(
      new HttpError(404, 'route_not_found', `no route ${request.method} ${request.url}`, {
        method: request.method,
        url: request.url,
      }),
      request,
      reply,
    ),
  );
  // Loaded when the server starts (listen, ready or inject); an error in it fails that call.
  void app.register(api.routes, { node });
  // The live ring dashboard (shared/dashboard.ts): the page at / for browsers, /api/dashboard/*.
  registerDashboard(app, node);
  return app;
}
