import { api, claimsOf, connectLive, el, fmt, forgetToken, Problem, storeToken, takeToken } from '/assets/live.js';

const $ = (id) => document.getElementById(id);
const CLIENT_KEY = 'telework-broker.client-id';

let token = null;
let myAgency = null;
let live = null;
const pools = new Map(); // id → pool view
const grants = new Map(); // id → grant view
let waitingFor = null; // { pool, position } once the waiting room answers 202
let keepAliveTimer = null;

/** One id per browser: asking again from here reconnects to the same grant instead of taking a second one. */
function clientId() {
  let id = localStorage.getItem(CLIENT_KEY);
  if (!id) {
    id = `web-${crypto.randomUUID().slice(0, 8)}`;
    localStorage.setItem(CLIENT_KEY, id);
  }
  return id;
}

function showError(e) {
  const box = $('error');
  if (!e) {
    box.classList.add('hidden');
    return;
  }
  let text = e instanceof Problem ? `${e.title ?? 'Refused'}${e.message && e.message !== e.title ? ` — ${e.message}` : ''}` : String(e.message ?? e);
  if (e instanceof Problem && e.retryAfter) {
    const s = Number(e.retryAfter);
    text += ` (retry in ${s >= 120 ? `${Math.round(s / 60)} min` : `${s} s`})`;
  }
  box.textContent = text;
  box.dataset.code = e.code ?? '';
  box.classList.remove('hidden');
  if (e instanceof Problem && (e.status === 401 || e.code === 'token-expired')) signOut(text);
}

function showInfo(text) {
  $('info').textContent = text ?? '';
  $('info').classList.toggle('hidden', !text);
}

function untilText(iso) {
  const s = Math.max(0, Math.round((Date.parse(iso) - Date.now()) / 1000));
  return s >= 120 ? `${Math.floor(s / 60)} min` : `${s} s`;
}

