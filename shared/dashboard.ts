/**
 * The live ring dashboard (Riak Control was riak's web console): a fastify plugin that adds to
 * a node's HTTP API a page showing the ring as a circle coloured by owner, the members, the
 * pending transfers and the handoffs running on every node (direction, items and bytes sent,
 * rate), each vnode's item count, a key's preference list, and the operator actions an
 * instructor uses on the projector (stage join/leave/remove, mark down, plan, commit, clear).
 *
 * Routes (`registerDashboard(app, node)`; exercises/ex5-http/server.ts registers it on every
 * node's HTTP API):
 *
 *     GET  /                         the page, to browsers (Accept: text/html); others get the API's 404
 *     GET  /dashboard/               the page; /dashboard/dashboard.js, /dashboard/dashboard.css its assets
 *     GET  /api/dashboard/state      DashboardState (JSON)
 *     GET  /api/dashboard/events     the same state pushed as server-sent events (`event: state`)
 *     GET  /api/dashboard/ring.svg   the ring (ring_svg.ts); ?key=K[&bucket=kv&n=3] highlights a key, ?coverage=1 a plan
 *     GET  /api/dashboard/key/:key   KeyInfo: hash, partition, owners, preference list (?bucket=kv&n=3)
 *     POST /api/dashboard/join       {addr}: stage THIS node joining the cluster at addr (riak: cluster join, run on the joiner)
 *     POST /api/dashboard/leave      {node?}: stage node (default this one) leaving
 *     POST /api/dashboard/remove     {node}: stage removing node (no handoff)
 *     POST /api/dashboard/down       {node}: mark an unreachable member down (runs here, riak's `down`)
 *     POST /api/dashboard/plan       the staged changes and what commit would do (PlanView)
 *     POST /api/dashboard/commit     apply them (PlanView)
 *     POST /api/dashboard/clear      drop them
 *
 * The actions are the node's admin API, the same calls `npm run admin` makes through
 * admin_rpc.ts (`admin.join`, `admin.down`, …): staging, plan, commit and clear go to the
 * claimant; `down` runs on this node. By default only clients on loopback may use them (the API
 * has no authentication; a node bound to 0.0.0.0 for a pair would otherwise let anyone on the
 * network remove members), and they take JSON bodies only, so a page of another origin cannot
 * post them without a CORS preflight, which this server never grants.
 *
 * Errors are JSON in the API's one shape, `{ error: { status, code, message, ...details } }`:
 * 400 `invalid_param`, 403 `actions_not_allowed`, 409 with the runtime's RingError code for a
 * refused membership change (`nothing_staged`, `ring_not_ready`, `node_up`, …), 503 with that
 * code when the claimant cannot be reached or does not answer, 502 `unreachable` when a join's
 * seed cannot be reached.
 *
 * Updates are pushed, not polled: the events stream sends the state when the ring changes, a
 * node goes up or down, and, while anyone listens, whenever the handoffs' progress or the item
 * counts changed, at most every `pushIntervalMs` (default 250 ms). Handoffs and counts of other
 * nodes come from their own dashboards, over the cluster's RPC (`dashboard.local`, members only;
 * riak_control gathered them from every node by rpc too); a node that does not answer is listed
 * in `missing`.
 */
import { HttpError } from './http_error.js';
import { readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { stripVTControlCharacters } from 'node:util';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AplEntry } from './apl.js';
import { coveragePlan, type CoverageVnode } from './coverage.js';
import { RingError } from './errors.js';
import type { RingNode } from './node.js';
import { isReady, members, type Ring } from './ring.js';
import {
  handoffOf,
  perSecond,
  keyView,
  renderRingSvg,
  ringViewOf,
  type RingViewFallback,
  type RingViewHandoff,
  type RingViewKey,
  type RingViewTransfer,
} from './ring_svg.js';
import { isFoldRequest, type FoldRequest, type Vnode, type VnodeWorker } from './vnode.js';
import type { MemberRow } from './console.js';
import type { PlanView } from './admin_rpc.js';

