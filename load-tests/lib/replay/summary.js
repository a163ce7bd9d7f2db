/**
 * Names of the replay's k6 metrics, and the result file the compare command
 * reads, built from k6's end-of-test summary. Plain ES module.
 */

export const RESULT_FORMAT = 'telework-broker-replay-result/1';

/** Refusal codes of docs/admission.md; capacity refusals are the ones the simulation models. */
export const REFUSAL_CODES = ['not-entitled', 'employee-at-limit', 'agency-at-maximum', 'pool-unavailable', 'pool-full', 'capacity-reserved'];

const COUNTS = ['attempts', 'admitted', 'reconnected', 'queued', 'gave_up', 'errors', 'released', 'heartbeats', 'lost'];

/** k6 metric name of counter `what` of pool number `p` (k6 names allow letters, digits and '_'). */
export function metricName(p, what) {
  return `replay_p${p}_${what.replace(/-/g, '_')}`;
}

/** Every counter the script creates: the plain counts, and one per refusal code. */
export function counterNames(poolCount) {
  const out = [];
  for (let p = 0; p < poolCount; p++) {
    for (const w of COUNTS) out.push(metricName(p, w));
    for (const code of REFUSAL_CODES.concat(['other'])) out.push(metricName(p, `refused_${code}`));
  }
  return out;
}

/** Adds one lane's tally (driver.js) to k6 counters: `add(name, n)`. */
export function recordTally(tally, add) {
  tally.forEach((c, p) => {
    add(metricName(p, 'attempts'), c.attempts);
    add(metricName(p, 'admitted'), c.admitted);
    add(metricName(p, 'reconnected'), c.reconnected);
    add(metricName(p, 'queued'), c.queued);
    add(metricName(p, 'gave_up'), c.gaveUp);
    add(metricName(p, 'errors'), c.errors);
    add(metricName(p, 'released'), c.released);
    add(metricName(p, 'heartbeats'), c.heartbeats);
    add(metricName(p, 'lost'), c.lost);
    for (const code of Object.keys(c.refused)) {
      add(metricName(p, `refused_${REFUSAL_CODES.indexOf(code) >= 0 ? code : 'other'}`), c.refused[code]);
    }
  });
}

function count(metrics, name) {
  const m = metrics[name];
  return m && m.values && typeof m.values.count === 'number' ? m.values.count : 0;
}

/**
 * The result file: per pool what the broker did, beside the schedule's
 * identity, from k6's summary `metrics` (data.metrics in handleSummary).
 */
export function buildResult(schedule, run, metrics) {
  const late = metrics.replay_lateness && metrics.replay_lateness.values ? metrics.replay_lateness.values : {};
  return {
    format: RESULT_FORMAT,
    schedule: { scenario: schedule.scenario, seed: schedule.seed, variant: schedule.variant, day: schedule.day },
    compress: run.compress,
    lanes: run.lanes,
    baseUrl: run.baseUrl,
    latenessMs: { p95: late['p(95)'] === undefined ? null : late['p(95)'], max: late.max === undefined ? null : late.max },
    pools: schedule.pools.map((pool, p) => {
      const refused = {};
      for (const code of REFUSAL_CODES.concat(['other'])) {
        const n = count(metrics, metricName(p, `refused_${code}`));
        if (n > 0) refused[code] = n;
      }
      return {
        id: pool.id,
        capacity: run.capacities ? run.capacities[p] : null,
        attempts: count(metrics, metricName(p, 'attempts')),
        admitted: count(metrics, metricName(p, 'admitted')),
        reconnected: count(metrics, metricName(p, 'reconnected')),
        queued: count(metrics, metricName(p, 'queued')),
        refused,
        gaveUp: count(metrics, metricName(p, 'gave_up')),
        errors: count(metrics, metricName(p, 'errors')),
        released: count(metrics, metricName(p, 'released')),
        heartbeats: count(metrics, metricName(p, 'heartbeats')),
        lost: count(metrics, metricName(p, 'lost')),
      };
    }),
  };
}
