/**
 * Arrival curves: how many employees log on (or off) per unit of time over a
 * working morning (or evening), turned into k6 `ramping-arrival-rate` stages
 * that can be compressed into any duration. Plain ES module (no k6 or Node
 * API): the k6 scripts and the jest tests load the same code.
 *
 * A shape is a list of relative rates at equally spaced points of the day;
 * between two points the rate changes linearly, exactly as k6 ramps the rate
 * between two stages, so the integral of the stages is the integral of the
 * shape.
 */

import { k6Duration } from './env.js';

/**
 * Weekday logons of an office workforce on remote access, 05:30–10:30 in
 * quarter hours: a few early starters, a steep rise after 06:30, the peak
 * between 07:30 and 08:00, a long tail of late starters and part-timers. A
 * plausible synthetic shape; where access logs exist, the capacity-planning
 * replay (load-tests/replay-plan.js) derives the real one.
 */
export const MORNING_LOGON = {
  name: 'morning-logon',
  start: '05:30',
  stepMinutes: 15,
  weights: [0, 1, 2, 4, 7, 11, 16, 21, 25, 26, 24, 20, 16, 12, 9, 6, 4, 3, 2, 1, 0],
};

/** Weekday logoffs, 14:30–19:30 in quarter hours: peak between 16:15 and 16:45. */
export const EVENING_RELEASE = {
  name: 'evening-release',
  start: '14:30',
  stepMinutes: 15,
  weights: [0, 1, 2, 3, 5, 8, 12, 17, 22, 25, 24, 21, 17, 13, 10, 7, 5, 3, 2, 1, 0],
};

/** Minutes of the real day a shape spans. */
export function shapeMinutes(shape) {
  return (shape.weights.length - 1) * shape.stepMinutes;
}

function checkShape(shape) {
  const w = shape && shape.weights;
  if (!Array.isArray(w) || w.length < 2) throw new Error('a shape needs at least two weights');
  for (const x of w) if (!(x >= 0) || !isFinite(x)) throw new Error(`shape weights must be finite and >= 0, got ${x}`);
  if (trapezoids(w) <= 0) throw new Error('a shape must have some arrivals');
}

/** Sum of the trapezoids between consecutive weights (one segment = one unit). */
function trapezoids(weights) {
  let s = 0;
  for (let i = 1; i < weights.length; i++) s += (weights[i - 1] + weights[i]) / 2;
  return s;
}

/**
 * Share of all arrivals that have arrived by `fraction` (0..1) of the shape's
 * span: the normalised integral of the piecewise-linear rate.
 */
export function cumulativeShare(shape, fraction) {
  checkShape(shape);
  const w = shape.weights;
  const segments = w.length - 1;
  const x = Math.min(Math.max(fraction, 0), 1) * segments;
  const whole = Math.floor(x);
  let area = 0;
  for (let i = 0; i < whole && i < segments; i++) area += (w[i] + w[i + 1]) / 2;
  if (whole < segments) {
    const d = x - whole;
    const a = w[whole];
    const b = w[whole + 1];
    area += a * d + ((b - a) * d * d) / 2;
  }
  return area / trapezoids(w);
}

/** Employees arrived after `elapsedSeconds` of a run that plays `total` arrivals in `durationSeconds`. */
export function arrivedBy(shape, total, elapsedSeconds, durationSeconds) {
  if (!(durationSeconds > 0)) throw new Error('durationSeconds must be > 0');
  return Math.min(total, Math.floor(total * cumulativeShare(shape, elapsedSeconds / durationSeconds) + 1e-9));
}

/** The smallest k6 time unit (1s, 10s, 1m) at which the peak rate has at least 20 iterations, for rounding precision. */
function chooseTimeUnit(peakPerSecond) {
  for (const tu of [1, 10, 60]) if (peakPerSecond * tu >= 20) return tu;
  return 60;
}

function timeUnitLabel(seconds) {
  return seconds === 60 ? '1m' : `${seconds}s`;
}

/** Iterations k6 starts for a ramping-arrival-rate plan: the integral of its linear ramps. */
export function plannedIterations(plan) {
  let prev = plan.startRate;
  let n = 0;
  for (const st of plan.stages) {
    n += ((prev + st.target) / 2) * (st.durationSeconds / plan.timeUnitSeconds);
    prev = st.target;
  }
  return n;
}