/** Options of {@link registerDashboard}. Times in ms. */
export interface DashboardOptions {
  /** Serve the page at `/` to browsers (requests accepting text/html; default true). */
  readonly root?: boolean;
  /** Who may use the operator actions: `loopback` clients only (default), `any`, or `none`. */
  readonly actions?: 'loopback' | 'any' | 'none';
  /** Least time between two pushed updates (default 250). */
  readonly pushIntervalMs?: number;
  /** While a page listens: how often the handoffs and counts of every node are looked at (default 500). */
  readonly watchMs?: number;
  /** Item counts older than this are counted again (default 2000). */
  readonly countsMaxAgeMs?: number;
  /** Deadline of the calls to other nodes for their handoffs and counts (default 1000). */
  readonly peerTimeoutMs?: number;
}

/**
 * The items one vnode holds: what its fold visits (the items a handoff would send; a KV
 * vnode's tombstones count; 0 when `isEmpty()` says so or the vnode has no `isEmpty`, as
 * handoff.ts sees it), or, if the vnode has it, its own `itemCount()` (for vnodes whose state
 * is not handed off, such as live objects). null when the vnode cannot say (a stub's todo()).
 */
export interface DashboardVnode {
  readonly node: string;
  readonly service: string;
  readonly partition: number;
  readonly items: number | null;
  /** `primary`: the node owns the partition; `next`: it will (a pending transfer); `fallback`: neither. */
  readonly role: 'primary' | 'next' | 'fallback';
}

/** One member with what the dashboard adds: claimant, address, services it offers. */
export interface DashboardMember extends MemberRow {
  readonly claimant: boolean;
  readonly addr: string;
  readonly services: readonly string[];
}

/** What `GET /api/dashboard/state` answers and the events stream pushes. `at` is ms since the epoch. */
export interface DashboardState {
  /** The node serving the page, and when it made this state. */
  readonly node: string;
  readonly at: number;
  readonly clusterName: string;
  readonly ringSize: number;
  readonly claimant: string;
  readonly claimantUp: boolean;
  readonly ringReady: boolean;
  /** Every member valid and reachable, ring ready, nothing pending (RingNode.isSettled). */
  readonly settled: boolean;
  readonly members: readonly DashboardMember[];
  /** `owners[p]`: the owner of partition p. */
  readonly owners: readonly string[];
  /** Pending transfers (the ring's `next`), with the services done. */
  readonly pending: readonly (RingViewTransfer & { readonly done: readonly string[] })[];
  /** Handoffs running on any node that answered, with rates (items/s, bytes/s since they started). */
  readonly handoffs: readonly RingViewHandoff[];
  /** Every running vnode of every node that answered, with its item count. */
  readonly vnodes: readonly DashboardVnode[];
  /** Per partition, the items its owner holds (summed over services); null when unknown. */
  readonly items: readonly (number | null)[];
  /** Fallback vnodes holding data. */
  readonly fallbacks: readonly RingViewFallback[];
  /** Services registered on this node. */
  readonly services: readonly string[];
  /** Reachable members whose handoffs and counts are missing here (no dashboard, or no answer in time). */
  readonly missing: readonly string[];
}

/** A key on the ring (`GET /api/dashboard/key/:key`): RingViewKey plus the service its preference list is for. */
export interface KeyInfo extends RingViewKey {
  /** The service whose up nodes the preference list counts (the bucket's, when a node runs one of that name). */
  readonly service: string | null;
  readonly primaries: readonly AplEntry[];
  readonly fallbacks: readonly AplEntry[];
}

/** What one node reports about itself (`dashboard.local`). */
interface LocalReport {
  readonly node: string;
  readonly handoffs: readonly RingViewHandoff[];
  readonly inbound: readonly {
    service: string;
    partition: number;
    source: string;
    items: number;
    bytes: number;
    itemsPerSec: number;
    bytesPerSec: number;
  }[];
  readonly vnodes: readonly { service: string; partition: number; items: number | null }[];
}

/** The RingError codes that mean "the cluster cannot be asked now" (503); other refusals are 409. */
const UNAVAILABLE = new Set(['claimant_unreachable', 'timeout', 'node_down']);

