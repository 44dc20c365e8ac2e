// The live ring dashboard's page script (plain JS, no build step; served by shared/dashboard.ts).
// The state arrives pushed over server-sent events (/api/dashboard/events); the ring picture is
// drawn on the server (/api/dashboard/ring.svg) and fetched again after each push. Operator
// actions post JSON to /api/dashboard/<action>; staging one shows the plan and asks before commit.

const $ = (selector) => document.querySelector(selector);

/** An element with attributes and children (strings become text: names and keys are never HTML). */
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'onclick') e.addEventListener('click', v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== undefined && c !== null) e.append(c instanceof Node ? c : String(c));
  return e;
}

const short = (node) => node.split('@')[0];
const pct = (x) => `${Number(x).toFixed(1)}%`;

function bytes(x) {
  if (x < 1024) return `${Math.round(x)} B`;
  if (x < 1024 * 1024) return `${(x / 1024).toFixed(1)} KiB`;
  return `${(x / 1024 / 1024).toFixed(1)} MiB`;
}

/** Call the API. @throws Error with `code` and `status` from the API's error body. */
async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: body === undefined ? { accept: 'application/json' } : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json().catch(() => null);
  if (!res.ok) {
    const e = new Error(json?.error?.message ?? `${res.status} ${res.statusText}`);
    e.code = json?.error?.code ?? 'http_error';
    e.status = res.status;
    throw e;
  }
  return json;
}

let state = null;
let key = '';

// --- messages and the confirmation dialog --------------------------------------------------

function say(text, kind = 'ok') {
  const m = $('#message');
  m.textContent = text;
  m.dataset.kind = kind;
}

const sayError = (err) => say(`${err.code ?? 'error'}: ${err.message}`, 'error');

/** Show `title` and `text` with buttons [{label, id, run}] (a button without `run` just closes). */
function ask(title, text, buttons) {
  const dialog = $('#confirm');
  $('#confirm-title').textContent = title;
  $('#confirm-text').textContent = text;
  const box = $('#confirm-buttons');
  box.replaceChildren(
    ...buttons.map((b) =>
      el(
        'button',
        {
          id: b.id,
          type: b.run ? 'button' : 'submit',
          onclick: b.run
            ? async () => {
                dialog.close();
                await b.run();
              }
            : undefined,
        },
        b.label,
      ),
    ),
  );
  if (!dialog.open) dialog.showModal();
}

// --- operator actions ------------------------------------------------------------------------

