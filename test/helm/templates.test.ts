import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { actions, chartDir, defaultValues, isMap, leafPaths, readChartFile, templateFiles, valuesPaths } from './chart-files';

/**
 * Static checks of the templates, standing in for `helm lint --strict` where helm cannot run:
 * what the templates read exists in values.yaml, names resolve, blocks close, and the
 * Deployment keeps the promises the chart makes (rolling without loss, probes, checksum, security).
 */

const templates = templateFiles();
const manifests = templates.filter((t) => t.endsWith('.yaml'));
const read = (t: string) => readChartFile(t);

/** A template with its actions blanked out, for looking at the literal YAML around them. */
const literal = (t: string) => read(t).replace(/\{\{[\s\S]*?\}\}/g, '');

describe('Chart.yaml', () => {
  const chart = parse(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8'));

  it('is a Helm 3 application chart named like its directory, with semver versions', () => {
    expect(chart.apiVersion).toBe('v2');
    expect(chart.type).toBe('application');
    expect(chart.name).toBe('telework-broker');
    expect(chart.version).toMatch(/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/);
    expect(String(chart.appVersion)).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('appVersion follows package.json, so the default image tag is the release being built', () => {
    const pkg = JSON.parse(readFileSync(join(chartDir, '..', '..', 'package.json'), 'utf8'));
    expect(String(chart.appVersion)).toBe(pkg.version);
  });
});

describe('templates', () => {
  it('have only the extensions helm lint accepts', () => {
    for (const t of templates) expect(t).toMatch(/\.(yaml|yml|tpl|txt)$/);
    expect(templates).toEqual(expect.arrayContaining(['templates/_helpers.tpl', 'templates/NOTES.txt']));
  });

  it('read only .Values paths that values.yaml defines (helm lint --strict fails on a missing key)', () => {
    const values = defaultValues();
    const missing: string[] = [];
    for (const t of templates) {
      for (const { path, line } of valuesPaths(read(t))) {
        let node: unknown = values;
        for (const key of path) {
          if (!isMap(node) || !(key in node)) {
            missing.push(`${t}:${line} .Values.${path.join('.')}`);
            break;
          }
          node = node[key];
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it('use every value in values.yaml (no dead settings)', () => {
    const used = templates.flatMap((t) => valuesPaths(read(t)).map((p) => p.path.join('.')));
    const unused = leafPaths(defaultValues())
      .map((p) => p.join('.'))
      .filter((leaf) => !used.some((u) => leaf === u || leaf.startsWith(u + '.')));
    expect(unused).toEqual([]);
  });

  it('include only templates defined in _helpers.tpl, and every define is used', () => {
    const helpers = read('templates/_helpers.tpl');
    const defined = [...helpers.matchAll(/\{\{-?\s*define\s+"([^"]+)"/g)].map((m) => m[1]!);
    expect(new Set(defined).size).toBe(defined.length);
    const included = new Set<string>();
    for (const t of templates) {
      for (const m of read(t).matchAll(/\b(?:include|template)\s+"([^"]+)"/g)) {
        expect({ template: t, name: m[1], defined: defined.includes(m[1]!) }).toEqual({ template: t, name: m[1], defined: true });
        included.add(m[1]!);
      }
    }
    expect(defined.filter((d) => !included.has(d))).toEqual([]);
    for (const d of defined) expect(d.startsWith('telework-broker.')).toBe(true);
  });

  it.each(templates)('%s: every if/range/with/define is closed by an end, else only inside if/with/range', (t) => {
    const stack: string[] = [];
    for (const a of actions(read(t))) {
      if (a.body.startsWith('/*')) {
        expect(a.body.endsWith('*/')).toBe(true);
        continue;
      }
      const word = /^[a-z]+/.exec(a.body)?.[0];
      if (word === 'if' || word === 'range' || word === 'with' || word === 'define' || word === 'block') stack.push(`${word}@${a.line}`);
      else if (word === 'else') expect(stack.at(-1) ?? `else@${a.line} outside a block`).toMatch(/^(if|with|range)@/);
      else if (word === 'end') expect(stack.pop()).toBeDefined();
    }
    expect(stack).toEqual([]);
  });

  it.each(manifests)('%s: carries the standard labels and a release-scoped name', (t) => {
    const text = read(t);
    for (const doc of text.split(/^---$/m).filter((d) => /^kind:/m.test(d))) {
      expect(doc).toMatch(/labels:\n\s+\{\{-\s*include "telework-broker\.labels" [.$] \| nindent \d+ \}\}/);
      expect(doc).toMatch(/^\s{2}name: \{\{ (include "telework-broker\.[a-zA-Z]+" [.$]|printf .*include "telework-broker\.fullname")/m);
    }
  });

  it('use API versions that current Kubernetes serves (no removed beta APIs)', () => {
    const versions = manifests.flatMap((t) => [...literal(t).matchAll(/^apiVersion: (\S+)$/gm)].map((m) => m[1]!));
    expect(new Set(versions)).toEqual(
      new Set(['apps/v1', 'v1', 'autoscaling/v2', 'policy/v1', 'networking.k8s.io/v1', 'monitoring.coreos.com/v1']),
    );
  });

  it('declare the objects the chart promises', () => {
    const kinds = new Set(manifests.flatMap((t) => [...literal(t).matchAll(/^kind: (\S+)$/gm)].map((m) => m[1]!)));
    for (const kind of [
      'Deployment', 'Service', 'ConfigMap', 'Secret', 'ServiceAccount', 'HorizontalPodAutoscaler',
      'PodDisruptionBudget', 'NetworkPolicy', 'ServiceMonitor', 'PrometheusRule', 'Ingress', 'Pod',
    ]) {
      expect(kinds).toContain(kind);
    }
  });
});

describe('the broker Deployment', () => {
  const deployment = read('templates/deployment.yaml');

  it('stops rendering on an unusable configuration (no Redis, no capacity model, no secrets)', () => {
    expect(deployment.split('\n')[0]).toBe('{{- include "telework-broker.validate" . }}');
    const helpers = read('templates/_helpers.tpl');
    const validate = helpers.slice(helpers.indexOf('define "telework-broker.validate"'));
    expect(validate).toMatch(/fail "Redis is required/);
    expect(validate).toMatch(/evaluationRedis\.enabled/);
    expect(validate).toMatch(/fail "The capacity model is required/);
    expect(validate).toMatch(/secrets\.jwtSecret/);
    expect(validate).toMatch(/secrets\.pseudonymKey/);
  });

  it('rolls the pods when the pools file or the secret changes (checksum annotations)', () => {
    expect(deployment).toContain('checksum/config: {{ include (print $.Template.BasePath "/configmap.yaml") . | sha256sum }}');
    expect(deployment).toContain('checksum/secret: {{ include (print $.Template.BasePath "/secret.yaml") . | sha256sum }}');
    expect(templates).toEqual(expect.arrayContaining(['templates/configmap.yaml', 'templates/secret.yaml']));
  });

  it('never drops below the desired pod count while rolling', () => {
    expect(deployment).toMatch(/type: RollingUpdate\n\s+rollingUpdate:\n(\s+#.*\n)*\s+maxUnavailable: 0\n/);
    expect(defaultValues().replicaCount).toBeGreaterThanOrEqual(2);
  });

  it('probes /health/live for liveness and start-up, /health/ready for readiness', () => {
    expect(deployment).toMatch(/livenessProbe:\n\s+httpGet:\n\s+path: \/health\/live/);
    expect(deployment).toMatch(/startupProbe:\n\s+httpGet:\n\s+path: \/health\/live/);
    expect(deployment).toMatch(/readinessProbe:\n\s+httpGet:\n\s+path: \/health\/ready/);
  });

  it('listens on all interfaces, reads the mounted pools file, and has a writable /tmp only', () => {
    expect(deployment).toMatch(/- name: HOST\n\s+value: "0\.0\.0\.0"/);
    expect(deployment).toMatch(/- name: BROKER_CONFIG\n\s+value: \/etc\/broker\/broker\.yaml/);
    expect(deployment).toMatch(/mountPath: \/etc\/broker\n\s+readOnly: true/);
    expect(deployment).toMatch(/- name: tmp\n\s+emptyDir:/);
    const v = defaultValues() as any;
    expect(v.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
    expect(v.podSecurityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(deployment).toContain('{{- toYaml .Values.securityContext | nindent 12 }}');
    expect(deployment).toContain('{{- toYaml .Values.podSecurityContext | nindent 8 }}');
  });

  it('leaves the Service before SIGTERM and gives in-flight requests time to finish', () => {
    expect(deployment).toMatch(/preStop:\n(\s+#.*\n)*\s+exec:\n\s+command: \["sleep", \{\{ \.Values\.preStopSleepSeconds \| quote \}\}\]/);
    expect(deployment).toContain('terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}');
    const v = defaultValues() as any;
    expect(v.terminationGracePeriodSeconds).toBeGreaterThan(v.preStopSleepSeconds);
  });

  it('spreads pods over nodes and zones with the pods\' own selector', () => {
    expect(deployment).toContain('topologySpreadConstraints:');
    expect(deployment).toContain('{{- include "telework-broker.brokerSelectorLabels" $ | nindent 14 }}');
    const keys = (defaultValues() as any).topologySpreadConstraints.map((c: any) => c.topologyKey);
    expect(keys).toEqual(['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
  });

  it('sets only environment variables the broker reads', () => {
    const chartEnv = new Set(templates.flatMap((t) => [...read(t).matchAll(/- name: ([A-Z][A-Z0-9_]+)\n/g)].map((m) => m[1]!)));
    const known = ['HOST', 'PORT', 'BROKER_CONFIG', 'BROKER_STATE_DIR', 'LOG_LEVEL', 'BROKER_JWT_SECRET', 'BROKER_PSEUDONYM_KEY',
      'REDIS_URL', 'REDIS_SENTINELS', 'REDIS_SENTINEL_MASTER', 'REDIS_CLUSTER_NODES', 'REDIS_PASSWORD', 'REDIS_KEY_PREFIX',
      'REDIS_ACK_REPLICAS', 'REDIS_ACK_TIMEOUT_MS'];
    expect([...chartEnv].filter((e) => !known.includes(e))).toEqual([]);
    const loader = readFileSync(join(chartDir, '..', '..', 'src', 'config', 'config.loader.ts'), 'utf8');
    expect([...chartEnv].filter((e) => !loader.includes(e))).toEqual([]);
  });
});

describe('NOTES.txt', () => {
  const notes = read('templates/NOTES.txt');

  it('shows how to reach the service and how to mint a first operator token in the pod', () => {
    expect(notes).toContain('port-forward service/{{ $fullname }}');
    expect(notes).toContain('exec deploy/{{ $fullname }} -c broker --');
    expect(notes).toContain('node dist/cli/token.cli.js --sub ops-admin --agency {{ include "telework-broker.firstAgency" . }} --role operator');
  });
});
