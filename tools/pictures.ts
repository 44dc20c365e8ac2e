/**
 * `npm run pictures`: regenerate the ring pictures of the slides and READMEs (docs/img/ring-*.svg)
 * from real scenarios, drawn by the dashboard's renderer (shared/ring_svg.ts), never by hand.
 *
 * Two in-process clusters (shared/harness/cluster.ts, Q = 64) running exercise 4's finished KV
 * vnode (solutions/ex4-handoff), so there is data to count and to move:
 *
 * - `ring-3nodes.svg`: three nodes after forming, each partition's item bar from 120 keys (N = 3);
 * - `ring-key.svg`: the key `alpha`: its hash point, partition and preference list (N = 3);
 * - `ring-coverage.svg`: the coverage plan a list of keys asks (`coveragePlan`, N = 3);
 * - `ring-fallback.svg`: dev2 killed and seen down: `alpha`'s fallback, written to while dev2 is down;
 * - `ring-join.svg`: a fourth node joined and committed: the pending transfers, taken right
 *   after the commit, before any handoff could finish (what moves is the claim's choice, deterministic).
 *
 * Deterministic: node names are fixed (`devK@127.0.0.1`, drawn as `devK`), ports never appear, every write is
 * acknowledged by all N replicas before counting, and each picture is taken at a well-defined
 * point (settled ring, node seen down, the commit's ring), so the same code draws the same SVG.
 * tools/test/pictures.test.ts checks the committed files against a fresh run.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMain } from '../shared/cli/options.js';
import { coveragePlan } from '../shared/coverage.js';
import { TestCluster } from '../shared/harness/cluster.js';
import { waitFor } from '../shared/harness/wait.js';
import type { RingNode } from '../shared/node.js';
import type { Ring } from '../shared/ring.js';
import { keyView, type RingView, type RingViewFallback, renderRingSvg, ringViewOf } from '../shared/ring_svg.js';
import { Disk } from '../exercises/ex3-coordinator/kv_vnode.js';
import { store } from '../solutions/ex3-coordinator/coordinator.js';
import { kvService } from '../solutions/ex4-handoff/kv_vnode.js';
import { ROOT } from './workshop/manifest.js';

/** Where the pictures go (committed). */
export const PICTURES_DIR = join(ROOT, 'docs', 'img');

/** The key every key picture follows. */
export const PICTURE_KEY = 'alpha';

/** Keys written before counting (`key-000` …), so the item bars and the join have data. */
const KEYS = 120;

/** Replication for the key, coverage and writes. */
const N = 3;

/** Deadline for each wait of the scenarios (ms): generous, the machine may be loaded. */
const WAIT_MS = 20_000;

/** Size of the circle (px): the legend adds 430 to the width. */
const SIZE = 560;

/** The pictures, file name → SVG text, in the order they are made. */
export type Pictures = Map<string, string>;

/** A cluster of `size` nodes running the ex4 KV service, each with a Disk the scenario can read. */
async function kvCluster(size: number, form = true): Promise<{ cluster: TestCluster; disks: Map<string, Disk> }> {
  const disks = new Map<string, Disk>();
  const diskOf = (node: string) => {
    let d = disks.get(node);
    if (!d) disks.set(node, (d = new Disk()));
    return d;
  };
  const cluster = await TestCluster.start({
    size,
    ringSize: 64,
    form,
    services: (node) => [kvService(diskOf(node))],
    formTimeoutMs: WAIT_MS,
  });
  return { cluster, disks };
}

/** Write `count` keys through `via` with W = N, so every replica holds them when it returns. */
async function writeKeys(via: RingNode, count: number): Promise<void> {
  for (let i = 0; i < count; i++)
    await store(via, `key-${String(i).padStart(3, '0')}`, i, { n: N, w: N, timeoutMs: WAIT_MS });
}

/** Per partition, the entries its owner's disk holds. */
function itemsOf(ring: Ring, disks: Map<string, Disk>): number[] {
  return ring.owners.map((owner, p) => disks.get(owner)?.partition(p).size ?? 0);
}

