/**
 * Exercise 7, given: live objects over exercise 5's HTTP API.
 *
 *   POST /api/objects/:type/:id   body: the call as JSON, e.g. {"op":"inc"}
 *     → 200 { type, id, reply, epoch, activation, home }
 *     → 400 bad_call / invalid_param / invalid_body, 403 refused, 404 unknown_type,
 *       503 unavailable (no home, or the store could not take the new state; retry later)
 *
 * It takes `callObject` as a parameter (it never imports objects.ts), so the same routes run
 * your stub or the solution; exercises/app.ts registers them next to exercise 5's.
 */
import type { RingNode } from '../../shared/node.js';
import { HttpError, type RoutesPlugin } from '../ex5-http/api.js';
import { ObjectError, type CallResult, type ObjectErrorCode } from './object_types.js';

/** The client function the routes call (objects.ts's `callObject`). */
export type CallObject = (node: RingNode, objectType: string, id: string, call: unknown) => Promise<CallResult>;

/** HTTP status of each {@link ObjectErrorCode}. */
const STATUS: Record<ObjectErrorCode, number> = { bad_call: 400, refused: 403, unknown_type: 404 };

const params = {
  type: 'object',
  required: ['type', 'id'],
  additionalProperties: false,
  properties: {
    type: { type: 'string', pattern: '^[a-z][a-z0-9_-]{0,31}$' },
    id: { type: 'string', minLength: 1, maxLength: 512, pattern: '^[^\\u0000-\\u001f/]+$' },
  },
} as const;

/**
 * The objects route, a fastify plugin like exercise 5's routes (registered with `{ node }`).
 * ObjectErrors become 400/403/404 JSON errors; ring errors (`unavailable`, timeouts) reach the
 * server's handler, which answers 503.
 */
export function objectRoutes(callObject: CallObject): RoutesPlugin {
  return async (app, { node }) => {
    app.post<{ Params: { type: string; id: string }; Body: unknown }>(
      '/api/objects/:type/:id',
      { schema: { params } },
      async (request) => {
        const { type, id } = request.params;
        if (request.body === undefined)
          throw new HttpError(400, 'invalid_body', 'POST the call as a JSON body (content-type: application/json)');
        try {
          const r = await callObject(node, type, id, request.body);
          return { type, id, reply: r.reply, epoch: r.epoch, activation: r.activation, home: r.home };
        } catch (err) {
          if (err instanceof ObjectError) throw new HttpError(STATUS[err.code], err.code, err.message, { type, id });
          throw err;
        }
      },
    );
  };
}
