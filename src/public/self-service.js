import { api, claimsOf, connectLive, el, fmt, forgetToken, Problem, storeToken, takeToken } from '/assets/live.js';

const $ = (id) => document.getElementById(id);
const CLIENT_KEY = 'telework-broker.client-id';

/** Refusals of the capacity rules: the employee may wait in line instead (docs/admission.md, "Waiting room"). */
const WAITABLE = new Set(['pool-full', 'capacity-reserved', 'headroom-reserved', 'agency-at-maximum', 'pool-unavailable']);

/** Why a ticket waits (its `reason`), in the employee's words. */
const WHY = {
  'pool-full': 'every slot is taken',
  'capacity-reserved': 'the free slots are guaranteed to other agencies',
  'headroom-reserved': 'the last slots are kept for crisis staff',
  'agency-at-maximum': 'your agency uses all the slots it may',
  'pool-unavailable': 'no gateway or host is in service right now',
  'admission-rate': 'many people are signing in; admissions are paced',
};

/** Why a place in line ended (`waiting.left`): [message, is it bad news]. */
const LEFT = {
  left: ['You left the line.', false],
  declined: ['You declined the slot; it went to the next in line.', false],
  'missed-check-in': ['You lost your place in line: this page could not check in in time. Ask again to rejoin at the end of the line.', true],
  'offer-expired': ['The slot held for you was not claimed in time and went to the next in line.', true],
  'not-entitled': ['Your agency no longer has a share of this pool; you left the line.', true],
  'employee-at-limit': ['You already hold as many sessions as allowed in this pool; you left the line.', false],
};

let token = null;
let myAgency = null;
let live = null;
let liveState = 'offline';
const pools = new Map(); // id → pool view
const grants = new Map(); // id → grant view
const tickets = new Map(); // id → waiting-room ticket view (GET /v1/waiting/{id})
const ticketSeen = new Map(); // id → when this page last heard the ticket (local ms): check-ins are paced from it
const waitSuggested = new Map(); // pool → refusal code, after a refusal that one may wait out
let lastCheckIn = 0;
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

/** Tells screen readers; `now` interrupts (an offer has a deadline), else it waits its turn. */
function announce(text, now = false) {
  const region = $(now ? 'announce-now' : 'announce');
  // Emptied first so the same words are read again.
  region.textContent = '';
  setTimeout(() => (region.textContent = text), 50);
}

function secondsUntil(iso) {
  return Math.max(0, Math.round((Date.parse(iso) - Date.now()) / 1000));
}

function untilText(iso) {
  const s = secondsUntil(iso);
  return s >= 120 ? `${Math.floor(s / 60)} min` : `${s} s`;
}

function clockText(iso) {
  return new Date(iso).toLocaleTimeString('en-GB');
}

function waitText(seconds) {
  if (seconds === null || seconds === undefined) return 'not known yet';
  if (seconds < 60) return 'under a minute';
  return `about ${fmt(Math.round(seconds / 60))} min`;
}

function poolName(id) {
  return pools.get(id)?.name ?? id;
}