/** Anything thrown by a dashboard route → the error to answer with. */
function toError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof RingError) {
    if (err.code === 'bad_request') return new HttpError(400, 'invalid_param', err.message);
    return new HttpError(UNAVAILABLE.has(err.code) ? 503 : 409, err.code, err.message);
  }
  const fe = err as Partial<FastifyError>;
  if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
    return new HttpError(415, 'unsupported_media_type', 'send the action as JSON (content-type: application/json)');
  if (fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY')
    return new HttpError(400, 'invalid_body', fe.message ?? 'the body is not valid JSON');
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500)
    return new HttpError(fe.statusCode, 'bad_request', fe.message ?? 'bad request');
  return new HttpError(500, 'internal', `internal error: ${err instanceof Error ? err.message : String(err)}`);
}

/** How many items a running vnode holds (see {@link DashboardVnode}); null if it cannot say. */
async function countItems(w: VnodeWorker): Promise<number | null> {
  if (w.forwardingTo !== undefined) return 0; // handed off: its data is on the new owner
  // Counting must not look like activity: handoff waits for a vnode idle for `inactivityMs`.
  const idle = w.pending === 0;
  const before = w.lastActive;
  try {
    return await w.run(async (v: Vnode & { itemCount?: () => number }) => {
      if (typeof v.itemCount === 'function') return v.itemCount();
      // No isEmpty: nothing to hand off, as handoff.ts sees it too (a ping vnode).
      if (!v.isEmpty || (await v.isEmpty())) return 0;
      if (!v.handleHandoffCommand) return null;
      const fold: FoldRequest = { type: '__fold_req__', acc0: 0, foldFun: (_k, _v, acc) => (acc as number) + 1 };
      if (!isFoldRequest(fold)) return null;
      const result = await v.handleHandoffCommand(fold, null);
      return 'reply' in result && typeof result.reply === 'number' ? result.reply : null;
    });
  } catch {
    return null; // an unfinished exercise step, say
  } finally {
    if (idle && w.pending === 0) w.lastActive = before;
  }
}

/**
 * The dashboard's state keeper for one node: makes {@link DashboardState}, answers other
 * nodes' `dashboard.local`, and pushes the state to the pages listening.
 */
class DashboardHub {
  private readonly listeners = new Set<ServerResponse>();
  private counts?: { at: number; value: Promise<LocalReport['vnodes']> };
  private made?: { at: number; value: Promise<DashboardState> };
  private last = '';
  private lastPushAt = 0;
  private building = false;
  private again = false;
  private pushTimer?: NodeJS.Timeout;
  private watchTimer?: NodeJS.Timeout;
  private keepAliveAt = 0;
  private closed = false;
  private readonly onChange = () => this.requestPush();

  constructor(
    readonly node: RingNode,
    private readonly opts: Required<Omit<DashboardOptions, 'root' | 'actions'>>,
  ) {}

  /** This node's running handoffs (out and in) and vnode item counts. */
  async local(): Promise<LocalReport> {
    const node = this.node;
    const now = Date.now();
    const handoffs = node.handoff.running().map((t) => handoffOf(node.name, t, now));
    const inbound = node.handoff.receiving().map((t) => ({
      service: t.service,
      partition: t.partition,
      source: t.source,
      items: t.items,
      bytes: t.bytes,
      itemsPerSec: perSecond(t.items, t.startedAt, now),
      bytesPerSec: perSecond(t.bytes, t.startedAt, now),
    }));
    return { node: node.name, handoffs, inbound, vnodes: await this.vnodeCounts() };
  }

  /** Item counts of every running vnode here, at most `countsMaxAgeMs` old. */
  private vnodeCounts(): Promise<LocalReport['vnodes']> {
    const now = Date.now();
    if (this.counts && now - this.counts.at < this.opts.countsMaxAgeMs) return this.counts.value;
    const vnodes = this.node.vnodes;
    const value = Promise.all(
      vnodes.services().flatMap((service) =>
        vnodes
          .running(service)
          .sort((a, b) => a.id.partition - b.id.partition)
          .map(async (w) => ({ service, partition: w.id.partition, items: await countItems(w) })),
      ),
    );
    this.counts = { at: now, value };
    return value;
  }

