/**
 * Exercise 2, given: the vocabulary of the key/value service. The client (kv.ts) hashes keys
 * under {@link BUCKET} and sends a {@link KvRequest} to the key's vnode; the vnode
 * (kv_vnode.ts) answers with a {@link KvReply}; the client's `fetch` resolves with a
 * {@link FetchResult}.
 */
import { Kind, Type, TypeRegistry, type Static } from '@sinclair/typebox';

/** Bucket under which KV keys are hashed: `chashKey(BUCKET, key)`. */
export const BUCKET = 'kv';

/** Longest key, in characters. */
export const MAX_KEY_LENGTH = 1024;
/** Deepest nesting of a value: arrays and objects inside each other (a scalar is 0, `[[1]]` is 2). */
export const MAX_VALUE_DEPTH = 64;

/** Whether `value` nests at most `max` deep. Iterative: a value nested deeper than the stack allows is refused, not crashed on. */
function nestsAtMost(value: unknown, max: number): boolean {
  const pending: [unknown, number][] = [[value, 0]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [v, depth] = next;
    if (typeof v !== 'object' || v === null || ArrayBuffer.isView(v)) continue;
    if (depth + 1 > max) return false;
    for (const child of Array.isArray(v) ? v : Object.values(v)) pending.push([child, depth + 1]);
  }
  return true;
}
TypeRegistry.Set<{ maxDepth: number }>('KvValue', (schema, value) => nestsAtMost(value, schema.maxDepth));

/**
 * The requests the KV vnode understands, as a schema: keys are strings of at most
 * {@link MAX_KEY_LENGTH} characters; values anything msgpack can carry, nested at most
 * {@link MAX_VALUE_DEPTH} deep. The service passes it as its `requests`: the vnode master
 * refuses anything else (`bad_request`) before a vnode sees it.
 */
export const KvRequestSchema = Type.Union([
  Type.Object({
    type: Type.Literal('store'),
    key: Type.String({ maxLength: MAX_KEY_LENGTH }),
    value: Type.Unsafe<unknown>({ [Kind]: 'KvValue', maxDepth: MAX_VALUE_DEPTH }),
  }),
  Type.Object({ type: Type.Literal('fetch'), key: Type.String({ maxLength: MAX_KEY_LENGTH }) }),
  Type.Object({ type: Type.Literal('delete'), key: Type.String({ maxLength: MAX_KEY_LENGTH }) }),
]);

/** Requests the KV vnode understands (derived from {@link KvRequestSchema}). */
export type KvRequest = Readonly<Static<typeof KvRequestSchema>>;

/**
 * Replies of the KV vnode. `partition`/`node` say which vnode answered. `value`: what a fetch
 * found; `existed`: whether a delete found the key.
 */
export type KvReply =
  | {
      readonly ok: true;
      readonly partition: number;
      readonly node: string;
      readonly value?: unknown;
      readonly existed?: boolean;
    }
  | { readonly ok: false; readonly reason: 'not_found'; readonly partition: number; readonly node: string };

/** Result of the client's `fetch`: the value, whatever it is (null included), or not found. */
export type FetchResult = { readonly found: true; readonly value: unknown } | { readonly found: false };