/** Vnodes holding data on a node that does not own their partition (fallbacks), sorted. */
function fallbacksOf(ring: Ring, disks: Map<string, Disk>): RingViewFallback[] {
  const out: RingViewFallback[] = [];
  for (const [node, disk] of [...disks].sort(([a], [b]) => a.localeCompare(b)))
    for (let p = 0; p < ring.ringSize; p++) {
      const items = ring.owners[p] === node ? 0 : disk.partition(p).size;
      if (items > 0) out.push({ partition: p, node, service: 'kv', items });
    }
  return out;
}

/** `dev1@127.0.0.1` → `dev1`: the host is the same for every node and only crowds a slide. */
const short = (node: string) => node.split('@')[0] ?? node;

/** `view` with every node name shortened (see {@link short}); the colours (by sorted name) stay. */
export function shortNames(view: RingView): RingView {
  const h = view.highlight;
  return {
    ...view,
    owners: view.owners.map(short),
    members: view.members.map((m) => ({ ...m, node: short(m.node) })),
    claimant: short(view.claimant),
    next: view.next.map((t) => ({ ...t, owner: short(t.owner), nextOwner: short(t.nextOwner) })),
    handoffs: view.handoffs.map((x) => ({ ...x, source: short(x.source), target: short(x.target) })),
    ...(view.fallbacks ? { fallbacks: view.fallbacks.map((f) => ({ ...f, node: short(f.node) })) } : {}),
    ...(view.coverage ? { coverage: view.coverage.map((c) => ({ ...c, node: short(c.node) })) } : {}),
    ...(h
      ? {
          highlight: {
            ...h,
            owners: h.owners.map((o) => ({ ...o, node: short(o.node) })),
            preflist: h.preflist.map((e) => ({ ...e, node: short(e.node) })),
          },
        }
      : {}),
  };
}

/** Scale of the legend: the pictures are shown shrunk on slides, read from the back of a room. */
const LEGEND_SCALE = 1.8;

/** SVG text of `view` with a title, the way every picture is drawn. */
function draw(view: RingView, title: string): string {
  return `${renderRingSvg(shortNames(view), { size: SIZE, title, legendScale: LEGEND_SCALE })}\n`;
}

/**
 * Run the scenarios and draw every picture.
 * @returns file name (`ring-*.svg`) → SVG text.
 * @throws if a cluster does not form or a wait times out (`timed out after … waiting for …`).
 */
export async function makePictures(): Promise<Pictures> {
  const pictures: Pictures = new Map();

  // Scenario 1: three nodes, 120 keys, then dev2 down and `alpha` written to its fallback.
  {
    const { cluster, disks } = await kvCluster(3);
    try {
      const dev1 = cluster.node(0);
      await writeKeys(dev1, KEYS);
      const ring = dev1.ring;
      const all = cluster.names;
      const everyone = () => true;
      const items = itemsOf(ring, disks);
      pictures.set('ring-3nodes.svg', draw(ringViewOf(ring, everyone, { items }), 'three nodes, Q = 64'));
      const key = keyView(ring, all, PICTURE_KEY, { n: N });
      pictures.set(
        'ring-key.svg',
        draw(ringViewOf(ring, everyone, { highlight: key }), `key "${PICTURE_KEY}": partition and preference list`),
      );
      const plan = coveragePlan(ring, N, all);
      pictures.set(
        'ring-coverage.svg',
        draw(ringViewOf(ring, everyone, { coverage: plan }), `list keys: a coverage plan of ${plan.length} vnodes`),
      );

      const down = cluster.names[1] as string;
      await cluster.kill(1);
      await waitFor(`${dev1.name} to see ${down} down`, () => !dev1.watcher.isUp(down), { timeoutMs: WAIT_MS });
      const up = all.filter((n) => n !== down);
      await store(dev1, PICTURE_KEY, 'a value', { n: N, w: N, timeoutMs: WAIT_MS });
      const isUp = (n: string) => n !== down;
      pictures.set(
        'ring-fallback.svg',
        draw(
          ringViewOf(ring, isUp, {
            highlight: keyView(ring, up, PICTURE_KEY, { n: N }),
            fallbacks: fallbacksOf(ring, disks),
          }),
          `${down.split('@')[0]} down: "${PICTURE_KEY}" goes to a fallback`,
        ),
      );
    } finally {
      await cluster.stop();
    }
  }

  // Scenario 2: three nodes with 120 keys, a fourth joins; the ring right after the commit.
  {
    const { cluster, disks } = await kvCluster(3);
    try {
      const dev1 = cluster.node(0);
      await writeKeys(dev1, KEYS);
      const before = dev1.ring;
      const items = itemsOf(before, disks);
      const dev4 = await cluster.addNode();
      await dev4.join(dev1.addr);
      await waitFor(`${dev1.name} to see ${dev4.name} joining`, () => dev4.name in dev1.ring.members, {
        timeoutMs: WAIT_MS,
      });
      await cluster.commitWhenReady(dev1, WAIT_MS);
      // The commit's ring, read at once: transfers pending, owners (and their data) unchanged.
      const ring = dev1.ring;
      if (ring.next.length === 0) throw new Error('the commit planned no transfers');
      pictures.set(
        'ring-join.svg',
        draw(
          ringViewOf(ring, () => true, { items }),
          `${dev4.name.split('@')[0]} joins: ${ring.next.length} partitions to move`,
        ),
      );
      await cluster.waitSettled({ timeoutMs: WAIT_MS });
    } finally {
      await cluster.stop();
    }
  }
  return pictures;
}

