// The live ring dashboard in a real headless Chromium (playwright-core driving the system's
// browser, Debian's `chromium` package in CI): a 3-node in-process cluster with the ex5 API and
// the dashboard on every node; the page shows three members, a key's preference list and value;
// a killed node turns unreachable; marked down and removed through the page's buttons (the plan
// shown, then committed), the handoffs that follow appear while they run. A screenshot is taken
// mid-handoff (docs/img/dashboard.png, which the README, ARCHITECTURE and the ex4 slides show,
// is one: see SCREENSHOT).
//
// `npm run test:browser` runs it when a Chromium is there, and says why not otherwise (failing
// with CI=true: tools/test-browser.ts); run without one, it fails saying what to install.
// Set CHROMIUM_PATH to use another Chromium or Chrome. Every wait is on a page condition with a
// deadline (playwright's waitForFunction / waitFor), none on a fixed sleep.
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../exercises/ex5-http/server.js';
import { kvService } from '../../solutions/ex4-handoff/kv_vnode.js';
import { coordinatorError, routes } from '../../solutions/ex5-http/http.js';
import { findChromium, noBrowserReason } from '../harness/chromium.js';
import { TestCluster } from '../harness/cluster.js';
import { waitFor } from '../harness/wait.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/**
 * Where the mid-handoff screenshot goes: .vitest-results/ (ignored) unless DASHBOARD_SCREENSHOT
 * names a file; `DASHBOARD_SCREENSHOT=docs/img/dashboard.png npm run test:browser` renews the docs' picture.
 */
const SCREENSHOT = resolve(ROOT, process.env.DASHBOARD_SCREENSHOT ?? '.vitest-results/dashboard.png');
/** Deadline of every page condition (ms): generous, for a loaded 2-core machine. */
const WAIT = { timeout: 20_000 };

