import { slotLabel } from '../arrival-profile';
import { poolDemands } from '../demand';
import { meanSessionHours, type PlanResult, type PoolPlan, type VariantResult } from '../planner';
import { CONCURRENCY_STEP_MINUTES, concurrencySpec, peakSpec, refusalSpec, renderSvg, slotSpec } from './charts';
import { csvNumber, escapeHtml, int, pct, variantLabel } from './format';

/** The report as files: relative path → content. Nothing in it depends on the clock or the machine. */
export type ReportFiles = Map<string, string>;

export interface ReportOptions {
  /** The scenario file as the user named it, for the "reproduce" line. */
  scenarioFile: string;
}

interface Chart {
  file: string;
  alt: string;
  svg: string;
}

function variants(p: PoolPlan): VariantResult[] {
  return p.growth ? [p.today, p.growth] : [p.today];
}

function windowWords(r: PlanResult): string {
  return r.target.window === 'busy-hour' ? 'in the busy hour' : 'over the day';
}

function busyHourLabel(v: VariantResult): string {
  return `${slotLabel(v.busyHour.startSlot)}–${slotLabel(v.busyHour.startSlot + 4 === 96 ? 0 : v.busyHour.startSlot + 4)}`;
}

/** ": 13 members of 5,000 each (65,000 installed)", or nothing for a pool without a unit size. */
function members(p: PoolPlan, n: number | null): string {
  if (n === null) return '';
  const unit = p.pool.unitSize!;
  return `: ${int(n)} members of ${int(unit)} each (${int(n * unit)} installed)`;
}

/** The target as a planner asked for it: on average, or on a share of days too. */
function targetWords(r: PlanResult): string {
  const share = `at most ${pct(r.target.refusedShare)}`;
  return r.target.daysShare === undefined ? `${share} on average` : `${share} on ${pct(r.target.daysShare)} of days`;
}

/** How often the share is missed from day to day, at one capacity. */
function dayRisk(r: PlanResult, o: { daysMeetingTarget: number; worstDay: number }): string {
  const missed = r.replications - o.daysMeetingTarget;
  return missed === 0
    ? `every one of ${r.replications} simulated days stays within ${pct(r.target.refusedShare)}`
    : `${missed} of ${r.replications} simulated days miss ${pct(r.target.refusedShare)} (the worst refuses ${pct(o.worstDay)})`;
}

/** One sentence per pool: what today's capacity does, and what is needed, with and without growth. */
export function verdicts(r: PlanResult): { pool: string; text: string }[] {
  return r.pools.map((p) => {
    const t = p.today;
    const meets = t.current.refusedShare <= r.target.refusedShare;
    let text =
      `Today's ${int(p.pool.capacity)} refuse ${pct(t.current.refusedShare)} of requests ${windowWords(r)} ` +
      `(target ${targetWords(r)}): ${meets ? 'enough' : 'not enough'}; ${dayRisk(r, t.current)}. ` +
      `The smallest capacity that meets the target is ${int(t.recommendation.capacity)} sessions${members(p, t.recommendation.members)}; ` +
      `there ${dayRisk(r, t.recommendation.outcome)}.`;
    if (p.growth) {
      const g = p.growth;
      text +=
        ` With ${variantLabel(g)}: ${int(g.recommendation.capacity)} sessions${members(p, g.recommendation.members)}; ` +
        `today's capacity would refuse ${pct(g.current.refusedShare)}.`;
    }
    text += ` Erlang B for the busy hour alone says ${variants(p)
      .map((v) => int(v.recommendation.erlangBCapacity))
      .join(' and ')}.`;
    return { pool: p.pool.id, text };
  });
}

