/**
 * The ring as a picture: a pure function from a plain description of the ring ({@link RingView})
 * to SVG text, for the live dashboard (dashboard.ts) and for slides made from real scenarios.
 * Riak Control drew the same things (ring ownership, pending transfers, handoffs); riak_core
 * itself only prints them (`riak_core_console:ring_status/1`).
 *
 * Geometry, as riak's consistent hash (chash.ts): the key space [0, 2^160) runs clockwise from
 * the top. Partition p's index is p·2^160/Q, and a hash h belongs to the *next* partition
 * (`((h div inc) + 1) mod Q`), so partition p owns the arc that *ends* at its index: the arc
 * [(p−1)·inc, p·inc). A key's hash point therefore always lies on its partition's arc.
 *
 * What is drawn: one arc per partition coloured by owner (a fixed, colour-blind-friendly
 * palette, Okabe–Ito then Paul Tol's), owners that are unreachable greyed and hatched; inside
 * the arcs, a bar per partition for the items its owner's vnode holds; outside, a band per
 * pending transfer in the next owner's colour (dashed while `awaiting`), and a progress band
 * with an arrowhead per running handoff in the target's colour; small dots for fallback vnodes
 * holding data; optionally a key (its hash point, its partition and preference list, primaries
 * solid and fallbacks dashed) and a coverage plan. A legend lists the members (status, ring %,
 * claimant, down), the running handoffs and the highlighted key.
 *
 * The output is deterministic (no random ids, no clock, numbers rounded), so it can be compared
 * with a snapshot. The input is plain data (JSON-safe: the 160-bit hash travels as 40 hex
 * digits), built from a Ring by {@link ringViewOf} / {@link ringView} / {@link keyView}.
 */
import { getApl, type AplEntry, type UpNodes } from './apl.js';
import { chashKey, hashToHex, partitionIndex, RING_TOP, responsiblePartition } from './chash.js';
import { memberStatusData } from './console.js';
import type { CoverageVnode } from './coverage.js';
import type { RingNode } from './node.js';
import { isReady, type MemberStatus, type Ring } from './ring.js';

/** One member as the picture shows it. Percentages are of the ring (0..100). */
export interface RingViewMember {
  readonly node: string;
  readonly status: MemberStatus;
  /** Reachable from the node that made the view. */
  readonly up: boolean;
  readonly ringPercent: number;
  /** Share once pending transfers complete, or null when it will not change. */
  readonly pendingPercent: number | null;
}

/** A pending ownership transfer (an entry of the ring's `next`): `partition` moves `owner` → `nextOwner`. */
export interface RingViewTransfer {
  readonly partition: number;
  readonly owner: string;
  readonly nextOwner: string;
  /** `awaiting` while data moves, `complete` once every service handed it off (the claimant switches it next). */
  readonly status: 'awaiting' | 'complete';
}

/**
 * A handoff running now (riak: a `riak_core_handoff_sender`): one service's data of
 * `partition` going from `source` to `target`. Counts are items and bytes; rates are averages
 * since the transfer started, per second (undefined when unknown).
 */
export interface RingViewHandoff {
  readonly kind: 'ownership' | 'hinted';
  readonly service: string;
  readonly partition: number;
  readonly source: string;
  readonly target: string;
  /** Items the fold found (the transfer's total), or null when only the receiver was heard from. */
  readonly items: number | null;
  readonly sentItems: number;
  readonly sentBytes: number;
  readonly itemsPerSec?: number;
  readonly bytesPerSec?: number;
}

/** A vnode running on a node that does not own its partition (a fallback, riak's secondary) and holding `items`. */
export interface RingViewFallback {
  readonly partition: number;
  readonly node: string;
  readonly service: string;
  readonly items: number;
}

