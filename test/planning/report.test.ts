import { resolve } from 'node:path';
import { runPlan } from '../../src/planning/planner';
import { renderReport, verdicts } from '../../src/planning/report/report';
import { loadScenario } from '../../src/planning/scenario.loader';

const scenario = () => loadScenario(resolve(__dirname, 'fixtures/small.yaml'));
const render = (seed?: number) => renderReport(runPlan(scenario(), seed === undefined ? {} : { seed }), { scenarioFile: 'test/planning/fixtures/small.yaml' });

describe('plan report', () => {
  let a: Awaited<ReturnType<typeof render>>;
  beforeAll(async () => {
    a = await render();
  });

  it('is the same, byte for byte, for the same seed', async () => {
    const b = await render();
    expect([...b.keys()]).toEqual([...a.keys()]);
    for (const [name, content] of a) expect([name, b.get(name) === content]).toEqual([name, true]);
    const other = await render(99);
    expect(other.get('report.html')).not.toBe(a.get('report.html'));
  });

  it('writes a self-contained HTML page, pictures first, with one inline SVG chart per view', () => {
    const files = a;
    const html = files.get('report.html')!;
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/<script|<link|<img|src="http|href="http/i);
    const charts = [...files.keys()].filter((f) => f.startsWith('charts/'));
    // Per pool: concurrency, peaks, refusals and requests for today and with growth.
    expect(charts).toHaveLength(2 * 6);
    expect(html.match(/<svg /g)).toHaveLength(charts.length);
    // Charts come before the tables.
    expect(html.indexOf('<svg ')).toBeLessThan(html.indexOf('<table>'));
    // Element ids are unique across the page, and every url(#…) points at one of them.
    const ids = [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(ids.length);
    for (const m of html.matchAll(/url\(#([^)]+)\)/g)) expect(ids).toContain(m[1]);
    for (const v of verdicts(runPlan(scenario()))) expect(html).toContain(v.text.slice(0, 40));
  });

  it('writes Markdown that shows the same charts as files beside it, and the CSV series', () => {
    const files = a;
    const md = files.get('report.md')!;
    const images = [...md.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)].map((m) => m[1]!);
    expect(images.length).toBe(12);
    for (const img of images) expect(files.has(img)).toBe(true);
    expect(md).toContain('## Recommendation');
    expect(files.get('concurrency.csv')!.split('\n')[0]).toBe('pool,variant,growth,time,median,low_2_5,high_97_5');
    // 2 pools × 2 variants × 288 five-minute points, a header and a final newline.
    expect(files.get('concurrency.csv')!.split('\n')).toHaveLength(2 * 2 * 288 + 2);
    expect(files.get('peaks.csv')!.trim().split('\n')).toHaveLength(1 + 2 * 2 * 4);
    expect(files.get('recommendations.csv')!.split('\n')[0]).toContain('recommended,members');
    expect(files.get('refusals.csv')!.split('\n')[1]).toMatch(/^vpn,today,1,\d+,busy-hour,/);
  });

  it('says what a recommendation means in members, and the per-day risk beside the average', () => {
    const plan = runPlan(scenario());
    const vpn = verdicts(plan).find((v) => v.pool === plan.pools[0]!.pool.id)!.text;
    const rec = plan.pools[0]!.today.recommendation;
    expect(vpn).toContain(`${rec.members} members of 100 each (${(rec.members! * 100).toLocaleString('en-US')} installed)`);
    expect(vpn).not.toMatch(/\(\d+ × /);
    expect(vpn).toMatch(/every one of \d+ simulated days stays within|\d+ of \d+ simulated days miss .* \(the worst refuses/);
  });

  it('shows each refused-share column once in the capacities tested', () => {
    const html = a.get('report.html')!;
    const heads = [...html.matchAll(/<th[^>]*>([^<]*)<\/th>/g)].map((m) => m[1]!);
    for (const h of ['refused in the busy hour', 'refused over the day', 'worst day']) expect(heads.filter((x) => x === h).length).toBeGreaterThan(0);
    expect(heads).not.toContain('refused in busy hour');
    const table = html.slice(html.lastIndexOf('<thead>', html.indexOf('worst day')));
    const firstHead = table.slice(0, table.indexOf('</tr>'));
    expect(firstHead.match(/refused in the busy hour/g)).toHaveLength(1);
  });

  it('with target.daysShare, recommends a capacity that meets the share on that many days', () => {
    const average = runPlan(scenario());
    const s = scenario();
    const strict = runPlan({ ...s, target: { ...s.target, daysShare: 1 } });
    for (const [i, p] of strict.pools.entries()) {
      expect(p.today.recommendation.outcome.daysMeetingTarget).toBe(strict.replications);
      expect(p.today.recommendation.capacity).toBeGreaterThanOrEqual(average.pools[i]!.today.recommendation.capacity);
    }
    expect(verdicts(strict)[0]!.text).toContain('on 100 % of days');
  });
});
