/**
 * The replay schedule written by `npm run plan` (replay-schedule.json): one
 * simulated day of session requests, each with its duration, its synthetic
 * employee and what it does when refused. Plain ES module (no k6 or Node
 * API): load-tests/replay-plan.js and the jest tests load the same code.
 *
 * A session is `[at, hold, pool, employee, retries]`: arrival tick, ticks it
 * holds a slot once admitted, index into `pools`, employee index within that
 * pool, and the delays (ticks) of the retries it makes after successive
 * refusals — it gives up when they run out. Ticks are `pools[p].tickSeconds`
 * seconds of the simulated day.
 */

export const REPLAY_FORMAT = 'telework-broker-replay-schedule/1';

/** Throws a sentence a person can act on when `s` is not a schedule this code reads. */
export function checkSchedule(s) {
  if (!s || s.format !== REPLAY_FORMAT) throw new Error(`not a replay schedule of ${REPLAY_FORMAT}: write one with npm run plan -- <scenario>`);
  if (!Array.isArray(s.pools) || s.pools.length === 0) throw new Error('the schedule has no pools');
  if (!Array.isArray(s.sessions)) throw new Error('the schedule has no sessions');
  const counts = s.pools.map(() => 0);
  for (const x of s.sessions) {
    if (!Array.isArray(x) || x.length !== 5 || !(x[2] >= 0 && x[2] < s.pools.length) || !Array.isArray(x[4])) throw new Error(`malformed session ${JSON.stringify(x)}`);
    counts[x[2]] += 1;
  }
  s.pools.forEach((p, i) => {
    if (counts[i] !== p.sessions) throw new Error(`pool ${p.id}: the schedule lists ${counts[i]} sessions, its header says ${p.sessions}`);
  });
  return s;
}

/** Index of the first employee of each pool when all pools' employees are numbered in one row. */
export function employeeOffsets(pools) {
  const out = [];
  let n = 0;
  for (const p of pools) {
    out.push(n);
    n += p.employees;
  }
  return out;
}

/**
 * Splits the sessions over `lanes` virtual users by employee, so one VU plays
 * every session of an employee in order and no two VUs act for the same
 * employee. Returns, per lane, the sessions as objects with their position
 * `n` in the schedule (which orders requests that fall on the same tick).
 */
export function splitLanes(schedule, lanes) {
  if (!(Number.isInteger(lanes) && lanes >= 1)) throw new Error(`lanes must be a whole number >= 1, got ${lanes}`);
  const offsets = employeeOffsets(schedule.pools);
  const out = [];
  for (let l = 0; l < lanes; l++) out.push([]);
  schedule.sessions.forEach((x, n) => {
    out[(offsets[x[2]] + x[3]) % lanes].push({ n, at: x[0], hold: x[1], pool: x[2], employee: x[3], retries: x[4] });
  });
  return out;
}

/** Seconds of the simulated day at which the last thing can happen (every retry refused but the last, then held). */
export function lastEventSeconds(schedule) {
  let last = 0;
  for (const x of schedule.sessions) {
    let t = x[0];
    for (const r of x[4]) t += r;
    t = (t + x[1]) * schedule.pools[x[2]].tickSeconds;
    if (t > last) last = t;
  }
  return last;
}

/** Requests, refusals and give-ups a broker of exactly each pool's capacity gives this day: the simulation's prediction. */
export function predicted(schedule) {
  return schedule.pools.map((p) => ({ pool: p.id, capacity: p.capacity, attempts: p.predicted.attempts, refused: p.predicted.refused, gaveUp: p.predicted.gaveUp }));
}