/** A key placed on the ring: where it hashes and which vnodes hold it (riak: `get_apl_ann/3`). */
export interface RingViewKey {
  readonly key: string;
  /** The bucket it is hashed under: `chashKey(bucket, key)` (the KV store's is `kv`). */
  readonly bucket: string;
  /** SHA-1 of the key's term, 40 lowercase hex digits (0 ≤ hash < 2^160). */
  readonly hash: string;
  /** The partition its preference list starts at (the first after the hash). */
  readonly partition: number;
  /** riak's 160-bit index of that partition, in decimal. */
  readonly index: string;
  /** The replication factor the preference list was built for. */
  readonly n: number;
  /** The first `n` owners from `partition` on, up or not: where the key lives when every node is up. */
  readonly owners: readonly { readonly partition: number; readonly node: string }[];
  /** The active preference list: up primaries, then a fallback for each down primary. */
  readonly preflist: readonly AplEntry[];
}

/** Everything the picture shows. Plain data: build it with {@link ringViewOf}, or by hand for a slide. */
export interface RingView {
  /** Q, a power of two 8..1024. */
  readonly ringSize: number;
  /** `owners[p]`: the node owning partition p (length Q). */
  readonly owners: readonly string[];
  /** Members (invalid ones left out), any order; colours go by sorted name. */
  readonly members: readonly RingViewMember[];
  readonly claimant: string;
  /** riak's `ring_ready`: every member has seen this version. */
  readonly ringReady?: boolean;
  /** Pending transfers (the ring's `next`). */
  readonly next: readonly RingViewTransfer[];
  /** Handoffs running now. */
  readonly handoffs: readonly RingViewHandoff[];
  /** Per partition, the items its owner's vnodes hold (summed over services); null: unknown. */
  readonly items?: readonly (number | null)[];
  /** Fallback vnodes holding data. */
  readonly fallbacks?: readonly RingViewFallback[];
  /** A key to highlight. */
  readonly highlight?: RingViewKey;
  /** A coverage plan to mark (riak: `riak_core_coverage_plan`). */
  readonly coverage?: readonly CoverageVnode[];
}

/** Options of {@link renderRingSvg}. Sizes in px (SVG user units). */
export interface RingSvgOptions {
  /** Width and height of the circle's square (default 560); the legend adds 430 to the width. */
  readonly size?: number;
  /** Draw the legend (default true). */
  readonly legend?: boolean;
  /** A title above the legend, e.g. the node the view was made on. */
  readonly title?: string;
  /**
   * Scale of the legend's text and spacing (default 1): 1.5 or so for a projector, where a
   * picture is shrunk to a slide and 13 px text becomes unreadable. The legend's width grows with it.
   */
  readonly legendScale?: number;
  /** Prefix of the ids inside the SVG (default `ring`): set distinct ones to inline two pictures in one page. */
  readonly idPrefix?: string;
}

/**
 * The owner colours, in order: Okabe & Ito's palette (without black), then Paul Tol's muted
 * scheme, both designed to stay distinguishable with the common colour-vision deficiencies.
 * Node k (by sorted name) gets colour k mod the length.
 */
export const RING_PALETTE: readonly string[] = [
  '#0072B2',
  '#E69F00',
  '#009E73',
  '#CC79A7',
  '#56B4E9',
  '#D55E00',
  '#F0E442',
  '#332288',
  '#44AA99',
  '#999933',
  '#882255',
  '#AA4499',
];

/** Width of the legend, right of the circle (px). */
const LEGEND_WIDTH = 430;

/** Grey for what is unknown or gone. */
const GREY = '#9e9e9e';

/**
 * The colour of every node the view names (members and owners), by sorted name.
 * @returns node → `#rrggbb`.
 */
export function ownerColours(view: Pick<RingView, 'members' | 'owners'>): Map<string, string> {
  const names = [...new Set([...view.members.map((m) => m.node), ...view.owners])].sort();
  return new Map(names.map((n, i) => [n, RING_PALETTE[i % RING_PALETTE.length] as string]));
}

