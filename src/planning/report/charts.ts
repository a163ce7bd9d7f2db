import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { SLOT_SECONDS, slotLabel } from '../arrival-profile';
import type { PoolPlan, VariantResult } from '../planner';
import { variantLabel } from './format';

/** Charts are drawn with Vega-Lite and rendered to SVG by Vega in Node: no browser, no canvas. */

const COLOURS = { today: '#1f6fb4', growth: '#d95f02', capacity: '#333333', target: '#b2182b', erlang: '#777777' };
const FONT = 'Helvetica, Arial, sans-serif';
const WIDTH = 640;
const HEIGHT = 260;

const config = {
  font: FONT,
  view: { stroke: null },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#e6e6e6' },
  legend: { labelFontSize: 11, titleFontSize: 12, orient: 'top', labelLimit: 400 },
  title: { fontSize: 14, anchor: 'start', subtitleFontSize: 12, subtitleColor: '#555' },
} as const;

/** Sample step of the concurrency chart and CSV, minutes. */
export const CONCURRENCY_STEP_MINUTES = 5;

function variantsOf(p: PoolPlan): VariantResult[] {
  return p.growth ? [p.today, p.growth] : [p.today];
}

function colourScale(p: PoolPlan) {
  const vs = variantsOf(p);
  return { domain: vs.map((v) => variantLabel(v)), range: vs.map((v) => COLOURS[v.variant]) };
}

const hourAxis = {
  title: 'time of day',
  values: [0, 3, 6, 9, 12, 15, 18, 21, 24],
  labelExpr: "(datum.value < 10 ? '0' : '') + datum.value + ':00'",
};

/** Offered load over the day: median and 95 % band per variant, today's and the recommended capacities. */
export function concurrencySpec(p: PoolPlan): TopLevelSpec {
  const rows = variantsOf(p).flatMap((v) =>
    v.concurrency.median
      .map((median, minute) => ({ minute, median }))
      .filter((r) => r.minute % CONCURRENCY_STEP_MINUTES === 0)
      .map((r) => ({ variant: variantLabel(v), hour: r.minute / 60, median: r.median, low: v.concurrency.low[r.minute], high: v.concurrency.high[r.minute] })),
  );
  // Today's capacity is labelled on the left, recommendations on the right, so close lines stay readable.
  const rules = [
    { label: `today's capacity ${fmt(p.pool.capacity)}`, value: p.pool.capacity, colour: COLOURS.capacity, dash: [1, 0], x: 0.2, align: 'left' },
    ...variantsOf(p).map((v) => ({
      label: `recommended ${variantLabel(v)}: ${fmt(v.recommendation.capacity)}`,
      value: v.recommendation.capacity,
      colour: COLOURS[v.variant],
      dash: [6, 3],
      x: 23.8,
      align: 'right',
    })),
  ];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    config,
    width: WIDTH,
    height: HEIGHT,
    title: { text: `${p.pool.id}: sessions wanted over the day`, subtitle: 'if nobody were refused; line: median day, shaded: 95 % of days' },
    layer: [
      {
        data: { values: rows },
        mark: { type: 'area', opacity: 0.22 },
        encoding: {
          x: { field: 'hour', type: 'quantitative', axis: hourAxis, scale: { domain: [0, 24], nice: false } },
          y: { field: 'low', type: 'quantitative', title: 'concurrent sessions' },
          y2: { field: 'high' },
          color: { field: 'variant', type: 'nominal', scale: colourScale(p), title: null },
        },
      },
      {
        data: { values: rows },
        mark: { type: 'line', strokeWidth: 1.8 },
        encoding: {
          x: { field: 'hour', type: 'quantitative' },
          y: { field: 'median', type: 'quantitative' },
          color: { field: 'variant', type: 'nominal', scale: colourScale(p), title: null },
        },
      },
      {
        data: { values: rules },
        mark: { type: 'rule', strokeWidth: 1.2 },
        encoding: {
          y: { field: 'value', type: 'quantitative' },
          color: { field: 'colour', type: 'nominal', scale: null },
          strokeDash: { field: 'dash', type: 'nominal', scale: null },
        },
      },
      ...(['left', 'right'] as const).map((align) => ({
        data: { values: rules.filter((r) => r.align === align) },
        mark: { type: 'text', baseline: 'bottom', align, dy: -2, fontSize: 11 },
        encoding: {
          x: { field: 'x', type: 'quantitative' },
          y: { field: 'value', type: 'quantitative' },
          text: { field: 'label' },
          color: { field: 'colour', type: 'nominal', scale: null },
        },
      })),
    ],
  } as TopLevelSpec;
}