function renderGrants() {
  const list = [...grants.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  $('no-sessions').classList.toggle('hidden', list.length > 0 || waitingFor !== null);
  const items = list.map((g) =>
    el(
      'div',
      { class: 'grant', 'data-grant': g.id },
      el('div', {}, el('strong', { text: pools.get(g.pool)?.name ?? g.pool }), ' ', el('span', { class: 'muted', text: `(${g.pool})` })),
      el(
        'div',
        { class: 'actions' },
        el('button', { class: 'danger', type: 'button', 'data-action': 'end', onclick: () => end(g.id), text: 'End session' }),
      ),
      el('div', {}, 'Connect to ', el('span', { class: 'host', 'data-field': 'host', text: g.memberHost ?? g.member }), el('span', { class: 'muted', text: ` · member ${g.member}` })),
      el(
        'div',
        { class: 'muted' },
        'Expires ',
        el('span', { class: 'num', 'data-field': 'expires', text: `in ${untilText(g.expiresAt)}` }),
        ` (${new Date(g.expiresAt).toLocaleTimeString('en-GB')}) unless renewed · fencing token ${g.fencingToken}`,
      ),
    ),
  );
  if (waitingFor) {
    items.unshift(
      el('div', { class: 'notice', id: 'line' }, el('div', { class: 'line-place', text: `You are number ${fmt(waitingFor.position)} in line` }), el('div', { class: 'muted', text: `for ${waitingFor.pool}. Keep this page open; your session starts when a slot is free.` })),
    );
  }
  $('grant-list').replaceChildren(...items);
}

/** Pools the signed-in employee's agency has a share of (all, if the token's agency is not known here). */
function entitled(p) {
  return !myAgency || p.agencies.some((a) => a.id === myAgency);
}

function renderPools() {
  const held = new Set([...grants.values()].map((g) => g.pool));
  const cards = [...pools.values()]
    .sort((a, b) => a.id.localeCompare(b.id))
    .map((p) =>
      el(
        'div',
        { class: 'pool-card', 'data-pool': p.id },
        el('div', {}, el('strong', { text: p.name ?? p.id }), el('div', { class: 'muted', text: `${p.kind === 'vpn' ? 'VPN tunnel' : 'Virtual desktop'} · ${p.id}` })),
        el('div', {}, el('span', { class: 'free num', 'data-field': 'free', text: fmt(p.free) }), el('span', { class: 'muted', text: ` of ${fmt(p.capacity)} free` })),
        entitled(p)
          ? el('button', { class: 'primary', type: 'button', 'data-action': 'request', onclick: () => request(p.id), text: held.has(p.id) ? 'Request another' : 'Request session' })
          : el('div', { class: 'not-entitled', text: 'Not available to your agency' }),
      ),
    );
  $('pool-list').replaceChildren(...cards);
}

async function refresh() {
  const [p, g] = await Promise.all([api(token, 'GET', '/v1/pools'), api(token, 'GET', '/v1/grants')]);
  pools.clear();
  for (const x of p.data) pools.set(x.id, x);
  grants.clear();
  for (const x of g.data) grants.set(x.id, x);
  renderPools();
  renderGrants();
}

async function request(pool) {
  showError(null);
  showInfo(null);
  try {
    const { status, data } = await api(token, 'POST', '/v1/grants', { pool, clientId: clientId() });
    if (status === 202 && data && typeof data.position === 'number') {
      waitingFor = { pool, position: data.position };
    } else {
      waitingFor = null;
      grants.set(data.id, data);
      showInfo(status === 201 ? `Granted: connect to ${data.memberHost ?? data.member}.` : `You already had this session: connect to ${data.memberHost ?? data.member}.`);
    }
    renderGrants();
    renderPools();
  } catch (e) {
    showError(e);
  }
}

async function end(id) {
  showError(null);
  try {
    await api(token, 'DELETE', `/v1/grants/${encodeURIComponent(id)}`);
    grants.delete(id);
    showInfo('Session ended. Thank you for returning the slot.');
  } catch (e) {
    if (e instanceof Problem && (e.code === 'grant-not-found' || e.code === 'lease-expired')) grants.delete(id);
    else showError(e);
  }
  renderGrants();
  renderPools();
}

/** While the page is open and the box ticked, renew each lease a few times per TTL. */
async function keepAlive() {
  if (!$('keepalive').checked) return;
  for (const g of [...grants.values()]) {
    const left = Date.parse(g.expiresAt) - Date.now();
    if (left > (g.ttlSeconds * 1000 * 2) / 3) continue;
    try {
      const { data } = await api(token, 'POST', `/v1/grants/${encodeURIComponent(g.id)}/heartbeat`);
      grants.set(data.id, data);
    } catch (e) {
      if (e instanceof Problem && (e.code === 'lease-expired' || e.code === 'grant-not-found')) {
        grants.delete(g.id);
        showError(e);
      }
    }
  }
  renderGrants();
}

function onEvent(event, data) {
  switch (event) {
    case 'capacity.pool':
      if (!pools.has(data.id) || Date.parse(data.at) >= Date.parse(pools.get(data.id).at)) {
        pools.set(data.id, data);
        renderPools();
      }
      break;
    case 'grants.list':
      grants.clear();
      for (const g of data) grants.set(g.id, g);
      renderGrants();
      renderPools();
      break;
    case 'grants.grant':
      grants.set(data.id, data);
      if (waitingFor?.pool === data.pool) waitingFor = null;
      renderGrants();
      break;
    case 'grants.ended':
      if (grants.delete(data.id)) showInfo(data.reason === 'expired' ? 'A session expired because it was not renewed.' : 'A session was ended.');
      renderGrants();
      renderPools();
      break;
    case 'waiting.position':
      waitingFor = { pool: data.pool, position: data.position };
      renderGrants();
      break;
    case 'error':
      showError(new Problem(0, data));
      break;
  }
}

function onStatus(state) {
  const s = $('status');
  s.dataset.state = state;
  s.textContent = { live: 'live', connecting: 'connecting…', offline: 'reconnecting…', rejected: 'signed out' }[state];
  if (state === 'rejected') signOut('Your token was not accepted. Sign in again.');
}

function signOut(message) {
  live?.close();
  live = null;
  clearInterval(keepAliveTimer);
  forgetToken();
  token = null;
  grants.clear();
  for (const id of ['sessions', 'request', 'who', 'signout']) $(id).classList.add('hidden');
  $('signin').classList.remove('hidden');
  if (message) {
    $('error').textContent = message;
    $('error').classList.remove('hidden');
  }
}

async function start(t) {
  token = t;
  const claims = claimsOf(t);
  myAgency = typeof claims?.agency === 'string' ? claims.agency : null;
  $('who').textContent = claims ? `${claims.sub ?? ''}${claims.agency ? ` · ${claims.agency}` : ''}` : '';
  for (const id of ['sessions', 'request', 'who', 'signout']) $(id).classList.remove('hidden');
  $('signin').classList.add('hidden');
  showError(null);
  try {
    await refresh();
  } catch (e) {
    showError(e);
    return;
  }
  live = connectLive({ token, topics: ['capacity', 'grants'], onEvent, onStatus });
  keepAliveTimer = setInterval(() => {
    void keepAlive();
  }, 5_000);
}

$('signin-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const t = $('token').value.trim();
  if (!t) return;
  storeToken(t);
  void start(t);
});
$('signout').addEventListener('click', () => signOut());
setInterval(() => {
  for (const node of document.querySelectorAll('[data-grant]')) {
    const g = grants.get(node.dataset.grant);
    const field = node.querySelector('[data-field="expires"]');
    if (g && field) field.textContent = `in ${untilText(g.expiresAt)}`;
  }
}, 1000);

const initial = takeToken();
if (initial) void start(initial);
else signOut();
