import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import dockerignore from '@balena/dockerignore';
import { DockerfileParser, type Copy, type From, type Instruction } from 'dockerfile-ast';
import { repoRoot } from './chart-files';

/**
 * The image's essentials, checked without a Docker engine: stages, production dependencies only,
 * non-root user, the settings the chart relies on, and a build context that holds only what the
 * Dockerfile copies.
 */

const dockerfile = DockerfileParser.parse(readFileSync(join(repoRoot, 'Dockerfile'), 'utf8'));

interface Stage {
  from: From;
  name: string | null;
  instructions: Instruction[];
}

const stages: Stage[] = [];
for (const i of dockerfile.getInstructions()) {
  if (i.getKeyword() === 'FROM') stages.push({ from: i as From, name: (i as From).getBuildStage(), instructions: [] });
  else stages.at(-1)?.instructions.push(i);
}
const runtime = stages.at(-1)!;
const args = (i: Instruction) => i.getArgumentsContent() ?? '';
const of = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.getKeyword() === keyword);
const flag = (i: Instruction, name: string) => (i as Copy).getFlags().find((f) => f.getName() === name)?.getValue() ?? null;

/** Default of a build ARG declared before the first FROM. */
const initialArg = (name: string) =>
  dockerfile
    .getInitialARGs()
    .flatMap((a) => a.getProperties())
    .find((p) => p.getName() === name)
    ?.getValue();

describe('Dockerfile', () => {
  it('builds in stages and runs from a separate, named runtime stage', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(stages.map((s) => s.name)).toEqual(expect.arrayContaining(['build', 'runtime']));
    expect(runtime.name).toBe('runtime');
  });

  it('bases every stage on Node 20 (slim or alpine)', () => {
    for (const s of stages) {
      const image = s.from.getImageName() === '${NODE_IMAGE}' || s.from.getArgumentsContent()?.startsWith('${NODE_IMAGE}') ? initialArg('NODE_IMAGE') : s.from.getArgumentsContent();
      expect(image).toMatch(/^node:20(\.\d+)*-(bookworm-slim|slim|alpine[\d.]*)(@sha256:[a-f0-9]{64})?$/);
    }
  });

  it('compiles with the dev dependencies in the build stage', () => {
    const build = stages.find((s) => s.name === 'build')!;
    const runs = of(build, 'RUN').map(args);
    expect(runs.some((r) => /\bnpm ci\b/.test(r) && !/--omit=dev/.test(r))).toBe(true);
    expect(runs.some((r) => /\bnpm run build\b/.test(r))).toBe(true);
  });

  it('has in the build stage every file the build scripts (pre/post steps included) name', () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
    const steps = ['prebuild', 'build', 'postbuild'].map((k) => pkg.scripts[k]).filter(Boolean).join(' ');
    const named = steps.split(/\s+/).filter((w: string) => /^[\w.-]+(\/[\w.-]+)*\.(js|cjs|mjs|json|ts)$/.test(w));
    expect(named).toContain('tsconfig.build.json');
    const build = stages.find((s) => s.name === 'build')!;
    const copied = of(build, 'COPY')
      .filter((c) => flag(c, 'from') === null)
      .flatMap((c) => (c as Copy).getArguments().slice(0, -1).map((a) => a.getValue()));
    for (const file of named) {
      expect({ file, copied: copied.some((src) => file === src || file.startsWith(src.replace(/\/?$/, '/'))) }).toEqual({ file, copied: true });
      expect(existsSync(join(repoRoot, file))).toBe(true);
    }
  });

  it('gives the runtime stage production dependencies only', () => {
    // Either installed in the runtime stage with --omit=dev, or copied from a stage that did so.
    const installs = stages.flatMap((s) => of(s, 'RUN').map((r) => ({ stage: s, cmd: args(r) }))).filter((r) => /\bnpm (ci|install)\b/.test(r.cmd));
    const runtimeInstalls = installs.filter((r) => r.stage === runtime);
    for (const r of runtimeInstalls) expect(r.cmd).toMatch(/--omit=dev/);
    const copiedModules = of(runtime, 'COPY').filter((c) => /node_modules/.test(args(c)));
    for (const c of copiedModules) {
      const source = stages.find((s) => s.name === flag(c, 'from'));
      expect(source).toBeDefined();
      const sourceInstalls = installs.filter((r) => r.stage === source);
      expect(sourceInstalls.length).toBeGreaterThan(0);
      for (const r of sourceInstalls) expect(r.cmd).toMatch(/--omit=dev/);
    }
    expect(runtimeInstalls.length + copiedModules.length).toBeGreaterThan(0);
    // No source, no dev tooling in the runtime stage.
    for (const c of of(runtime, 'COPY')) expect(args(c)).not.toMatch(/(^|\s)(src|test|tsconfig[^ ]*)(\s|\/|$)/);
  });

  it('copies the compiled code from the build stage and the sample pools file as default config', () => {
    const copies = of(runtime, 'COPY').map((c) => ({ from: flag(c, 'from'), args: args(c) }));
    expect(copies).toContainEqual({ from: 'build', args: expect.stringMatching(/^\/app\/dist\s/) });
    expect(copies).toContainEqual({ from: null, args: expect.stringMatching(/^config\s/) });
    const env = of(runtime, 'ENV').map(args).join(' ');
    expect(env).toMatch(/BROKER_CONFIG=\/app\/config\/broker\.yaml/);
    expect(existsSync(join(repoRoot, 'config', 'broker.yaml'))).toBe(true);
  });

  it('runs as a numeric non-root user (Kubernetes can verify runAsNonRoot)', () => {
    const users = of(runtime, 'USER').map(args);
    expect(users.length).toBeGreaterThan(0);
    const user = users.at(-1)!;
    expect(user).toMatch(/^\d+(:\d+)?$/);
    expect(user.split(':')[0]).not.toBe('0');
    // The chart's default security context uses the same uid.
    const values = readFileSync(join(repoRoot, 'helm', 'telework-broker', 'values.yaml'), 'utf8');
    expect(values).toContain(`runAsUser: ${user.split(':')[0]}`);
  });

  it('listens on all interfaces in the container, stops on SIGTERM, starts node dist/main.js', () => {
    const env = of(runtime, 'ENV').map(args).join(' ');
    expect(env).toMatch(/HOST=0\.0\.0\.0/);
    expect(env).toMatch(/NODE_ENV=production/);
    expect(of(runtime, 'STOPSIGNAL').map(args)).toEqual(['SIGTERM']);
    expect(of(runtime, 'EXPOSE').map(args)).toEqual(['8080']);
    const cmd = of(runtime, 'CMD').map(args);
    expect(cmd).toEqual(['["node", "dist/main.js"]']);
    // Exec form: node is PID 1 and receives SIGTERM itself (no shell in between).
    expect(of(runtime, 'ENTRYPOINT')).toEqual([]);
  });

  it('checks liveness on /health/live if it has a HEALTHCHECK', () => {
    for (const h of of(runtime, 'HEALTHCHECK')) expect(args(h)).toContain('/health/live');
  });
});

