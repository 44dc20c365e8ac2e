/**
 * The RPC methods every node serves for membership (what `riak_core_claimant`'s
 * `gen_server` calls and `riak-admin`'s RPCs into `riak_core_console` are in riak):
 *
 * - `claimant.*`, for cluster members only: staging, plan, commit, clear, and the report that
 *   a transfer is complete. Other nodes call them on the claimant (the single writer).
 * - `cluster.join_request`, for anyone with the cookie: a fresh node asks any member to
 *   join; the member forwards it to its claimant.
 * - `admin.*`, for admin tools (`npm run admin`, devrel, the process harness): run on the
 *   node they are called on, which forwards to the claimant where needed.
 *
 * Arguments are msgpack maps, each method's checked against its schema (below) before it runs:
 * a call whose arguments do not fit is RingError `bad_request`.
 * Every other error is the one the node or claimant raised, with its `code`.
 */
import type { Plan, PlanOwnership, StagedChange } from './claimant.js';
import { formatPlan } from './console.js';
import { Type } from '@sinclair/typebox';
import { RingError } from './errors.js';
import type { RingNode } from './node.js';
import { MAX_NAME_CHARS, MAX_RING_SIZE, MAX_SERVICES } from './wire.js';

/** A plan without its ring: what admin tools receive. `text` is riak's `cluster plan` layout. */
export interface PlanView {
  readonly changes: readonly StagedChange[];
  readonly ownership: readonly PlanOwnership[];
  readonly transfers: number;
  readonly text: string;
}

/** `plan` as admin tools see it; `isUp` marks unreachable nodes in the text. */
export function planView(plan: Plan, isUp: (node: string) => boolean): PlanView {
  return { changes: plan.changes, ownership: plan.ownership, transfers: plan.transfers, text: formatPlan(plan, isUp) };
}

/** What {@link registerAdminRpc} uses of a node: its RPC endpoint, claimant, watcher, and admin API. */
export type AdminRpcNode = Pick<
  RingNode,
  | 'name'
  | 'addr'
  | 'ring'
  | 'rpc'
  | 'claimant'
  | 'watcher'
  | 'handoff'
  | 'transport'
  | 'join'
  | 'leave'
  | 'remove'
  | 'down'
  | 'plan'
  | 'commit'
  | 'clear'
  | 'memberStatus'
  | 'ringStatus'
  | 'memberStatusData'
  | 'ringStatusData'
  | 'isSettled'
>;

const Name = Type.String({ minLength: 1, maxLength: MAX_NAME_CHARS });
/** `{node}`: the member an admin or claimant call is about. */
const NodeArgs = Type.Object({ node: Name });
/** `{node, addr}`: a node asking to join, and where it listens. */
const JoinArgs = Type.Object({ node: Name, addr: Name });
/** One finished transfer: `partition` now belongs to `nextOwner` for `services`. */
const TransferReportArgs = Type.Object({
  partition: Type.Integer({ minimum: 0, maximum: MAX_RING_SIZE - 1 }),
  nextOwner: Name,
  services: Type.Array(Name, { maxItems: MAX_SERVICES }),
});
/** An owner's finished transfers: a batch, or (older callers) one transfer's fields at the top. */
const TransferCompleteArgs = Type.Union([
  Type.Object({ owner: Name, transfers: Type.Array(TransferReportArgs, { maxItems: MAX_RING_SIZE }) }),
  Type.Intersect([Type.Object({ owner: Name }), TransferReportArgs]),
]);

/** Register the `claimant.*`, `cluster.join_request` and `admin.*` handlers on `node.rpc`. */
export function registerAdminRpc(node: AdminRpcNode): void {
  const { rpc, claimant } = node;
  const isUp = (n: string) => node.watcher.isUp(n);
  // Claimant side: only cluster members may call these.
  rpc.handle('claimant.stage_join', (a) => claimant.stageJoin(a.node, a.addr), { args: JoinArgs });
  rpc.handle('claimant.stage_leave', (a) => claimant.stageLeave(a.node), { args: NodeArgs });
  rpc.handle('claimant.stage_remove', (a) => claimant.stageRemove(a.node), { args: NodeArgs });
  rpc.handle('claimant.clear', () => claimant.clear());
  rpc.handle('claimant.plan', () => planView(claimant.plan(), isUp));
  rpc.handle('claimant.commit', () => planView(claimant.commit(), isUp));
  // An owner's batch of finished transfers ({owner, transfers}: one ring change for all), or
  // one transfer ({owner, partition, nextOwner, services}).
  rpc.handle(
    'claimant.transfer_complete',
    (a) => {
      if ('transfers' in a) return claimant.transfersComplete(a.owner, a.transfers);
      claimant.transferComplete(a.partition, a.owner, a.nextOwner, a.services);
      return null;
    },
    { args: TransferCompleteArgs },
  );
  // Joining: a fresh node asks any member, which forwards to its claimant.
  rpc.handle('cluster.join_request', (a) => rpc.call(node.ring.claimant, 'claimant.stage_join', a), {
    clients: true,
    args: JoinArgs,
  });
  // Admin tools (npm run admin): run on this node.
  rpc.handle('admin.join', (a) => node.join(a.addr), { clients: true, args: Type.Object({ addr: Name }) });
  rpc.handle('admin.leave', (a) => node.leave(a?.node ?? node.name), {
    clients: true,
    args: Type.Union([Type.Null(), Type.Undefined(), Type.Object({ node: Type.Optional(Name) })]),
  });
  rpc.handle('admin.remove', (a) => node.remove(a.node), { clients: true, args: NodeArgs });
  rpc.handle('admin.down', (a) => node.down(a.node), { clients: true, args: NodeArgs });
  rpc.handle('admin.plan', () => node.plan(), { clients: true });
  rpc.handle('admin.commit', () => node.commit(), { clients: true });
  rpc.handle('admin.clear', () => node.clear(), { clients: true });
  rpc.handle('admin.member_status', () => node.memberStatus(), { clients: true });
  // Where a member listens (`host:port`), so a tool can reach it directly (crash, freeze).
  rpc.handle(
    'admin.addr_of',
    (a) => {
      const addr = node.ring.members[a.node]?.addr;
      if (!addr) throw new RingError('not_member', `${a.node} is not a member of ${node.name}'s ring`);
      return addr;
    },
    { clients: true, args: NodeArgs },
  );
  rpc.handle('admin.ring_status', () => node.ringStatus(), { clients: true });
  rpc.handle(
    'admin.status',
    () => ({
      node: node.name,
      addr: node.addr,
      settled: node.isSettled(),
      members: node.memberStatusData(),
      ring: node.ringStatusData(),
      handoffs: node.handoff.running(),
      // What this node refused at its boundary, by kind (wire.ts Refusals): frame, ring, rpc, request.
      refused: node.transport.refusals.byKind(),
    }),
    { clients: true },
  );
}
