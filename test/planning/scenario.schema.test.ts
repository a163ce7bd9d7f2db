import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { ConfigError } from '../../src/config/config.loader';
import { DEFAULT_ARRIVAL_PROFILE, SLOTS_PER_DAY } from '../../src/planning/arrival-profile';
import { loadScenario } from '../../src/planning/scenario.loader';
import { listedCandidates, profileWeights } from '../../src/planning/scenario.schema';

const fixture = resolve(__dirname, 'fixtures/small.yaml');
const shipped = resolve(__dirname, '../../scenarios/statenet-60k.yaml');

describe('planning scenarios', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'plan-scenario-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Writes the fixture with `change` applied and returns the ConfigError loading it throws. */
  function refusal(change: (doc: Record<string, any>) => void, name = 'bad.yaml'): ConfigError {
    const doc = parse(readFileSync(fixture, 'utf8'));
    change(doc);
    const file = join(dir, name);
    writeFileSync(file, stringify(doc));
    try {
      loadScenario(file);
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      return e as ConfigError;
    }
    throw new Error('the scenario was accepted');
  }

  it('loads the shipped scenario: the pools and agencies of config/broker.yaml', () => {
    const s = loadScenario(shipped);
    expect(s.pools.map((p) => [p.id, p.capacity, p.unitSize])).toEqual([
      ['vpn-statenet', 60000, 5000],
      ['vdi-desktop', 1800, 50],
    ]);
    expect(s.agencies).toHaveLength(12);
    expect(s.growthFactor).toBe(2);
    expect(profileWeights(s)).toBe(DEFAULT_ARRIVAL_PROFILE);
  });

  it('fills defaults and expands candidate ranges', () => {
    const s = loadScenario(fixture);
    expect(listedCandidates(s.pools[0]!)).toEqual([450, 500, 550, 600, 650]);
    expect(listedCandidates(s.pools[1]!)).toEqual([]);
    expect(listedCandidates({ ...s.pools[0]!, candidates: { from: 10, to: 20, step: 5 } })).toEqual([10, 15, 20]);
    expect(DEFAULT_ARRIVAL_PROFILE).toHaveLength(SLOTS_PER_DAY);
  });

  it.each([
    ['a share above 1', (d: any) => (d.agencies[1].teleworkShare = 1.4), 'agencies[1].teleworkShare', 'must be between 0 and 1'],
    ['a headcount that is not a whole number', (d: any) => (d.agencies[0].headcount = 10.5), 'agencies[0].headcount', 'must be a whole number'],
    ['an unknown key (a typo)', (d: any) => (d.pools[0].capcity = 5), 'pools[0]', "Unrecognized key(s) in object: 'capcity'"],
    ['a missing capacity', (d: any) => delete d.pools[1].capacity, 'pools[1].capacity', 'Required'],
    ['a split that does not add up to 1', (d: any) => (d.split = { vpn: 0.9, vdi: 0.3 }), 'split', 'shares must add up to 1, not 1.2'],
    ['a split naming an unknown pool', (d: any) => (d.agencies[1].split = { vpn: 0.5, vdl: 0.5 }), 'agencies[1].split.vdl', 'unknown pool "vdl"'],
    ['an unknown duration distribution', (d: any) => (d.pools[0].sessionDuration = { distribution: 'gamma', meanMinutes: 5 }), 'pools[0].sessionDuration.distribution', "must be one of 'lognormal', 'exponential', 'fixed'"],
    ['a profile of the wrong length', (d: any) => (d.arrivals.profile = [1, 2, 3]), 'arrivals.profile', 'must have 96 weights, one per 15 minutes from 00:00'],
    ['a negative profile weight', (d: any) => (d.arrivals.profile = Array(96).fill(1).map((x, i) => (i === 40 ? -1 : x))), 'arrivals.profile[40]', 'weights must be 0 or more'],
    ['duplicate pool ids', (d: any) => (d.pools[1].id = 'vpn'), 'pools[1].id', 'duplicate pool id "vpn"'],
    ['retries without a retry allowed', (d: any) => (d.retry.maxRetries = 0), 'retry.maxRetries', 'must be at least 1 when probability is greater than 0'],
    ['a target of 0', (d: any) => (d.target.refusedShare = 0), 'target.refusedShare', 'must be greater than 0'],
    ['a candidate range that runs backwards', (d: any) => (d.pools[0].candidates = { from: 500, to: 400, step: 10 }), 'pools[0].candidates.to', 'to must not be below from'],
  ])('refuses %s, naming the file, the field and the reason', (_what, change, path, reason) => {
    const e = refusal(change);
    expect(e.file).toBe(join(dir, 'bad.yaml'));
    expect(e.problems).toContainEqual({ path, reason: expect.stringContaining(reason) });
    expect(e.message).toContain(join(dir, 'bad.yaml'));
    expect(e.message).toContain(`${path}: `);
  });

  it('refuses a file that is not YAML, or not there, with the file and where', () => {
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, 'name: x\npools: [\n');
    expect(() => loadScenario(broken)).toThrow(ConfigError);
    try {
      loadScenario(broken);
    } catch (e) {
      expect((e as ConfigError).file).toBe(broken);
      expect((e as ConfigError).problems[0]!.path).toMatch(/^line \d+, column \d+$/);
    }
    try {
      loadScenario(join(dir, 'missing.yaml'));
      throw new Error('accepted');
    } catch (e) {
      expect((e as ConfigError).problems).toEqual([{ path: '', reason: 'cannot read file: ENOENT' }]);
    }
  });
});