/**
 * What keeps `xml` from being well-formed XML, as far as SVG text like ours goes: tags that do
 * not nest, an attribute given twice, a `&` that starts no entity, text outside the root.
 * A browser forgives these in an inline SVG of an HTML page (the dashboard) but not in an .svg
 * file shown by `<img>` (Marp, GitHub). No DTD, comments or CDATA (the renderer writes none).
 * @returns problems, empty when the text is well-formed.
 */
export function xmlProblems(xml: string): string[] {
  const problems: string[] = [];
  const open: string[] = [];
  let roots = 0;
  const tag = /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>/y;
  const entity = /^&(#\d+|#x[0-9a-fA-F]+|amp|lt|gt|quot|apos);/;
  let i = 0;
  while (i < xml.length && problems.length < 10) {
    const c = xml[i];
    if (c === '<') {
      tag.lastIndex = i;
      const m = tag.exec(xml);
      if (!m) {
        problems.push(`at ${i}: not a tag: ${xml.slice(i, i + 40)}`);
        break;
      }
      const [all, close, name, attrs, selfClose] = m as unknown as [string, string, string, string, string];
      const names = [...attrs.matchAll(/([\w:.-]+)="/g)].map((a) => a[1] as string);
      const twice = names.filter((n, k) => names.indexOf(n) !== k);
      if (twice.length > 0) problems.push(`at ${i}: <${name}> has ${twice.join(', ')} twice`);
      if (close) {
        const top = open.pop();
        if (top !== name) problems.push(`at ${i}: </${name}> closes <${top ?? 'nothing'}>`);
      } else {
        if (open.length === 0) roots++;
        if (!selfClose) open.push(name);
      }
      i += all.length;
    } else {
      if (c === '&' && !entity.test(xml.slice(i, i + 12))) problems.push(`at ${i}: a bare &`);
      if (open.length === 0 && !/\s/.test(c as string)) problems.push(`at ${i}: text outside the root element`);
      i++;
    }
  }
  if (open.length > 0) problems.push(`unclosed: ${open.join(' > ')}`);
  if (roots !== 1) problems.push(`${roots} root elements`);
  return problems;
}

/**
 * Write `pictures` into `dir` (created if missing).
 * @throws Error naming the picture and the problems if one is not well-formed XML (see {@link xmlProblems}).
 */
export function writePictures(pictures: Pictures, dir = PICTURES_DIR): void {
  for (const [name, svg] of pictures) {
    const problems = xmlProblems(svg);
    if (problems.length > 0) throw new Error(`${name} is not well-formed XML: ${problems.join('; ')}`);
  }
  mkdirSync(dir, { recursive: true });
  for (const [name, svg] of pictures) writeFileSync(join(dir, name), svg);
}

/** The committed picture `name`, or undefined if it is missing. */
export function readPicture(name: string, dir = PICTURES_DIR): string | undefined {
  try {
    return readFileSync(join(dir, name), 'utf8');
  } catch {
    return undefined;
  }
}

async function main(): Promise<number> {
  // The nodes' info lines (joins, handoffs) would bury the list of files written.
  process.env.RING_LOG ??= 'warn';
  const pictures = await makePictures();
  writePictures(pictures);
  for (const name of pictures.keys()) console.log(`wrote docs/img/${name}`);
  return 0;
}

if (isMain(import.meta.url)) process.exitCode = await main();
