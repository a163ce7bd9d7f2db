// Client for the broker's live WebSocket (/ws) and REST API, shared by both pages. No build step.

const TOKEN_KEY = 'telework-broker.token';

/** The bearer token: from the URL fragment (#token=…, for a wall screen's bookmark), else from this tab's storage. */
export function takeToken() {
  const hash = new URLSearchParams(location.hash.slice(1));
  const fromHash = hash.get('token');
  if (fromHash) {
    sessionStorage.setItem(TOKEN_KEY, fromHash);
    history.replaceState(null, '', location.pathname + location.search);
    return fromHash;
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

export function storeToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** Claims of a JWT, for display only (the broker checks the signature). */
export function claimsOf(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(part));
  } catch {
    return null;
  }
}

/** An application/problem+json answer as an Error with its fields. */
export class Problem extends Error {
  constructor(status, body, retryAfter) {
    super(body?.detail || body?.title || `HTTP ${status}`);
    this.status = status;
    this.code = body?.code;
    this.title = body?.title;
    this.retryAfter = retryAfter;
  }
}

export async function api(token, method, path, body) {
  const headers = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) throw new Problem(res.status, data, res.headers.get('retry-after'));
  return { status: res.status, data };
}

/**
 * A WebSocket that authenticates with the token in a first message (never in the URL, which proxies log),
 * subscribes to `topics`, and reconnects with backoff (subscribing again after each reconnect). `onEvent(event, data)` gets every message;
 * `onStatus(state)` gets 'connecting' | 'live' | 'offline' | 'rejected'.
 */
export function connectLive({ token, topics, onEvent, onStatus }) {
  let ws = null;
  let attempt = 0;
  let stopped = false;
  let pingTimer = null;

  const open = () => {
    onStatus('connecting');
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
    ws = new WebSocket(url);
    ws.addEventListener('open', () => {
      ws.send(JSON.stringify({ event: 'auth', data: { token } }));
    });
    ws.addEventListener('message', (m) => {
      let msg;
      try {
        msg = JSON.parse(m.data);
      } catch {
        return;
      }
      if (msg.event === 'auth' && msg.data?.ok) {
        attempt = 0;
        onStatus('live');
        for (const topic of topics) ws.send(JSON.stringify({ event: 'subscribe', data: { topic } }));
        return;
      }
      onEvent(msg.event, msg.data);
    });
    ws.addEventListener('close', (e) => {
      clearInterval(pingTimer);
      if (stopped) return;
      if (e.code === 4401) {
        onStatus('rejected');
        return;
      }
      onStatus('offline');
      attempt += 1;
      setTimeout(open, Math.min(30_000, 500 * 2 ** Math.min(attempt, 6)));
    });
    // Keeps idle connections open through proxies that drop silent ones.
    pingTimer = setInterval(() => ws.readyState === WebSocket.OPEN && ws.send('{"event":"ping"}'), 25_000);
  };
  open();
  return {
    close() {
      stopped = true;
      clearInterval(pingTimer);
      ws?.close();
    },
    /**
     * Sends a ping now; false while not connected. On a connection subscribed to `waiting` the broker
     * treats it as a check-in of the owner's places in line (at most once a second) and answers with
     * `waiting.ticket`.
     */
    ping() {
      if (ws?.readyState !== WebSocket.OPEN) return false;
      ws.send('{"event":"ping"}');
      return true;
    },
  };
}

export function fmt(n) {
  return new Intl.NumberFormat('en-GB').format(n);
}

export function pct(ratio) {
  return `${(ratio * 100).toFixed(ratio >= 0.995 || ratio === 0 ? 0 : 1)} %`;
}

/** Tiny DOM builder: el('div', { class: 'x', text: 'y' }, child, …). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') node.textContent = v;
    else if (k === 'style') for (const [p, val] of Object.entries(v)) node.style.setProperty(p, val);
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) node.append(c);
  return node;
}