  /**
   * {@link state}, or the one made less than `pushIntervalMs` ago (the page fetches the
   * picture right after each push: the other nodes need not be asked twice).
   */
  recentState(): Promise<DashboardState> {
    const now = Date.now();
    if (this.made && now - this.made.at < this.opts.pushIntervalMs) return this.made.value;
    return this.state();
  }

  /** The whole picture: this node's ring, and every reachable member's handoffs and counts. */
  state(): Promise<DashboardState> {
    const value = this.makeState();
    this.made = { at: Date.now(), value };
    value.catch(() => undefined);
    return value;
  }

  private async makeState(): Promise<DashboardState> {
    const node = this.node;
    const isUp = (n: string) => node.watcher.isUp(n);
    const peers = members(node.ring).filter((n) => n !== node.name && isUp(n));
    const missing: string[] = [];
    const [mine, ...remote] = await Promise.all([
      this.local(),
      ...peers.map((peer) =>
        node.rpc.call(peer, 'dashboard.local', {}, this.opts.peerTimeoutMs).then(
          (r) => r as LocalReport,
          () => {
            missing.push(peer);
            return undefined;
          },
        ),
      ),
    ]);
    const reports = [mine as LocalReport, ...remote.filter((r): r is LocalReport => r !== undefined)];
    // The ring as it is now, after the calls: the reports are read against it.
    const ring = node.ring;
    const now = Date.now();
    return {
      node: node.name,
      at: now,
      clusterName: ring.clusterName,
      ringSize: ring.ringSize,
      claimant: ring.claimant,
      claimantUp: isUp(ring.claimant),
      ringReady: isReady(ring),
      settled: node.isSettled(),
      members: node.memberStatusData().map((m) => ({
        ...m,
        claimant: m.node === ring.claimant,
        addr: ring.members[m.node]?.addr ?? '',
        services: [...node.watcher.services(m.node)],
      })),
      owners: [...ring.owners],
      pending: ring.next.map(({ partition, owner, nextOwner, status, done }) => ({
        partition,
        owner,
        nextOwner,
        status,
        done: [...done],
      })),
      ...merge(ring, reports),
      services: node.vnodes.services(),
      missing: missing.sort(),
    };
  }

  /** Start pushing to `res` (an event stream); it gets the current state at once. */
  add(res: ServerResponse): void {
    if (this.closed) return void res.end();
    this.listeners.add(res);
    res.on('close', () => this.remove(res));
    if (this.listeners.size === 1) {
      this.node.manager.on('ring', this.onChange);
      this.node.watcher.on('up', this.onChange);
      this.node.watcher.on('down', this.onChange);
      this.node.watcher.on('services', this.onChange);
      this.watchTimer = setInterval(() => this.watch(), this.opts.watchMs);
      this.watchTimer.unref();
    }
    this.last = ''; // the newcomer needs the state even if nothing changed
    this.requestPush(true);
  }

  private remove(res: ServerResponse): void {
    if (!this.listeners.delete(res) || this.listeners.size > 0) return;
    this.node.manager.off('ring', this.onChange);
    this.node.watcher.off('up', this.onChange);
    this.node.watcher.off('down', this.onChange);
    this.node.watcher.off('services', this.onChange);
    clearInterval(this.watchTimer);
    clearTimeout(this.pushTimer);
    this.pushTimer = undefined;
  }

  /** While someone listens: look for progress, and keep idle connections open with a comment. */
  private watch(): void {
    const now = Date.now();
    if (now - this.keepAliveAt > 15_000) {
      this.keepAliveAt = now;
      for (const res of this.listeners) res.write(': keep-alive\n\n');
    }
    this.requestPush();
  }

