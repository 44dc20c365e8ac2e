/**
 * Exercise 7, given: the vocabulary of live objects. An object *type* is a small definition
 * (an initial state and a handler); an *object* is one instance of a type, named by its id,
 * whose one live copy (its *activation*) runs in the vnode that is the home of its key.
 * The requests and replies of the object vnode, its options, its errors and the counter type
 * are here; you write the todo list type, the client and the vnode (objects.ts,
 * object_vnode.ts), then the fencing (fenced_kv_vnode.ts, fencing.ts).
 */
import { Type, type Static } from '@sinclair/typebox';
import type { AplEntry } from '../../shared/apl.js';
import type { RingNode } from '../../shared/node.js';
import { BoundedValue } from '../ex3-coordinator/kv_vnode.js';

/** The service name of the object vnodes (`node.getApl(…, 'objects')`). */
export const SERVICE = 'objects';

/** What a handler returns: the object's next state and the caller's reply. */
export interface Handled<S> {
  readonly state: S;
  readonly reply: unknown;
}

/**
 * An object type: `initial()` is the state of an object never written; `handle(state, call)`
 * runs one call. `handle` must be a pure function of its arguments (it may run again on
 * another node after a failure) and must not change `state` in place: it returns the next one.
 * @throws ObjectError `bad_call` for a call it does not understand, `refused` for a caller
 *   that may not do it. The state is left as it was.
 */
export interface ObjectType<S = unknown> {
  readonly name: string;
  initial(): S;
  handle(state: S, call: unknown): Handled<S>;
}

/** Error codes of {@link ObjectError}: the call is wrong (400), not allowed (403), or of no known type (404). */
export type ObjectErrorCode = 'bad_call' | 'refused' | 'unknown_type';

/** A call the object (or its type) rejects. The state does not change. Not a ring failure: retrying will not help. */
export class ObjectError extends Error {
  constructor(
    readonly code: ObjectErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ObjectError';
  }
}

/** The counter: `{ op: 'inc', by? }` adds `by` (default 1) and answers the new value; `{ op: 'get' }` answers it. */
export const counter: ObjectType<number> = {
  name: 'counter',
  initial: () => 0,
  handle(state, call) {
    const c = call as { op?: unknown; by?: unknown } | null;
    switch (c?.op) {
      case 'get':
        return { state, reply: state };
      case 'inc': {
        const by = c.by ?? 1;
        if (!Number.isSafeInteger(by)) throw new ObjectError('bad_call', `inc: by must be an integer, got ${by}`);
        return { state: state + (by as number), reply: state + (by as number) };
      }
      default:
        throw new ObjectError('bad_call', `counter: unknown call ${JSON.stringify(call)} (ops: inc, get)`);
    }
  },
};

/** One item of a todo list. */
export interface TodoItem {
  readonly text: string;
  readonly done: boolean;
  /** Who added it. */
  readonly by: string;
}

/** The state of a todo list: who may change it, and its items in order. */
export interface TodoState {
  /** Users allowed to change the list; the first user to write to a fresh list becomes its first member. */
  readonly allowed: readonly string[];
  readonly items: readonly TodoItem[];
}

/**
 * The calls of a todo list. Every call names its `user`. `get` is open to anyone; the others
 * need a user in `allowed` (an empty list lets the first writer in, who becomes allowed).
 *   { op: 'get', user }                   → TodoState
 *   { op: 'add', user, text }             → the new item's index
 *   { op: 'done', user, index }           → the item, now done
 *   { op: 'allow', user, who }            → the allowed users
 */
export type TodoCall =
  | { readonly op: 'get'; readonly user: string }
  | { readonly op: 'add'; readonly user: string; readonly text: string }
  | { readonly op: 'done'; readonly user: string; readonly index: number }
  | { readonly op: 'allow'; readonly user: string; readonly who: string };

/** The types an object service knows, by name (`counter`, `todo`). */
export type ObjectTypes = Readonly<Record<string, ObjectType<unknown>>>;

/** Longest object id, in characters (the HTTP route's limit too). */
export const MAX_ID_LENGTH = 512;

/**
 * A request to an object vnode: one call to the object `type`/`id`; `call` is any value nested
 * at most `MAX_VALUE_DEPTH` deep (exercise 3). What `objectService` passes as its `requests`,
 * so the vnode master refuses anything else (`bad_request`) before a vnode sees it.
 */
export const CallRequestSchema = Type.Object({
  type: Type.Readonly(Type.Literal('call')),
  objectType: Type.Readonly(Type.String({ maxLength: 255 })),
  id: Type.Readonly(Type.String({ maxLength: MAX_ID_LENGTH })),
  call: Type.Readonly(BoundedValue()),
});
/** See {@link CallRequestSchema}. */
export type CallRequest = Static<typeof CallRequestSchema>;

/** The request of the object vnode. */
export type ObjectRequest = CallRequest;

/**
 * What the object vnode answers to a call: the handler's reply with the epoch and the
 * activation that ran it, or why it did not run (a rejected call, or a store that could not
 * take the new state: `unavailable`, and the object was deactivated).
 */
export type CallOutcome =
  | { readonly ok: true; readonly reply: unknown; readonly epoch: number; readonly activation: string }
  | { readonly ok: false; readonly code: ObjectErrorCode | 'unavailable'; readonly message: string };

/** What `callObject` resolves with: the reply, the epoch and activation that made it, and which vnode was the home. */
export interface CallResult {
  readonly reply: unknown;
  /** The activation's epoch (0 without fencing). */
  readonly epoch: number;
  /** Unique name of the activation that ran the call: `<node>/<partition>/<n>`. */
  readonly activation: string;
  readonly home: AplEntry;
}

/**
 * The stored form of an object (the value under {@link stateKey} in the replicated store):
 * its state, and the epoch of the activation that wrote it.
 */
export interface ObjectRecord {
  readonly state: unknown;
  readonly epoch: number;
}

/** The key of an object's record in the replicated store (bucket `kv`). */
export const stateKey = (objectType: string, id: string): string => `objects/${objectType}/${id}`;

/** One live object in its home vnode. */
export interface Activation {
  readonly objectType: string;
  readonly id: string;
  /** The object's current state (what the store holds too, after every call). */
  state: unknown;
  /** The epoch taken at activation (0 without fencing). */
  readonly epoch: number;
  /** `<node>/<partition>/<n>`: unique per activation. */
  readonly name: string;
}

/** Options of the object service. */
export interface ObjectServiceOptions {
  /** The RingNode this service runs on, by name (the vnode calls the store through it). */
  readonly node: (name: string) => RingNode;
  /** Take an epoch at activation and fence every write with it (steps 6-7). Default true. */
  readonly fenced?: boolean;
  /** Deactivate an object after this many ms without calls (default 30 000). */
  readonly idleMs?: number;
  /** Deadline of each read or write of the store, in ms (default 1000). */
  readonly storeTimeoutMs?: number;
}

/** Options of `callObject`. */
export interface CallOptions {
  /** How long to wait for the home's answer, in ms (default 3000). */
  readonly timeoutMs?: number;
}

/** Default deadline of `callObject`. */
export const CALL_TIMEOUT_MS = 3000;