/**
 * The view of `ring` as seen by a node for which `isUp` tells reachability, with what only a
 * running cluster knows (handoffs, item counts, fallbacks, a key, a coverage plan) added from
 * `extra`.
 */
export function ringViewOf(
  ring: Ring,
  isUp: (node: string) => boolean,
  extra: Partial<Pick<RingView, 'handoffs' | 'items' | 'fallbacks' | 'highlight' | 'coverage'>> = {},
): RingView {
  return {
    ringSize: ring.ringSize,
    owners: [...ring.owners],
    members: memberStatusData(ring, isUp),
    claimant: ring.claimant,
    ringReady: isReady(ring),
    next: ring.next.map(({ partition, owner, nextOwner, status }) => ({ partition, owner, nextOwner, status })),
    handoffs: extra.handoffs ?? [],
    ...(extra.items ? { items: extra.items } : {}),
    ...(extra.fallbacks ? { fallbacks: extra.fallbacks } : {}),
    ...(extra.highlight ? { highlight: extra.highlight } : {}),
    ...(extra.coverage ? { coverage: extra.coverage } : {}),
  };
}

/**
 * The view one node has right now, from its own state only: its ring, which nodes it can
 * reach, and the handoffs leaving it (`node.handoff.running()`); `highlight` optional. The
 * dashboard adds other nodes' handoffs and the vnodes' item counts (dashboard.ts).
 */
export function ringView(node: RingNode, highlight?: RingViewKey): RingView {
  const now = Date.now();
  const handoffs = node.handoff.running().map((t) => handoffOf(node.name, t, now));
  return ringViewOf(node.ring, (n) => node.watcher.isUp(n), { handoffs, ...(highlight ? { highlight } : {}) });
}

/**
 * A running outbound transfer of `source` (handoff.ts's `ActiveTransfer`) as the picture shows
 * it, with average rates since `startedAt` (ms since the epoch, as `now`).
 */
export function handoffOf(
  source: string,
  t: {
    kind: 'ownership' | 'hinted';
    service: string;
    partition: number;
    target: string;
    startedAt: number;
    items: number;
    sentItems: number;
    sentBytes: number;
  },
  now: number,
): RingViewHandoff {
  return {
    kind: t.kind,
    service: t.service,
    partition: t.partition,
    source,
    target: t.target,
    items: t.items,
    sentItems: t.sentItems,
    sentBytes: t.sentBytes,
    itemsPerSec: perSecond(t.sentItems, t.startedAt, now),
    bytesPerSec: perSecond(t.sentBytes, t.startedAt, now),
  };
}

/** `count` over the seconds from `startedAt` to `now` (both `Date.now()` ms; at least 1 ms), for handoff rates. */
export function perSecond(count: number, startedAt: number, now: number): number {
  return count / Math.max(0.001, (now - startedAt) / 1000);
}

/**
 * Where `key` (hashed under `bucket`, as `chashKey(bucket, key)`) lives on `ring` with
 * replication `n`, with `up` the reachable nodes (offering the key's service): its hash, its
 * partition, the first `n` owners and the active preference list (riak: `get_apl_ann/3`).
 * @throws RangeError if n is not an integer in 1..Q.
 */
export function keyView(ring: Ring, up: UpNodes, key: string, opts: { bucket?: string; n?: number } = {}): RingViewKey {
  const bucket = opts.bucket ?? 'kv';
  const n = opts.n ?? 3;
  const hash = chashKey(bucket, key);
  const q = ring.ringSize;
  const partition = responsiblePartition(hash, q);
  const preflist = getApl(ring, { hash }, n, up);
  const owners = Array.from({ length: n }, (_, i) => {
    const p = (partition + i) % q;
    return { partition: p, node: ring.owners[p] as string };
  });
  return {
    key,
    bucket,
    hash: hashToHex(hash),
    partition,
    index: partitionIndex(partition, q).toString(),
    n,
    owners,
    preflist,
  };
}

