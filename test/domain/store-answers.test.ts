import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { refusalCodes, storeAnswers } from '../../src/domain/store-answers';
import { errorCatalogue } from '../../src/errors/error-codes';
import { outcomeOf, ScriptCode } from '../../src/repositories/redis/script-codes';
import { LUA_DIR } from '../../src/repositories/redis/script-loader';

const root = join(__dirname, '..', '..');
const entries = Object.entries(storeAnswers);

/** Every list of refusal and failure codes outside the table is derived from it or checked here. */
describe('the one table of store answers (src/domain/store-answers.ts)', () => {
  it('gives every answer its own reply number and code, each a catalogued error', () => {
    expect(new Set(entries.map(([, a]) => a.reply)).size).toBe(entries.length);
    expect(new Set(entries.map(([, a]) => a.code)).size).toBe(entries.length);
    for (const [, a] of entries) expect(Object.keys(errorCatalogue)).toContain(a.code);
  });

  it('is what the TypeScript side of the Redis store decodes', () => {
    for (const [name, a] of entries) {
      expect(ScriptCode[name as keyof typeof ScriptCode]).toBe(a.reply);
      expect(outcomeOf(a.reply)).toEqual(a.kind === 'failure' ? { kind: 'failure', failure: a.code } : { kind: 'refusal', code: a.code });
    }
  });

  it('agrees with lua/includes/codes.lua, constant by constant', () => {
    const lua = readFileSync(join(LUA_DIR, 'includes', 'codes.lua'), 'utf8');
    const inLua = Object.fromEntries([...lua.matchAll(/^local ([A-Z_]+) = (-?\d+)$/gm)].map((m) => [m[1], Number(m[2])]));
    expect(inLua).toEqual({ ...ScriptCode });
  });

  it("agrees with grant-1.lua's CODE_NAMES (the names its audit entries carry), which covers every refusal", () => {
    const lua = readFileSync(join(LUA_DIR, 'grant-1.lua'), 'utf8');
    const block = /local CODE_NAMES = \{([\s\S]*?)\n\}/.exec(lua)?.[1] ?? '';
    const names = Object.fromEntries([...block.matchAll(/\[([A-Z_]+)\] = '([a-z-]+)'/g)].map((m) => [m[1], m[2]]));
    const refusals = Object.fromEntries(entries.filter(([, a]) => a.kind === 'refusal').map(([name, a]) => [name, a.code]));
    expect(names).toEqual(refusals);
  });

  it("agrees with the k6 client's REFUSAL_CODES (load-tests/lib/k6/broker.js)", () => {
    const js = readFileSync(join(root, 'load-tests', 'lib', 'k6', 'broker.js'), 'utf8');
    const list = /export const REFUSAL_CODES = \[([\s\S]*?)\];/.exec(js)?.[1] ?? '';
    expect([...list.matchAll(/'([a-z-]+)'/g)].map((m) => m[1])).toEqual([...refusalCodes]);
  });

  it('is documented in docs/errors.md', () => {
    const docs = readFileSync(join(root, 'docs', 'errors.md'), 'utf8');
    for (const [, a] of entries) expect(docs).toContain(`| \`${a.code}\` |`);
  });
});
