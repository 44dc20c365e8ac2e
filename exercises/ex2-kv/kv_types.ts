/**
 * Exercise 2, given: the vocabulary of the key/value service. The client (kv.ts) hashes keys
 * under {@link BUCKET} and sends a {@link KvRequest} to the key's vnode; the vnode
 * (kv_vnode.ts) answers with a {@link KvReply}; the client's `fetch` resolves with a
 * {@link FetchResult}.
 */
import { Type, type Static } from '@sinclair/typebox';
import { BoundedValue } from '../../shared/wire.js';

/** Bucket under which KV keys are hashed: `chashKey(BUCKET, key)`. */
export const BUCKET = 'kv';

/** Longest key, in characters. */
export const MAX_KEY_LENGTH = 1024;
/** Deepest nesting of a value: arrays and objects inside each other (a scalar is 0, `[[1]]` is 2). */
export const MAX_VALUE_DEPTH = 64;

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
    value: BoundedValue(MAX_VALUE_DEPTH),
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
