import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse } from 'yaml';

/** Reading the chart the way the static tests need it (neither helm nor a cluster is at hand). */

export const repoRoot = join(__dirname, '..', '..');
export const chartDir = join(repoRoot, 'helm', 'telework-broker');
export const templatesDir = join(chartDir, 'templates');
export const examplesDir = join(chartDir, 'examples');

export type Values = Record<string, unknown>;

export function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function readYaml(file: string): unknown {
  return parse(readFileSync(file, 'utf8'), { uniqueKeys: true });
}

export function defaultValues(): Values {
  return readYaml(join(chartDir, 'values.yaml')) as Values;
}

/**
 * Merges user values over the chart's defaults as Helm does: maps merge key by key, lists and
 * scalars replace, and null deletes a default key.
 */
export function coalesce(defaults: Values, overrides: Values): Values {
  const out: Values = structuredClone(defaults);
  for (const [key, value] of Object.entries(overrides)) {
    if (value === null) delete out[key];
    else if (isMap(value) && isMap(out[key])) out[key] = coalesce(out[key] as Values, value);
    else out[key] = structuredClone(value);
  }
  return out;
}

export function exampleFiles(): string[] {
  return readdirSync(examplesDir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => join(examplesDir, f));
}

/** Every file under templates/ (recursively), as paths relative to the chart. */
export function templateFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(chartDir, p));
    }
  };
  walk(templatesDir);
  return out;
}

export function readChartFile(rel: string): string {
  return readFileSync(join(chartDir, rel), 'utf8');
}

export interface Action {
  /** Text between the delimiters, trim markers and surrounding space removed. */
  body: string;
  line: number;
}

/** The `{{ ... }}` actions of a template, comments included, in order. */
export function actions(text: string): Action[] {
  const out: Action[] = [];
  const re = /\{\{(-\s)?([\s\S]*?)(\s-)?\}\}/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    out.push({ body: m[2]!.trim(), line: text.slice(0, m.index).split('\n').length });
  }
  return out;
}

/** `.Values.a.b.c` paths a template reads, as ['a', 'b', 'c']. */
export function valuesPaths(text: string): { path: string[]; line: number }[] {
  const out: { path: string[]; line: number }[] = [];
  for (const a of actions(text)) {
    if (a.body.startsWith('/*')) continue;
    const re = /\$?\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g;
    for (let m = re.exec(a.body); m; m = re.exec(a.body)) out.push({ path: m[1]!.slice(1).split('.'), line: a.line });
  }
  return out;
}

/** Leaf paths of a values tree; an empty map or a list counts as a leaf. */
export function leafPaths(v: unknown, prefix: string[] = []): string[][] {
  if (isMap(v) && Object.keys(v).length > 0) return Object.entries(v).flatMap(([k, child]) => leafPaths(child, [...prefix, k]));
  return [prefix];
}
