import { boolFrom, choiceFrom, commonSettings, durationFrom, intFrom, k6Duration, numberFrom, parseDuration } from '../../load-tests/lib/env.js';

describe('load-test settings from the environment', () => {
  it('parses k6-style durations, alone or summed', () => {
    expect(parseDuration('90s')).toBe(90);
    expect(parseDuration('10m')).toBe(600);
    expect(parseDuration('1h30m')).toBe(5400);
    expect(parseDuration('250ms')).toBe(0.25);
    expect(parseDuration('1.5m')).toBe(90);
    expect(parseDuration('42')).toBe(42);
    for (const bad of ['', 'ten minutes', '10x', '5m ago', '-3s']) expect(() => parseDuration(bad)).toThrow(/not a duration/);
  });

  it('writes durations k6 accepts, keeping milliseconds', () => {
    expect(k6Duration(30)).toBe('30s');
    expect(k6Duration(28.5714)).toBe('28571ms');
    expect(parseDuration(k6Duration(28.5714))).toBeCloseTo(28.571, 3);
    expect(() => k6Duration(-1)).toThrow();
  });

  it('takes defaults for absent or blank variables and refuses bad values, naming the variable', () => {
    const env = { TARGET: '60_000', BLANK: '  ', RATE: '1.5', HOLD: '20m', FLAG: 'yes', MODE: 'lost', NEG: '-1' };
    expect(intFrom(env, 'TARGET', 1)).toBe(60000);
    expect(intFrom(env, 'BLANK', 7)).toBe(7);
    expect(intFrom(env, 'MISSING', 7)).toBe(7);
    expect(() => intFrom(env, 'RATE', 1)).toThrow('RATE must be a whole number');
    expect(() => intFrom(env, 'NEG', 1, { min: 0 })).toThrow('NEG must be at least 0');
    expect(numberFrom(env, 'RATE', 0)).toBe(1.5);
    expect(durationFrom(env, 'HOLD', '5m')).toBe(1200);
    expect(durationFrom(env, 'MISSING', '5m')).toBe(300);
    expect(() => durationFrom({ HOLD: 'soon' }, 'HOLD', 1)).toThrow(/^HOLD: not a duration/);
    expect(boolFrom(env, 'FLAG', false)).toBe(true);
    expect(() => boolFrom({ FLAG: 'maybe' }, 'FLAG', false)).toThrow('FLAG must be true or false');
    expect(choiceFrom(env, 'MODE', 'drain', ['drain', 'lost'])).toBe('lost');
    expect(() => choiceFrom({ MODE: 'fire' }, 'MODE', 'drain', ['drain', 'lost'])).toThrow('MODE must be one of drain, lost');
  });

  it('defaults to the local broker and the sample VPN pool', () => {
    const s = commonSettings({});
    expect(s.baseUrl).toBe('http://127.0.0.1:8080');
    expect(s.pool).toBe('vpn-statenet');
    expect(s.tokensFile).toBe('.data/tokens.json');
    expect(commonSettings({ BASE_URL: 'http://127.0.0.1:18080/' }).baseUrl).toBe('http://127.0.0.1:18080');
    expect(() => commonSettings({ BASE_URL: '127.0.0.1:8080' })).toThrow('BASE_URL must be scheme://host[:port]');
    expect(() => commonSettings({ MAX_ERROR_RATE: '2' })).toThrow('MAX_ERROR_RATE must be at most 1');
  });
});
