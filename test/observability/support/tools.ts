import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import { parse as parseYaml } from 'yaml';
import { repoRoot } from './broker';

export const CHROMIUM = '/usr/bin/chromium';

/**
 * Runs the real promtool (Debian package `prometheus`; .ci/run installs it). Missing promtool fails the
 * test: these checks are part of the suite, not optional.
 */
export function promtool(args: string[], input?: string): { code: number; out: string } {
  const r = spawnSync('promtool', args, { cwd: repoRoot, input, encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw new Error(`promtool could not run (${r.error.message}); install it: apt-get install prometheus`);
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

export function requireChromium(): string {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing; install it: apt-get install chromium`);
  return CHROMIUM;
}

export interface PanelQuery {
  dashboard: string;
  panel: string;
  expr: string;
}

export interface Dashboard {
  file: string;
  json: any;
}

export const dashboardsDir = join(repoRoot, 'grafana', 'dashboards');

export function dashboards(): Dashboard[] {
  return readdirSync(dashboardsDir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, json: JSON.parse(readFileSync(join(dashboardsDir, file), 'utf8')) }));
}

/** Every panel, including those inside collapsed rows. */
export function panels(d: Dashboard): any[] {
  return (d.json.panels as any[]).flatMap((p) => [p, ...(p.panels ?? [])]);
}

/** Every PromQL expression the dashboards run: panel targets and template-variable queries. */
export function dashboardQueries(): PanelQuery[] {
  const out: PanelQuery[] = [];
  for (const d of dashboards()) {
    for (const p of panels(d)) for (const t of p.targets ?? []) if (t.expr) out.push({ dashboard: d.file, panel: p.title, expr: t.expr });
    for (const v of d.json.templating?.list ?? []) {
      if (v.type !== 'query') continue;
      const q = typeof v.query === 'string' ? v.query : v.query?.query;
      const m = /^label_values\((.+),\s*[a-zA-Z_][a-zA-Z0-9_]*\)$/.exec(q ?? '');
      out.push({ dashboard: d.file, panel: `variable ${v.name}`, expr: m ? m[1]! : q });
    }
  }
  return out;
}

/** Every expression of the alert rules. */
export function ruleQueries(): PanelQuery[] {
  const doc = parseYaml(readFileSync(join(repoRoot, 'grafana', 'alerts', 'broker.rules.yml'), 'utf8'));
  return doc.groups.flatMap((g: any) => g.rules.map((r: any) => ({ dashboard: 'broker.rules.yml', panel: r.alert ?? r.record, expr: r.expr })));
}

/** Grafana's variables replaced by values Prometheus accepts, so the real parsers can read the expression. */
export function withoutGrafanaVariables(expr: string): string {
  return expr.replace(/\$__rate_interval|\$__interval|\$__range/g, '5m').replace(/\$\{?[a-zA-Z_][a-zA-Z0-9_]*\}?/g, 'x');
}

/** Metric names an expression selects, read with Prometheus's own PromQL grammar (lezer-promql). */
export function metricNames(expr: string): string[] {
  const src = withoutGrafanaVariables(expr);
  const tree = parser.parse(src);
  const names: string[] = [];
  let error: number | null = null;
  tree.iterate({
    enter(node) {
      if (node.type.isError) error = node.from;
      if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector') names.push(src.slice(node.from, node.to));
    },
  });
  if (error !== null) throw new Error(`cannot parse PromQL at ${error}: ${expr}`);
  return names;
}

/** Series Prometheus itself makes (not in any scrape). */
export const SYNTHETIC_SERIES = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped']);

/** Shared-state gauges (the same on every replica) that an expression sums directly, i.e. counts once per replica. */
export function summedSharedGauges(expr: string): string[] {
  const src = withoutGrafanaVariables(expr);
  const found: string[] = [];
  parser.parse(src).iterate({
    enter(node) {
      if (node.name !== 'AggregateExpr') return;
      const op = node.node.getChild('AggregateOp');
      if (!op || src.slice(op.from, op.to) !== 'sum') return;
      const body = node.node.getChild('FunctionCallBody');
      const arg = body?.firstChild;
      if (arg?.name !== 'VectorSelector') return;
      const id = arg.getChild('Identifier');
      const name = id ? src.slice(id.from, id.to) : '';
      if (/^broker_(pool|member|agency)_/.test(name)) found.push(name);
    },
  });
  return found;
}