/** The plan; right after a join the joiner may not reach the claimant yet (503): ask again for a few seconds. */
async function fetchPlan() {
  const until = Date.now() + 5000;
  for (;;) {
    try {
      return await api('POST', '/api/dashboard/plan', {});
    } catch (err) {
      if (err.status !== 503 || Date.now() > until) throw err;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

async function showPlan() {
  try {
    const r = await fetchPlan();
    if (r.plan.changes.length === 0) return say('nothing staged: stage a join, leave or remove first');
    ask('the plan: commit it?', r.plan.text, [
      { label: 'commit', id: 'plan-commit', run: commit },
      { label: 'clear the staged changes', id: 'plan-clear', run: clear },
      { label: 'not now', id: 'plan-close' },
    ]);
  } catch (err) {
    sayError(err);
  }
}

async function commit() {
  try {
    const r = await api('POST', '/api/dashboard/commit', {});
    say(`committed: ${r.plan.transfers} transfer${r.plan.transfers === 1 ? '' : 's'} to come`);
  } catch (err) {
    sayError(err);
  }
}

async function clear() {
  try {
    say((await api('POST', '/api/dashboard/clear', {})).message);
  } catch (err) {
    sayError(err);
  }
}

/** Stage a change (join, leave, remove), then show the plan and ask before committing. */
async function stage(action, body) {
  try {
    say((await api('POST', `/api/dashboard/${action}`, body)).message);
    await showPlan();
  } catch (err) {
    sayError(err);
  }
}

function markDown(node) {
  ask(
    `mark ${node} down?`,
    `${node} is unreachable. Marked down, it no longer blocks ring_ready: the claimant can commit plans (remove it, for one) without it. riak: riak-admin down.`,
    [
      {
        label: 'mark down',
        id: 'down-ok',
        run: async () => {
          try {
            say((await api('POST', '/api/dashboard/down', { node })).message);
          } catch (err) {
            sayError(err);
          }
        },
      },
      { label: 'cancel', id: 'down-cancel' },
    ],
  );
}

// --- rendering -------------------------------------------------------------------------------

function renderMembers(s) {
  const rows = s.members.map((m) => {
    const buttons = [];
    if (!m.up && m.status !== 'down')
      buttons.push(el('button', { 'data-action': 'down', onclick: () => markDown(m.node) }, 'mark down'));
    if (m.status === 'valid')
      buttons.push(el('button', { 'data-action': 'leave', onclick: () => stage('leave', { node: m.node }) }, 'leave'));
    if (m.node !== s.claimant && (m.status === 'valid' || m.status === 'down' || m.status === 'leaving'))
      buttons.push(
        el('button', { 'data-action': 'remove', onclick: () => stage('remove', { node: m.node }) }, 'remove'),
      );
    return el(
      'tr',
      { 'data-node': m.node, 'data-status': m.status, 'data-up': String(m.up) },
      el('td', {}, m.node, m.claimant ? el('span', { class: 'claimant', title: 'claimant' }, ' ★') : null),
      el('td', { class: `status ${m.status}` }, m.status),
      el('td', { class: 'num' }, pct(m.ringPercent)),
      el('td', { class: 'num' }, m.pendingPercent === null ? '--' : pct(m.pendingPercent)),
      el('td', { class: m.up ? 'up' : 'unreachable' }, m.up ? 'up' : 'unreachable'),
      el('td', { class: 'actions' }, buttons),
    );
  });
  $('#members tbody').replaceChildren(...rows);
  const ready = s.ringReady ? 'ring ready' : 'ring not ready';
  const missing = s.missing.length ? ` · no report from ${s.missing.map(short).join(', ')}` : '';
  $('#summary').textContent =
    `Q = ${s.ringSize} · claimant ${s.claimant}${s.claimantUp ? '' : ' (unreachable)'} · ${ready}${s.settled ? ' · settled' : ''}${missing}`;
}

function renderHandoffs(s) {
  const awaiting = s.pending.filter((t) => t.status === 'awaiting').length;
  $('#pending').textContent = s.pending.length
    ? `${s.pending.length} pending transfer${s.pending.length === 1 ? '' : 's'} (${awaiting} awaiting)`
    : 'no pending transfers';
  const items = s.handoffs.map((h) => {
    const total = h.items === null ? '' : `/${h.items}`;
    const rate =
      h.itemsPerSec === undefined ? '' : ` · ${Math.round(h.itemsPerSec)} items/s, ${bytes(h.bytesPerSec)}/s`;
    return el(
      'li',
      {
        class: `handoff ${h.kind}`,
        'data-partition': h.partition,
        'data-source': h.source,
        'data-target': h.target,
      },
      `${h.kind} ${h.service} partition ${h.partition}: ${short(h.source)} → ${short(h.target)} · ${h.sentItems}${total} items, ${bytes(h.sentBytes)}${rate}`,
      h.items ? el('progress', { max: h.items, value: h.sentItems }) : null,
    );
  });
  $('#handoffs').replaceChildren(...(items.length ? items : [el('li', { class: 'none' }, 'none running')]));
}

function renderVnodes(s) {
  const services = [...new Set(s.vnodes.map((v) => v.service))].sort();
  $('#vnodes thead tr').replaceChildren(el('th', {}, 'node'), ...services.map((x) => el('th', {}, x)));
  const nodes = [...new Set(s.vnodes.map((v) => v.node))].sort();
  const rows = nodes.map((node) =>
    el(
      'tr',
      { 'data-node': node },
      el('td', {}, short(node)),
      ...services.map((service) => {
        const mine = s.vnodes.filter((v) => v.node === node && v.service === service);
        const known = mine.filter((v) => v.items !== null);
        const total = known.reduce((n, v) => n + v.items, 0);
        const fallbacks = mine.filter((v) => v.role === 'fallback' && v.items).length;
        const text = `${known.length === mine.length ? total : `${total}+?`} in ${mine.length}${fallbacks ? ` (${fallbacks} fallback)` : ''}`;
        return el('td', { class: 'num', 'data-service': service, 'data-items': total }, text);
      }),
    ),
  );
  $('#vnodes tbody').replaceChildren(...rows);
}

// The ring picture: fetched after each push, one request at a time (a newer push refetches).
let ringBusy = false;
let ringDirty = false;
async function refreshRing() {
  if (ringBusy) {
    ringDirty = true;
    return;
  }
  ringBusy = true;
  try {
    do {
      ringDirty = false;
      const res = await fetch(`/api/dashboard/ring.svg${key ? `?key=${encodeURIComponent(key)}` : ''}`);
      if (res.ok) $('#ring').innerHTML = await res.text(); // made on the server, text escaped there
    } while (ringDirty);
  } catch {
    // the next push tries again
  } finally {
    ringBusy = false;
  }
}

async function renderKey(withValue) {
  const box = $('#key-info');
  if (!key) return box.replaceChildren();
  let info;
  try {
    info = await api('GET', `/api/dashboard/key/${encodeURIComponent(key)}`);
  } catch (err) {
    return box.replaceChildren(el('p', { class: 'error' }, `${err.code}: ${err.message}`));
  }
  const list = el(
    'ol',
    { id: 'preflist' },
    info.preflist.map((e) =>
      el(
        'li',
        { 'data-type': e.type, 'data-node': e.node, 'data-partition': e.partition },
        `${e.type} · partition ${e.partition} on ${e.node}`,
      ),
    ),
  );
  const missing =
    info.preflist.length < info.n
      ? el('p', { class: 'error' }, `only ${info.preflist.length} of n = ${info.n} reachable`)
      : null;
  const value = withValue
    ? el('p', { id: 'key-value' }, 'value: …')
    : ($('#key-value') ?? el('p', { id: 'key-value' }));
  box.replaceChildren(
    ...[
      el('p', { class: 'mono' }, `hash ${info.hash}`),
      el('p', {}, `partition ${info.partition} (bucket ${info.bucket}, n = ${info.n})`),
      list,
      missing,
      value,
    ].filter((x) => x !== null),
  );
  if (withValue) {
    try {
      const res = await fetch(`/api/store/${encodeURIComponent(key)}`, { headers: { accept: 'application/json' } });
      const body = await res.json().catch(() => null);
      value.textContent = res.ok
        ? `value: ${JSON.stringify(body?.value)}`
        : `value: ${body?.error?.code === 'not_found' ? 'not found' : `${res.status} ${body?.error?.code ?? ''}`}`;
    } catch (err) {
      value.textContent = `value: ${err.message}`;
    }
  }
}

function render(s) {
  state = s;
  $('#node').textContent = `· ${s.node}`;
  document.title = `ring · ${short(s.node)}`;
  renderMembers(s);
  renderHandoffs(s);
  renderVnodes(s);
  void refreshRing();
  if (key) void renderKey(false);
}

// --- wiring ----------------------------------------------------------------------------------

$('#key-form').addEventListener('submit', (event) => {
  event.preventDefault();
  key = $('#key').value.trim();
  void renderKey(true);
  void refreshRing();
});

$('#join-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const addr = $('#join-addr').value.trim();
  if (addr) void stage('join', { addr });
});
$('#plan-btn').addEventListener('click', () => void showPlan());
$('#clear-btn').addEventListener('click', () => void clear());

function connect() {
  const conn = $('#conn');
  const events = new EventSource('/api/dashboard/events');
  events.addEventListener('open', () => {
    conn.textContent = 'live';
    conn.dataset.state = 'live';
  });
  events.addEventListener('state', (e) => render(JSON.parse(e.data)));
  events.addEventListener('error', () => {
    // EventSource reconnects by itself (the server asks for 1 s).
    conn.textContent = 'reconnecting…';
    conn.dataset.state = 'reconnecting';
  });
}

connect();
// For the browser test and the console: the last state pushed.
window.dashboardState = () => state;