describe('.dockerignore', () => {
  const ig = dockerignore().add(readFileSync(join(repoRoot, '.dockerignore'), 'utf8').split('\n'));

  it.each([
    'node_modules', 'node_modules/jest/package.json', '.git', '.git/HEAD', '.broker', '.broker/dev-jwt-secret', 'dist', 'dist/main.js',
    'coverage', '.env', '.env.local', 'src/.env', 'test/e2e/grants.e2e.test.ts', 'helm/telework-broker/values.yaml', 'grafana/dashboards/x.json',
    'docs/admission.md', 'README.md', 'Dockerfile', '.ci/run', 'broker.log', 'dump.rdb', 'src/repositories/node_modules/x.js', 'config/tls.key',
  ])('keeps %s out of the build context', (path) => {
    expect(ig.ignores(path)).toBe(true);
  });

  it.each(['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'src/main.ts', 'src/repositories/redis/lua/grant-1.lua', 'src/public/ops.html', 'scripts/copy-assets.js', 'config/broker.yaml'])(
    'lets %s into the build context',
    (path) => {
      expect(ig.ignores(path)).toBe(false);
    },
  );

  it('lets in every file the Dockerfile copies from the context', () => {
    const sources = stages
      .flatMap((s) => of(s, 'COPY'))
      .filter((c) => flag(c, 'from') === null)
      .flatMap((c) => (c as Copy).getArguments().slice(0, -1).map((a) => a.getValue()));
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) {
      expect(existsSync(join(repoRoot, source))).toBe(true);
      expect({ source, ignored: ig.ignores(source) }).toEqual({ source, ignored: false });
    }
  });
});
