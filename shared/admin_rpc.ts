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
 * Arguments are msgpack maps; a missing or empty string field is RingError `bad_request`.
 * Every other error is the one the node or claimant raised, with its `code`.
 */
import type { Plan, PlanOwnership, StagedChange, TransferReport } from './claimant.js';
import { formatPlan } from './console.js';
import { RingError } from './errors.js';
import type { RingNode } from './node.js';

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

/**
 * The string field `field` of an RPC's arguments.
 * @throws RingError `bad_request` if it is missing, not a string, or empty.
 */
function str(args: unknown, field: string): string {
  const v = (args as Record<string, unknown> | null)?.[field];
  if (typeof v !== 'string' || v === '') throw new RingError('bad_request', `"${field}" must be a non-empty string`);
  return v;
}

/** A transfer report from the wire. @throws RingError `bad_request` if it is not one. */
function transferReport(x: unknown): TransferReport {
  const { partition, services } = (x ?? {}) as { partition?: unknown; services?: unknown };
  if (typeof partition !== 'number' || !Array.isArray(services) || !services.every((s) => typeof s === 'string'))
    throw new RingError('bad_request', 'a transfer report needs a numeric "partition" and a "services" list');
  return { partition, nextOwner: str(x, 'nextOwner'), services };
}

/** Register the `claimant.*`, `cluster.join_request` and `admin.*` handlers on `node.rpc`. */
export function registerAdminRpc(node: AdminRpcNode): void {
  const { rpc, claimant } = node;
  const isUp = (n: string) => node.watcher.isUp(n);
  // Claimant side: only cluster members may call these.
  rpc.handle('claimant.stage_join', (a) => claimant.stageJoin(str(a, 'node'), str(a, 'addr')));
  rpc.handle('claimant.stage_leave', (a) => claimant.stageLeave(str(a, 'node')));
  rpc.handle('claimant.stage_remove', (a) => claimant.stageRemove(str(a, 'node')));
  rpc.handle('claimant.clear', () => claimant.clear());
  rpc.handle('claimant.plan', () => planView(claimant.plan(), isUp));
  rpc.handle('claimant.commit', () => planView(claimant.commit(), isUp));
  // An owner's batch of finished transfers ({owner, transfers}: one ring change for all), or
  // one transfer ({owner, partition, nextOwner, services}).
  rpc.handle('claimant.transfer_complete', (a) => {
    const { transfers } = a as { transfers?: unknown };
    if (Array.isArray(transfers)) return claimant.transfersComplete(str(a, 'owner'), transfers.map(transferReport));
    const { partition, nextOwner, services } = transferReport(a);
    claimant.transferComplete(partition, str(a, 'owner'), nextOwner, services);
    return null;
  });
  // Joining: a fresh node asks any member, which forwards to its claimant.
  rpc.handle(
    'cluster.join_request',
    (a) => rpc.call(node.ring.claimant, 'claimant.stage_join', { node: str(a, 'node'), addr: str(a, 'addr') }),
    { clients: true },
  );
  // Admin tools (npm run admin): run on this node.
  rpc.handle('admin.join', (a) => node.join(str(a, 'addr')), { clients: true });
  rpc.handle('admin.leave', (a) => node.leave((a as { node?: string } | null)?.node ?? node.name), { clients: true });
  rpc.handle('admin.remove', (a) => node.remove(str(a, 'node')), { clients: true });
  rpc.handle('admin.down', (a) => node.down(str(a, 'node')), { clients: true });
  rpc.handle('admin.plan', () => node.plan(), { clients: true });
  rpc.handle('admin.commit', () => node.commit(), { clients: true });
  rpc.handle('admin.clear', () => node.clear(), { clients: true });
  rpc.handle('admin.member_status', () => node.memberStatus(), { clients: true });
  // Where a member listens (`host:port`), so a tool can reach it directly (crash, freeze).
  rpc.handle(
    'admin.addr_of',
    (a) => {
      const name = str(a, 'node');
      const addr = node.ring.members[name]?.addr;
      if (!addr) throw new RingError('not_member', `${name} is not a member of ${node.name}'s ring`);
      return addr;
    },
    { clients: true },
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
    }),
    { clients: true },
  );
}
