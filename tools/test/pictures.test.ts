// The ring pictures of the slides and READMEs (tools/pictures.ts, docs/img/ring-*.svg): each
// committed file is well-formed and shows what it should, and is exactly what `npm run pictures`
// makes now from its scenarios (two in-process clusters), so a change to the renderer or the
// runtime that changes a picture fails here until the pictures are regenerated and committed.
import { describe, expect, it } from 'vitest';
import { elements } from '../../shared/harness/svg.js';
import { coveragePlan } from '../../shared/coverage.js';
import { claim } from '../../shared/claim.js';
import { fresh, setMember } from '../../shared/ring.js';
import { keyView } from '../../shared/ring_svg.js';
import { makePictures, PICTURE_KEY, readPicture, xmlProblems } from '../pictures.js';

const NAMES = ['ring-3nodes.svg', 'ring-key.svg', 'ring-coverage.svg', 'ring-fallback.svg', 'ring-join.svg'];

/** The committed picture `name`; fails the test if it is missing. */
function picture(name: string): string {
  const svg = readPicture(name);
  if (svg === undefined) throw new Error(`docs/img/${name} is missing: run npm run pictures and commit it`);
  return svg;
}

/** The ring the scenarios form: dev1 claims, dev2 and dev3 join in one commit (claim is deterministic). */
function threeNodeRing() {
  const nodes = ['dev1@127.0.0.1', 'dev2@127.0.0.1', 'dev3@127.0.0.1'];
  let ring = fresh(64, nodes[0]!, '127.0.0.1:1');
  for (const n of nodes.slice(1)) ring = setMember(ring, nodes[0]!, n, 'valid', '127.0.0.1:2');
  return { ...ring, owners: claim(ring.owners, nodes) };
}

describe('xmlProblems', () => {
  it('finds what makes an SVG file unreadable for <img>, and nothing in good text', () => {
    expect(xmlProblems('<svg a="1"><g><title>a &amp; b &#8594;</title></g><path d="M0 0"/></svg>')).toEqual([]);
    expect(xmlProblems('<svg><text font-size="1" font-size="2">x</text></svg>')[0]).toMatch(/font-size twice/);
    expect(xmlProblems('<svg><g></svg>')[0]).toMatch(/closes <g>/);
    expect(xmlProblems('<svg>a & b</svg>')).toEqual(['at 7: a bare &']);
    expect(xmlProblems('<svg/><svg/>')).toEqual(['2 root elements']);
  });
});

describe('the committed ring pictures (docs/img/ring-*.svg)', () => {
  it.each(NAMES)('%s exists, is well-formed, and has the 64 arcs of Q = 64 with short node names', (name) => {
    const svg = picture(name);
    expect(xmlProblems(svg)).toEqual([]);
    const arcs = elements(svg, 'path', 'arc');
    expect(arcs.map((a) => Number(a['data-partition']))).toEqual([...Array(64).keys()]);
    expect(new Set(arcs.map((a) => a['data-owner']))).toEqual(new Set(['dev1', 'dev2', 'dev3']));
    expect(svg).not.toMatch(/127\.0\.0\.1|:\d{4,5}\b/); // no host, no port
  });

  it('ring-key.svg: alpha’s hash point and its three primaries, in the partitions the runtime computes', () => {
    const svg = picture('ring-key.svg');
    const ring = threeNodeRing();
    const key = keyView(ring, ring.owners, PICTURE_KEY);
    expect(elements(svg, 'circle', 'key-point').map((c) => Number(c['data-partition']))).toEqual([key.partition]);
    expect(elements(svg, 'path', 'pref').map((p) => [p.class, Number(p['data-partition']), p['data-node']])).toEqual(
      key.preflist.map((e) => [`pref ${e.type}`, e.partition, e.node.split('@')[0]]),
    );
  });

  it('ring-fallback.svg: dev2 greyed, alpha’s list with a fallback for it, the fallback holding alpha', () => {
    const svg = picture('ring-fallback.svg');
    const ring = threeNodeRing();
    const up = ['dev1@127.0.0.1', 'dev3@127.0.0.1'];
    const key = keyView(ring, up, PICTURE_KEY);
    const down = elements(svg, 'path', 'arc').filter((a) => a.class?.includes('down'));
    expect(down.length).toBeGreaterThan(0);
    expect(new Set(down.map((a) => a['data-owner']))).toEqual(new Set(['dev2']));
    const pref = elements(svg, 'path', 'pref');
    expect(pref.map((p) => [Number(p['data-partition']), p['data-node']])).toEqual(
      key.preflist.map((e) => [e.partition, e.node.split('@')[0]]),
    );
    const fallback = key.preflist.find((e) => e.type === 'fallback')!;
    expect(elements(svg, 'path', 'fallback').map((p) => Number(p['data-partition']))).toEqual([fallback.partition]);
    expect(elements(svg, 'circle', 'fallback').map((c) => Number(c['data-partition']))).toContain(fallback.partition);
  });

  it('ring-coverage.svg: a mark on each vnode of the plan coveragePlan makes', () => {
    const svg = picture('ring-coverage.svg');
    const ring = threeNodeRing();
    const plan = coveragePlan(ring, 3, ring.owners);
    expect(elements(svg, 'circle', 'cover').map((c) => [Number(c['data-partition']), c['data-node']])).toEqual(
      plan.map((c) => [c.partition, c.node.split('@')[0]]),
    );
  });

  it('ring-join.svg: dev4 a member with nothing yet, and pending transfers, some of them to dev4', () => {
    const svg = picture('ring-join.svg');
    expect(elements(svg, 'g', 'legend-member').map((g) => g['data-node'])).toEqual(['dev1', 'dev2', 'dev3', 'dev4']);
    const transfers = elements(svg, 'path', 'transfer');
    expect(transfers.length).toBeGreaterThan(0);
    expect(transfers.filter((t) => t['data-next-owner'] === 'dev4').length).toBeGreaterThanOrEqual(64 / 4 - 1);
    expect(svg).toContain(`${transfers.length} partitions to move`);
  });
});

describe('npm run pictures', () => {
  it('makes exactly the committed pictures (regenerate them with npm run pictures and commit)', async () => {
    const made = await makePictures();
    expect([...made.keys()].sort()).toEqual([...NAMES].sort());
    for (const [name, svg] of made) expect(svg, `docs/img/${name} is stale: run npm run pictures`).toBe(picture(name));
  }, 90_000);
});
