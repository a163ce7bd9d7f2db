/**
 * The set-up every scenario of load-tests/ repeats, in one place: the common settings, how many
 * sessions it needs, the renewal interval checked against the lease TTL, the keep-alive VUs those
 * renewals need, the prepared tokens (checked against the pool and the count) and the broker client.
 */
import { commonSettings, durationFrom, intFrom } from '../env.js';
import { keepAliveVUsFor, renewalIntervalProblem } from '../expected.js';
import { brokerClient, checkTokens, loadTokens } from './broker.js';

/**
 * `env`: k6's __ENV. `read(file)`: the script's own `(f) => open(f)` (k6 resolves the path from the
 * script that calls open). `count`: the environment variable naming how many sessions the scenario
 * needs, with its default.
 */
export function scenarioSetup(env, read, count) {
  const S = commonSettings(env);
  const n = intFrom(env, count.name, count.fallback, { min: count.min || 1 });
  const renewInterval = durationFrom(env, 'RENEW_INTERVAL', '40s', { min: 1 });
  const leaseTtl = durationFrom(env, 'LEASE_TTL', '120s', { min: 1 });
  const problem = renewalIntervalProblem(renewInterval, leaseTtl);
  if (problem) throw new Error(problem);
  const tokens = loadTokens(() => read(S.tokensFile));
  checkTokens(tokens, S.pool, n);
  return {
    S,
    n,
    renewInterval,
    leaseTtl,
    keepAliveVUs: intFrom(env, 'KEEPALIVE_VUS', keepAliveVUsFor(n, renewInterval, S.p95Ms), { min: 1 }),
    tokens,
    api: brokerClient(S.baseUrl, S.pool),
  };
}