function renderGrants() {
  const list = [...grants.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  $('no-sessions').classList.toggle('hidden', list.length > 0 || tickets.size > 0);
  const items = list.map((g) =>
    el(
      'div',
      { class: 'grant', 'data-grant': g.id },
      el('div', {}, el('strong', { text: poolName(g.pool) }), ' ', el('span', { class: 'muted', text: `(${g.pool})` })),
      el(
        'div',
        { class: 'actions' },
        el('button', { class: 'danger', type: 'button', 'data-action': 'end', onclick: () => end(g.id), text: 'End session', 'aria-label': `End session in ${poolName(g.pool)}` }),
      ),
      el('div', {}, 'Connect to ', el('span', { class: 'host', 'data-field': 'host', text: g.memberHost ?? g.member }), el('span', { class: 'muted', text: ` · member ${g.member}` })),
      el(
        'div',
        { class: 'muted' },
        'Expires ',
        el('span', { class: 'num', 'data-field': 'expires', text: `in ${untilText(g.expiresAt)}` }),
        ` (${clockText(g.expiresAt)}) unless renewed · fencing token ${g.fencingToken}`,
      ),
    ),
  );
  $('grant-list').replaceChildren(...items);
}

function ticketCard(t) {
  const name = poolName(t.pool);
  const head = el('div', {}, el('strong', { text: name }), ' ', el('span', { class: 'muted', text: `(${t.pool})` }));
  if (t.state === 'offered' && t.offer) {
    return el(
      'article',
      { class: 'ticket', 'data-ticket': t.id, 'data-state': 'offered', 'aria-label': `Slot held for you in ${name}` },
      head,
      el('p', { class: 'line-place offered' }, 'A slot is held for you on ', el('span', { class: 'host', 'data-field': 'offer-host', text: t.offer.memberHost ?? t.offer.member })),
      el('p', {}, 'Connect within ', el('strong', { class: 'num', 'data-field': 'deadline', text: untilText(t.offer.until) }), ` (until ${clockText(t.offer.until)}), or it passes to the next in line.`),
      el(
        'div',
        { class: 'actions' },
        el('button', { class: 'primary', type: 'button', 'data-action': 'claim', onclick: (e) => claim(t.id, e.currentTarget), text: 'Connect now', 'aria-label': `Connect now to ${name}` }),
        el('button', { type: 'button', 'data-action': 'leave', onclick: (e) => leave(t.id, e.currentTarget), text: 'Decline', 'aria-label': `Decline the slot in ${name}` }),
      ),
    );
  }
  return el(
    'article',
    { class: 'ticket', 'data-ticket': t.id, 'data-state': 'waiting', 'aria-label': `Your place in line for ${name}` },
    head,
    el('p', { class: 'line-place' }, 'You are number ', el('span', { class: 'num', 'data-field': 'position', text: fmt(t.position) }), ' in line'),
    el(
      'p',
      { class: 'muted' },
      'Estimated wait: ',
      el('span', { 'data-field': 'estimate', text: waitText(t.estimatedWaitSeconds) }),
      ` · waiting since ${clockText(t.joinedAt)} because ${WHY[t.reason] ?? t.reason}`,
      t.priorityClass && t.priorityClass !== 'standard' ? ` · priority: ${t.priorityClass}` : '',
    ),
    el('div', { class: 'actions' }, el('button', { type: 'button', 'data-action': 'leave', onclick: (e) => leave(t.id, e.currentTarget), text: 'Leave the line', 'aria-label': `Leave the line for ${name}` })),
  );
}

function renderTickets() {
  const list = [...tickets.values()].sort((a, b) => a.joinedAt.localeCompare(b.joinedAt));
  $('line').classList.toggle('hidden', list.length === 0);
  $('ticket-list').replaceChildren(...list.map(ticketCard));
}

/** Pools the signed-in employee's agency has a share of (all, if the token's agency is not known here). */
function entitled(p) {
  return !myAgency || p.agencies.some((a) => a.id === myAgency);
}

function ticketIn(pool) {
  return [...tickets.values()].find((t) => t.pool === pool);
}

function poolActions(p) {
  if (!entitled(p)) return el('div', { class: 'not-entitled', text: 'Not available to your agency' });
  const t = ticketIn(p.id);
  if (t) {
    return el('div', { class: 'in-line', 'data-field': 'in-line', text: t.state === 'offered' ? 'A slot is held for you — connect above.' : `You are in line (number ${fmt(t.position)}).` });
  }
  const held = [...grants.values()].some((g) => g.pool === p.id);
  const refused = waitSuggested.get(p.id);
  const full = p.free < 1;
  return el(
    'div',
    { class: 'actions' },
    el('button', { class: full || refused ? '' : 'primary', type: 'button', 'data-action': 'request', onclick: () => request(p.id, false), text: held ? 'Request another' : 'Request session' }),
    full || refused
      ? el('button', { class: 'primary', type: 'button', 'data-action': 'wait', onclick: () => request(p.id, true), text: 'Wait in line for a slot', 'aria-label': `Wait in line for a slot in ${p.name ?? p.id}` })
      : null,
    full || refused ? el('p', { class: 'hint muted', text: 'Waiting in line, you get the next free slot: keep this page open and connect when it is offered.' }) : null,
  );
}

function renderPools() {
  const cards = [...pools.values()]
    .sort((a, b) => a.id.localeCompare(b.id))
    .map((p) =>
      el(
        'div',
        { class: 'pool-card', 'data-pool': p.id },
        el('div', {}, el('strong', { text: p.name ?? p.id }), el('div', { class: 'muted', text: `${p.kind === 'vpn' ? 'VPN tunnel' : 'Virtual desktop'} · ${p.id}` })),
        el(
          'div',
          {},
          el('span', { class: 'free num', 'data-field': 'free', text: fmt(p.free) }),
          el('span', { class: 'muted', text: ` of ${fmt(p.capacity)} free` }),
          p.waiting > 0 ? el('span', { class: 'muted', 'data-field': 'waiting', text: ` · ${fmt(p.waiting)} waiting` }) : null,
        ),
        poolActions(p),
      ),
    );
  $('pool-list').replaceChildren(...cards);
}

function renderAll() {
  renderTickets();
  renderGrants();
  renderPools();
}

/** A ticket as the broker sent it; tells screen readers when the place or the offer changed. */
function setTicket(t) {
  const before = tickets.get(t.id);
  tickets.set(t.id, t);
  ticketSeen.set(t.id, Date.now());
  if (t.state === 'offered' && before?.state !== 'offered' && t.offer) {
    announce(`A slot is held for you in ${poolName(t.pool)}. Connect within ${untilText(t.offer.until)}.`, true);
  } else if (t.state === 'waiting' && before?.position !== t.position) {
    announce(`You are number ${t.position} in line for ${poolName(t.pool)}.`);
  }
  const changed = !before || before.state !== t.state || before.position !== t.position || before.estimatedWaitSeconds !== t.estimatedWaitSeconds;
  if (changed) {
    renderTickets();
    renderGrants();
    renderPools();
  }
}

function dropTicket(id) {
  ticketSeen.delete(id);
  return tickets.delete(id);
}

async function refresh() {
  const [p, g, w] = await Promise.all([api(token, 'GET', '/v1/pools'), api(token, 'GET', '/v1/grants'), api(token, 'GET', '/v1/waiting')]);
  pools.clear();
  for (const x of p.data) pools.set(x.id, x);
  grants.clear();
  for (const x of g.data) grants.set(x.id, x);
  tickets.clear();
  ticketSeen.clear();
  for (const x of w.data) setTicket(x);
  renderAll();
}

/** Places in line as the broker has them now (after a reconnect: drop-outs pushed meanwhile were missed). */
async function refreshTickets() {
  try {
    const { data } = await api(token, 'GET', '/v1/waiting');
    const ids = new Set(data.map((t) => t.id));
    for (const id of [...tickets.keys()]) if (!ids.has(id)) dropTicket(id);
    for (const t of data) setTicket(t);
    renderTickets();
    renderPools();
  } catch (e) {
    showError(e);
  }
}

/** Asks for a session; with `wait`, a full pool answers with a place in line (202) instead of a refusal. */
async function request(pool, wait) {
  showError(null);
  showInfo(null);
  try {
    const { status, data } = await api(token, 'POST', '/v1/grants', { pool, clientId: clientId(), ...(wait ? { wait: true } : {}) });
    waitSuggested.delete(pool);
    if (status === 202) {
      // A place in line: asked for, or admissions are being paced.
      setTicket(data);
      showInfo(data.state === 'offered' ? `A slot is held for you in ${poolName(pool)}: connect now.` : `You are in line for ${poolName(pool)}: number ${fmt(data.position)}.`);
    } else {
      grants.set(data.id, data);
      showInfo(status === 201 ? `Granted: connect to ${data.memberHost ?? data.member}.` : `You already had this session: connect to ${data.memberHost ?? data.member}.`);
    }
  } catch (e) {
    if (e instanceof Problem && WAITABLE.has(e.code)) waitSuggested.set(pool, e.code);
    showError(e);
  }
  renderAll();
}

/** Takes the slot held for a ticket: the grant has the ticket's id. */
async function claim(id, button) {
  showError(null);
  showInfo(null);
  if (button) button.disabled = true;
  try {
    const { data } = await api(token, 'POST', `/v1/waiting/${encodeURIComponent(id)}/claim`);
    dropTicket(id);
    grants.set(data.id, data);
    showInfo(`Granted: connect to ${data.memberHost ?? data.member}.`);
    announce(`Granted. Connect to ${data.memberHost ?? data.member}.`, true);
  } catch (e) {
    if (e instanceof Problem && (e.code === 'offer-expired' || e.code === 'ticket-not-found')) dropTicket(id);
    showError(e);
    if (button) button.disabled = false;
  }
  renderAll();
}

/** Leaves the line, or declines the slot held (it passes to the next in line). */
async function leave(id, button) {
  showError(null);
  showInfo(null);
  const t = tickets.get(id);
  if (button) button.disabled = true;
  try {
    await api(token, 'DELETE', `/v1/waiting/${encodeURIComponent(id)}`);
    dropTicket(id);
    showInfo(t?.state === 'offered' ? 'You declined the slot; it went to the next in line.' : 'You left the line.');
  } catch (e) {
    if (e instanceof Problem && (e.code === 'ticket-not-found' || e.code === 'offer-expired')) dropTicket(id);
    else showError(e);
    if (button) button.disabled = false;
  }
  renderAll();
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
  let changed = false;
  for (const g of [...grants.values()]) {
    const left = Date.parse(g.expiresAt) - Date.now();
    if (left > (g.ttlSeconds * 1000 * 2) / 3) continue;
    try {
      const { data } = await api(token, 'POST', `/v1/grants/${encodeURIComponent(g.id)}/heartbeat`);
      grants.set(data.id, data);
      changed = true;
    } catch (e) {
      if (e instanceof Problem && (e.code === 'lease-expired' || e.code === 'grant-not-found')) {
        grants.delete(g.id);
        changed = true;
        showError(e);
      }
    }
  }
  if (changed) renderGrants();
}

/**
 * Keeps the places in line: a check-in about three times per check-in period (at most every 10 s, at
 * least 1 s apart). Over the live connection a ping does it (the broker checks in every place the
 * employee holds and answers `waiting.ticket`); while that is down, the REST check-in.
 */
function checkInIfDue() {
  const now = Date.now();
  const due = [...tickets.values()].filter((t) => {
    if (t.state !== 'waiting') return false;
    const seen = ticketSeen.get(t.id) ?? 0;
    const every = Math.min(10_000, Math.max(1_000, (Date.parse(t.checkInBy) - seen) / 3));
    return now - Math.max(seen, lastCheckIn) >= every;
  });
  if (due.length === 0) return;
  lastCheckIn = now;
  if (liveState === 'live' && live?.ping()) return;
  for (const t of due) {
    api(token, 'POST', `/v1/waiting/${encodeURIComponent(t.id)}/check-in`)
      .then(({ data }) => setTicket(data))
      .catch((e) => {
        if (e instanceof Problem && (e.code === 'ticket-not-found' || e.code === 'offer-expired')) {
          dropTicket(t.id);
          renderAll();
          showError(e);
        }
      });
  }
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
      // A claim made in another tab: the ticket became this grant.
      if (dropTicket(data.id)) renderTickets();
      renderGrants();
      renderPools();
      break;
    case 'grants.ended':
      if (grants.delete(data.id)) showInfo(data.reason === 'expired' ? 'A session expired because it was not renewed.' : 'A session was ended.');
      renderGrants();
      renderPools();
      break;
    case 'waiting.ticket':
    case 'waiting.offer':
      // A ticket claimed here a moment ago may still be reported by a check-in that crossed the claim.
      if (!grants.has(data.id)) setTicket(data);
      break;
    case 'waiting.left': {
      if (!dropTicket(data.id)) break;
      const [text, bad] = LEFT[data.reason] ?? [`You left the line (${data.reason}).`, false];
      if (bad) showError(new Error(text));
      else showInfo(text);
      announce(text, bad);
      renderAll();
      break;
    }
    case 'error':
      showError(new Problem(0, data));
      break;
  }
}