/** Refused share against capacity: simulation (with its 95 % band over days) beside Erlang B. */
export function refusalSpec(p: PoolPlan, v: VariantResult, target: number, window: 'busy-hour' | 'day'): TopLevelSpec {
  const where = window === 'busy-hour' ? 'in the busy hour' : 'over the day';
  const rows = v.candidates.map((c) => ({
    capacity: c.capacity,
    simulated: c.refusedShare,
    low: c.refusedShareBand[0],
    high: c.refusedShareBand[1],
    erlang: c.erlangB,
  }));
  const long = rows.flatMap((r) => [
    { capacity: r.capacity, share: r.simulated, source: 'simulation' },
    { capacity: r.capacity, share: r.erlang, source: 'Erlang B (busy hour)' },
  ]);
  const xs = rows.map((r) => r.capacity);
  const marks = [
    { value: p.pool.capacity, label: `today ${fmt(p.pool.capacity)}`, colour: COLOURS.capacity, dash: [1, 0] },
    { value: v.recommendation.capacity, label: `recommended ${fmt(v.recommendation.capacity)}`, colour: COLOURS[v.variant], dash: [6, 3] },
  ].filter((m) => m.value >= Math.min(...xs) && m.value <= Math.max(...xs));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    config,
    width: WIDTH,
    height: HEIGHT,
    title: {
      text: `${p.pool.id}, ${variantLabel(v)}: refused requests by capacity`,
      subtitle: [`share of requests refused ${where}; bars: 95 % of simulated days`, `grey dashes: Erlang B for the busy hour; red line: the target, ${pct(target)}`],
    },
    layer: [
      {
        data: { values: rows },
        mark: { type: 'errorbar', color: COLOURS[v.variant], opacity: 0.6, ticks: true },
        encoding: {
          x: { field: 'capacity', type: 'quantitative', title: 'capacity (concurrent sessions)', scale: { zero: false } },
          y: {
            field: 'low',
            type: 'quantitative',
            title: 'refused share (stretched near 0)',
            axis: { format: '.1~%', values: shareTicks(Math.max(target, ...rows.map((r) => Math.max(r.high, r.simulated, r.erlang)))) },
            scale: { type: 'symlog', constant: target / 10 },
          },
          y2: { field: 'high' },
        },
      },
      {
        data: { values: long },
        mark: { type: 'line', point: true, strokeWidth: 1.6 },
        encoding: {
          x: { field: 'capacity', type: 'quantitative' },
          y: { field: 'share', type: 'quantitative' },
          color: {
            field: 'source',
            type: 'nominal',
            scale: { domain: ['simulation', 'Erlang B (busy hour)'], range: [COLOURS[v.variant], COLOURS.erlang] },
            title: null,
          },
          strokeDash: { field: 'source', type: 'nominal', scale: { domain: ['simulation', 'Erlang B (busy hour)'], range: [[1, 0], [5, 3]] }, title: null },
        },
      },
      {
        data: { values: [{ target }] },
        mark: { type: 'rule', color: COLOURS.target, strokeWidth: 1 },
        encoding: { y: { field: 'target', type: 'quantitative' } },
      },
      {
        data: { values: marks },
        mark: { type: 'rule', strokeWidth: 1.2 },
        encoding: {
          x: { field: 'value', type: 'quantitative' },
          color: { field: 'colour', type: 'nominal', scale: null },
          strokeDash: { field: 'dash', type: 'nominal', scale: null },
        },
      },
      // A label reads beside its line, on the left; at the left edge of the chart (today's capacity in the
      // growth chart) on the right, where it does not run into the axis.
      ...[
        { values: marks.filter((m) => m.value > Math.min(...xs)), baseline: 'bottom', dy: -3 },
        { values: marks.filter((m) => m.value <= Math.min(...xs)), baseline: 'top', dy: 3 },
      ]
        .filter((l) => l.values.length > 0)
        .map((l) => ({
          data: { values: l.values },
          mark: { type: 'text', angle: 270, align: 'right', baseline: l.baseline, dx: -4, dy: l.dy, fontSize: 11 },
          encoding: {
            x: { field: 'value', type: 'quantitative' },
            y: { value: 0 },
            text: { field: 'label' },
            color: { field: 'colour', type: 'nominal', scale: null },
          },
        })),
    ],
  } as TopLevelSpec;
}