const executablePath = findChromium();
if (!executablePath) {
  describe('dashboard in Chromium', () => {
    it('needs a browser', () => {
      throw new Error(`${noBrowserReason()} (npm run test:browser checks this first)`);
    });
  });
} else {
  describe('dashboard in Chromium', () => {
    let cluster: TestCluster;
    let browser: Browser;
    let page: Page;
    const servers: { close(): Promise<unknown> }[] = [];
    const urls: string[] = [];
    /** While set, handoff batches take this long on the wire, so a handoff runs long enough to be seen. */
    let slowHandoffMs = 0;

    beforeAll(async () => {
      cluster = await TestCluster.start({
        size: 3,
        ringSize: 32,
        services: () => [kvService()],
        // Small batches, one at a time: a partition's handoff takes several round trips.
        handoff: { batchItems: 8, batchWindow: 1, batchTimeoutMs: 5000 },
      });
      cluster.setLinkFilter((_from, _to, frame) =>
        slowHandoffMs > 0 && frame.t === 'call' && frame.method === 'handoff.data'
          ? { delayMs: slowHandoffMs }
          : 'deliver',
      );
      for (const node of cluster.nodes) {
        const app = buildServer(node, { routes, coordinatorError });
        servers.push(app);
        urls.push(await app.listen({ host: '127.0.0.1', port: 0 }));
      }
      browser = await chromium.launch({
        executablePath,
        headless: true,
        // Chromium refuses its sandbox as root (CI runs as root).
        args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
      });
      page = await browser.newPage({ viewport: { width: 1500, height: 980 } });
      page.on('pageerror', (err) => console.error(`page error: ${err.message}`));
    });

    afterAll(async () => {
      await browser?.close();
      await Promise.all(servers.map((s) => s.close()));
      await cluster?.stop();
    });

    /** PUT `value` under `key` through dev1's API; a 503 (quorum not reached on a loaded machine) is retried, as it asks. */
    async function put(key: string, value: unknown): Promise<void> {
      await waitFor(`PUT ${key}`, async () => {
        const res = await fetch(`${urls[0]}/api/store/${key}`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(value),
        });
        if (res.status === 503) return false;
        expect(res.status, await res.text()).toBeLessThan(300);
        return true;
      });
    }

    /** PUT `count` keys `${prefix}-i`, 16 at a time. */
    async function write(prefix: string, count: number): Promise<void> {
      for (let i = 0; i < count; i += 16)
        await Promise.all(
          Array.from({ length: Math.min(16, count - i) }, (_, j) => put(`${prefix}-${i + j}`, { n: i + j })),
        );
    }

    /** The member row of `node` (`tr[data-node]`) has `attr` equal to `value`. */
    const rowHas = (node: string, attr: string, value: string) =>
      page.waitForFunction(
        ([n, a, v]) => document.querySelector(`#members tr[data-node="${n}"]`)?.getAttribute(a!) === v,
        [node, attr, value],
        WAIT,
      );

    it('shows the members, a key, a node going down, and the handoffs after down and remove', async () => {
      const [dev1, dev2, dev3] = cluster.names as [string, string, string];
      await write('key', 240);
      await put('hello', 'world');

      // The page, live: three members, up, valid; the ring drawn with Q arcs.
      await page.goto(`${urls[0]}/`);
      await page.locator('#conn[data-state="live"]').waitFor(WAIT);
      await page.waitForFunction(
        () => document.querySelectorAll('#members tbody tr[data-up="true"][data-status="valid"]').length === 3,
        undefined,
        WAIT,
      );
      expect(await page.locator('#members tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.node))).toEqual([
        dev1,
        dev2,
        dev3,
      ]);
      await page.waitForFunction(() => document.querySelectorAll('#ring svg path.arc').length === 32, undefined, WAIT);
      // Item counts reached the page: every node's vnodes hold keys.
      await page.waitForFunction(
        () =>
          document.querySelectorAll('#vnodes tbody tr').length === 3 &&
          [...document.querySelectorAll('#vnodes td[data-items]')].every(
            (td) => Number(td.getAttribute('data-items')) > 0,
          ),
        undefined,
        WAIT,
      );

      // A key: its hash, partition, three primaries on three nodes, its value through the API.
      await page.locator('#key').fill('hello');
      await page.locator('#key-form button').click();
      await page.waitForFunction(
        () => document.querySelectorAll('#preflist li[data-type="primary"]').length === 3,
        undefined,
        WAIT,
      );
      const owners = await page.locator('#preflist li').evaluateAll((li) => li.map((l) => l.dataset.node));
      expect(new Set(owners)).toEqual(new Set([dev1, dev2, dev3]));
      await page.waitForFunction(
        () => document.querySelector('#key-value')?.textContent === 'value: "world"',
        undefined,
        WAIT,
      );
      await page.waitForFunction(() => document.querySelector('#ring svg circle.key-point') !== null, undefined, WAIT);

      // dev3 dies: the page shows it unreachable (pushed, not polled), its arcs greyed, and the
      // key's preference list takes a fallback for its partition.
      await cluster.kill(dev3);
      await rowHas(dev3, 'data-up', 'false');
      await page.waitForFunction(
        () => document.querySelectorAll('#ring svg path.arc.down').length > 0,
        undefined,
        WAIT,
      );
      await page.waitForFunction(
        () => document.querySelectorAll('#preflist li[data-type="fallback"]').length === 1,
        undefined,
        WAIT,
      );
      // Writes while it is away land on fallback vnodes (sloppy quorum): data for hinted handoff.
      await write('away', 240);

      // Mark it down through the page (it asks first).
      await page.locator(`#members tr[data-node="${dev3}"] button[data-action="down"]`).click();
      await page.locator('#down-ok').click();
      await rowHas(dev3, 'data-status', 'down');

      // Remove it: the page stages the change, shows the plan, and asks before committing.
      await page.locator(`#members tr[data-node="${dev3}"] button[data-action="remove"]`).click();
      await page.locator('#confirm[open]').waitFor(WAIT);
      expect(await page.locator('#confirm-text').textContent()).toContain(dev3);
      slowHandoffMs = 250;
      await page.locator('#plan-commit').click();

      // The handoffs that follow show while they run: the list, the ring's progress marks.
      await page.waitForFunction(
        () =>
          document.querySelectorAll('#handoffs li.handoff').length > 0 &&
          document.querySelectorAll('#ring svg path.handoff').length > 0,
        undefined,
        WAIT,
      );
      // Some progress first (a batch or two through), for the screenshot.
      await page.waitForFunction(
        () => [...document.querySelectorAll('#handoffs progress')].some((p) => Number(p.getAttribute('value')) > 0),
        undefined,
        WAIT,
      );
      const running = await page.locator('#handoffs li.handoff').first().textContent();
      expect(running).toMatch(/(ownership|hinted) kv partition \d+: dev[12] → dev[12]/);
      mkdirSync(dirname(SCREENSHOT), { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });

      // Full speed again: the handoffs finish, dev3 is gone, the ring settles on two members.
      slowHandoffMs = 0;
      await page.waitForFunction(
        () =>
          document.querySelectorAll('#members tbody tr').length === 2 &&
          document.querySelector('#handoffs li.none') !== null &&
          document.querySelector('#pending')?.textContent === 'no pending transfers' &&
          document.querySelectorAll('#ring svg path.arc.down').length === 0,
        undefined,
        { timeout: 60_000 },
      );
      expect(await page.locator('#members tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.node))).toEqual([
        dev1,
        dev2,
      ]);
      // The key's preference list is all primaries again, on the two members left.
      await page.waitForFunction(
        () =>
          document.querySelectorAll('#preflist li[data-type="primary"]').length === 3 &&
          document.querySelectorAll('#preflist li[data-type="fallback"]').length === 0,
        undefined,
        WAIT,
      );
    });
  });
}
