// The longrun operations console (docs/API.md, "Console"). Plain browser JavaScript over the
// HTTP/JSON routes of the same origin: list with filter, state chips and keyset paging, one
// operation's detail, live progress, submit, cancel and delete.
//
// Live progress: an EventSource on /v1/operations/{id}:watch for operations of the visible
// page that are not done, closed when the terminal event arrives (the server closes the
// stream then; an open EventSource would reconnect). Browsers allow about six HTTP/1.1
// connections per host, so at most MAX_STREAMS streams are open (the selected operation
// first); the other unfinished rows are refreshed by re-reading the visible page every
// POLL_MS. EventSource cannot send an Authorization header, and the server does not take
// tokens in URLs, so with a token set everything live is polled instead.
'use strict';

const MAX_STREAMS = 4;
const POLL_MS = 1500;
const STATES = ['QUEUED', 'RUNNING', 'RETRY_WAIT', 'CANCELLING', 'SUCCEEDED', 'FAILED',
  'CANCELLED'];
const TOKEN_KEY = 'longrun.token';

const $ = (id) => document.getElementById(id);

const view = {
  pageTokens: [''],  // the token of every page visited; the last one is shown
  nextToken: '',
  ops: new Map(),    // id -> Operation JSON of the visible page, in order
  selected: '',      // id in the detail pane
  detailOp: null,     // its Operation JSON
  streams: new Map(),  // id -> EventSource
  noStream: new Set(),  // ids whose stream failed for good: polled instead
  pollTimer: 0,
  seq: 0,            // the newest list request; older answers are dropped
};

// ---- helpers ----

function token() { return sessionStorage.getItem(TOKEN_KEY) || ''; }

function idOf(op) { return op.name.slice(op.name.indexOf('/') + 1); }

function meta(op) { return op.metadata || {}; }

function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (k === 'class') el.className = v;
    else if (k.startsWith('data-')) el.setAttribute(k, v);
    else el[k] = v;
  }
  for (const c of children) el.append(c instanceof Node ? c : String(c));
  return el;
}

function clock(ts) {
  const d = new Date(ts || '');
  return isNaN(d) ? (ts || '') : d.toLocaleTimeString();
}

// A response is an Any; the built-in kinds answer a Struct, shown as its plain JSON.
function unwrap(any) {
  if (any && String(any['@type']).endsWith('/google.protobuf.Struct') && 'value' in any) {
    return any.value;
  }
  return any;
}