  /** Push the state if it changed, at most every `pushIntervalMs`; one state build at a time. */
  private requestPush(now = false): void {
    if (this.closed || this.listeners.size === 0) return;
    if (this.building) {
      this.again = true;
      return;
    }
    const wait = now ? 0 : this.lastPushAt + this.opts.pushIntervalMs - Date.now();
    if (wait > 0) {
      this.pushTimer ??= setTimeout(() => {
        this.pushTimer = undefined;
        this.requestPush();
      }, wait);
      return;
    }
    this.building = true;
    this.again = false;
    this.lastPushAt = Date.now();
    void this.state()
      .then(
        (state) => {
          const { at: _at, ...rest } = state;
          const digest = JSON.stringify(rest);
          if (digest === this.last) return;
          this.last = digest;
          const frame = `event: state\ndata: ${JSON.stringify(state)}\n\n`;
          for (const res of this.listeners) res.write(frame);
        },
        (err: unknown) => this.node.log.warn(`dashboard: state failed: ${(err as Error)?.message ?? err}`),
      )
      .finally(() => {
        this.building = false;
        if (this.again) this.requestPush();
      });
  }

  /** End every stream and stop the timers (the server closes). */
  close(): void {
    this.closed = true;
    for (const res of [...this.listeners]) {
      this.remove(res);
      res.end();
    }
  }
}

/** Merge the nodes' reports: handoffs (outbound first, inbound where the sender was not heard), vnodes, items. */
function merge(
  ring: Ring,
  reports: readonly LocalReport[],
): Pick<DashboardState, 'handoffs' | 'vnodes' | 'items' | 'fallbacks'> {
  const id = (source: string, service: string, partition: number, target: string) =>
    `${source}|${service}|${partition}|${target}`;
  const handoffs: RingViewHandoff[] = [];
  const seen = new Set<string>();
  for (const r of reports)
    for (const h of r.handoffs) {
      seen.add(id(h.source, h.service, h.partition, h.target));
      handoffs.push(h);
    }
  for (const r of reports)
    for (const t of r.inbound) {
      if (seen.has(id(t.source, t.service, t.partition, r.node))) continue;
      const ownership = ring.next.some(
        (x) => x.partition === t.partition && x.owner === t.source && x.nextOwner === r.node,
      );
      handoffs.push({
        kind: ownership ? 'ownership' : 'hinted',
        service: t.service,
        partition: t.partition,
        source: t.source,
        target: r.node,
        items: null,
        sentItems: t.items,
        sentBytes: t.bytes,
        itemsPerSec: t.itemsPerSec,
        bytesPerSec: t.bytesPerSec,
      });
    }
  handoffs.sort((a, b) => a.partition - b.partition || a.service.localeCompare(b.service));

  const vnodes: DashboardVnode[] = [];
  const items: (number | null)[] = ring.owners.map(() => null);
  const fallbacks: RingViewFallback[] = [];
  const unknown = new Set<number>(); // an owner's vnode that could not count (a stub)
  for (const r of reports)
    for (const v of r.vnodes) {
      const owner = ring.owners[v.partition];
      const next = ring.next.some((t) => t.partition === v.partition && t.nextOwner === r.node);
      const role = owner === r.node ? 'primary' : next ? 'next' : 'fallback';
      vnodes.push({ node: r.node, service: v.service, partition: v.partition, items: v.items, role });
      if (role === 'primary' && v.items !== null) items[v.partition] = (items[v.partition] ?? 0) + v.items;
      if (role === 'primary' && v.items === null) unknown.add(v.partition);
      if (role === 'fallback' && v.items)
        fallbacks.push({ partition: v.partition, node: r.node, service: v.service, items: v.items });
    }
  vnodes.sort(
    (a, b) => a.node.localeCompare(b.node) || a.service.localeCompare(b.service) || a.partition - b.partition,
  );
  // A partition whose owner answered but runs no vnode for it holds nothing yet; one whose
  // vnode could not count stays unknown, even if another service's could.
  const heard = new Set(reports.map((r) => r.node));
  ring.owners.forEach((o, p) => {
    if (unknown.has(p)) items[p] = null;
    else if (items[p] === null && heard.has(o)) items[p] = 0;
  });
  return { handoffs, vnodes, items, fallbacks };
}

/** `?n=` → an integer 1..Q. @throws HttpError 400 `invalid_param`. */
function parseN(raw: unknown, q: number): number {
  if (raw === undefined || raw === '') return Math.min(3, q); // the KV store's default N
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > q)
    throw new HttpError(400, 'invalid_param', `n must be an integer from 1 to the ring size ${q}`, {
      param: 'n',
    });
  return n;
}

