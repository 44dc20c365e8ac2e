/**
 * The rows of the bench (the table of issue 12, plus get/s and the optional redis row): what
 * each measures, its unit, the anchor it is compared with and the target. Steps add
 * samples to a {@link Results}; report.ts prints and serialises it.
 */
import { ratio, summarize, type Summary, type Unit } from './stats.js';

/** A target of the issue: a minimum ratio to the anchor, or a maximum duration. */
export type Target =
  | { readonly kind: 'min-ratio'; readonly value: number }
  | { readonly kind: 'max-ms'; readonly value: number };

/** The anchors: measured in the same run as the rows that refer to them. */
export const ANCHORS = {
  rpc: 'node→node RPC of the same transport (64 in flight)',
  redis: 'redis-server SET (64 in flight, one connection)',
  fastify: 'bare fastify PUT route, same client (64 connections)',
  ws: 'plain ws + msgpackr between two processes, 64 KiB messages',
  broadcast16: 'one-hop broadcast of the ring (plain ws + msgpackr), 16 peers',
  broadcast32: 'one-hop broadcast of the ring (plain ws + msgpackr), 32 peers',
  broadcast64: 'one-hop broadcast of the ring (plain ws + msgpackr), 64 peers',
  vitest: 'empty vitest run (one empty test)',
} as const;
export type AnchorId = keyof typeof ANCHORS;

/** The note of rows whose step was left out with `--only` (the table lists them on one line). */
export const NOT_RUN = 'not run (--only)';
/** The note of rows `--quick` leaves out. */
export const QUICK_SKIPPED = 'skipped by --quick';

/** The definition of one row. */
export interface RowSpec {
  readonly id: string;
  readonly title: string;
  readonly unit: Unit;
  readonly anchor?: AnchorId;
  readonly target?: Target;
}

const suite = (id: string): RowSpec => ({
  id: `suite-${id}`,
  title: `suite ${id} on its solution`,
  unit: 'ms',
  anchor: 'vitest',
  target: { kind: 'max-ms', value: 3000 },
});

/** Every row, in table order. */
export const ROWS: readonly RowSpec[] = [
  {
    id: 'put',
    title: 'coordinated put n=3 w=2 (64 in flight)',
    unit: 'ops/s',
    anchor: 'rpc',
    target: { kind: 'min-ratio', value: 0.25 },
  },
  { id: 'get', title: 'coordinated get n=3 r=2 (64 in flight)', unit: 'ops/s', anchor: 'rpc' },
  { id: 'put-redis', title: 'coordinated put n=3 w=2 vs redis', unit: 'ops/s', anchor: 'redis' },
  {
    id: 'http-put',
    title: 'HTTP PUT to one node (n=3 w=2)',
    unit: 'ops/s',
    anchor: 'fastify',
    target: { kind: 'min-ratio', value: 0.5 },
  },
  {
    id: 'handoff',
    title: 'handoff byte rate, 1 KiB values',
    unit: 'B/s',
    anchor: 'ws',
    target: { kind: 'min-ratio', value: 0.6 },
  },
  { id: 'gossip-16', title: 'gossip: one join committed → settled, 16 nodes', unit: 'ms', anchor: 'broadcast16' },
  { id: 'gossip-32', title: 'gossip: one join committed → settled, 32 nodes', unit: 'ms', anchor: 'broadcast32' },
  {
    id: 'gossip-64',
    title: 'gossip: one join committed → settled, 64 nodes',
    unit: 'ms',
    anchor: 'broadcast64',
    target: { kind: 'max-ms', value: 1000 },
  },
  {
    id: 'form-64',
    title: 'forming a 64-node cluster (63 joins)',
    unit: 'ms',
    target: { kind: 'max-ms', value: 10_000 },
  },
  ...[8, 16, 32].map(
    (n): RowSpec => ({ id: `room-${n}`, title: `classroom: ${n} node processes join at once → settled`, unit: 'ms' }),
  ),
  { id: 'room-down', title: 'classroom: one node crashed, down, removed → settled', unit: 'ms' },
  ...['ex0', 'ex1', 'ex2', 'ex3', 'ex4', 'ex5', 'ex6', 'ex7'].map(suite),
  { id: 'progress', title: 'npm run progress', unit: 'ms', anchor: 'vitest', target: { kind: 'max-ms', value: 3000 } },
  {
    id: 'solutions',
    title: 'whole npm run test:solutions',
    unit: 'ms',
    anchor: 'vitest',
    target: { kind: 'max-ms', value: 25_000 },
  },
];

/** `≥ 0.25`, `≤ 3 s`. */
export function targetText(t: Target | undefined): string {
  if (!t) return '';
  return t.kind === 'min-ratio' ? `≥ ${t.value}` : t.value >= 1000 ? `≤ ${t.value / 1000} s` : `≤ ${t.value} ms`;
}

/** Whether a row meets its target; undefined without a target or a figure. */
export function targetMet(
  t: Target | undefined,
  figure: number | undefined,
  r: number | undefined,
): boolean | undefined {
  if (!t || figure === undefined) return undefined;
  if (t.kind === 'max-ms') return figure <= t.value;
  return r === undefined ? undefined : r >= t.value;
}

/** One row's outcome. */
export interface RowResult {
  readonly spec: RowSpec;
  readonly samples: readonly number[];
  readonly figure?: Summary;
  readonly anchorSamples: readonly number[];
  readonly anchor?: Summary;
  readonly ratio?: number;
  readonly met?: boolean;
  /** Why the row has no figure (skipped, failed, too slow), or remarks (errors seen). */
  readonly notes: readonly string[];
}

/** Samples gathered during a run, by row and by anchor. */
export class Results {
  private readonly samples = new Map<string, number[]>();
  private readonly anchorSamples = new Map<AnchorId, number[]>();
  private readonly notes = new Map<string, string[]>();

  /**
   * Add a sample of row `id` (in the row's unit).
   * @throws Error for an id that is not in {@link ROWS}.
   */
  add(id: string, value: number): void {
    if (!ROWS.some((r) => r.id === id)) throw new Error(`no bench row "${id}"`);
    let xs = this.samples.get(id);
    if (!xs) this.samples.set(id, (xs = []));
    xs.push(value);
  }

  /** Add a sample of an anchor. */
  addAnchor(id: AnchorId, value: number): void {
    let xs = this.anchorSamples.get(id);
    if (!xs) this.anchorSamples.set(id, (xs = []));
    xs.push(value);
  }

  /** Remark on rows (a skip, a failure, errors seen); said once per text. */
  note(ids: string | readonly string[], text: string): void {
    for (const id of typeof ids === 'string' ? [ids] : ids) {
      let xs = this.notes.get(id);
      if (!xs) this.notes.set(id, (xs = []));
      if (!xs.includes(text)) xs.push(text);
    }
  }

  /** Every row with its medians, ratio and verdict. */
  rows(): RowResult[] {
    return ROWS.map((spec) => {
      const samples = this.samples.get(spec.id) ?? [];
      const anchorSamples = spec.anchor ? (this.anchorSamples.get(spec.anchor) ?? []) : [];
      const figure = summarize(samples);
      const anchor = summarize(anchorSamples);
      const r = spec.anchor ? ratio(figure?.median, anchor?.median) : undefined;
      return {
        spec,
        samples,
        figure,
        anchorSamples,
        anchor,
        ratio: r,
        met: targetMet(spec.target, figure?.median, r),
        notes: this.notes.get(spec.id) ?? [],
      };
    });
  }
}