function onStatus(state) {
  liveState = state;
  const s = $('status');
  s.dataset.state = state;
  s.textContent = { live: 'live', connecting: 'connecting…', offline: 'reconnecting…', rejected: 'signed out' }[state];
  if (state === 'live' && token) void refreshTickets();
  if (state === 'rejected') signOut('Your token was not accepted. Sign in again.');
}

function signOut(message) {
  live?.close();
  live = null;
  clearInterval(keepAliveTimer);
  forgetToken();
  token = null;
  grants.clear();
  tickets.clear();
  ticketSeen.clear();
  waitSuggested.clear();
  for (const id of ['sessions', 'request', 'line', 'who', 'signout']) $(id).classList.add('hidden');
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
  live = connectLive({ token, topics: ['capacity', 'grants', 'waiting'], onEvent, onStatus });
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

// Countdowns update in place (re-rendering would take the focus off a button), and check-ins go out when due.
setInterval(() => {
  for (const node of document.querySelectorAll('[data-grant]')) {
    const g = grants.get(node.dataset.grant);
    const field = node.querySelector('[data-field="expires"]');
    if (g && field) field.textContent = `in ${untilText(g.expiresAt)}`;
  }
  for (const node of document.querySelectorAll('[data-ticket][data-state="offered"]')) {
    const t = tickets.get(node.dataset.ticket);
    const field = node.querySelector('[data-field="deadline"]');
    if (t?.offer && field) field.textContent = untilText(t.offer.until);
    // Past its deadline the slot has gone on (the broker pushes that when it next looks; don't offer a dead button).
    if (t?.offer && Date.now() > Date.parse(t.offer.until) + 2_000) onEvent('waiting.left', { id: t.id, pool: t.pool, reason: 'offer-expired' });
  }
  if (token) checkInIfDue();
}, 1000);

const initial = takeToken();
if (initial) void start(initial);
else signOut();
