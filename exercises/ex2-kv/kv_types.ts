/**
 * Exercise 2, given: the vocabulary of the key/value service. The client (kv.ts) hashes keys
 * under {@link BUCKET} and sends a {@link KvRequest} to the key's vnode; the vnode
 * (kv_vnode.ts) answers with a {@link KvReply}; the client's `fetch` resolves with a
 * {@link FetchResult}.
 */

/** Bucket under which KV keys are hashed: `chashKey(BUCKET, key)`. */
export const BUCKET = 'kv';

/** Requests the KV vnode understands. Keys are strings; values anything msgpack can carry. */
export type KvRequest =
  | { readonly type: 'store'; readonly key: string; readonly value: unknown }
  | { readonly type: 'fetch'; readonly key: string }
  | { readonly type: 'delete'; readonly key: string };

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