/** A non-empty string parameter of at most `max` characters. @throws HttpError 400 `invalid_param`. */
function parseText(raw: unknown, param: string, fallback: string | undefined, max = 512): string {
  if ((raw === undefined || raw === '') && fallback !== undefined) return fallback;
  if (typeof raw !== 'string' || raw === '' || raw.length > max)
    throw new HttpError(400, 'invalid_param', `"${param}" must be 1 to ${max} characters`, { param });
  return raw;
}

/**
 * Where `key` lives on `node`'s ring: hash, partition, owners, the active preference list for
 * the bucket's service (riak: `get_apl_ann/3` over the up nodes offering it).
 * @throws HttpError 400 for a bad bucket or n.
 */
export function keyInfo(node: RingNode, key: string, query: { bucket?: unknown; n?: unknown } = {}): KeyInfo {
  const ring = node.ring;
  const bucket = parseText(query.bucket, 'bucket', 'kv', 64);
  const n = parseN(query.n, ring.ringSize);
  const offered = node.upNodes().some((u) => node.watcher.services(u).includes(bucket));
  const service = offered ? bucket : null;
  const view = keyView(ring, node.upNodes(service ?? undefined), key, { bucket, n });
  return {
    ...view,
    service,
    primaries: view.preflist.filter((e) => e.type === 'primary'),
    fallbacks: view.preflist.filter((e) => e.type === 'fallback'),
  };
}

const ASSETS: Readonly<Record<string, string>> = {
  'index.html': 'text/html; charset=utf-8',
  'dashboard.js': 'text/javascript; charset=utf-8',
  'dashboard.css': 'text/css; charset=utf-8',
};

/** Read an asset of shared/dashboard/ (on every request: edit the page, reload the browser). */
async function sendAsset(reply: FastifyReply, file: string): Promise<FastifyReply> {
  const type = ASSETS[file] as string;
  const body = await readFile(new URL(`./dashboard/${file}`, import.meta.url));
  return reply.type(type).header('cache-control', 'no-cache').send(body);
}

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

/**
 * Add the dashboard to `app`, a fastify instance serving `node` (see the module comment for
 * routes, errors and pushes). Registers the RPC method `dashboard.local` on the node, through
 * which other nodes' dashboards read this node's handoffs and counts. Closing `app` ends the
 * event streams.
 */
