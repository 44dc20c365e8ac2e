// The ring picture (ring_svg.ts): one arc per partition coloured by owner, transfers and
// handoffs marked, a key's preference list highlighted, the same text for the same view.
import { describe, expect, it } from 'vitest';
import { elements } from '../harness/svg.js';
import { chashKey, responsiblePartition } from '../chash.js';
import { claim } from '../claim.js';
import { coveragePlan } from '../coverage.js';
import { fresh, setMember, type Ring } from '../ring.js';
import {
  escapeXml,
  keyView,
  ownerColours,
  RING_PALETTE,
  renderRingSvg,
  ringViewOf,
  type RingView,
} from '../ring_svg.js';

const NODES = ['dev1@127.0.0.1', 'dev2@127.0.0.1', 'dev3@127.0.0.1'];

/** A settled ring of `q` partitions claimed by NODES (no randomness: claim is deterministic). */
function ringOf(q: number, nodes = NODES): Ring {
  let ring = fresh(q, nodes[0]!, '127.0.0.1:1');
  for (const n of nodes.slice(1)) ring = setMember(ring, nodes[0]!, n, 'valid', '127.0.0.1:2');
  return { ...ring, owners: claim(ring.owners, nodes) };
}

describe('renderRingSvg', () => {
  it.each([8, 64, 256])('draws Q = %i arcs, each in its owner’s colour, one colour per owner', (q) => {
    const ring = ringOf(q);
    const svg = renderRingSvg(ringViewOf(ring, () => true));
    const arcs = elements(svg, 'path', 'arc');
    expect(arcs).toHaveLength(q);
    expect(arcs.map((a) => Number(a['data-partition']))).toEqual([...Array(q).keys()]);
    const colours = ownerColours(ringViewOf(ring, () => true));
    for (const a of arcs) {
      expect(a['data-owner']).toBe(ring.owners[Number(a['data-partition'])]);
      expect(a.fill).toBe(colours.get(a['data-owner']!));
    }
    const byOwner = new Map(arcs.map((a) => [a['data-owner'], a.fill]));
    expect(new Set(byOwner.values()).size).toBe(NODES.length);
    // Colours go by sorted name, from the fixed palette.
    expect(NODES.map((n) => colours.get(n))).toEqual(RING_PALETTE.slice(0, 3));
    expect(elements(svg, 'g', 'legend-member').map((g) => g['data-node'])).toEqual(NODES);
  });

  it('is deterministic: the same view gives the same text, with no random ids', () => {
    const ring = ringOf(32);
    const view = ringViewOf(ring, (n) => n !== NODES[2], {
      highlight: keyView(ring, NODES.slice(0, 2), 'k1'),
    });
    const a = renderRingSvg(view);
    expect(renderRingSvg(structuredClone(view))).toBe(a);
    expect([...a.matchAll(/id="([^"]+)"/g)].map((m) => m[1])).toEqual(['ring-hatch']);
    expect(renderRingSvg(view, { idPrefix: 'other' })).toContain('id="other-hatch"');
  });

  it('greys the arcs of unreachable owners and says so in the legend', () => {
    const ring = ringOf(16);
    const down = NODES[1]!;
    const svg = renderRingSvg(ringViewOf(ring, (n) => n !== down));
    const arcs = elements(svg, 'path', 'arc');
    const greyed = arcs.filter((a) => a.class!.includes('down'));
    expect(greyed.map((a) => a['data-owner'])).toEqual(ring.owners.filter((o) => o === down));
    for (const a of greyed) expect(a['fill-opacity']).toBe('0.35');
    expect(elements(svg, 'path', 'hatch')).toHaveLength(greyed.length);
    expect(elements(svg, 'g', 'legend-member').find((g) => g['data-node'] === down)?.class).toContain('down');
  });

  it('highlights a key: its hash point, its partition, primaries solid and fallbacks dashed', () => {
    const ring = ringOf(16);
    const down = ring.owners[responsiblePartition(chashKey('kv', 'k1'), 16)]!; // the key's first primary
    const up = NODES.filter((n) => n !== down);
    const key = keyView(ring, up, 'k1', { n: 3 });
    expect(key.partition).toBe(responsiblePartition(chashKey('kv', 'k1'), 16));
    expect(key.hash).toBe(chashKey('kv', 'k1').toString(16).padStart(40, '0'));
    expect(key.owners.map((o) => o.partition)).toEqual([0, 1, 2].map((i) => (key.partition + i) % 16));
    const svg = renderRingSvg(ringViewOf(ring, (n) => n !== down, { highlight: key }));
    expect(elements(svg, 'circle', 'key-point')).toEqual([
      expect.objectContaining({ 'data-partition': String(key.partition) }),
    ]);
    const primaries = elements(svg, 'path', 'primary');
    const fallbacks = elements(svg, 'path', 'fallback');
    expect(primaries.map((p) => p['data-node'])).toEqual(
      key.preflist.filter((e) => e.type === 'primary').map((e) => e.node),
    );
    expect(fallbacks.length).toBeGreaterThan(0);
    for (const f of fallbacks) {
      expect(f['stroke-dasharray']).toBeDefined();
      expect(f['data-node']).not.toBe(down);
    }
    expect(primaries.length + fallbacks.length).toBe(3);
    expect(primaries.every((p) => p['stroke-dasharray'] === undefined)).toBe(true);
  });

  it('puts the key’s hash point on its own partition’s arc', () => {
    // Partition p owns the hashes [(p-1)·2^160/Q, p·2^160/Q): the arc that ends at its index.
    const q = 8;
    const ring = ringOf(q);
    for (const k of ['a', 'b', 'c', 'hello', 'k1', 'k2', 'zebra']) {
      const key = keyView(ring, NODES, k);
      const svg = renderRingSvg(
        ringViewOf(ring, () => true, { highlight: key }),
        { legend: false, size: 400 },
      );
      const point = elements(svg, 'circle', 'key-point')[0]!;
      const angle = Math.atan2(Number(point.cy) - 200, Number(point.cx) - 200); // clockwise from +x
      const turn = ((((angle + Math.PI / 2) / (2 * Math.PI)) % 1) + 1) % 1; // clockwise from the top
      expect(Math.floor(turn * q) + 1).toBe(key.partition === 0 ? q : key.partition);
    }
  });

  it('marks pending transfers, running handoffs (with progress) and fallbacks; the legend lists the handoffs', () => {
    const ring = ringOf(16);
    const view: RingView = {
      ...ringViewOf(ring, () => true),
      next: [
        { partition: 3, owner: ring.owners[3]!, nextOwner: NODES[2]!, status: 'awaiting' },
        { partition: 5, owner: ring.owners[5]!, nextOwner: NODES[0]!, status: 'complete' },
      ],
      handoffs: [
        {
          kind: 'ownership',
          service: 'kv',
          partition: 3,
          source: ring.owners[3]!,
          target: NODES[2]!,
          items: 400,
          sentItems: 100,
          sentBytes: 20_480,
          itemsPerSec: 1500,
          bytesPerSec: 300_000,
        },
      ],
      fallbacks: [{ partition: 7, node: NODES[1]!, service: 'kv', items: 12 }],
      items: ring.owners.map((_, p) => p * 10),
    };
    const svg = renderRingSvg(view);
    const transfers = elements(svg, 'path', 'transfer');
    expect(transfers.map((t) => [t['data-partition'], t.class])).toEqual([
      ['3', 'transfer awaiting'],
      ['5', 'transfer complete'],
    ]);
    const colours = ownerColours(view);
    expect(transfers[0]!.stroke).toBe(colours.get(NODES[2]!));
    // Filled in the next owner's colour, faint while awaiting, so it shows on a projector too.
    expect(transfers.map((t) => [t.fill, t['fill-opacity']])).toEqual([
      [colours.get(NODES[2]!), '0.45'],
      [colours.get(NODES[0]!), undefined],
    ]);
    const handoff = elements(svg, 'path', 'handoff')[0]!;
    expect(handoff).toMatchObject({ 'data-partition': '3', 'data-target': NODES[2], fill: colours.get(NODES[2]!) });
    expect(svg).toContain('ownership kv p3 ');
    expect(svg).toContain('100/400 items, 20 KiB, 1.5k items/s');
    expect(elements(svg, 'circle', 'fallback')).toEqual([
      expect.objectContaining({ 'data-partition': '7', 'data-node': NODES[1] }),
    ]);
    // Item bars for every partition holding something (partition 0 holds none).
    expect(elements(svg, 'path', 'bar').map((b) => Number(b['data-partition']))).toEqual(
      [...Array(16).keys()].slice(1),
    );
  });

  it('escapes names and keys', () => {
    expect(escapeXml(`<a href="x">&'`)).toBe('&#60;a href=&#34;x&#34;&#62;&#38;&#39;');
    const ring = ringOf(8, ['a<b>@h', 'c&d@h']);
    const svg = renderRingSvg(
      ringViewOf(ring, () => true, { highlight: keyView(ring, ['a<b>@h', 'c&d@h'], '<script>') }),
    );
    expect(svg).not.toContain('<script>');
    expect(svg).not.toContain('a<b>');
    expect(svg).toContain('a&#60;b&#62;@h');
  });

  it('gives no attribute twice (an .svg file shown by <img> must be well-formed XML), legend included', () => {
    const ring = ringOf(16);
    const view = ringViewOf(ring, (n) => n !== NODES[1], {
      highlight: keyView(ring, [NODES[0]!, NODES[2]!], 'k1'),
      coverage: coveragePlan(ring, 3, [NODES[0]!, NODES[2]!]),
    });
    for (const svg of [renderRingSvg(view, { title: 'a title' }), renderRingSvg(view, { legendScale: 1.5 })])
      for (const m of svg.matchAll(/<[a-z]+((?:\s+[\w-]+="[^"]*")*)\s*\/?>/g)) {
        const names = [...m[1]!.matchAll(/([\w-]+)="/g)].map((a) => a[1]);
        expect(names, m[0]).toEqual([...new Set(names)]);
      }
  });

  it('scales the legend for a projector (legendScale), wider by as much, the circle unchanged', () => {
    const view = ringViewOf(ringOf(16), () => true);
    const plain = renderRingSvg(view, { size: 500 });
    const big = renderRingSvg(view, { size: 500, legendScale: 1.5 });
    expect(plain).toMatch(/viewBox="0 0 930 500"/);
    expect(big).toMatch(/viewBox="0 0 1145 500"/);
    expect(big).toContain('<g transform="scale(1.5)">');
    expect(elements(big, 'path', 'arc').map((a) => a.d)).toEqual(elements(plain, 'path', 'arc').map((a) => a.d));
    expect(() => renderRingSvg(view, { legendScale: 0 })).toThrow(RangeError);
  });

  it('names the coverage plan in the legend', () => {
    const ring = ringOf(16);
    const plan = coveragePlan(ring, 3, NODES);
    const svg = renderRingSvg(ringViewOf(ring, () => true, { coverage: plan }));
    expect(elements(svg, 'circle', 'cover')).toHaveLength(plan.length);
    expect(svg).toContain(`coverage plan: ${plan.length} vnodes (○)`);
    expect(svg).toContain('together they answer for 16 key spaces, each once');
  });

  it('refuses a view whose owners do not match its ring size', () => {
    const view = ringViewOf(ringOf(8), () => true);
    expect(() => renderRingSvg({ ...view, owners: view.owners.slice(1) })).toThrow(RangeError);
  });
});
