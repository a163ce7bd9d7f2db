import { connectLive, el, fmt, forgetToken, pct, storeToken, takeToken } from '/assets/live.js';

const MANDATE = 60_000;
const pools = new Map(); // id → newest pool view (by store time `at`)
const $ = (id) => document.getElementById(id);
let live = null;

function level(ratio) {
  return ratio >= 0.9 ? 'bad' : ratio >= 0.8 ? 'warn' : 'ok';
}

function bar(ratio, marks = []) {
  const b = el('div', { class: 'bar', 'data-level': level(ratio) }, el('div', { class: 'fill', style: { width: `${Math.min(1, ratio) * 100}%` } }));
  for (const m of marks) b.append(el('div', { class: `mark ${m.class ?? ''}`, style: { left: `${Math.min(1, m.at) * 100}%` }, title: m.title }));
  return b;
}

const BREAKER = 'circuit-breaker';

function stateText(state) {
  return state === 'drain' ? 'drain' : state === 'out-of-service' ? 'out of service' : 'in service';
}

function since(iso) {
  return iso ? new Date(iso).toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit' }) : null;
}

/** Who set a member's state, in words: an operator, the circuit breaker or a schedule. */
function byText(stateBy) {
  if (!stateBy) return null;
  if (stateBy === BREAKER) return 'circuit breaker';
  if (stateBy.startsWith('schedule:')) return `schedule ${stateBy.slice('schedule:'.length)}`;
  return stateBy;
}

function memberTile(m) {
  const ratio = m.maxSessions > 0 ? m.active / m.maxSessions : 0;
  const tripped = m.stateBy === BREAKER;
  return el(
    'div',
    {
      class: 'member',
      'data-state': m.state,
      'data-level': level(ratio),
      'data-member': m.id,
      'data-by': m.stateBy,
      title: [m.host ?? m.id, m.stateReason].filter(Boolean).join(' — '),
    },
    el('div', { class: 'level', style: { height: `${Math.min(1, ratio) * 100}%` } }),
    el('div', { class: 'id', text: m.id }),
    el('div', { class: 'count num', text: `${fmt(m.active)} / ${fmt(m.maxSessions)}` }),
    m.state !== 'active' || tripped
      ? el('div', { class: 'state', text: tripped ? (m.state === 'active' ? 'probation' : 'breaker') : stateText(m.state) })
      : null,
  );
}

/** Members that are not simply in service, with why: a drain's reason, a breaker trip, a schedule. */
function memberReasons(p) {
  const special = p.members.filter((m) => m.state !== 'active' || m.stateReason || m.stateBy);
  if (special.length === 0) return null;
  return el(
    'ul',
    { class: 'reasons' },
    special.map((m) =>
      el(
        'li',
        { 'data-member-reason': m.id, 'data-state': m.state, 'data-by': m.stateBy },
        el('strong', { text: m.id }),
        el('span', { class: 'state-name', text: stateText(m.state) }),
        el('span', { class: 'reason', 'data-field': 'reason', text: m.stateReason ?? 'no reason given' }),
        el('span', { class: 'muted', text: [byText(m.stateBy) && `by ${byText(m.stateBy)}`, since(m.stateSince) && `since ${since(m.stateSince)}`, m.active > 0 ? `${fmt(m.active)} sessions still on it` : null].filter(Boolean).join(' · ') }),
      ),
    ),
  );
}

/** Reserved headroom per priority class (e.g. the last 500 VPN tunnels for crisis staff) and how much of it is taken. */
function headroom(p) {
  const bands = p.headroom ?? [];
  if (bands.length === 0) return null;
  return el(
    'div',
    { class: 'headroom' },
    bands.flatMap((h) => [
      el('span', { text: `${h.class} headroom` }),
      bar(h.slots > 0 ? h.inUse / h.slots : 0),
      el('span', { class: 'num muted', 'data-headroom': h.class, text: `${fmt(h.inUse)} of ${fmt(h.slots)} in use` }),
    ]),
  );
}