async function chartsOf(r: PlanResult, p: PoolPlan): Promise<Chart[]> {
  const id = p.pool.id;
  const charts: Chart[] = [
    { file: `charts/${id}-concurrency.svg`, alt: `${id}: sessions wanted over the day, with capacities`, svg: await renderSvg(concurrencySpec(p), `${id}-concurrency`) },
    { file: `charts/${id}-peaks.svg`, alt: `${id}: daily peaks`, svg: await renderSvg(peakSpec(p), `${id}-peaks`) },
  ];
  for (const v of variants(p)) {
    charts.push({
      file: `charts/${id}-refusals-${v.variant}.svg`,
      alt: `${id}, ${variantLabel(v)}: refused share by capacity`,
      svg: await renderSvg(refusalSpec(p, v, r.target.refusedShare, r.target.window), `${id}-refusals-${v.variant}`),
    });
  }
  for (const v of variants(p)) {
    charts.push({
      file: `charts/${id}-requests-${v.variant}.svg`,
      alt: `${id}, ${variantLabel(v)}: requests per 15 minutes at today's capacity`,
      svg: await renderSvg(slotSpec(p, v), `${id}-requests-${v.variant}`),
    });
  }
  return charts;
}

type Table = { head: string[]; rows: string[][]; align?: ('l' | 'r')[] };

