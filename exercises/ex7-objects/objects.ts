/**
 * Exercise 7, steps 1-2: the todo list object type, and `callObject`, which reaches an
 * object's home vnode from any node. Read README.md in this folder. Stuck? `npm run hint -- ex7`
 */
import { chashKey } from '../../shared/chash.js';
import { RingError } from '../../shared/errors.js';
import type { RingNode } from '../../shared/node.js';
import { todo } from '../../shared/todo.js';
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
} from './object_types.js';

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
    void state;
    void raw;
    return todo(
      'ex7-objects',
      1,
      import.meta.url,
      'todoList.handle(state, call): get for anyone; add, done and allow for allowed users only (ObjectError refused)',
    );
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
  void node;
  void objectType;
  void id;
  void call;
  void opts;
  return todo(
    'ex7-objects',
    2,
    import.meta.url,
    "callObject(node, type, id, call): send { type: 'call', … } to the home vnode and turn its CallOutcome into a result or an error",
  );
}
