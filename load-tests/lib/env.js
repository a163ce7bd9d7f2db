/**
 * Reading settings from an environment object: k6 passes `__ENV`, jest and
 * Node pass `process.env`. Plain ES module, no k6 or Node API, so both can
 * load it. A bad value throws, naming the variable, so a run never starts on
 * a typo.
 */

const UNIT_SECONDS = { ms: 0.001, s: 1, m: 60, h: 3600 };

/** Seconds in a duration such as "90s", "1.5m", "2h", "500ms" or a plain number of seconds. */
export function parseDuration(text) {
  const raw = String(text).trim();
  if (/^\d+(?:\.\d+)?$/.test(raw)) return Number(raw);
  if (raw === '') throw new Error(`not a duration: "${text}"`);
  // "1h30m" is a sum of parts, as k6 writes durations.
  const part = /^(\d+(?:\.\d+)?)(ms|s|m|h)/;
  let total = 0;
  let rest = raw;
  while (rest.length > 0) {
    const m = part.exec(rest);
    if (!m) throw new Error(`not a duration: "${text}" (write e.g. 90s, 10m, 1h30m)`);
    total += Number(m[1]) * UNIT_SECONDS[m[2]];
    rest = rest.slice(m[0].length);
  }
  return total;
}

/** A k6 duration string for a number of seconds (whole milliseconds). */
export function k6Duration(seconds) {
  if (!(seconds >= 0) || !isFinite(seconds)) throw new Error(`not a duration: ${seconds}`);
  const ms = Math.round(seconds * 1000);
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

function present(env, name) {
  const v = env[name];
  return v !== undefined && v !== null && String(v).trim() !== '';
}

export function stringFrom(env, name, fallback) {
  return present(env, name) ? String(env[name]).trim() : fallback;
}

/** A whole number within [min, max]. */
export function intFrom(env, name, fallback, limits) {
  if (!present(env, name)) return fallback;
  const text = String(env[name]).trim().replace(/_/g, '');
  const n = Number(text);
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(n)) throw new Error(`${name} must be a whole number, got "${env[name]}"`);
  checkLimits(name, n, limits);
  return n;
}

/** Any finite number within [min, max]. */
export function numberFrom(env, name, fallback, limits) {
  if (!present(env, name)) return fallback;
  const n = Number(String(env[name]).trim());
  if (!isFinite(n)) throw new Error(`${name} must be a number, got "${env[name]}"`);
  checkLimits(name, n, limits);
  return n;
}

/** Seconds, from a duration such as "10m". */
export function durationFrom(env, name, fallback, limits) {
  if (!present(env, name)) return typeof fallback === 'string' ? parseDuration(fallback) : fallback;
  let s;
  try {
    s = parseDuration(env[name]);
  } catch (e) {
    throw new Error(`${name}: ${e.message}`);
  }
  checkLimits(name, s, limits);
  return s;
}

export function boolFrom(env, name, fallback) {
  if (!present(env, name)) return fallback;
  const v = String(env[name]).trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new Error(`${name} must be true or false, got "${env[name]}"`);
}

/** One of a fixed set of words. */
export function choiceFrom(env, name, fallback, choices) {
  const v = stringFrom(env, name, fallback);
  if (!choices.includes(v)) throw new Error(`${name} must be one of ${choices.join(', ')}, got "${v}"`);
  return v;
}

function checkLimits(name, n, limits) {
  if (!limits) return;
  if (limits.min !== undefined && n < limits.min) throw new Error(`${name} must be at least ${limits.min}, got ${n}`);
  if (limits.max !== undefined && n > limits.max) throw new Error(`${name} must be at most ${limits.max}, got ${n}`);
}

/**
 * Settings every scenario shares: where the broker is, which pool, where the
 * prepared tokens are. A loopback address is the default; any other target
 * must be named explicitly.
 */
export function commonSettings(env) {
  const baseUrl = stringFrom(env, 'BASE_URL', 'http://127.0.0.1:8080').replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]+$/.test(baseUrl)) throw new Error(`BASE_URL must be scheme://host[:port], got "${baseUrl}"`);
  return {
    baseUrl,
    pool: stringFrom(env, 'POOL', 'vpn-statenet'),
    /** Relative paths are resolved by k6 from the script's folder (load-tests/). */
    tokensFile: stringFrom(env, 'TOKENS', '.data/tokens.json'),
    clientId: stringFrom(env, 'CLIENT_ID', 'k6-laptop'),
    /** Virtual users kept ready; arrival-rate executors add more up to MAX_VUS when responses slow down. */
    preAllocatedVUs: intFrom(env, 'VUS', 50, { min: 1, max: 10000 }),
    maxVUs: intFrom(env, 'MAX_VUS', 400, { min: 1, max: 20000 }),
    /** Thresholds: latency percentiles in milliseconds. */
    p95Ms: numberFrom(env, 'P95_MS', 100, { min: 1 }),
    p99Ms: numberFrom(env, 'P99_MS', 250, { min: 1 }),
    /** Share of unexpected answers (5xx other than capacity refusals, 401, transport errors) that fails the run. */
    maxErrorRate: numberFrom(env, 'MAX_ERROR_RATE', 0.001, { min: 0, max: 1 }),
    /** Iterations k6 could not start for lack of VUs that the run tolerates. */
    maxDropped: intFrom(env, 'MAX_DROPPED', 0, { min: 0 }),
    /**
     * Grants per second while setup() fills the pool: below the broker's admission rate
     * (waitingRoom.admissionsPerSecond, 400 in the sample), above which requests wait in line.
     */
    setupRate: intFrom(env, 'SETUP_RATE', 300, { min: 1 }),
  };
}
