import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { chartDir } from './chart-files';

/**
 * Renders the chart with test/helm/render/main.go: Go's text/template with sprig, as Helm's engine
 * (see that file for what it does and does not do like Helm). Needs Go and two Debian packages.
 */

const DEBIAN_PACKAGES = 'golang-go golang-github-masterminds-sprig-dev golang-github-ghodss-yaml-dev';
const GOPATH_SYSTEM = '/usr/share/gocode';

/** Builds the renderer once per test file; fails loudly (with the install line) when Go is missing. */
export function buildRenderer(): string {
  const missing = spawnSync('go', ['version']).status !== 0 || !existsSync(join(GOPATH_SYSTEM, 'src/github.com/Masterminds/sprig'));
  if (missing) throw new Error(`rendering the chart needs Go and sprig: apt-get install ${DEBIAN_PACKAGES}`);
  const dir = mkdtempSync(join(tmpdir(), 'chart-render-'));
  const bin = join(dir, 'render');
  execFileSync('go', ['build', '-o', bin, 'main.go'], {
    cwd: join(__dirname, 'render'),
    env: { ...process.env, GO111MODULE: 'off', GOPATH: `${dir}/gopath:${GOPATH_SYSTEM}`, GOFLAGS: '' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return bin;
}

export type RenderArg = ['-f' | '--set-file' | '--set-json', string];

export interface Rendered {
  /** Rendered text by template name (telework-broker/templates/x.yaml), NOTES.txt included. */
  files: Record<string, string>;
  /** Every Kubernetes object the manifests hold. */
  objects: K8sObject[];
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: any;
}

/** Renders the chart; throws the renderer's error message (e.g. a template's `fail`). */
export function render(bin: string, args: RenderArg[]): Rendered {
  const r = spawnSync(bin, [chartDir, ...args.flat()], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const out = JSON.parse(r.stdout || '{}') as { files?: Record<string, string>; error?: string };
  if (r.status !== 0 || !out.files) throw new Error(out.error ?? r.stderr);
  const objects: K8sObject[] = [];
  for (const [name, text] of Object.entries(out.files)) {
    if (!name.endsWith('.yaml')) continue;
    for (const doc of parseAllDocuments(text)) {
      if (doc.errors.length > 0) throw new Error(`${name}: ${doc.errors[0]!.message}`);
      const obj = doc.toJS();
      if (obj) objects.push(obj);
    }
  }
  return { files: out.files, objects };
}

export function find(r: Rendered, kind: string, predicate: (o: K8sObject) => boolean = () => true): K8sObject {
  const found = r.objects.filter((o) => o.kind === kind && predicate(o));
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`);
  return found[0]!;
}