// --- drawing -------------------------------------------------------------------------------

/** A number for SVG text: at most 2 decimals, no trailing zeros (deterministic). */
const num = (x: number): string => {
  const s = x.toFixed(2);
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
};

/** XML-escape text and attribute values. */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** `1234` → `1.2k`, for counts and rates in a small space. */
function short(x: number): string {
  if (x < 1000) return num(Math.round(x));
  if (x < 1e6) return `${num(Math.round(x / 100) / 10)}k`;
  return `${num(Math.round(x / 1e5) / 10)}M`;
}

/** Bytes as B / KiB / MiB. */
function bytes(x: number): string {
  if (x < 1024) return `${Math.round(x)} B`;
  if (x < 1024 * 1024) return `${num(Math.round((x / 1024) * 10) / 10)} KiB`;
  return `${num(Math.round((x / 1024 / 1024) * 10) / 10)} MiB`;
}

/** The short name of a node for labels: `dev1@127.0.0.1` → `dev1`. */
const shortName = (node: string) => node.split('@')[0] ?? node;

class Geometry {
  readonly cx: number;
  readonly cy: number;
  /** Outer and inner radius of the partition arcs. */
  readonly r: number;
  readonly rIn: number;
  /** Where the item bars start (they grow outwards to rIn). */
  readonly rBar: number;

  constructor(
    readonly q: number,
    size: number,
  ) {
    this.cx = size / 2;
    this.cy = size / 2;
    this.r = size / 2 - 48;
    this.rIn = this.r * 0.74;
    this.rBar = this.r * 0.44;
  }

  /** Angle (radians, 0 at the top, clockwise) of key-space position `pos` in partitions (0..Q). */
  angle(pos: number): number {
    return (pos / this.q) * 2 * Math.PI - Math.PI / 2;
  }

  point(pos: number, radius: number): [number, number] {
    const a = this.angle(pos);
    return [this.cx + radius * Math.cos(a), this.cy + radius * Math.sin(a)];
  }

  /** An annular sector from key-space position `from` to `to` (in partitions, clockwise), radii r1 < r2. */
  sector(from: number, to: number, r1: number, r2: number): string {
    const [x1, y1] = this.point(from, r2);
    const [x2, y2] = this.point(to, r2);
    const [x3, y3] = this.point(to, r1);
    const [x4, y4] = this.point(from, r1);
    const large = to - from > this.q / 2 ? 1 : 0;
    return (
      `M${num(x1)} ${num(y1)}A${num(r2)} ${num(r2)} 0 ${large} 1 ${num(x2)} ${num(y2)}` +
      `L${num(x3)} ${num(y3)}A${num(r1)} ${num(r1)} 0 ${large} 0 ${num(x4)} ${num(y4)}Z`
    );
  }

  /** Partition p's arc: from its predecessor's index to its own (the hashes it is responsible for). */
  span(p: number): [number, number] {
    return [p - 1, p];
  }
}

/**
 * The ring of `view` as SVG text (a complete `<svg>` element, UTF-8, no external references).
 * Elements carry classes and `data-` attributes for scripts and tests: `path.arc`
 * (`data-partition`, `data-owner`, class `down` when the owner is unreachable), `path.transfer`,
 * `path.handoff`, `circle.fallback`, `path.pref` (class `primary` or `fallback`, `data-node`),
 * `circle.key-point`, `circle.cover`, `g.legend-member` (`data-node`).
 * @throws RangeError if `view.owners` does not have `view.ringSize` entries.
 */