function poolCard(p) {
  const util = p.capacity > 0 ? p.active / p.capacity : p.active > 0 ? 1 : 0;
  const inService = p.members.filter((m) => m.state === 'active').length;
  const agencies = [...p.agencies].sort((a, b) => b.active / b.maximum - a.active / a.maximum);
  return el(
    'section',
    { class: 'panel pool', 'data-pool': p.id },
    el('header', {}, el('h2', { text: p.name ?? p.id }), el('span', { class: 'kind', text: p.kind }), el('span', { class: 'muted', text: `${p.id} · ${p.strategy}` })),
    el(
      'div',
      { class: 'headline' },
      el('div', { class: 'figure' }, el('div', { class: 'value num', 'data-field': 'active', text: fmt(p.active) }), el('div', { class: 'label', text: 'sessions' })),
      el('div', { class: 'figure' }, el('div', { class: 'value num', 'data-field': 'capacity', text: fmt(p.capacity) }), el('div', { class: 'label', text: p.licenceLimit ? `capacity (licence ${fmt(p.licenceLimit)})` : 'capacity in service' })),
      el('div', { class: 'figure' }, el('div', { class: 'value num', 'data-field': 'free', text: fmt(p.free) }), el('div', { class: 'label', text: 'free' })),
      el('div', { class: 'figure waiting', 'data-some': String(p.waiting > 0) }, el('div', { class: 'value num', 'data-field': 'waiting', text: fmt(p.waiting ?? 0) }), el('div', { class: 'label', text: 'waiting in line' })),
      el('div', { class: 'figure offered', 'data-some': String(p.offered > 0) }, el('div', { class: 'value num', 'data-field': 'offered', text: fmt(p.offered ?? 0) }), el('div', { class: 'label', text: 'offers held' })),
    ),
    el(
      'div',
      { class: 'util' },
      bar(util, [{ at: 0.9, title: '90 %: alert' }]),
      el('span', { class: 'util-value' }, el('strong', { class: 'num', 'data-field': 'utilisation', 'data-level': level(util), text: pct(util) }), ' utilisation'),
    ),
    headroom(p),
    el('h3', { text: `Members — ${inService} of ${p.members.length} in service` }),
    el('div', { class: 'members' }, p.members.map(memberTile)),
    memberReasons(p),
    el('h3', { text: 'Agencies' }),
    el(
      'div',
      { class: 'agencies' },
      agencies.flatMap((a) => [
        el('span', { text: a.id }),
        bar(a.maximum > 0 ? a.active / a.maximum : 0, [{ at: a.maximum > 0 ? a.guaranteed / a.maximum : 0, class: 'guarantee', title: `guaranteed ${a.guaranteed}` }]),
        el('span', { class: 'num muted', 'data-agency': a.id, text: `${fmt(a.active)} / ${fmt(a.maximum)} (g ${fmt(a.guaranteed)})` }),
      ]),
    ),
  );
}

function render() {
  const list = [...pools.values()].sort((a, b) => a.id.localeCompare(b.id));
  const container = $('pools');
  container.replaceChildren(...list.map(poolCard));
  const active = list.reduce((s, p) => s + p.active, 0);
  const capacity = list.reduce((s, p) => s + p.capacity, 0);
  const waiting = list.reduce((s, p) => s + (p.waiting ?? 0), 0);
  const offered = list.reduce((s, p) => s + (p.offered ?? 0), 0);
  const tripped = list.reduce((s, p) => s + p.members.filter((m) => m.stateBy === BREAKER && m.state !== 'active').length, 0);
  const vpn = list.filter((p) => p.kind === 'vpn').reduce((s, p) => s + p.active, 0);
  $('total-active').textContent = fmt(active);
  $('total-capacity').textContent = fmt(capacity);
  $('total-waiting').textContent = fmt(waiting);
  $('total-waiting-box').dataset.some = String(waiting > 0);
  $('total-offered').textContent = fmt(offered);
  $('total-tripped').textContent = fmt(tripped);
  $('total-tripped-box').dataset.some = String(tripped > 0);
  $('mandate-bar').replaceWith(Object.assign(bar(vpn / MANDATE), { id: 'mandate-bar' }));
  $('mandate-text').textContent = `${fmt(vpn)} of ${fmt(MANDATE)} (${pct(vpn / MANDATE)})`;
  const newest = Math.max(...list.map((p) => Date.parse(p.at)));
  if (Number.isFinite(newest)) $('updated').textContent = new Date(newest).toLocaleTimeString('en-GB');
}

let pending = false;
function scheduleRender() {
  if (pending) return;
  pending = true;
  const run = () => {
    pending = false;
    render();
  };
  // Browsers pause animation frames in hidden tabs; render there too, just less often.
  if (document.hidden) setTimeout(run, 250);
  else requestAnimationFrame(run);
}

function onEvent(event, data) {
  if (event === 'capacity.pool') {
    const known = pools.get(data.id);
    // Replicas' messages may cross: keep the newest snapshot (store time).
    if (!known || Date.parse(data.at) >= Date.parse(known.at)) {
      pools.set(data.id, data);
      scheduleRender();
    }
  } else if (event === 'error') {
    const message = `${data.title}${data.detail ? `: ${data.detail}` : ''}`;
    if (data.code?.startsWith('token-')) {
      onStatus('rejected');
      forgetToken();
    }
    showSignin(message);
  }
}

function onStatus(state) {
  const s = $('status');
  s.dataset.state = state;
  s.textContent = { live: 'live', connecting: 'connecting…', offline: 'reconnecting…', rejected: 'token rejected' }[state];
  if (state === 'rejected' && live) {
    forgetToken();
    showSignin('The token was not accepted.');
  }
}

function showSignin(message) {
  live?.close();
  live = null;
  $('signin').classList.remove('hidden');
  $('overview').classList.add('hidden');
  const err = $('signin-error');
  err.textContent = message ?? '';
  err.classList.toggle('hidden', !message);
}

function start(token) {
  $('signin').classList.add('hidden');
  $('overview').classList.remove('hidden');
  live = connectLive({ token, topics: ['capacity'], onEvent, onStatus });
}

$('signin-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const token = $('token').value.trim();
  if (!token) return;
  storeToken(token);
  start(token);
});

setInterval(() => ($('clock').textContent = new Date().toLocaleTimeString('en-GB')), 1000);
const token = takeToken();
if (token) start(token);
else showSignin();
