import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import { brokerConfigSchema } from '../../src/config/broker-config.schema';
import { chartDir, coalesce, defaultValues, exampleFiles, readYaml, type Values } from './chart-files';

/**
 * values.schema.json is what Helm checks the merged values against before rendering; these tests
 * hold it to values.yaml, the examples, and the broker's own capacity-model schema.
 */

function compileSchema(): ValidateFunction {
  // strict: unknown keywords, types missing next to type-specific keywords and the like are errors.
  const ajv = new Ajv({ strict: true, allErrors: true });
  return ajv.compile(JSON.parse(readFileSync(join(chartDir, 'values.schema.json'), 'utf8')));
}

const validate = compileSchema();

function errorsOf(values: Values): string[] {
  return validate(values) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`);
}

/** The defaults with a few values changed, as `--set` would. */
function withOverrides(overrides: Values): Values {
  return coalesce(defaultValues(), overrides);
}

const validEvaluation = { evaluationRedis: { enabled: true } };

describe('values.schema.json', () => {
  it('is a draft-07 schema that Ajv compiles in strict mode', () => {
    const schema = JSON.parse(readFileSync(join(chartDir, 'values.schema.json'), 'utf8'));
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(typeof validate).toBe('function');
  });

  it('accepts values.yaml as it is', () => {
    expect(errorsOf(defaultValues())).toEqual([]);
  });

  it('describes every top-level key of values.yaml, and nothing else is allowed', () => {
    const schema = JSON.parse(readFileSync(join(chartDir, 'values.schema.json'), 'utf8'));
    const described = Object.keys(schema.properties).filter((k) => k !== 'global').sort();
    expect(described).toEqual(Object.keys(defaultValues()).sort());
    expect(schema.additionalProperties).toBe(false);
  });

  describe.each(exampleFiles().map((f) => [basename(f), f]))('example %s', (_name, file) => {
    const example = readYaml(file) as Values;

    it('validates merged over values.yaml, as Helm merges it', () => {
      expect(errorsOf(coalesce(defaultValues(), example))).toEqual([]);
    });

    it('configures a Redis (external or evaluation), so more than one replica is safe', () => {
      const v = coalesce(defaultValues(), example) as any;
      const external =
        (v.redis.mode === 'standalone' && v.redis.url !== '') ||
        (v.redis.mode === 'sentinel' && v.redis.sentinel.nodes.length > 0 && v.redis.sentinel.masterName !== '') ||
        (v.redis.mode === 'cluster' && v.redis.cluster.nodes.length > 0);
      expect(external !== v.evaluationRedis.enabled).toBe(true);
    });
  });

  it('lets `config` carry every section of the broker config file, and only those', () => {
    const schema = JSON.parse(readFileSync(join(chartDir, 'values.schema.json'), 'utf8'));
    const chart = Object.keys(schema.properties.config.properties).sort();
    expect(chart).toEqual(Object.keys(brokerConfigSchema.innerType().shape).sort());
    // A section the chart did not list was refused by Helm before the broker could read it.
    expect(errorsOf(withOverrides({ config: { pools: [{ id: 'p', kind: 'vpn', members: [{}] }], agencies: [{ id: 'a', pools: {} }], rateLimits: { syncMilliseconds: 20 } } }))).toEqual([]);
    expect(errorsOf(withOverrides({ config: { rateLimit: {} } }))).toContain('/config must NOT have additional properties');
  });

  it('examples with a capacity model in `config` pass the broker\'s own schema (auth as the chart renders it)', () => {
    const withModel = exampleFiles().filter((f) => Object.keys((readYaml(f) as any).config ?? {}).length > 0);
    expect(withModel.length).toBeGreaterThan(0);
    for (const file of withModel) {
      const v = coalesce(defaultValues(), readYaml(file) as Values) as any;
      const auth: Record<string, unknown> = { mode: v.auth.mode, issuer: v.auth.issuer, audience: v.auth.audience, clockToleranceSeconds: v.auth.clockToleranceSeconds, tokenCacheSize: v.auth.tokenCacheSize, maxTokenLifetimeSeconds: v.auth.maxTokenLifetimeSeconds };
      if (v.auth.mode === 'jwks') auth.jwksUrl = v.auth.jwksUrl;
      if (v.auth.mode === 'public-key') auth.publicKeyFile = '/etc/broker/auth-public-key.pem';
      const parsed = brokerConfigSchema.safeParse({ ...v.config, auth });
      expect({ file: basename(file), issues: parsed.success ? [] : parsed.error.issues }).toEqual({ file: basename(file), issues: [] });
    }
  });

  it('the sample pools file the examples recommend for --set-file passes the broker\'s schema', () => {
    const parsed = brokerConfigSchema.safeParse(readYaml(join(chartDir, '..', '..', 'config', 'broker.yaml')));
    expect(parsed.success).toBe(true);
  });

  describe('rejects', () => {
    it('(the values each case changes are valid before the change)', () => {
      expect(errorsOf(withOverrides(validEvaluation))).toEqual([]);
    });
    const cases: [string, Values][] = [
      ['a single replica', { replicaCount: 1 }],
      ['an autoscaler that may go down to one replica', { autoscaling: { enabled: true, minReplicas: 1 } }],
      ['a misspelt top-level key', { replicas: 3 }],
      ['a misspelt nested key', { redis: { urll: 'redis://r:6379' } }],
      ['a Redis URL of another scheme', { redis: { url: 'http://redis:6379' } }],
      ['an unknown Redis mode', { redis: { mode: 'replication' } }],
      ['Sentinel without sentinels', { redis: { mode: 'sentinel', sentinel: { masterName: 'm' } } }],
      ['Sentinel without a master name', { redis: { mode: 'sentinel', sentinel: { nodes: ['s-0:26379'] } } }],
      ['a Sentinel node without a port', { redis: { mode: 'sentinel', sentinel: { nodes: ['s-0'], masterName: 'm' } } }],
      // The broker splits REDIS_SENTINELS / REDIS_CLUSTER_NODES at commas and the last colon, without brackets.
      ['a bracketed IPv6 Sentinel', { redis: { mode: 'sentinel', sentinel: { nodes: ['[fd00::1]:26379'], masterName: 'm' } } }],
      ['Cluster without nodes', { redis: { mode: 'cluster' } }],
      ['an HS256 secret shorter than 32 characters', { secrets: { jwtSecret: 'too-short' } }],
      ['a pseudonymisation key shorter than 32 characters', { secrets: { pseudonymKey: 'x'.repeat(31) } }],
      ['jwks mode without a JWKS URL', { auth: { mode: 'jwks' } }],
      ['public-key mode without a PEM key', { auth: { mode: 'public-key', publicKey: 'not a key' } }],
      ['a writable root filesystem', { securityContext: { readOnlyRootFilesystem: false } }],
      ['privilege escalation', { securityContext: { allowPrivilegeEscalation: true } }],
      ['running as root', { podSecurityContext: { runAsNonRoot: false } }],
      ['capabilities not dropped', { securityContext: { capabilities: { drop: [] } } }],
      ['added capabilities', { securityContext: { capabilities: { drop: ['ALL'], add: ['NET_ADMIN'] } } }],
      ['no resource requests', { resources: { requests: null } }],
      ['a rolling update without surge', { rollingUpdate: { maxSurge: 0 } }],
      ['an unknown log level', { logLevel: 'verbose' }],
      ['a capacity model without agencies', { config: { pools: [{ id: 'p', kind: 'vpn', members: [] }] } }],
      ['an extra env var with an invalid name', { extraEnv: [{ name: 'BAD-NAME', value: 'x' }] }],
      ['an image digest that is not sha256', { image: { digest: 'latest' } }],
    ];
    it.each(cases)('%s', (_what, overrides) => {
      expect(errorsOf(withOverrides({ ...validEvaluation, ...overrides }))).not.toEqual([]);
    });
  });

  it('accepts the shapes the docs show', () => {
    const ok: Values[] = [
      { redis: { url: 'rediss://user@redis.example:6380/2' } },
      { redis: { mode: 'sentinel', sentinel: { nodes: ['10.0.0.1:26379', 'sentinel-1.data.svc:26379'], masterName: 'telework' } } },
      { auth: { mode: 'public-key', publicKey: '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n' } },
      { secrets: { existingSecret: 'telework-broker-secrets' } },
      { podDisruptionBudget: { maxUnavailable: '25%' } },
      { rollingUpdate: { maxSurge: '50%' } },
    ];
    for (const overrides of ok) expect(errorsOf(withOverrides(overrides))).toEqual([]);
  });
});

describe('values.yaml', () => {
  it('documents every setting: a comment right above each key, or above a parent documented as one value (`# --`)', () => {
    const lines = readFileSync(join(chartDir, 'values.yaml'), 'utf8').split('\n');
    const stack: { indent: number; documentsChildren: boolean }[] = [];
    const undocumented: string[] = [];
    lines.forEach((line, i) => {
      const m = /^(\s*)(- )?([A-Za-z0-9_.\/-]+):(\s|$)/.exec(line);
      if (!m) return;
      const indent = m[1]!.length + (m[2] ? 2 : 0);
      while (stack.length > 0 && stack.at(-1)!.indent >= indent) stack.pop();
      const above = (lines[i - 1] ?? '').trim();
      const commented = above.startsWith('#');
      const inherited = stack.some((s) => s.documentsChildren) || (m[2] !== undefined && stack.length > 0);
      const isLeaf = line.slice(m[0].length).trim() !== '' && !line.trim().endsWith(':');
      if (isLeaf && !commented && !inherited) undocumented.push(`line ${i + 1}: ${line.trim()}`);
      stack.push({ indent, documentsChildren: commented && above.startsWith('# --') });
    });
    expect(undocumented).toEqual([]);
  });
});

