import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parse } from 'yaml';
import { loadAppConfig } from '../../src/config/config.loader';
import { exampleFiles, readYaml, repoRoot } from './chart-files';
import { buildRenderer, find, render, type K8sObject, type RenderArg, type Rendered } from './render';

/**
 * The chart rendered with Go's text/template and sprig (Helm's engine), in strict mode: every
 * example renders, the result is what Kubernetes and the broker accept, monitoring is grafana/'s
 * own files, and unusable values stop the render with a message.
 */

let bin: string;
beforeAll(() => {
  bin = buildRenderer();
}, 120_000);

const sampleModel: RenderArg = ['--set-file', `configFile=${join(repoRoot, 'config', 'broker.yaml')}`];
/** The examples as the docs install them: those without a model of their own get the sample pools file. */
const exampleArgs = (file: string): RenderArg[] => {
  const hasModel = Object.keys((readYaml(file) as { config?: object }).config ?? {}).length > 0;
  return hasModel ? [['-f', file]] : [['-f', file], sampleModel];
};
const evaluation = join(repoRoot, 'helm', 'telework-broker', 'examples', 'evaluation.yaml');

const brokerDeployment = (r: Rendered) => find(r, 'Deployment', (o) => o.metadata.labels?.['app.kubernetes.io/component'] === 'broker');

