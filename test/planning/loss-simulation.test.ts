import { drawSessionDay } from '../../src/planning/demand';
import { erlangB } from '../../src/planning/erlang-b';
import { retryDelaySeconds, simulateLossDay, toTicks, type LossDay, type RetryPolicy } from '../../src/planning/loss-simulation';
import { deriveKey } from '../../src/planning/random';
import { sumRange } from '../../src/planning/stats';

/** Poisson arrivals at a flat rate all day, exponential durations: the M/M/c/c system Erlang B describes. */
function flatDay(erlangs: number, meanMinutes: number, key: number) {
  const perDay = (erlangs / meanMinutes) * 1440;
  return drawSessionDay(Array(96).fill(perDay / 96), { distribution: 'exponential', meanMinutes }, key);
}

const total = (days: LossDay[], k: keyof Pick<LossDay, 'attempts' | 'refused' | 'gaveUp'>) => days.reduce((s, d) => s + sumRange(d[k]), 0);

describe('loss simulation', () => {
  // Sizes and replications chosen so that the simulation's standard error is about 0.5 % of the
  // refused share (measured over several seeds): a 2 % tolerance is four standard errors. Short
  // sessions (30 s) give each simulated day many independent busy periods.
  it.each([
    [10, 8],
    [30, 25],
    [100, 90],
  ])('with Poisson arrivals and exponential durations, %i servers offered %i erlangs refuse what Erlang B says, within 2 %', (servers, erlangs) => {
    const mean = 0.5;
    const days: LossDay[] = [];
    for (let r = 0; r < 50; r++) days.push(simulateLossDay(toTicks(flatDay(erlangs, mean, deriveKey(11, servers, r)), mean * 60), servers, null, 0));
    const simulated = total(days, 'refused') / total(days, 'attempts');
    const exact = erlangB(servers, erlangs);
    expect(Math.abs(simulated / exact - 1)).toBeLessThan(0.02);
  });

  it('refuses nobody when the capacity covers the day’s peak, and records that peak', () => {
    const day = toTicks(flatDay(40, 5, 3), 300);
    const unlimited = simulateLossDay(day, Number.MAX_SAFE_INTEGER, null, 0);
    expect(sumRange(unlimited.refused)).toBe(0);
    expect(sumRange(unlimited.attempts)).toBe(day.count);
    const atPeak = simulateLossDay(day, unlimited.maxBusy, null, 0);
    expect(sumRange(atPeak.refused)).toBe(0);
    expect(sumRange(simulateLossDay(day, unlimited.maxBusy - 1, null, 0).refused)).toBeGreaterThan(0);
  });

  it('counts retries as requests, and gives up after the last one', () => {
    const policy: RetryPolicy = { probability: 0.7, maxRetries: 2, delay: { distribution: 'fixed', minutes: 3 } };
    const day = toTicks(flatDay(50, 20, 4), 1200);
    const plain = simulateLossDay(day, 40, null, 9);
    const retrying = simulateLossDay(day, 40, policy, 9);
    expect(sumRange(plain.attempts)).toBe(day.count);
    expect(sumRange(plain.gaveUp)).toBe(sumRange(plain.refused));
    // Every refusal is either retried (one more request) or the end of that employee's tries.
    expect(sumRange(retrying.attempts) - day.count).toBe(sumRange(retrying.refused) - sumRange(retrying.gaveUp));
    expect(sumRange(retrying.gaveUp)).toBeLessThan(sumRange(plain.gaveUp));
  });

  it('decides retries per session, whatever the order of refusals', () => {
    const policy: RetryPolicy = { probability: 0.5, maxRetries: 3, delay: { distribution: 'exponential', meanMinutes: 10 } };
    const plans = [0, 1, 2, 3].map((k) => retryDelaySeconds(policy, 77, 123, k));
    expect([0, 1, 2, 3].map((k) => retryDelaySeconds(policy, 77, 123, k))).toEqual(plans);
    expect(plans[3]).toBe(-1); // no fourth retry
    let retried = 0;
    for (let s = 0; s < 4000; s++) if (retryDelaySeconds(policy, 77, s, 0) >= 0) retried++;
    expect(retried / 4000).toBeGreaterThan(0.46);
    expect(retried / 4000).toBeLessThan(0.54);
  });

  it('is reproducible: the same day and capacity give the same counts', () => {
    const policy: RetryPolicy = { probability: 0.6, maxRetries: 3, delay: { distribution: 'lognormal', medianMinutes: 5, sigma: 0.5 } };
    const a = simulateLossDay(toTicks(flatDay(30, 15, 5), 900), 28, policy, 1);
    const b = simulateLossDay(toTicks(flatDay(30, 15, 5), 900), 28, policy, 1);
    expect(b).toEqual(a);
  });
});