/**
 * k6 `ramping-arrival-rate` settings that play `total` arrivals of `shape`
 * in `durationSeconds`. Targets are whole iterations per time unit, rounded
 * up, so k6 starts at least `total` iterations; scripts ignore the few past
 * `total`. Returns also the peak rate per second (to size VUs) and the
 * compression against the real day.
 */
export function arrivalPlan(shape, options) {
  checkShape(shape);
  const total = options.total;
  const durationSeconds = options.durationSeconds;
  if (!(Number.isInteger(total) && total > 0)) throw new Error(`total must be a whole number > 0, got ${total}`);
  if (!(durationSeconds > 0)) throw new Error(`durationSeconds must be > 0, got ${durationSeconds}`);
  const w = shape.weights;
  const segments = w.length - 1;
  const segmentSeconds = durationSeconds / segments;
  // rate(t) per second = k * weight(t); the integral over the run is `total`.
  const k = total / (segmentSeconds * trapezoids(w));
  const peakPerSecond = k * Math.max.apply(null, w);
  const tu = options.timeUnitSeconds || chooseTimeUnit(peakPerSecond);
  const perUnit = (weight) => Math.max(0, Math.ceil(k * weight * tu - 1e-9));
  const stages = [];
  for (let i = 1; i <= segments; i++) {
    stages.push({ durationSeconds: segmentSeconds, target: perUnit(w[i]) });
  }
  const plan = {
    startRate: perUnit(w[0]),
    timeUnitSeconds: tu,
    timeUnit: timeUnitLabel(tu),
    stages,
    durationSeconds,
    total,
    peakPerSecond,
    compression: (shapeMinutes(shape) * 60) / durationSeconds,
  };
  plan.iterations = plannedIterations(plan);
  return plan;
}

/**
 * Renewals that keep `held(t)` sessions alive while a shape plays: each held
 * session renewed about once every `intervalSeconds`. The rate follows the
 * number arrived so far (sampled at the shape's points, rounded up, with
 * `margin` on top), then stays at `total / intervalSeconds` for `holdSeconds`.
 */
export function renewalPlan(shape, options) {
  checkShape(shape);
  const { total, durationSeconds, intervalSeconds } = options;
  const holdSeconds = options.holdSeconds || 0;
  const margin = options.margin === undefined ? 1.1 : options.margin;
  if (!(intervalSeconds > 0)) throw new Error('intervalSeconds must be > 0');
  const segments = shape.weights.length - 1;
  const segmentSeconds = durationSeconds / segments;
  const peakPerSecond = (total / intervalSeconds) * margin;
  const tu = options.timeUnitSeconds || chooseTimeUnit(peakPerSecond);
  const rateAt = (fraction) => Math.max(0, Math.ceil(((total * cumulativeShare(shape, fraction)) / intervalSeconds) * margin * tu - 1e-9));
  const stages = [];
  for (let i = 1; i <= segments; i++) stages.push({ durationSeconds: segmentSeconds, target: rateAt(i / segments) });
  if (holdSeconds > 0) stages.push({ durationSeconds: holdSeconds, target: rateAt(1) });
  const plan = { startRate: 0, timeUnitSeconds: tu, timeUnit: timeUnitLabel(tu), stages, durationSeconds: durationSeconds + holdSeconds, total, peakPerSecond };
  plan.iterations = plannedIterations(plan);
  return plan;
}

/** Wall-clock time of the real day at `fraction` of the shape, e.g. "07:45". */
export function clockAt(shape, fraction) {
  const parts = shape.start.split(':');
  const minutes = Number(parts[0]) * 60 + Number(parts[1]) + Math.round(fraction * shapeMinutes(shape));
  const h = Math.floor(minutes / 60) % 24;
  const m = minutes % 60;
  return `${h < 10 ? '0' : ''}${h}:${m < 10 ? '0' : ''}${m}`;
}

/** The plan as k6 executor fields: `{ startRate, timeUnit, stages: [{ duration, target }] }`. */
export function k6RampingFields(plan) {
  return {
    startRate: plan.startRate,
    timeUnit: plan.timeUnit,
    stages: plan.stages.map((s) => ({ duration: k6Duration(s.durationSeconds), target: s.target })),
  };
}
