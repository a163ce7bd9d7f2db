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
});
