/**
 * `member_status` and `ring_status` in the layout of `riak-admin` (`riak_core_console`),
 * as text (coloured with chalk when the terminal supports it) and as data for the HTTP API.
 */
import chalk from 'chalk';
import { isReady, members, ownershipPercent, type MemberStatus, type Ring } from './ring.js';

const WIDTH = 79;
const rule = (title: string) => {
  const t = ` ${title} `;
  const left = Math.floor((WIDTH - t.length) / 2);
  return '='.repeat(left) + t + '='.repeat(WIDTH - left - t.length);
};
const line = '-'.repeat(WIDTH);
const STATUS_COLOUR: Record<MemberStatus, (s: string) => string> = {
  valid: chalk.green,
  joining: chalk.yellow,
  leaving: chalk.yellow,
  exiting: chalk.magenta,
  down: chalk.red,
  invalid: chalk.gray,
};

/** One row of member_status. Percentages are of the ring (0..100). */
export interface MemberRow {
  readonly node: string;
  readonly status: MemberStatus;
  readonly ringPercent: number;
  /** Share after pending transfers, or null when it will not change. */
  readonly pendingPercent: number | null;
  readonly up: boolean;
}

/** member_status as data: every member but invalid ones, sorted by name. */
export function memberStatusData(ring: Ring, isUp: (node: string) => boolean): MemberRow[] {
  return members(ring).map((node) => {
    const { now, future } = ownershipPercent(ring, node);
    return {
      node,
      status: ring.members[node]?.status ?? 'invalid',
      ringPercent: now,
      pendingPercent: future === now ? null : future,
      up: isUp(node),
    };
  });
}

/** riak's `member_status` table (riak_core_console:member_status/1). */
export function memberStatus(ring: Ring, isUp: (node: string) => boolean): string {
  const rows = memberStatusData(ring, isUp);
  const pct = (p: number) => `${p.toFixed(1)}%`;
  const out = [rule('Membership'), 'Status     Ring    Pending    Node', line];
  for (const r of rows) {
    const status = (STATUS_COLOUR[r.status] ?? String)(r.status.padEnd(10)); // a status from a newer peer: plain
    const pending = r.pendingPercent === null ? '  --  ' : pct(r.pendingPercent).padStart(6);
    const unreachable = r.up ? '' : chalk.red('  (unreachable)');
    out.push(`${status} ${pct(r.ringPercent).padStart(6)}   ${pending}     '${r.node}'${unreachable}`);
  }
  out.push(line);
  const count = (s: MemberStatus) => rows.filter((r) => r.status === s).length;
  out.push(
    `Valid:${count('valid')} / Leaving:${count('leaving')} / Exiting:${count('exiting')} / Joining:${count('joining')} / Down:${count('down')}`,
  );
  return out.join('\n');
}

/** ring_status as data. */
export interface RingStatusData {
  readonly claimant: string;
  readonly claimantUp: boolean;
  readonly ringReady: boolean;
  readonly ringSize: number;
  readonly pending: readonly {
    partition: number;
    owner: string;
    nextOwner: string;
    done: readonly string[];
    status: string;
  }[];
  readonly unreachable: readonly string[];
}

/** ring_status as data; `services` are the vnode services that must hand off each partition. */
export function ringStatusData(ring: Ring, isUp: (node: string) => boolean): RingStatusData {
  return {
    claimant: ring.claimant,
    claimantUp: isUp(ring.claimant),
    ringReady: isReady(ring),
    ringSize: ring.ringSize,
    pending: ring.next.map((t) => ({ ...t })),
    unreachable: members(ring).filter((n) => !isUp(n)),
  };
}

/**
 * riak's `ring_status` (riak_core_console:ring_status/1): claimant, ring ready, pending
 * ownership handoffs grouped by owner → next owner, unreachable nodes.
 * @param services the vnode services each transfer waits on (shown as "Waiting on").
 */
export function ringStatus(ring: Ring, isUp: (node: string) => boolean, services: readonly string[] = []): string {
  const d = ringStatusData(ring, isUp);
  const out = [
    rule('Claimant'),
    `Claimant:  '${d.claimant}'`,
    `Status:     ${d.claimantUp ? chalk.green('up') : chalk.red('down')}`,
    `Ring Ready: ${d.ringReady ? chalk.green('true') : chalk.yellow('false')}`,
    '',
    rule('Ownership Handoff'),
  ];
  if (d.pending.length === 0) out.push('No pending changes.');
  const groups = new Map<string, (typeof d.pending)[number][]>();
  for (const t of d.pending) {
    const key = `${t.owner}\u0000${t.nextOwner}`;
    groups.set(key, [...(groups.get(key) ?? []), t]);
  }
  for (const [key, transfers] of groups) {
    const [owner, nextOwner] = key.split('\u0000');
    out.push(`Owner:      ${owner}`, `Next Owner: ${nextOwner}`, '');
    for (const t of transfers) {
      const waiting = t.status === 'complete' ? [] : services.filter((s) => !t.done.includes(s));
      out.push(
        `Partition: ${t.partition}`,
        `  Waiting on: [${waiting.join(',')}]`,
        `  Complete:   [${t.status === 'complete' ? services.join(',') || 'all' : t.done.join(',')}]`,
      );
    }
    out.push(line);
  }
  out.push('', rule('Unreachable Nodes'));
  if (d.unreachable.length === 0) out.push('All nodes are up and reachable');
  else out.push(`The following nodes are unreachable: ${d.unreachable.map((n) => `'${n}'`).join(', ')}`);
  return out.join('\n');
}

/** The parts of a claimant plan that {@link formatPlan} shows. */
export interface PlanLike {
  readonly changes: readonly { node: string; action: string }[];
  readonly transfers: number;
  readonly ring: Ring;
}

/** A plan in the layout of `riak-admin cluster plan`: staged changes, the resulting membership, transfers. */
export function formatPlan(plan: PlanLike, isUp: (node: string) => boolean): string {
  const out = [rule('Staged Changes'), 'Action         Details(s)', line];
  for (const c of plan.changes) out.push(`${c.action.padEnd(14)} '${c.node}'`);
  if (plan.changes.length === 0) out.push('(none)');
  out.push(line, '', rule('After commit'), memberStatus(plan.ring, isUp), '');
  const pairs = new Map<string, number>();
  for (const t of plan.ring.next) {
    if (t.status === 'complete') continue;
    const key = `'${t.owner}' to '${t.nextOwner}'`;
    pairs.set(key, (pairs.get(key) ?? 0) + 1);
  }
  out.push(`Transfers resulting from cluster changes: ${plan.transfers}`);
  for (const [key, n] of pairs) out.push(`  ${n} transfers from ${key}`);
  return out.join('\n');
}
