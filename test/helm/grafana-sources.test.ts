import { existsSync, lstatSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse } from 'yaml';
import { chartDir, readChartFile, repoRoot } from './chart-files';

/**
 * The chart ships the dashboards and alert rules of grafana/ through symbolic links
 * (helm/telework-broker/files/{dashboards,alerts}); Helm follows them when it loads or packages
 * the chart. These tests fail when the chart could ship anything other than grafana/'s files.
 */

const links = [
  { inChart: 'files/dashboards', source: 'grafana/dashboards', glob: /^[^/]+\.json$/, template: 'templates/grafana-dashboards.yaml', pattern: 'files/dashboards/*.json' },
  { inChart: 'files/alerts', source: 'grafana/alerts', glob: /^[^/]+\.rules\.yml$/, template: 'templates/prometheusrule.yaml', pattern: 'files/alerts/*.rules.yml' },
];

/** Files below a directory (following links), relative to it. */
function walk(dir: string, base = dir): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p, base) : [relative(base, p)];
  });
}

describe.each(links)('chart $inChart', ({ inChart, source, glob, template, pattern }) => {
  const linkPath = join(chartDir, inChart);

  it(`is a symbolic link to ${source}, not a copy`, () => {
    expect(lstatSync(linkPath).isSymbolicLink()).toBe(true);
  });

  it(`resolves to ${source} (a dangling link stops Helm from loading the chart)`, () => {
    expect(existsSync(linkPath)).toBe(true);
    expect(realpathSync(linkPath)).toBe(realpathSync(join(repoRoot, source)));
  });

  it(`is what ${template} reads (${pattern}), and that glob matches files in ${source}`, () => {
    expect(readChartFile(template)).toContain(`"${pattern}"`);
    const matched = walk(join(repoRoot, source)).filter((f) => glob.test(f));
    expect(matched.length).toBeGreaterThan(0);
  });
});

describe('dashboards as the Grafana sidecar receives them', () => {
  const dir = join(repoRoot, 'grafana', 'dashboards');
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

  it.each(files)('%s is a dashboard with a uid, and a valid ConfigMap key', (file) => {
    const dashboard = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    expect(typeof dashboard.uid).toBe('string');
    expect(Array.isArray(dashboard.panels)).toBe(true);
    expect(file).toMatch(/^[-._a-zA-Z0-9]+$/);
    // One ConfigMap per dashboard; Kubernetes caps a ConfigMap at 1 MiB.
    expect(statSync(join(dir, file)).size).toBeLessThan(1024 * 1024);
  });

  it('names that stay distinct once the template turns them into ConfigMap names', () => {
    const slugs = files.map((f) => f.replace(/\.json$/, '').toLowerCase().replace(/[_.]/g, '-'));
    expect(new Set(slugs).size).toBe(slugs.length);
    for (const slug of slugs) expect(slug).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  });
});

describe('alert rules as the PrometheusRule template reads them', () => {
  const dir = join(repoRoot, 'grafana', 'alerts');
  const files = readdirSync(dir).filter((f) => f.endsWith('.rules.yml'));

  it.each(files)('%s has groups of named rules (the template takes its `groups` into spec.groups)', (file) => {
    const doc = parse(readFileSync(join(dir, file), 'utf8'));
    expect(Array.isArray(doc.groups)).toBe(true);
    expect(doc.groups.length).toBeGreaterThan(0);
    for (const g of doc.groups) {
      expect(typeof g.name).toBe('string');
      for (const r of g.rules) expect(typeof (r.alert ?? r.record)).toBe('string');
    }
  });

  it('group names are unique across the files merged into one PrometheusRule', () => {
    const names = files.flatMap((f) => parse(readFileSync(join(dir, f), 'utf8')).groups.map((g: { name: string }) => g.name));
    expect(new Set(names).size).toBe(names.length);
  });
});

describe('no hand-kept copies', () => {
  it('nothing under helm/ (links aside) is a dashboard or a rule file', () => {
    const copies: string[] = [];
    const scan = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const p = join(dir, name);
        if (lstatSync(p).isSymbolicLink()) continue;
        if (statSync(p).isDirectory()) scan(p);
        else if (/\.rules\.ya?ml$/.test(name) || (name.endsWith('.json') && name !== 'values.schema.json')) copies.push(relative(repoRoot, p));
        else if (name.endsWith('.yaml') || name.endsWith('.yml')) {
          const text = readFileSync(p, 'utf8');
          if (/^\s*- alert: /m.test(text) || /"panels"\s*:/.test(text)) copies.push(relative(repoRoot, p));
        }
      }
    };
    scan(join(repoRoot, 'helm'));
    expect(copies).toEqual([]);
  });
});