/** The daily peak of the offered load, one dot per simulated day, against the capacities. */
export function peakSpec(p: PoolPlan): TopLevelSpec {
  const rows = variantsOf(p).flatMap((v) => v.peaks.map((peak, day) => ({ variant: variantLabel(v), day: day + 1, peak })));
  const rules = [
    { label: `today's capacity`, value: p.pool.capacity, colour: COLOURS.capacity, dash: [1, 0] },
    ...variantsOf(p).map((v) => ({ label: `recommended ${variantLabel(v)}`, value: v.recommendation.capacity, colour: COLOURS[v.variant], dash: [6, 3] })),
  ];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    config,
    width: WIDTH,
    height: 40 * variantsOf(p).length,
    title: { text: `${p.pool.id}: daily peak of sessions wanted`, subtitle: 'one dot per simulated day; lines: capacities (today solid, recommended dashed)' },
    layer: [
      {
        data: { values: rules },
        mark: { type: 'rule', strokeWidth: 1.2 },
        encoding: {
          x: { field: 'value', type: 'quantitative' },
          color: { field: 'colour', type: 'nominal', scale: null },
          strokeDash: { field: 'dash', type: 'nominal', scale: null },
        },
      },
      {
        data: { values: rows },
        mark: { type: 'circle', size: 48, opacity: 0.7 },
        encoding: {
          x: { field: 'peak', type: 'quantitative', title: 'peak concurrent sessions', scale: { zero: false } },
          y: { field: 'variant', type: 'nominal', title: null, sort: variantsOf(p).map((v) => variantLabel(v)) },
          yOffset: { field: 'day', type: 'quantitative', scale: { range: [8, 32] } },
          color: { field: 'variant', type: 'nominal', scale: colourScale(p), legend: null },
          tooltip: [{ field: 'day' }, { field: 'peak' }],
        },
      },
    ],
  } as TopLevelSpec;
}

/** Requests admitted and refused per 15 minutes at today's capacity, mean per day. */
export function slotSpec(p: PoolPlan, v: VariantResult): TopLevelSpec {
  const c = v.current;
  const rows = c.attemptsPerSlot.flatMap((attempts, slot) => {
    const from = (slot * SLOT_SECONDS) / 3600;
    const to = ((slot + 1) * SLOT_SECONDS) / 3600 - 0.03;
    return [
      { from, to, slot: slotLabel(slot), outcome: 'admitted', requests: attempts - c.refusedPerSlot[slot]! },
      { from, to, slot: slotLabel(slot), outcome: 'refused', requests: c.refusedPerSlot[slot]! },
    ];
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    config,
    width: WIDTH,
    height: 200,
    title: {
      text: `${p.pool.id}, ${variantLabel(v)}: requests per 15 minutes at today's capacity`,
      subtitle: `capacity ${fmt(p.pool.capacity)}; mean per simulated day; retries count as requests`,
    },
    data: { values: rows },
    mark: { type: 'bar', orient: 'vertical' },
    encoding: {
      x: { field: 'from', type: 'quantitative', axis: hourAxis, scale: { domain: [0, 24], nice: false } },
      x2: { field: 'to' },
      y: { field: 'requests', type: 'quantitative', stack: 'zero', title: 'requests', scale: { domain: [0, Math.max(1, ...c.attemptsPerSlot)], nice: true } },
      color: { field: 'outcome', type: 'nominal', scale: { domain: ['admitted', 'refused'], range: ['#9ecae1', COLOURS.target] }, title: null },
      order: { field: 'outcome', sort: 'ascending' },
      tooltip: [{ field: 'slot' }, { field: 'outcome' }, { field: 'requests', format: ',.0f' }],
    },
  } as TopLevelSpec;
}

/**
 * Renders a Vega-Lite spec to SVG. Vega numbers clip paths and gradients with a counter that
 * lives as long as the process; they are renamed after `name`, so the same plan gives the same
 * bytes and several charts can share one HTML page.
 */
export async function renderSvg(spec: TopLevelSpec, name: string): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  const ids = [...svg.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]!);
  let out = svg;
  ids.forEach((id, i) => {
    const fresh = `${name}-${i + 1}`;
    out = out.split(`id="${id}"`).join(`id="${fresh}"`).split(`url(#${id})`).join(`url(#${fresh})`).split(`href="#${id}"`).join(`href="#${fresh}"`);
  });
  return out;
}

/** Round shares for a stretched axis, up to the largest value shown. */
function shareTicks(max: number): number[] {
  const all = [0, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1];
  const upTo = all.findIndex((x) => x >= max);
  return all.slice(0, upTo === -1 ? all.length : upTo + 1);
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-GB');
}

function pct(x: number): string {
  return `${+(x * 100).toFixed(2)} %`;
}
