/**
 * A test's own check of a ring, independent of the code under test (wire.ts `ringProblem` is
 * what nodes refuse rings with; this is what tests assert afterwards): Q as expected, one owner
 * per partition, known statuses, owners and claimant live members, well-formed transfers.
 */
import { looksLikeRing, members, type Ring } from '../ring.js';

const STATUSES = new Set(['joining', 'valid', 'leaving', 'exiting', 'down', 'invalid']);

/** What is wrong with `ring` for a cluster of `ringSize` partitions; empty when nothing is. */
export function ringViolations(ring: Ring, ringSize: number): string[] {
  if (!looksLikeRing(ring)) return ['not a ring (looksLikeRing is false)'];
  const problems: string[] = [];
  if (ring.ringSize !== ringSize) problems.push(`ringSize ${ring.ringSize}, expected ${ringSize}`);
  if (ring.owners.length !== ringSize) problems.push(`${ring.owners.length} owners, expected ${ringSize}`);
  for (const [name, m] of Object.entries(ring.members))
    if (!STATUSES.has(m.status)) problems.push(`member ${name} has status ${JSON.stringify(m.status)}`);
  const live = new Set(members(ring));
  const strangers = [...new Set(ring.owners.filter((o) => !live.has(o)))];
  if (strangers.length > 0) problems.push(`owners that are not members: ${strangers.join(', ')}`);
  if (!live.has(ring.claimant)) problems.push(`claimant ${ring.claimant} is not a member`);
  for (const t of ring.next as unknown[]) {
    const tr = t as Record<string, unknown> | null;
    if (
      typeof tr !== 'object' ||
      tr === null ||
      !Number.isInteger(tr.partition) ||
      (tr.partition as number) < 0 ||
      (tr.partition as number) >= ring.ringSize ||
      !live.has(tr.owner as string) ||
      !live.has(tr.nextOwner as string)
    )
      problems.push(`bad pending transfer ${JSON.stringify(t)}`);
  }
  return problems;
}