export function renderRingSvg(view: RingView, opts: RingSvgOptions = {}): string {
  const q = view.ringSize;
  if (view.owners.length !== q) throw new RangeError(`owners has ${view.owners.length} entries for a ring of ${q}`);
  const size = opts.size ?? 560;
  const legend = opts.legend ?? true;
  const id = opts.idPrefix ?? 'ring';
  const g = new Geometry(q, size);
  const colours = ownerColours(view);
  const colour = (n: string) => colours.get(n) ?? GREY;
  const up = new Map(view.members.map((m) => [m.node, m.up]));
  const isUp = (n: string) => up.get(n) ?? false;
  const out: string[] = [];

  // Partition arcs, coloured by owner; unreachable owners faded and hatched.
  out.push('<g class="arcs">');
  const items = view.items ?? [];
  for (let p = 0; p < q; p++) {
    const owner = view.owners[p] as string;
    const [from, to] = g.span(p);
    const down = !isUp(owner);
    const count = items[p];
    const tip = `partition ${p} (index ${partitionIndex(p, q)}): ${owner}${down ? ' (unreachable)' : ''}${count === undefined || count === null ? '' : `, ${count} items`}`;
    out.push(
      `<path class="arc${down ? ' down' : ''}" data-partition="${p}" data-owner="${escapeXml(owner)}" d="${g.sector(from, to, g.rIn, g.r)}" fill="${colour(owner)}"${down ? ' fill-opacity="0.35"' : ''} stroke="#fff" stroke-width="1"><title>${escapeXml(tip)}</title></path>`,
    );
    if (down) out.push(`<path class="hatch" d="${g.sector(from, to, g.rIn, g.r)}" fill="url(#${id}-hatch)"/>`);
  }
  out.push('</g>');

  // Item bars: how much each partition's owner holds, scaled to the fullest partition.
  const known = items.filter((x): x is number => typeof x === 'number');
  const most = Math.max(0, ...known);
  if (most > 0) {
    out.push('<g class="items">');
    for (let p = 0; p < q; p++) {
      const count = items[p];
      if (typeof count !== 'number' || count === 0) continue;
      const [from, to] = g.span(p);
      const len = ((g.rIn - 4 - g.rBar) * count) / most;
      out.push(
        `<path class="bar" data-partition="${p}" d="${g.sector(from + 0.15, to - 0.15, g.rBar, g.rBar + Math.max(1, len))}" fill="${colour(view.owners[p] as string)}" fill-opacity="0.8"><title>partition ${p}: ${count} items</title></path>`,
      );
    }
    out.push('</g>');
  }

  // Pending transfers: a band just outside the arc in the next owner's colour (faint and dashed while awaiting).
  if (view.next.length > 0) {
    out.push('<g class="transfers">');
    for (const t of view.next) {
      const [from, to] = g.span(t.partition);
      out.push(
        `<path class="transfer ${t.status}" data-partition="${t.partition}" data-next-owner="${escapeXml(t.nextOwner)}" d="${g.sector(from + 0.08, to - 0.08, g.r + 3, g.r + 12)}" fill="${colour(t.nextOwner)}"${t.status === 'complete' ? '' : ' fill-opacity="0.45"'} stroke="${colour(t.nextOwner)}" stroke-width="1.5"${t.status === 'awaiting' ? ' stroke-dasharray="3 2"' : ''}><title>${escapeXml(`partition ${t.partition}: ${t.owner} → ${t.nextOwner} (${t.status})`)}</title></path>`,
      );
    }
    out.push('</g>');
  }

  // Running handoffs: a progress band in the target's colour, with an arrowhead at its tip.
  if (view.handoffs.length > 0) {
    out.push('<g class="handoffs">');
    for (const h of view.handoffs) {
      const [from, to] = g.span(h.partition);
      const done = h.items ? Math.min(1, h.sentItems / h.items) : 0.5;
      const tip = from + 0.08 + (to - from - 0.16) * Math.max(0.05, done);
      const [ax, ay] = g.point(tip, g.r + 17);
      const [bx, by] = g.point(tip - 0.25, g.r + 12);
      const [cx, cy] = g.point(tip - 0.25, g.r + 22);
      out.push(
        `<path class="handoff ${h.kind}" data-partition="${h.partition}" data-source="${escapeXml(h.source)}" data-target="${escapeXml(h.target)}" d="${g.sector(from + 0.08, tip, g.r + 13, g.r + 21)}" fill="${colour(h.target)}"><title>${escapeXml(handoffText(h))}</title></path>`,
        `<path class="handoff-head" d="M${num(ax)} ${num(ay)}L${num(bx)} ${num(by)}L${num(cx)} ${num(cy)}Z" fill="${colour(h.target)}" stroke="#333" stroke-width="0.5"/>`,
      );
    }
    out.push('</g>');
  }

  // Fallback vnodes holding data: a dot in the host's colour just inside the arc.
  if (view.fallbacks && view.fallbacks.length > 0) {
    out.push('<g class="fallbacks">');
    const seen = new Map<number, number>();
    for (const f of view.fallbacks) {
      const k = seen.get(f.partition) ?? 0;
      seen.set(f.partition, k + 1);
      const [x, y] = g.point(f.partition - 0.5, g.rIn - 7 - 9 * k);
      out.push(
        `<circle class="fallback" data-partition="${f.partition}" data-node="${escapeXml(f.node)}" cx="${num(x)}" cy="${num(y)}" r="3.5" fill="${colour(f.node)}" stroke="#222" stroke-width="1"><title>${escapeXml(`fallback: ${f.service} partition ${f.partition} on ${f.node}, ${f.items} items`)}</title></circle>`,
      );
    }
    out.push('</g>');
  }

  // A coverage plan: a ring mark on each vnode asked.
  if (view.coverage && view.coverage.length > 0) {
    out.push('<g class="coverage">');
    // As large as the arc allows (3..8 px): 6.5 px at Q = 64, still a dot on a projected slide.
    const mark = Math.max(3, Math.min(8, ((Math.PI * (g.r + g.rIn)) / q) * 0.33));
    for (const c of view.coverage) {
      const [x, y] = g.point(c.partition - 0.5, (g.r + g.rIn) / 2);
      out.push(
        `<circle class="cover" data-partition="${c.partition}" data-node="${escapeXml(c.node)}" cx="${num(x)}" cy="${num(y)}" r="${num(mark)}" fill="#fff" stroke="#000" stroke-width="2"><title>${escapeXml(`coverage: partition ${c.partition} on ${c.node} answers for ${c.keyspaces.length} key spaces`)}</title></circle>`,
      );
    }
    out.push('</g>');
  }

  // The highlighted key: its preference list outlined, its hash point, a line from the centre.
  const h = view.highlight;
  if (h) {
    out.push('<g class="highlight">');
    // Labels as large as the arc's width allows (9..15 px): 13 px at Q = 64, legible on a slide.
    const labelSize = Math.max(9, Math.min(15, ((2 * Math.PI * (g.r - 14)) / q) * 0.62));
    h.preflist.forEach((e, i) => {
      const [from, to] = g.span(e.partition);
      out.push(
        `<path class="pref ${e.type}" data-partition="${e.partition}" data-node="${escapeXml(e.node)}" d="${g.sector(from, to, g.rIn, g.r)}" fill="none" stroke="#000" stroke-width="3.5"${e.type === 'fallback' ? ' stroke-dasharray="6 3"' : ''}><title>${escapeXml(`${i + 1}. ${e.type} partition ${e.partition} on ${e.node}`)}</title></path>`,
      );
      const [lx, ly] = g.point(e.partition - 0.5, g.r - 14);
      out.push(
        `<text class="pref-label" x="${num(lx)}" y="${num(ly)}" text-anchor="middle" dominant-baseline="central" font-size="${num(labelSize)}" font-weight="bold" fill="#fff" stroke="#000" stroke-width="3" paint-order="stroke">${e.type === 'fallback' ? 'F' : i + 1}</text>`,
      );
    });
    const pos = (Number((BigInt(`0x${h.hash}`) * 1_000_000n) / RING_TOP) / 1_000_000) * q;
    const [kx, ky] = g.point(pos, g.r + 30);
    const [ex, ey] = g.point(pos, g.rBar - 6);
    out.push(
      `<line class="key-line" x1="${num(ex)}" y1="${num(ey)}" x2="${num(kx)}" y2="${num(ky)}" stroke="#000" stroke-width="1.5" stroke-dasharray="4 3"/>`,
      `<circle class="key-point" data-partition="${h.partition}" cx="${num(kx)}" cy="${num(ky)}" r="6" fill="#000"><title>${escapeXml(`${h.bucket}/${h.key}: hash ${h.hash}, partition ${h.partition}`)}</title></circle>`,
    );
    out.push('</g>');
  }

  // The centre: Q, members, readiness.
  const valid = view.members.filter((m) => m.status !== 'invalid').length;
  out.push(
    `<text x="${num(g.cx)}" y="${num(g.cy - 10)}" text-anchor="middle" font-size="22" font-weight="bold">Q = ${q}</text>`,
    `<text x="${num(g.cx)}" y="${num(g.cy + 14)}" text-anchor="middle" font-size="13">${valid} member${valid === 1 ? '' : 's'}${view.ringReady === undefined ? '' : view.ringReady ? ' · ring ready' : ' · ring not ready'}</text>`,
  );
  if (view.next.length > 0) {
    const awaiting = view.next.filter((t) => t.status === 'awaiting').length;
    out.push(
      `<text x="${num(g.cx)}" y="${num(g.cy + 32)}" text-anchor="middle" font-size="12">${view.next.length} pending (${awaiting} awaiting)</text>`,
    );
  }

  const k = opts.legendScale ?? 1;
  if (!(k > 0)) throw new RangeError(`legendScale must be positive, got ${k}`);
  const width = legend ? size + LEGEND_WIDTH * k : size;
  let height = size;
  if (legend) {
    // Drawn at scale 1 and scaled as a whole, so text, swatches and line spacing stay in proportion.
    const { svg, bottom } = legendSvg(view, colours, (size + 10) / k, opts.title);
    out.push(k === 1 ? svg : `<g transform="scale(${num(k)})">\n${svg}\n</g>`);
    height = Math.max(size, (bottom + 10) * k);
  }

  const label = `ring of ${q} partitions owned by ${colours.size} node${colours.size === 1 ? '' : 's'}`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" class="ring-svg" viewBox="0 0 ${num(width)} ${num(height)}" width="${num(width)}" height="${num(height)}" role="img" aria-label="${escapeXml(label)}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif">`,
    `<defs><pattern id="${id}-hatch" patternUnits="userSpaceOnUse" width="6" height="6" patternTransform="rotate(45)"><rect width="6" height="6" fill="#e0e0e0" fill-opacity="0.5"/><line x1="0" y1="0" x2="0" y2="6" stroke="#555" stroke-width="1.5"/></pattern></defs>`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    ...out,
    '</svg>',
  ].join('\n');
}

