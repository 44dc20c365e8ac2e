/**
 * Exercise 7, steps 1-2: the todo list object type, and `callObject`, which reaches an
 * object's home vnode from any node.
 */
import { chashKey } from '../../shared/chash.js';
import { RingError } from '../../shared/errors.js';
import type { RingNode } from '../../shared/node.js';
import {
  CALL_TIMEOUT_MS,
  counter,
  ObjectError,
  SERVICE,
  type CallOptions,
  type CallOutcome,
  type CallRequest,
  type CallResult,
  type ObjectType,
  type ObjectTypes,
  type TodoCall,
  type TodoState,
} from '../../exercises/ex7-objects/object_types.js';

/**
 * Step 1: a todo list only its allowed users may change. `get` is open to anyone; `add`,
 * `done` and `allow` need `user` in `allowed`, except on a list nobody is allowed on yet,
 * whose first writer becomes allowed.
 * @throws ObjectError `refused` for a user not allowed; `bad_call` for a malformed call.
 */
export const todoList: ObjectType<TodoState> = {
  name: 'todo',
  initial: () => ({ allowed: [], items: [] }),
  handle(state, raw) {
    const call = raw as TodoCall;
    if (typeof call?.user !== 'string' || call.user === '')
      throw new ObjectError('bad_call', 'a todo call names its user');
    if (call.op === 'get') return { state, reply: state };
    const allowed = state.allowed.length === 0 ? [call.user] : state.allowed;
    if (!allowed.includes(call.user))
      throw new ObjectError('refused', `${call.user} may not change this list (allowed: ${allowed.join(', ')})`);
    switch (call.op) {
      case 'add': {
        if (typeof call.text !== 'string') throw new ObjectError('bad_call', 'add needs a text');
        const items = [...state.items, { text: call.text, done: false, by: call.user }];
        return { state: { allowed, items }, reply: items.length - 1 };
      }
      case 'done': {
        const item = state.items[call.index];
        if (!item) throw new ObjectError('bad_call', `no item ${call.index}`);
        const done = { ...item, done: true };
        return { state: { allowed, items: state.items.map((x, i) => (i === call.index ? done : x)) }, reply: done };
      }
      case 'allow': {
        const next = allowed.includes(call.who) ? allowed : [...allowed, call.who];
        return { state: { allowed: next, items: state.items }, reply: next };
      }
      default:
        throw new ObjectError('bad_call', `todo: unknown call ${JSON.stringify(raw)} (ops: get, add, done, allow)`);
    }
  },
};

/** The object types every object vnode knows. */
export const TYPES: ObjectTypes = { counter, todo: todoList };

/**
 * Step 2: run `call` on the object `objectType`/`id` from any node. Its home is the first
 * vnode of the active preference list of `chashKey(objectType, id)` for the objects service.
 * @throws RingError `unavailable` (no home up, or the home could not store the new state),
 *   ObjectError for a call the object rejected; the runtime's TimeoutError, NodeDownError.
 */
export async function callObject(
  node: RingNode,
  objectType: string,
  id: string,
  call: unknown,
  opts: CallOptions = {},
): Promise<CallResult> {
  const [home] = node.getApl({ hash: chashKey(objectType, id) }, 1, SERVICE);
  if (!home) throw new RingError('unavailable', `no objects vnode is up for ${objectType}/${id}`);
  const request: CallRequest = { type: 'call', objectType, id, call };
  const out = (await node.syncSpawnCommand(home, request, SERVICE, opts.timeoutMs ?? CALL_TIMEOUT_MS)) as CallOutcome;
  if (out.ok) return { reply: out.reply, epoch: out.epoch, activation: out.activation, home };
  if (out.code === 'unavailable') throw new RingError('unavailable', out.message);
  throw new ObjectError(out.code, out.message);
}