function when(ts) {
  if (!ts) return '';
  const d = new Date(ts);
  return isNaN(d) ? ts : d.toLocaleString(undefined, {
    month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit'});
}

class ApiError extends Error {
  constructor(status, body) {
    const e = body && body.error;
    super(e ? `${e.status || status}: ${e.message}` : `HTTP ${status}`);
    this.status = status;
  }
}

// fetch() of a route; the parsed JSON, or ApiError with the server's message.
async function api(method, path, body) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token()) headers['Authorization'] = 'Bearer ' + token();
  const res = await fetch(path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store'});
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
  if (!res.ok) {
    const err = new ApiError(res.status, json);
    if (res.status === 401) {
      banner('This server wants a token (--auth=token): enter one above. ' + err.message);
    }
    throw err;
  }
  return json;
}

function banner(text) {
  $('banner').textContent = text;
  $('banner').hidden = !text;
}

// ---- the list ----

function currentFilter() { return $('filter').value.trim(); }

function version(op) { return op ? Number(meta(op).version || 0) : -1; }

async function loadPage() {
  const seq = ++view.seq;
  const params = new URLSearchParams({page_size: $('page-size').value});
  if (currentFilter()) params.set('filter', currentFilter());
  const pageToken = view.pageTokens[view.pageTokens.length - 1];
  if (pageToken) params.set('page_token', pageToken);
  try {
    const res = await api('GET', '/v1/operations?' + params);
    if (seq !== view.seq) return;
    banner('');
    view.nextToken = res.nextPageToken || '';
    // A stream may have delivered a newer state than this page holds.
    view.ops = new Map((res.operations || []).map((op) => {
      const id = idOf(op);
      const known = view.ops.get(id);
      return [id, version(known) > version(op) ? known : op];
    }));
    renderList();
    const shown = view.ops.get(view.selected);
    if (shown && version(shown) > version(view.detailOp)) renderDetail(shown);
  } catch (e) {
    if (seq !== view.seq) return;
    if (e.status !== 401) banner('Listing failed: ' + e.message);
  }
  syncLive();
}

function renderList() {
  const body = $('ops').tBodies[0];
  body.replaceChildren(...[...view.ops.values()].map(rowFor));
  $('empty').hidden = view.ops.size > 0;
  $('prev').disabled = view.pageTokens.length <= 1;
  $('next').disabled = !view.nextToken;
  $('page-info').textContent = 'Page ' + view.pageTokens.length;
  renderChips();
}

function progressBar(op) {
  const m = meta(op);
  const pct = m.progressPercent || 0;
  return h('div', {class: 'bar'},
    h('progress', {max: 100, value: pct, class: m.state || ''}), h('span', {}, pct + ' %'));
}

function rowFor(op) {
  const m = meta(op);
  const id = idOf(op);
  const tr = h('tr', {'data-id': id, class: id === view.selected ? 'selected' : '', title: id},
    // UUIDv7 ids share their leading (time) digits: the tail tells them apart.
    h('td', {class: 'id'}, '…' + id.slice(-12)),
    h('td', {}, m.kind || ''),
    h('td', {}, h('span', {class: 'state ' + (m.state || '')}, m.state || '')),
    h('td', {class: 'progress'}, progressBar(op)),
    h('td', {}, `${m.attempt || 0}/${m.maxAttempts || 0}`),
    h('td', {}, when(m.createTime)));
  tr.addEventListener('click', () => select(id));
  return tr;
}

// A newer state of an operation: its row (if visible) and the detail pane (if selected).
function update(op) {
  const id = idOf(op);
  const known = view.ops.get(id) ||
      (view.detailOp && idOf(view.detailOp) === id ? view.detailOp : null);
  if (version(op) < version(known)) return;
  if (view.ops.has(id)) {
    view.ops.set(id, op);
    const tr = $('ops').querySelector(`tr[data-id="${CSS.escape(id)}"]`);
    if (tr) tr.replaceWith(rowFor(op));
  }
  if (id === view.selected) renderDetail(op);
}

function renderChips() {
  const f = currentFilter();
  const chips = ['ALL', ...STATES].map((s) => {
    const on = s === 'ALL' ? f === '' : f === `state = ${s}`;
    const b = h('button', {type: 'button', class: 'chip' + (on ? ' on' : ''), 'data-state': s},
      s === 'ALL' ? 'All' : s);
    b.addEventListener('click', () => {
      $('filter').value = s === 'ALL' ? '' : `state = ${s}`;
      firstPage();
    });
    return b;
  });
  $('chips').replaceChildren(...chips);
}

function firstPage() {
  view.pageTokens = [''];
  loadPage();
}

// ---- live progress ----

// Opens streams for unfinished visible operations (up to MAX_STREAMS, the selected one
// first), closes the others, and polls the page while anything unfinished has no stream.
function syncLive() {
  const want = [];
  const unfinished = [...view.ops.values()].filter((op) => !op.done).map(idOf);
  if (view.selected && view.detailOp && !view.detailOp.done) want.push(view.selected);
  for (const id of unfinished) if (!want.includes(id)) want.push(id);
  const streamed = token() ? [] : want.filter((id) => !view.noStream.has(id)).slice(0, MAX_STREAMS);
  for (const [id, es] of view.streams) {
    if (!streamed.includes(id)) { es.close(); view.streams.delete(id); }
  }
  for (const id of streamed) if (!view.streams.has(id)) openStream(id);
  const polled = want.filter((id) => !view.streams.has(id));
  clearTimeout(view.pollTimer);
  view.pollTimer = 0;
  if (polled.length > 0) view.pollTimer = setTimeout(poll, POLL_MS);
  $('live-info').textContent = polled.length ? 'live: polling' :
    view.streams.size ? `live: ${view.streams.size} stream${view.streams.size > 1 ? 's' : ''}` : '';
}

function openStream(id) {
  const es = new EventSource(`/v1/operations/${encodeURIComponent(id)}:watch`);
  view.streams.set(id, es);
  const stop = () => {
    es.close();
    if (view.streams.get(id) === es) view.streams.delete(id);
  };
  es.onmessage = (ev) => {
    const op = JSON.parse(ev.data);
    update(op);
    if (op.done) { stop(); syncLive(); }
  };
  // Both a failed connection and the server's `event: error` (its data: the error shape)
  // arrive here. A failed connection that EventSource retries itself (readyState
  // CONNECTING) is left alone; otherwise the operation is polled from now on.
  es.addEventListener('error', (ev) => {
    if (ev.data === undefined && es.readyState === EventSource.CONNECTING) return;
    stop();
    view.noStream.add(id);
    syncLive();
  });
}

async function poll() {
  view.pollTimer = 0;
  if (view.selected && view.detailOp && !view.detailOp.done &&
      !view.streams.has(view.selected) && !view.ops.has(view.selected)) {
    try { update(await api('GET', opPath(view.selected))); } catch (e) { /* next round */ }
  }
  await loadPage();  // re-reads the visible page (same token) and re-syncs
}

// ---- the detail pane ----

function opPath(id) { return '/v1/operations/' + encodeURIComponent(id); }

async function select(id) {
  view.selected = id;
  disarmDelete();
  for (const tr of $('ops').tBodies[0].rows) {
    tr.classList.toggle('selected', tr.dataset.id === id);
  }
  $('action-error').textContent = '';
  try {
    const op = await api('GET', opPath(id));
    if (view.selected === id) renderDetail(op);
  } catch (e) {
    $('action-error').textContent = e.message;
  }
  syncLive();
}

function renderDetail(op) {
  view.detailOp = op;
  const m = meta(op);
  $('detail-empty').hidden = true;
  $('detail').hidden = false;
  const fields = [
    ['Name', op.name, true], ['Kind', m.kind],
    ['State', h('span', {class: 'state ' + m.state}, m.state)],
    ['Progress', progressBar(op)], ['Message', m.progressMessage],
    ['Attempt', `${m.attempt || 0} of ${m.maxAttempts || 0}`], ['Queue', m.queue],
    ['Priority', m.priority], ['Created', when(m.createTime)], ['Started', when(m.startTime)],
    ['Updated', when(m.updateTime)], ['Ended', when(m.endTime)],
    ['Scheduled', when(m.scheduleTime)], ['Timeout', m.timeout], ['Request ID', m.requestId, true],
    ['Labels', m.labels && Object.keys(m.labels).length ? JSON.stringify(m.labels) : ''],
    ['Trace ID', m.traceId, true], ['Version', m.version],
    ['Callback', m.callback ? JSON.stringify(m.callback) : ''],
  ];
  const dl = $('detail-fields');
  dl.replaceChildren();
  for (const [label, value, mono] of fields) {
    if (value === undefined || value === '' || value === null) continue;
    dl.append(h('dt', {}, label), h('dd', {class: mono ? 'mono' : '', 'data-field': label}, value));
  }
  $('attempts').tBodies[0].replaceChildren(...(m.attempts || []).map((a) => h('tr', {},
    h('td', {}, a.attempt), h('td', {}, a.workerId || ''),
    h('td', {title: a.error ? a.error.message : ''}, a.outcome || ''),
    h('td', {}, clock(a.startTime)), h('td', {}, clock(a.endTime)))));
  $('attempts').hidden = !(m.attempts || []).length;
  if (op.done && op.error) {
    $('outcome-title').textContent = 'Error';
    $('outcome').textContent = JSON.stringify(op.error, null, 2);
  } else if (op.done) {
    $('outcome-title').textContent = 'Result';
    $('outcome').textContent = JSON.stringify(unwrap(op.response) || {}, null, 2);
  } else {
    $('outcome-title').textContent = 'Result';
    $('outcome').textContent = 'not done yet';
  }
  $('cancel').disabled = op.done;
  $('delete').disabled = !op.done;
}

async function action(method, suffix) {
  const id = view.selected;
  $('action-error').textContent = '';
  try {
    const res = await api(method, opPath(id) + suffix);
    return res;
  } catch (e) {
    $('action-error').textContent = e.message;
    return null;
  }
}

async function cancelSelected() {
  const op = await action('POST', ':cancel');
  if (op) update(op);
  syncLive();
}

// Delete takes two clicks: the first arms the button for three seconds.
let deleteArmed = 0;
async function deleteSelected() {
  const b = $('delete');
  if (!deleteArmed) {
    b.textContent = 'Really delete?';
    b.classList.add('armed');
    deleteArmed = setTimeout(disarmDelete, 3000);
    return;
  }
  disarmDelete();
  const id = view.selected;
  if (await action('DELETE', '') === null) return;
  if (view.selected === id) {
    view.selected = '';
    view.detailOp = null;
    $('detail').hidden = true;
    $('detail-empty').hidden = false;
  }
  loadPage();
}

function disarmDelete() {
  clearTimeout(deleteArmed);
  deleteArmed = 0;
  $('delete').textContent = 'Delete';
  $('delete').classList.remove('armed');
}

// ---- submit ----

// The input textarea as an object, or null with the reason shown.
function parsedInput() {
  const text = $('input').value.trim();
  let value;
  try {
    value = text === '' ? {} : JSON.parse(text);
  } catch (e) {
    return {error: 'Input is not JSON: ' + e.message};
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return {error: 'Input must be a JSON object ({...})'};
  }
  return {value};
}

function validateInput() {
  const p = parsedInput();
  $('input').classList.toggle('invalid', !!p.error);
  $('submit').disabled = !!p.error;
  $('submit-error').textContent = p.error || '';
  return p;
}

async function submit(ev) {
  ev.preventDefault();
  const p = validateInput();
  if (p.error) return;
  $('submit').disabled = true;
  try {
    const op = await api('POST', '/v1/operations', {kind: $('kind').value.trim(), input: p.value});
    $('submit-error').textContent = '';
    view.pageTokens = [''];
    await loadPage();
    await select(idOf(op));
  } catch (e) {
    $('submit-error').textContent = e.message;
  } finally {
    $('submit').disabled = false;
  }
}

// ---- start ----

function start() {
  $('token').value = token();
  $('token-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const t = $('token').value.trim();
    if (t) sessionStorage.setItem(TOKEN_KEY, t); else sessionStorage.removeItem(TOKEN_KEY);
    firstPage();
  });
  $('token-clear').addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY);
    $('token').value = '';
    firstPage();
  });
  $('filter-form').addEventListener('submit', (ev) => { ev.preventDefault(); firstPage(); });
  $('prev').addEventListener('click', () => {
    if (view.pageTokens.length > 1) view.pageTokens.pop();
    loadPage();
  });
  $('next').addEventListener('click', () => {
    if (!view.nextToken) return;
    view.pageTokens.push(view.nextToken);
    loadPage();
  });
  $('page-size').addEventListener('change', firstPage);
  $('refresh').addEventListener('click', loadPage);
  $('input').addEventListener('input', validateInput);
  $('submit-form').addEventListener('submit', submit);
  $('cancel').addEventListener('click', cancelSelected);
  $('delete').addEventListener('click', deleteSelected);
  validateInput();
  firstPage();
}

start();