function recommendationTable(r: PlanResult): Table {
  return {
    head: ['pool', 'demand', 'busy hour', 'offered load (erlangs)', 'daily peak, median / 95 %', 'recommended', 'members', `refused ${windowWords(r)} at it (95 % of days)`, 'days meeting target', 'Erlang B says', `today's capacity refuses`],
    align: ['l', 'l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
    rows: r.pools.flatMap((p) =>
      variants(p).map((v) => {
        const o = v.recommendation.outcome;
        return [
          p.pool.id,
          variantLabel(v),
          busyHourLabel(v),
          int(v.busyHour.erlangs),
          `${int(v.peak.median)} / ${int(v.peak.p95)}`,
          int(v.recommendation.capacity),
          v.recommendation.members === null ? '–' : int(v.recommendation.members),
          `${pct(o.refusedShare)} (${pct(o.refusedShareBand[0])}–${pct(o.refusedShareBand[1])})`,
          `${o.daysMeetingTarget} of ${r.replications}`,
          int(v.recommendation.erlangBCapacity),
          pct(v.current.refusedShare),
        ];
      }),
    ),
  };
}

function candidateTable(r: PlanResult, p: PoolPlan, v: VariantResult): Table {
  return {
    // The target window's column first; the other window once (not the same column twice).
    head: [
      'capacity',
      `refused ${windowWords(r)}`,
      '95 % of days',
      'worst day',
      r.target.window === 'busy-hour' ? 'refused over the day' : 'refused in the busy hour',
      'Erlang B, busy hour',
      'gave up (of employees)',
      'days meeting target',
    ],
    align: ['r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
    rows: v.candidates.map((c) => {
      const tags = [c.capacity === p.pool.capacity ? 'today' : '', c.capacity === v.recommendation.capacity ? 'recommended' : ''].filter(Boolean).join(', ');
      return [
        `${int(c.capacity)}${tags ? ` (${tags})` : ''}`,
        pct(c.refusedShare),
        `${pct(c.refusedShareBand[0])}–${pct(c.refusedShareBand[1])}`,
        pct(c.worstDay),
        pct(r.target.window === 'busy-hour' ? c.refusedShareDay : c.refusedShareBusyHour),
        pct(c.erlangB),
        pct(c.gaveUpShare),
        `${c.daysMeetingTarget} of ${r.replications}`,
      ];
    }),
  };
}

function inputTables(r: PlanResult): { title: string; table: Table }[] {
  const s = r.scenario;
  const split = (a: { split?: Record<string, number> | undefined }) =>
    s.pools.map((p) => `${p.id} ${pct((a.split ?? s.split)[p.id] ?? 0)}`).join(', ');
  const agencies: Table = {
    head: ['agency', 'headcount', 'telework share', 'teleworkers', 'pools'],
    align: ['l', 'r', 'r', 'r', 'l'],
    rows: s.agencies.map((a) => [a.name ? `${a.name} (${a.id})` : a.id, int(a.headcount), pct(a.teleworkShare), int(a.headcount * a.teleworkShare), split(a)]),
  };
  const today = poolDemands(s, 1);
  const pools: Table = {
    head: ['pool', 'kind', "today's capacity", 'member size', 'requests per day', 'session duration', 'mean session'],
    align: ['l', 'l', 'r', 'r', 'r', 'l', 'r'],
    rows: s.pools.map((p, i) => {
      const d = p.sessionDuration;
      const dist =
        d.distribution === 'lognormal'
          ? `log-normal, median ${d.medianMinutes} min, σ ${d.sigma}${d.maxMinutes ? `, at most ${d.maxMinutes} min` : ''}`
          : d.distribution === 'exponential'
            ? `exponential, mean ${d.meanMinutes} min${d.maxMinutes ? `, at most ${d.maxMinutes} min` : ''}`
            : `fixed ${d.minutes} min`;
      return [p.id, p.kind, int(p.capacity), p.unitSize ? int(p.unitSize) : '–', int(today[i]!.perDay), dist, `${meanSessionHours(p).toFixed(2)} h`];
    }),
  };
  const rt = s.retry;
  const delay = rt.delay.distribution === 'fixed' ? `${rt.delay.minutes} min` : rt.delay.distribution === 'exponential' ? `about ${rt.delay.meanMinutes} min (exponential)` : `median ${rt.delay.medianMinutes} min (log-normal)`;
  const model: Table = {
    head: ['setting', 'value'],
    align: ['l', 'l'],
    rows: [
      ['seed', String(r.seed)],
      ['simulated days (replications)', String(r.replications)],
      ['target', `at most ${pct(r.target.refusedShare)} of requests refused ${windowWords(r)}`],
      ['sessions per teleworker and day', String(s.arrivals.sessionsPerTeleworker)],
      ['day-to-day variation of volume', pct(s.arrivals.dayToDayVariation)],
      ['arrival profile', s.arrivals.profile === 'default' ? 'default office day (docs/planning.md)' : 'the scenario’s own, 96 weights'],
      ['after a refusal', rt.probability > 0 ? `${pct(rt.probability)} try again after ${delay}, at most ${rt.maxRetries} times; the others give up` : 'everyone gives up'],
      ['growth factor', s.growthFactor === 1 ? 'none' : `×${s.growthFactor} teleworkers`],
    ],
  };
  return [
    { title: 'Model', table: model },
    { title: 'Pools', table: pools },
    { title: 'Agencies', table: agencies },
  ];
}

function mdTable(t: Table): string {
  const esc = (c: string) => c.replace(/\|/g, '\\|');
  const align = (t.align ?? t.head.map(() => 'l')).map((a) => (a === 'r' ? '---:' : '---'));
  return [`| ${t.head.map(esc).join(' | ')} |`, `| ${align.join(' | ')} |`, ...t.rows.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}

function htmlTable(t: Table): string {
  const cls = (i: number) => ((t.align ?? [])[i] === 'r' ? ' class="r"' : '');
  return (
    `<table>\n<thead><tr>${t.head.map((h, i) => `<th${cls(i)}>${escapeHtml(h)}</th>`).join('')}</tr></thead>\n<tbody>\n` +
    t.rows.map((r) => `<tr>${r.map((c, i) => `<td${cls(i)}>${escapeHtml(c)}</td>`).join('')}</tr>`).join('\n') +
    `\n</tbody>\n</table>`
  );
}

const HOW_TO_READ = [
  'Each pool has pictures first. **Sessions wanted over the day**: how many employees would be connected at each minute if nobody were refused — the line is the median simulated day, the shaded band holds 95 % of days; the horizontal lines are today’s capacity and the recommended ones. Where the band rises above a line, that capacity turns people away.',
  '**Daily peak**: one dot per simulated day. Capacity left of a dot means that day someone was refused.',
  '**Refused requests by capacity**: the share of requests refused, by capacity, from the simulation (bars: 95 % of days) beside the Erlang B formula for the busy hour. The recommendation is where the simulated line first drops under the red target line.',
  '**Requests per 15 minutes**: when in the day refusals happen at today’s capacity; retries of refused employees count as requests.',
  'Erlang B assumes the busy hour’s load holds steady and that refused callers never come back. Office sessions last hours, so the peak inside the hour and the retries matter; where the two disagree, trust the simulation and read the difference as the cost of those effects. See docs/planning.md for the model and its assumptions.',
];

function reproduce(r: PlanResult, o: ReportOptions): string {
  return `npm run plan -- ${o.scenarioFile}${r.seed !== r.scenario.seed ? ` --seed ${r.seed}` : ''}${r.replications !== r.scenario.replications ? ` --replications ${r.replications}` : ''}`;
}

function markdown(r: PlanResult, o: ReportOptions, charts: Map<string, Chart[]>): string {
  const s = r.scenario;
  const out: string[] = [`# Capacity plan: ${s.name}`, ''];
  if (s.description) out.push(s.description.trim(), '');
  for (const v of verdicts(r)) out.push(`- **${v.pool}**: ${v.text}`);
  out.push('');
  for (const p of r.pools) {
    out.push(`## ${p.pool.id}${p.pool.name ? ` — ${p.pool.name}` : ''}`, '');
    for (const c of charts.get(p.pool.id)!) out.push(`![${c.alt}](${c.file})`, '');
  }
  out.push('## Recommendation', '', mdTable(recommendationTable(r)), '');
  for (const p of r.pools) {
    for (const v of variants(p)) out.push(`### ${p.pool.id}, ${variantLabel(v)}: capacities tested`, '', mdTable(candidateTable(r, p, v)), '');
  }
  out.push('## How to read this report', '', ...HOW_TO_READ.flatMap((x) => [x, '']));
  out.push('## Inputs', '');
  for (const t of inputTables(r)) out.push(`### ${t.title}`, '', mdTable(t.table), '');
  out.push(
    '## Files',
    '',
    '`concurrency.csv` (sessions wanted per ' + CONCURRENCY_STEP_MINUTES + ' minutes: median and 95 % band), `peaks.csv` (daily peak per simulated day), ' +
      '`refusals.csv` (every capacity simulated), `requests.csv` (requests and refusals per 15 minutes at today’s capacity), `recommendations.csv`, ' +
      'and `replay-schedule.json` (one simulated day for the k6 replay, see docs/planning.md).',
    '',
    `Reproduce: \`${reproduce(r, o)}\` — the same seed gives the same report, byte for byte.`,
    '',
  );
  return out.join('\n');
}

function html(r: PlanResult, o: ReportOptions, charts: Map<string, Chart[]>): string {
  const s = r.scenario;
  const md = (x: string) => escapeHtml(x).replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>');
  const body: string[] = [];
  body.push(`<h1>Capacity plan: ${escapeHtml(s.name)}</h1>`);
  if (s.description) body.push(`<p class="lead">${escapeHtml(s.description.trim())}</p>`);
  body.push('<ul class="verdicts">', ...verdicts(r).map((v) => `<li><strong>${escapeHtml(v.pool)}</strong>: ${escapeHtml(v.text)}</li>`), '</ul>');
  for (const p of r.pools) {
    body.push(`<h2>${escapeHtml(p.pool.id)}${p.pool.name ? ` — ${escapeHtml(p.pool.name)}` : ''}</h2>`);
    for (const c of charts.get(p.pool.id)!) body.push(`<figure>${c.svg}</figure>`);
  }
  body.push('<h2>Recommendation</h2>', htmlTable(recommendationTable(r)));
  for (const p of r.pools) {
    for (const v of variants(p)) body.push(`<h3>${escapeHtml(p.pool.id)}, ${escapeHtml(variantLabel(v))}: capacities tested</h3>`, htmlTable(candidateTable(r, p, v)));
  }
  body.push('<h2>How to read this report</h2>', ...HOW_TO_READ.map((x) => `<p>${md(x)}</p>`));
  body.push('<h2>Inputs</h2>');
  for (const t of inputTables(r)) body.push(`<h3>${escapeHtml(t.title)}</h3>`, htmlTable(t.table));
  body.push(`<p class="foot">Reproduce: <code>${escapeHtml(reproduce(r, o))}</code> — the same seed gives the same report, byte for byte. Data beside this file: concurrency.csv, peaks.csv, refusals.csv, requests.csv, recommendations.csv, replay-schedule.json.</p>`);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Capacity plan: ${escapeHtml(s.name)}</title>
<style>
body { font-family: Helvetica, Arial, sans-serif; margin: 2rem auto; max-width: 1100px; padding: 0 1rem; color: #222; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.3rem; margin-top: 2.2rem; border-bottom: 1px solid #ddd; } h3 { font-size: 1.05rem; margin-top: 1.5rem; }
.lead { color: #444; } .verdicts li { margin: .4rem 0; } figure { margin: 1rem 0; } figure svg { max-width: 100%; height: auto; }
table { border-collapse: collapse; font-size: .85rem; margin: .5rem 0 1rem; } th, td { border-bottom: 1px solid #e3e3e3; padding: .25rem .6rem; text-align: left; vertical-align: top; }
th { background: #f5f5f5; } .r { text-align: right; } code { background: #f3f3f3; padding: 0 .25rem; } .foot { color: #555; font-size: .85rem; margin-top: 2rem; }
</style>
</head>
<body>
${body.join('\n')}
</body>
</html>
`;
}

function csv(head: string[], rows: (string | number)[][]): string {
  const cell = (c: string | number) => (typeof c === 'number' ? csvNumber(c) : /[",\n]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c);
  return [head.join(','), ...rows.map((r) => r.map(cell).join(','))].join('\n') + '\n';
}

function csvFiles(r: PlanResult): [string, string][] {
  const all = r.pools.flatMap((p) => variants(p).map((v) => ({ p, v })));
  return [
    [
      'concurrency.csv',
      csv(
        ['pool', 'variant', 'growth', 'time', 'median', 'low_2_5', 'high_97_5'],
        all.flatMap(({ p, v }) =>
          v.concurrency.median.flatMap((m, minute) =>
            minute % CONCURRENCY_STEP_MINUTES === 0
              ? [[p.pool.id, v.variant, v.growth, `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`, m, v.concurrency.low[minute]!, v.concurrency.high[minute]!]]
              : [],
          ),
        ),
      ),
    ],
    ['peaks.csv', csv(['pool', 'variant', 'growth', 'day', 'peak'], all.flatMap(({ p, v }) => v.peaks.map((peak, d) => [p.pool.id, v.variant, v.growth, d + 1, peak])))],
    [
      'refusals.csv',
      csv(
        ['pool', 'variant', 'growth', 'capacity', 'window', 'refused_share', 'refused_share_low', 'refused_share_high', 'refused_share_busy_hour', 'refused_share_day', 'erlang_b_busy_hour', 'gave_up_share', 'days_meeting_target', 'days'],
        all.flatMap(({ p, v }) =>
          v.candidates.map((c) => [p.pool.id, v.variant, v.growth, c.capacity, r.target.window, c.refusedShare, c.refusedShareBand[0], c.refusedShareBand[1], c.refusedShareBusyHour, c.refusedShareDay, c.erlangB, c.gaveUpShare, c.daysMeetingTarget, r.replications]),
        ),
      ),
    ],
    [
      'requests.csv',
      csv(
        ['pool', 'variant', 'growth', 'capacity', 'slot', 'requests_per_day', 'refused_per_day'],
        all.flatMap(({ p, v }) => v.current.attemptsPerSlot.map((a, k) => [p.pool.id, v.variant, v.growth, p.pool.capacity, slotLabel(k), a, v.current.refusedPerSlot[k]!])),
      ),
    ],
    [
      'recommendations.csv',
      csv(
        ['pool', 'variant', 'growth', 'target', 'window', 'recommended', 'members', 'resolution', 'erlang_b_capacity', 'busy_hour_start', 'busy_hour_erlangs', 'peak_median', 'peak_p95', 'current_capacity', 'current_refused_share'],
        all.map(({ p, v }) => [
          p.pool.id,
          v.variant,
          v.growth,
          r.target.refusedShare,
          r.target.window,
          v.recommendation.capacity,
          v.recommendation.members ?? '',
          v.recommendation.resolution,
          v.recommendation.erlangBCapacity,
          slotLabel(v.busyHour.startSlot),
          v.busyHour.erlangs,
          v.peak.median,
          v.peak.p95,
          p.pool.capacity,
          v.current.refusedShare,
        ]),
      ),
    ],
  ];
}

/** Renders the report: HTML with inline SVG, Markdown with the SVG files beside it, and CSV. */
export async function renderReport(r: PlanResult, o: ReportOptions): Promise<ReportFiles> {
  const charts = new Map<string, Chart[]>();
  for (const p of r.pools) charts.set(p.pool.id, await chartsOf(r, p));
  const files: ReportFiles = new Map();
  files.set('report.html', html(r, o, charts));
  files.set('report.md', markdown(r, o, charts));
  for (const list of charts.values()) for (const c of list) files.set(c.file, c.svg);
  for (const [name, content] of csvFiles(r)) files.set(name, content);
  return files;
}