/** The environment and pools file a broker pod would see, secrets resolved; then the broker's own loader. */
function loadAsThePodWould(r: Rendered) {
  const dir = mkdtempSync(join(tmpdir(), 'chart-pod-'));
  const cm = find(r, 'ConfigMap', (o) => o.metadata.name.endsWith('-config'));
  for (const [key, text] of Object.entries(cm.data as Record<string, string>)) {
    writeFileSync(join(dir, key), text.replaceAll('/etc/broker/', `${dir}/`));
  }
  const secret = r.objects.find((o) => o.kind === 'Secret');
  const env: Record<string, string> = { BROKER_STATE_DIR: join(dir, 'state') };
  for (const e of brokerDeployment(r).spec.template.spec.containers[0].env as any[]) {
    if (e.value !== undefined) env[e.name] = String(e.value).replace(/^\/etc\/broker\//, `${dir}/`);
    else if (secret && e.valueFrom.secretKeyRef.name === secret.metadata.name) {
      const b64 = secret.data[e.valueFrom.secretKeyRef.key];
      if (b64 !== undefined) env[e.name] = Buffer.from(b64, 'base64').toString();
      else if (!e.valueFrom.secretKeyRef.optional) throw new Error(`${e.name}: key ${e.valueFrom.secretKeyRef.key} missing from the chart's Secret`);
    } else env[e.name] = `existing-secret-value-for-${e.name}`; // an existingSecret the operator made
  }
  return { env, config: loadAppConfig(env, dir) };
}

const dns1123Label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

describe.each(exampleFiles().map((f) => [basename(f), f]))('example %s', (_name, file) => {
  let r: Rendered;
  beforeAll(() => {
    r = render(bin, exampleArgs(file));
  });

  it('renders objects with valid names and the standard labels', () => {
    expect(r.objects.length).toBeGreaterThan(5);
    for (const o of r.objects) {
      expect(o.metadata.name).toMatch(dns1123Label);
      expect(o.metadata.name.length).toBeLessThanOrEqual(63);
      expect(o.metadata.labels).toMatchObject({
        'app.kubernetes.io/name': 'telework-broker',
        'app.kubernetes.io/instance': 'broker',
        'app.kubernetes.io/managed-by': 'Helm',
        'helm.sh/chart': 'telework-broker-0.1.0',
      });
    }
  });

  it('gives the broker a pools file and environment its own loader accepts, with no generated secret', () => {
    const { config } = loadAsThePodWould(r);
    const values = readYaml(file) as any;
    expect(config.redis?.mode).toBe(values.evaluationRedis?.enabled ? 'standalone' : (values.redis?.mode ?? 'standalone'));
    expect(config.generatedSecrets).toEqual([]);
    expect(config.host).toBe('0.0.0.0');
    expect(config.configFile.endsWith('broker.yaml')).toBe(true);
    expect(config.broker.auth.mode).toBe(values.auth?.mode ?? 'hs256');
  });

  it('rolls without dropping below the desired count, with probes, checksums and a locked-down container', () => {
    const d = brokerDeployment(r);
    expect(d.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
    const pod = d.spec.template;
    expect(pod.metadata.annotations['checksum/config']).toMatch(/^[a-f0-9]{64}$/);
    const c = pod.spec.containers[0];
    expect(c.livenessProbe.httpGet).toEqual({ path: '/health/live', port: 'http' });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/health/ready', port: 'http' });
    expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
    expect(pod.spec.securityContext).toMatchObject({ runAsNonRoot: true });
    expect(c.lifecycle.preStop.exec.command[0]).toBe('sleep');
    expect(pod.spec.terminationGracePeriodSeconds).toBeGreaterThan(Number(c.lifecycle.preStop.exec.command[1]));
    expect(pod.spec.volumes).toContainEqual(expect.objectContaining({ name: 'tmp', emptyDir: expect.any(Object) }));
    expect(pod.spec.topologySpreadConstraints.map((t: any) => t.labelSelector.matchLabels)).toContainEqual(d.spec.selector.matchLabels);
    if (!r.objects.some((o) => o.kind === 'HorizontalPodAutoscaler')) expect(d.spec.replicas).toBeGreaterThanOrEqual(2);
  });

  it('points the Service, the PodDisruptionBudget and the broker NetworkPolicy at the broker pods only', () => {
    const selector = brokerDeployment(r).spec.selector.matchLabels;
    const podLabels = brokerDeployment(r).spec.template.metadata.labels;
    expect(podLabels).toMatchObject(selector);
    expect(find(r, 'Service', (o) => o.metadata.labels?.['app.kubernetes.io/component'] === 'broker').spec.selector).toEqual(selector);
    expect(find(r, 'PodDisruptionBudget').spec.selector.matchLabels).toEqual(selector);
    expect(find(r, 'NetworkPolicy', (o) => o.metadata.labels?.['app.kubernetes.io/component'] === 'broker').spec.podSelector.matchLabels).toEqual(selector);
    const redisPods = r.objects.filter((o) => o.kind === 'Deployment' && o !== brokerDeployment(r));
    for (const d of redisPods) expect(d.spec.template.metadata.labels['app.kubernetes.io/component']).not.toBe(selector['app.kubernetes.io/component']);
  });

  it('prints NOTES with the rollout, the way in and a first operator token (or the IdP hint)', () => {
    const notes = r.files['telework-broker/templates/NOTES.txt']!;
    expect(notes).toContain('kubectl -n telework rollout status deployment/broker-telework-broker');
    if ((readYaml(file) as any).auth?.mode === 'jwks') expect(notes).toMatch(/tokens come from your identity provider/);
    else expect(notes).toMatch(/exec deploy\/broker-telework-broker -c broker -- \\\n\s+node dist\/cli\/token\.cli\.js --sub ops-admin --agency [a-z0-9-]+ --role operator/);
    expect(notes).not.toContain('<agency-id>');
  });
});

describe('monitoring objects are grafana/\'s own files', () => {
  let r: Rendered;
  beforeAll(() => {
    r = render(bin, [['-f', evaluation], ['--set-json', 'metrics={"serviceMonitor":{"enabled":true},"prometheusRule":{"enabled":true}}'], ['--set-json', 'grafanaDashboards={"enabled":true}']]);
  });

  it('the PrometheusRule holds exactly the groups of grafana/alerts/*.rules.yml', () => {
    const dir = join(repoRoot, 'grafana', 'alerts');
    const groups = readdirSync(dir)
      .filter((f) => f.endsWith('.rules.yml'))
      .sort()
      .flatMap((f) => parse(readFileSync(join(dir, f), 'utf8')).groups);
    expect(find(r, 'PrometheusRule').spec.groups).toEqual(groups);
  });

  it('one dashboard ConfigMap per grafana/dashboards/*.json, byte for byte, with the sidecar label', () => {
    const dir = join(repoRoot, 'grafana', 'dashboards');
    const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
    const cms = r.objects.filter((o) => o.kind === 'ConfigMap' && o.metadata.labels?.grafana_dashboard === '1');
    expect(cms.map((c) => Object.keys(c.data)[0]).sort()).toEqual(files);
    for (const c of cms) {
      const [key, text] = Object.entries(c.data as Record<string, string>)[0]!;
      expect(text).toBe(readFileSync(join(dir, key), 'utf8').replace(/\n$/, ''));
    }
  });

  it('the ServiceMonitor scrapes /metrics into job="telework-broker", the job the rules select', () => {
    const sm = find(r, 'ServiceMonitor');
    expect(sm.spec.endpoints[0]).toMatchObject({ port: 'http', path: '/metrics', relabelings: [{ targetLabel: 'job', replacement: 'telework-broker' }] });
    expect(readFileSync(join(repoRoot, 'grafana', 'alerts', 'broker.rules.yml'), 'utf8')).toContain('job="telework-broker"');
  });
});

describe('the pods roll when, and only when, what they read at start-up changes', () => {
  const checksums = (args: RenderArg[]) => brokerDeployment(render(bin, [['-f', evaluation], ...args])).spec.template.metadata.annotations;

  it('a changed capacity model or secret changes the checksums; a changed replica count does not', () => {
    const base = checksums([]);
    expect(checksums([sampleModel])['checksum/config']).not.toBe(base['checksum/config']);
    expect(checksums([['--set-json', 'secrets={"pseudonymKey":"another-evaluation-key-of-32-characters-at-least"}']])['checksum/secret']).not.toBe(base['checksum/secret']);
    expect(checksums([['--set-json', 'replicaCount=5']])).toEqual(base);
  });
});

describe('the chart refuses values it cannot run with, saying what to set', () => {
  const cases: [string, RenderArg[], RegExp][] = [
    ['no Redis at all', [sampleModel, ['--set-json', 'secrets={"existingSecret":"s"}']], /Redis is required: .*redis\.url.*evaluationRedis\.enabled=true/],
    ['both an external and the evaluation Redis', [['-f', evaluation], ['--set-json', 'redis={"url":"redis://redis:6379"}']], /choose one/],
    ['Sentinel without a master name', [sampleModel, ['--set-json', 'redis={"mode":"sentinel","sentinel":{"nodes":["s:26379"]}}'], ['--set-json', 'secrets={"existingSecret":"s"}']], /redis\.sentinel\.masterName is required/],
    ['no capacity model', [['--set-json', 'evaluationRedis={"enabled":true}'], ['--set-json', 'secrets={"existingSecret":"s"}']], /capacity model is required/],
    ['no HS256 secret', [sampleModel, ['--set-json', 'evaluationRedis={"enabled":true}'], ['--set-json', 'secrets={"pseudonymKey":"evaluation-only-pseudonym-key-do-not-use-01"}']], /secrets\.jwtSecret .* is required with auth\.mode hs256/],
    ['no pseudonymisation key', [sampleModel, ['--set-json', 'evaluationRedis={"enabled":true}'], ['--set-json', 'secrets={"jwtSecret":"evaluation-only-jwt-secret-do-not-use-0001"}']], /secrets\.pseudonymKey .* is required/],
    ['jwks without a URL', [['-f', evaluation], ['--set-json', 'auth={"mode":"jwks"}']], /auth\.jwksUrl is required/],
    ['public-key without a key', [['-f', evaluation], ['--set-json', 'auth={"mode":"public-key"}']], /auth\.publicKey \(PEM\) is required/],
    ['an autoscaler whose maximum is below its minimum', [['-f', evaluation], ['--set-json', 'autoscaling={"enabled":true,"minReplicas":4,"maxReplicas":3}']], /maxReplicas must not be below/],
  ];
  it.each(cases)('%s', (_what, args, message) => {
    expect(() => render(bin, args)).toThrow(message);
  });

  it('a pools file that does not parse is named as such', () => {
    const dir = mkdtempSync(join(tmpdir(), 'chart-bad-'));
    writeFileSync(join(dir, 'bad.yaml'), 'pools: [unclosed\n');
    expect(() => render(bin, [['-f', evaluation], ['--set-file', `configFile=${join(dir, 'bad.yaml')}`]])).toThrow(/configFile is not valid YAML/);
  });
});

describe('auth modes as the pod sees them', () => {
  it('public-key: the PEM lands next to the pools file, which names it', () => {
    const pem = '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n';
    const r = render(bin, [['-f', evaluation], ['--set-json', `auth=${JSON.stringify({ mode: 'public-key', publicKey: pem, algorithms: ['EdDSA'] })}`]]);
    const cm = find(r, 'ConfigMap', (o) => o.metadata.name.endsWith('-config'));
    expect(cm.data['auth-public-key.pem']).toBe(pem);
    const { config, env } = loadAsThePodWould(r);
    expect(config.broker.auth).toMatchObject({ mode: 'public-key', algorithms: ['EdDSA'] });
    expect(config.broker.auth.publicKeyFile).toMatch(/auth-public-key\.pem$/);
    expect(env.BROKER_JWT_SECRET).toBeUndefined();
  });

  it('jwks: the URL, issuer, audience and claim names are in the pools file; no signing secret in the pod', () => {
    const auth = { mode: 'jwks', jwksUrl: 'https://idp.example/certs', issuer: 'https://idp.example', audience: 'broker', claims: { agency: 'org' } };
    const r = render(bin, [['-f', evaluation], ['--set-json', `auth=${JSON.stringify(auth)}`]]);
    const { config, env } = loadAsThePodWould(r);
    expect(config.broker.auth).toMatchObject({ ...auth, claims: { agency: 'org', roles: 'roles' } });
    expect(env.BROKER_JWT_SECRET).toBeUndefined();
  });

  it('a configFile with its own auth section gets the chart\'s auth instead', () => {
    const r = render(bin, [['-f', evaluation], sampleModel]);
    expect(parse(find(r, 'ConfigMap', (o) => o.metadata.name.endsWith('-config')).data['broker.yaml']).auth).toEqual({
      mode: 'hs256', issuer: 'telework-broker', audience: 'telework-broker', clockToleranceSeconds: 5, tokenCacheSize: 100000, maxTokenLifetimeSeconds: 86400,
    });
  });
});

describe('objects that only some values create', () => {
  const kinds = (r: Rendered) => r.objects.map((o: K8sObject) => o.kind).sort();

  it('the evaluation example adds a one-pod Redis with its own NetworkPolicy; the defaults create no HPA, Ingress or monitoring', () => {
    const r = render(bin, [['-f', evaluation]]);
    expect(kinds(r)).toEqual(['ConfigMap', 'Deployment', 'Deployment', 'NetworkPolicy', 'NetworkPolicy', 'Pod', 'PodDisruptionBudget', 'Secret', 'Service', 'Service', 'ServiceAccount']);
    const redis = find(r, 'Deployment', (o) => o.metadata.name.endsWith('-redis'));
    expect(redis.spec.replicas).toBe(1);
    expect(redis.spec.template.spec.containers[0].args).toEqual(expect.arrayContaining(['--maxmemory-policy', 'noeviction']));
    expect(loadAsThePodWould(r).env.REDIS_URL).toBe(`redis://${redis.metadata.name}:6379`);
  });

  it('an Ingress without explicit paths routes only the public paths, never /metrics or /health', () => {
    const r = render(bin, [['-f', evaluation], ['--set-json', 'ingress={"enabled":true,"hosts":[{"host":"broker.example.org"}]}']]);
    const paths = find(r, 'Ingress').spec.rules[0].http.paths.map((p: { path: string; pathType: string }) => `${p.pathType} ${p.path}`);
    expect(paths).toEqual(['Exact /', 'Prefix /v1', 'Prefix /ws', 'Prefix /ops', 'Prefix /assets', 'Prefix /docs']);
  });

  it('an existing Secret replaces the chart\'s: no Secret object, no secret checksum', () => {
    const r = render(bin, [sampleModel, ['--set-json', 'redis={"url":"redis://r:6379"}'], ['--set-json', 'secrets={"existingSecret":"mine"}']]);
    expect(r.objects.some((o) => o.kind === 'Secret')).toBe(false);
    expect(brokerDeployment(r).spec.template.metadata.annotations['checksum/secret']).toBeUndefined();
    const env = brokerDeployment(r).spec.template.spec.containers[0].env as any[];
    expect(env.filter((e) => e.valueFrom).map((e) => [e.name, e.valueFrom.secretKeyRef.name])).toEqual([
      ['REDIS_PASSWORD', 'mine'], ['BROKER_JWT_SECRET', 'mine'], ['BROKER_PSEUDONYM_KEY', 'mine'],
    ]);
  });
});