export function registerDashboard(app: FastifyInstance, node: RingNode, opts: DashboardOptions = {}): void {
  const hub = new DashboardHub(node, {
    pushIntervalMs: opts.pushIntervalMs ?? 250,
    watchMs: opts.watchMs ?? 500,
    countsMaxAgeMs: opts.countsMaxAgeMs ?? 2000,
    peerTimeoutMs: opts.peerTimeoutMs ?? 1000,
  });
  node.rpc.handle('dashboard.local', () => hub.local());
  app.addHook('onClose', async () => hub.close());
  const actions = opts.actions ?? 'loopback';

  // Its own context: the error handler below answers the dashboard's routes only.
  void app.register(async (api) => {
    api.setErrorHandler((err, _request, reply) => {
      const e = toError(err);
      if (e.status >= 500) node.log.warn(`dashboard: ${e.message}`);
      return reply.status(e.status).type('application/json').send(e.toBody());
    });

    if (opts.root ?? true) {
      // Browsers get the page; API clients (curl, fetch: Accept */* or JSON) the API's 404 as before.
      api.get('/', async (request, reply) =>
        /\btext\/html\b/.test(request.headers.accept ?? '') ? sendAsset(reply, 'index.html') : reply.callNotFound(),
      );
    }
    api.get('/dashboard', async (_request, reply) => reply.redirect('/dashboard/'));
    api.get('/dashboard/', async (_request, reply) => sendAsset(reply, 'index.html'));
    api.get<{ Params: { file: string } }>('/dashboard/:file', async (request, reply) =>
      Object.hasOwn(ASSETS, request.params.file) ? sendAsset(reply, request.params.file) : reply.callNotFound(),
    );

    api.get('/api/dashboard/state', async () => hub.state());

    api.get<{ Params: { key: string }; Querystring: Record<string, string> }>(
      '/api/dashboard/key/:key',
      async (request) => keyInfo(node, parseText(request.params.key, 'key', undefined), request.query),
    );

    api.get<{ Querystring: Record<string, string> }>('/api/dashboard/ring.svg', async (request, reply) => {
      const q = request.query;
      const ring = node.ring;
      const highlight = q.key ? keyInfo(node, parseText(q.key, 'key', undefined), q) : undefined;
      let coverage: CoverageVnode[] | undefined;
      if (q.coverage === '1' || q.coverage === 'true') {
        try {
          coverage = coveragePlan(ring, parseN(q.n, ring.ringSize), node.upNodes());
        } catch (err) {
          if (!(err instanceof RingError)) throw err; // insufficient_vnodes: no plan to draw
        }
      }
      const state = await hub.recentState();
      const view = ringViewOf(ring, (n) => node.watcher.isUp(n), {
        handoffs: state.handoffs,
        items: state.items,
        fallbacks: state.fallbacks,
        ...(highlight ? { highlight } : {}),
        ...(coverage ? { coverage } : {}),
      });
      return reply
        .type('image/svg+xml; charset=utf-8')
        .header('cache-control', 'no-cache')
        .send(renderRingSvg(view, { title: `${ring.clusterName} as ${node.name} sees it` }));
    });

    api.get('/api/dashboard/events', (request, reply) => {
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
      });
      res.write('retry: 1000\n\n');
      request.raw.socket.setTimeout(0);
      hub.add(res);
    });

    // Operator actions: the node's admin API (as admin_rpc.ts's admin.* methods call it).
    const guard = (request: FastifyRequest) => {
      if (actions === 'any') return;
      if (actions === 'loopback' && LOOPBACK.test(request.socket.remoteAddress ?? '')) return;
      throw new HttpError(
        403,
        'actions_not_allowed',
        actions === 'none'
          ? 'operator actions are off on this dashboard; use npm run admin'
          : 'operator actions are allowed from this machine only (loopback); use npm run admin with the cookie',
      );
    };
    const body = (request: FastifyRequest) => (request.body ?? {}) as Record<string, unknown>;
    const action = (name: string, run: (b: Record<string, unknown>) => Promise<{ message: string; plan?: PlanView }>) =>
      api.post(`/api/dashboard/${name}`, async (request) => {
        guard(request);
        return { ok: true, action: name, ...(await run(body(request))) };
      });

    action('join', async (b) => {
      const addr = parseText(b.addr, 'addr', undefined, 300);
      try {
        await node.join(addr);
      } catch (err) {
        if (err instanceof RingError) throw err;
        throw new HttpError(502, 'unreachable', `cannot join through ${addr}: ${(err as Error).message}`, {
          addr,
        });
      }
      return { message: `${node.name} staged a join to the cluster at ${addr}; plan, then commit` };
    });
    action('leave', async (b) => {
      const who = parseText(b.node, 'node', node.name, 300);
      await node.leave(who);
      return { message: `${who} staged to leave; plan, then commit` };
    });
    action('remove', async (b) => {
      const who = parseText(b.node, 'node', undefined, 300);
      await node.remove(who);
      return {
        message: `${who} staged to be removed (its partitions are reassigned without handoff); plan, then commit`,
      };
    });
    action('down', async (b) => {
      const who = parseText(b.node, 'node', undefined, 300);
      await node.down(who);
      return { message: `${who} marked down; the ring can become ready without it` };
    });
    // The plan's text is coloured for terminals when chalk is on: the page wants plain text.
    const plain = (p: PlanView): PlanView => ({ ...p, text: stripVTControlCharacters(p.text) });
    action('plan', async () => ({ message: 'the plan', plan: plain(await node.plan()) }));
    action('commit', async () => ({ message: 'committed', plan: plain(await node.commit()) }));
    action('clear', async () => {
      await node.clear();
      return { message: 'staged changes dropped' };
    });
  });
}
