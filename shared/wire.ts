/**
 * What may cross the wire between nodes, as schemas (TypeBox): every frame, the ring a gossip
 * frame carries, and the bounds on both. The types of these messages are derived from the
 * schemas (`Static`), so what the code expects and what the boundary checks cannot drift apart.
 *
 * Why: a peer with the cookie is trusted to be a member, not to be correct. In a classroom ring
 * some members run half-finished exercise code, and Erlang's guarantee that a term is well
 * formed does not exist here. Every message is checked where it enters (transport.ts for frames,
 * handshake.ts for the handshake, gossip.ts for rings, rpc.ts for a method's arguments,
 * vnode_master.ts for a service's requests); one that fails is refused, counted in
 * {@link Refusals} and logged, and never adopted, stored or passed on. riak_core has no such
 * layer: Erlang distribution between trusted nodes is its boundary.
 */
import { Kind, Type, TypeRegistry, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import type { Logger } from './log.js';

// --- bounds ------------------------------------------------------------------------------

/** Longest node name, service name, topic or id accepted (characters). */
export const MAX_NAME_CHARS = 255;
/** Most members (and vclock actors, `seen` entries) a ring may name. */
export const MAX_MEMBERS = 1024;
/** Most services one node may announce in its heartbeats (riak: `riak_core_node_watcher` services). */
export const MAX_SERVICES = 64;
/** Largest ring (Q); smallest is 8 (chash.ts). */
export const MAX_RING_SIZE = 1024;

const Name = Type.String({ minLength: 1, maxLength: MAX_NAME_CHARS });
/** `host:port` of a listener (`[::1]:8101` for IPv6), or '' (admin clients, fresh rings before listen). */
const Addr = Type.String({ maxLength: MAX_NAME_CHARS, pattern: '^$|^\\S+:[0-9]{1,5}$' });
const Counter = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const Partition = Type.Integer({ minimum: 0, maximum: MAX_RING_SIZE - 1 });

/** A vector clock: a counter per actor (vclock.ts). */
export const VClockSchema = Type.Record(Type.String({ maxLength: MAX_NAME_CHARS }), Counter, {
  maxProperties: MAX_MEMBERS,
});

/**
 * How deeply `value` nests: arrays and objects inside each other (a scalar is 0, `[]` is 1,
 * `[[1]]` is 2; byte arrays count as scalars). Iterative, so a value nested far deeper than the
 * stack allows is measured, not crashed on; stops as soon as it passes `limit` (then returns
 * some number above `limit`).
 */
export function nestingDepth(value: unknown, limit = Number.POSITIVE_INFINITY): number {
  let deepest = 0;
  const pending: [unknown, number][] = [[value, 0]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [v, depth] = next;
    if (typeof v !== 'object' || v === null || ArrayBuffer.isView(v)) continue;
    if (depth + 1 > deepest && (deepest = depth + 1) > limit) return deepest;
    for (const child of Array.isArray(v) ? v : Object.values(v)) pending.push([child, depth + 1]);
  }
  return deepest;
}

// A TypeBox kind of our own: TypeBox's recursive types would recurse as deep as the value does.
TypeRegistry.Set<{ maxDepth: number }>(
  'BoundedValue',
  (schema, value) => nestingDepth(value, schema.maxDepth) <= schema.maxDepth,
);

/**
 * Schema of any value msgpack carries, nested at most `maxDepth` deep ({@link nestingDepth}):
 * what a service stores for its clients (a KV value, an object call) without knowing its shape.
 */
export const BoundedValue = (maxDepth: number) => Type.Unsafe<unknown>({ [Kind]: 'BoundedValue', maxDepth });

// --- the ring (riak_core_ring's #chstate{}) ----------------------------------------------

/** Member status, as in `riak_core_ring:member_status/2` (ring.ts documents each). */
export const MemberStatusSchema = Type.Union([
  Type.Literal('joining'),
  Type.Literal('valid'),
  Type.Literal('leaving'),
  Type.Literal('exiting'),
  Type.Literal('down'),
  Type.Literal('invalid'),
]);

/** One member of the ring: status, `host:port` of its listener, and the clock of this entry. */
export const MemberSchema = Type.Object({ status: MemberStatusSchema, addr: Addr, vclock: VClockSchema });

/** A pending ownership transfer (an entry of riak's `next` list; ring.ts `Transfer`). */
export const TransferSchema = Type.Object({
  partition: Partition,
  owner: Name,
  nextOwner: Name,
  done: Type.Array(Name, { maxItems: MAX_SERVICES }),
  status: Type.Union([Type.Literal('awaiting'), Type.Literal('complete')]),
});

/** The ring as it travels in gossip and ring files (ring.ts `Ring` documents each field). */
export const RingSchema = Type.Object({
  clusterName: Type.String({ maxLength: MAX_NAME_CHARS }),
  clusterId: Name,
  ringSize: Type.Integer({ minimum: 8, maximum: MAX_RING_SIZE }),
  owners: Type.Array(Name, { maxItems: MAX_RING_SIZE }),
  members: Type.Record(Type.String({ minLength: 1, maxLength: MAX_NAME_CHARS }), MemberSchema, {
    maxProperties: MAX_MEMBERS,
  }),
  claimant: Name,
  vclock: VClockSchema,
  rvsn: VClockSchema,
  next: Type.Array(TransferSchema, { maxItems: MAX_RING_SIZE }),
  seen: Type.Record(Type.String({ maxLength: MAX_NAME_CHARS }), VClockSchema, { maxProperties: MAX_MEMBERS }),
});

/** `T` with every property, array and record read-only, all the way down (rings are immutable). */
export type DeepReadonly<T> = T extends (infer E)[]
  ? readonly DeepReadonly<E>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

// --- frames ------------------------------------------------------------------------------

const WireErrorSchema = Type.Object({
  name: Type.String({ maxLength: MAX_NAME_CHARS }),
  message: Type.String(),
  code: Type.Optional(Type.String({ maxLength: MAX_NAME_CHARS })),
});

const SenderSchema = Type.Union([Type.Null(), Type.Object({ node: Name, ref: Name })]);

/** The handshake (handshake.ts): the server's challenge. */
export const ChallengeFrame = Type.Object({ t: Type.Literal('challenge'), node: Name, nonce: Name });
/** The handshake: the client's hello, proving it knows the cookie. */
export const HelloFrame = Type.Object({
  t: Type.Literal('hello'),
  node: Name,
  role: Type.Union([Type.Literal('node'), Type.Literal('client')]),
  addr: Type.Optional(Addr),
  nonce: Name,
  proof: Name,
});
/** The handshake: the server's welcome, proving it knows the cookie too. */
export const WelcomeFrame = Type.Object({ t: Type.Literal('welcome'), node: Name, proof: Name });
/** A heartbeat (transport.ts) with the services the node offers (node_watcher.ts). */
export const HeartbeatFrame = Type.Object({
  t: Type.Literal('hb'),
  services: Type.Optional(Type.Array(Name, { maxItems: MAX_SERVICES })),
});
/** An RPC call (rpc.ts); its `args` are checked against the method's own schema. */
export const CallFrame = Type.Object({
  t: Type.Literal('call'),
  id: Name,
  method: Name,
  args: Type.Optional(Type.Unknown()),
});
/** An RPC return. */
export const ReturnFrame = Type.Object({
  t: Type.Literal('return'),
  id: Name,
  ok: Type.Boolean(),
  value: Type.Optional(Type.Unknown()),
  error: Type.Optional(WireErrorSchema),
});
/**
 * A gossip frame (gossip.ts): a whole ring (`bin`, msgpack of a {@link RingSchema} ring, checked
 * when decoded) or a seen digest (`cid`, `v`, `at`).
 */
export const RingFrame = Type.Object({
  t: Type.Literal('ring'),
  k: Type.Optional(Type.Union([Type.Literal('push'), Type.Literal('report'), Type.Literal('sync')])),
  root: Type.Optional(Name),
  bin: Type.Optional(Type.Uint8Array()),
  cid: Type.Optional(Name),
  v: Type.Optional(VClockSchema),
  at: Type.Optional(Type.Array(Name, { maxItems: MAX_MEMBERS })),
});
/** A vnode command (vnode_master.ts); `request` is checked against the service's `requests` schema. */
export const VnodeCmdFrame = Type.Object({
  t: Type.Literal('vnode_cmd'),
  service: Name,
  partition: Partition,
  request: Type.Unknown(),
  sender: SenderSchema,
});
/** A coverage request for the key spaces `partitions`. */
export const VnodeCovFrame = Type.Object({
  t: Type.Literal('vnode_cov'),
  service: Name,
  partition: Partition,
  partitions: Type.Array(Partition, { maxItems: MAX_RING_SIZE }),
  request: Type.Unknown(),
  sender: SenderSchema,
});
/** A vnode's reply to a sender. */
export const VnodeReplyFrame = Type.Object({
  t: Type.Literal('vnode_reply'),
  ref: Name,
  reply: Type.Union([
    Type.Object({
      from: Type.Object({ partition: Partition, node: Name }),
      ok: Type.Literal(true),
      value: Type.Unknown(),
    }),
    Type.Object({
      from: Type.Object({ partition: Partition, node: Name }),
      ok: Type.Literal(false),
      error: WireErrorSchema,
    }),
  ]),
});
/** An application message (messaging.ts). */
export const NotifyFrame = Type.Object({ t: Type.Literal('notify'), topic: Name, payload: Type.Unknown() });

/** A checked frame of each kind, by its tag. */
export type HelloFrame = Static<typeof HelloFrame>;
export type CallFrame = Static<typeof CallFrame>;
export type ReturnFrame = Static<typeof ReturnFrame>;
export type RingFrame = Static<typeof RingFrame>;
export type VnodeCmdFrame = Static<typeof VnodeCmdFrame>;
export type VnodeCovFrame = Static<typeof VnodeCovFrame>;
export type VnodeReplyFrame = Static<typeof VnodeReplyFrame>;
export type NotifyFrame = Static<typeof NotifyFrame>;
export type HeartbeatFrame = Static<typeof HeartbeatFrame>;

/** Frames a member may send once the handshake is done, by tag (the handshake's are not here). */
const LINK_FRAMES: Record<string, TSchema> = {
  hb: HeartbeatFrame,
  call: CallFrame,
  return: ReturnFrame,
  ring: RingFrame,
  vnode_cmd: VnodeCmdFrame,
  vnode_cov: VnodeCovFrame,
  vnode_reply: VnodeReplyFrame,
  notify: NotifyFrame,
};

// --- checking ----------------------------------------------------------------------------

const compiled = new WeakMap<TSchema, TypeCheck<TSchema>>();

function compile(schema: TSchema): TypeCheck<TSchema> {
  let check = compiled.get(schema);
  if (!check) {
    check = TypeCompiler.Compile(schema);
    compiled.set(schema, check);
  }
  return check;
}

/**
 * Why `value` does not fit `schema`: the first error with its path (`/members/dev1/status:
 * Expected union value`), or undefined if it fits. Schemas are compiled once and cached.
 */
export function problem(schema: TSchema, value: unknown): string | undefined {
  const check = compile(schema);
  if (check.Check(value)) return undefined;
  const first = check.Errors(value).First();
  return first ? `${first.path || '/'}: ${first.message}` : 'does not match its schema';
}

/** True if `value` fits `schema` (narrowing it to the schema's type). */
export function fits<S extends TSchema>(schema: S, value: unknown): value is Static<S> {
  return compile(schema).Check(value);
}

/**
 * Why a frame received on an authenticated link is refused, or undefined if it is well formed:
 * an unknown tag, or a field that does not fit the tag's schema.
 */
export function frameProblem(frame: { readonly t: string }): string | undefined {
  const schema = LINK_FRAMES[frame.t];
  if (!schema) return `unknown frame "${frame.t.slice(0, 40)}"`;
  const p = problem(schema, frame);
  return p === undefined ? undefined : `"${frame.t}" frame ${p}`;
}

/**
 * Why a ring received from a peer (gossip, a join, a ring file) must not be adopted, or
 * undefined: it does not fit {@link RingSchema}, or it breaks an invariant every ring keeps:
 * Q a power of two with one owner per partition, every owner, claimant and transfer end a
 * member, every transfer's partition below Q. `ringSize`: the Q it must have (ours).
 */
export function ringProblem(ring: unknown, ringSize?: number): string | undefined {
  const p = problem(RingSchema, ring);
  if (p !== undefined) return p;
  const r = ring as Static<typeof RingSchema>;
  if ((r.ringSize & (r.ringSize - 1)) !== 0) return `ring size ${r.ringSize} is not a power of two`;
  if (ringSize !== undefined && r.ringSize !== ringSize) return `ring size ${r.ringSize}, ours is ${ringSize}`;
  if (r.owners.length !== r.ringSize) return `${r.owners.length} owners for ${r.ringSize} partitions`;
  const isMember = (n: string) => Object.hasOwn(r.members, n);
  const stranger = r.owners.find((o) => !isMember(o));
  if (stranger !== undefined) return `owner ${stranger} is not a member`;
  if (!isMember(r.claimant)) return `claimant ${r.claimant} is not a member`;
  for (const t of r.next) {
    if (t.partition >= r.ringSize) return `transfer of partition ${t.partition} in a ring of ${r.ringSize}`;
    if (!isMember(t.owner) || !isMember(t.nextOwner)) return `transfer of partition ${t.partition} between non-members`;
  }
  return undefined;
}

// --- refusals ----------------------------------------------------------------------------

/**
 * Counts what this node refused at its boundary, by kind (`frame`, `hello`, `ring`, `rpc`,
 * `request`), and logs it: the first refusal of each kind from each peer, then every 100th, so a
 * peer that floods bad frames cannot flood the log.
 */
export class Refusals {
  private readonly counts = new Map<string, number>();
  private readonly perPeer = new Map<string, number>();
  /** Refusals of every kind so far. */
  total = 0;

  constructor(private readonly log: Logger) {}

  /** Count and (throttled) log one refusal of `kind` from `from`, for `reason`. */
  refuse(kind: string, from: string, reason: string): void {
    this.total++;
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
    const key = `${kind}|${from}`;
    const n = (this.perPeer.get(key) ?? 0) + 1;
    if (this.perPeer.size < 10_000 || this.perPeer.has(key)) this.perPeer.set(key, n);
    if (n === 1 || n % 100 === 0)
      this.log.warn(`refused a malformed ${kind} from ${from.slice(0, MAX_NAME_CHARS)} (${n} so far): ${reason}`);
  }

  /** Refusals so far, by kind. */
  byKind(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }
}