/** One line about a running handoff, e.g. `kv p12 dev2 → dev1 120/500 items, 34 KiB, 1.2k items/s`. */
export function handoffText(h: RingViewHandoff): string {
  const of = h.items === null ? '' : `/${h.items}`;
  const rate = h.itemsPerSec === undefined ? '' : `, ${short(h.itemsPerSec)} items/s`;
  return `${h.kind} ${h.service} p${h.partition} ${shortName(h.source)} → ${shortName(h.target)}: ${h.sentItems}${of} items, ${bytes(h.sentBytes)}${rate}`;
}

/** The legend at x = `left`: members, then handoffs, the coverage plan, the highlighted key. */
function legendSvg(
  view: RingView,
  colours: Map<string, string>,
  left: number,
  title: string | undefined,
): { svg: string; bottom: number } {
  const out: string[] = ['<g class="legend">'];
  let y = 28;
  // 13 px unless `extra` sets a size: an attribute given twice makes the SVG invalid XML
  // (an inline SVG in HTML forgives it, an .svg file or <img> does not).
  const text = (x: number, s: string, extra = '') =>
    out.push(
      `<text x="${num(x)}" y="${num(y)}"${extra.includes('font-size=') ? '' : ' font-size="13"'}${extra}>${escapeXml(s)}</text>`,
    );
  if (title) {
    text(left, title, ' font-weight="bold" font-size="15"');
    y += 24;
  }
  text(left, 'members', ' font-weight="bold"');
  y += 20;
  const members = new Map(view.members.map((m) => [m.node, m]));
  for (const [node, c] of colours) {
    const m = members.get(node);
    const down = !(m?.up ?? false);
    out.push(`<g class="legend-member${down ? ' down' : ''}" data-node="${escapeXml(node)}">`);
    out.push(
      `<rect x="${num(left)}" y="${num(y - 11)}" width="14" height="14" fill="${c}"${down ? ' fill-opacity="0.35"' : ''} stroke="#333" stroke-width="0.5"/>`,
    );
    const pct = m ? `${num(m.ringPercent)}%${m.pendingPercent === null ? '' : ` → ${num(m.pendingPercent)}%`}` : '';
    const status = m ? m.status : 'not a member';
    const star = node === view.claimant ? ' ★' : '';
    text(left + 20, `${node}${star}  ${status}${down ? ' (unreachable)' : ''}  ${pct}`, down ? ' fill="#777"' : '');
    out.push('</g>');
    y += 20;
  }
  out.push(
    `<text x="${num(left)}" y="${num(y)}" font-size="11" fill="#555">★ claimant · hatched: unreachable · outer band: pending transfer</text>`,
  );
  y += 26;
  if (view.handoffs.length > 0) {
    text(left, `handoffs running (${view.handoffs.length})`, ' font-weight="bold"');
    y += 18;
    for (const h of view.handoffs.slice(0, 12)) {
      out.push(
        `<rect x="${num(left)}" y="${num(y - 9)}" width="10" height="10" fill="${colours.get(h.target) ?? GREY}"/>`,
      );
      out.push(`<text x="${num(left + 16)}" y="${num(y)}" font-size="11">${escapeXml(handoffText(h))}</text>`);
      y += 16;
    }
    if (view.handoffs.length > 12) {
      text(left, `… and ${view.handoffs.length - 12} more`, ' font-size="11"');
      y += 16;
    }
    y += 10;
  }
  if (view.coverage && view.coverage.length > 0) {
    const spaces = view.coverage.reduce((a, c) => a + c.keyspaces.length, 0);
    text(left, `coverage plan: ${view.coverage.length} vnodes (○)`, ' font-weight="bold"');
    y += 18;
    text(left, `together they answer for ${spaces} key spaces, each once`, ' font-size="11"');
    y += 26;
  }
  const h = view.highlight;
  if (h) {
    text(left, `key ${h.bucket}/${h.key}`, ' font-weight="bold"');
    y += 18;
    text(left, `hash ${h.hash.slice(0, 12)}…  partition ${h.partition}`, ' font-size="11"');
    y += 16;
    h.preflist.forEach((e, i) => {
      text(
        left,
        `${i + 1}. ${e.type === 'primary' ? 'primary ' : 'fallback'} p${e.partition} on ${e.node}`,
        ' font-size="11"',
      );
      y += 16;
    });
    if (h.preflist.length < h.n) {
      text(left, `only ${h.preflist.length} of n = ${h.n} reachable`, ' font-size="11" fill="#b00"');
      y += 16;
    }
  }
  out.push('</g>');
  return { svg: out.join('\n'), bottom: y };
}
