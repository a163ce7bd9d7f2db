import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BrokerError, errorCatalogue } from '../../src/errors/error-codes';

const root = join(__dirname, '..', '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

describe('error codes', () => {
  const docs = readFileSync(join(root, 'docs', 'errors.md'), 'utf8');

  it.each(Object.keys(errorCatalogue))('documents %s in docs/errors.md', (code) => {
    expect(docs).toContain(`\`${code}\``);
  });

  it('uses only catalogued codes in new BrokerError(...) across src/', () => {
    const used = new Set<string>();
    for (const file of sourceFiles(join(root, 'src'))) {
      for (const m of readFileSync(file, 'utf8').matchAll(/new BrokerError\(\s*'([a-z-]+)'/g)) used.add(m[1]!);
    }
    expect(used.size).toBeGreaterThan(5);
    for (const code of used) expect(Object.keys(errorCatalogue)).toContain(code);
  });

  it('gives every code a 4xx or 5xx status and a title', () => {
    for (const [code, { status, title }] of Object.entries(errorCatalogue)) {
      expect([code, status >= 400 && status < 600]).toEqual([code, true]);
      expect(title.length).toBeGreaterThan(5);
    }
  });
});

describe('BrokerError', () => {
  it('is an answer, not a fault: built without stack frames, leaving the stack limit as it was', () => {
    const before = Error.stackTraceLimit;
    const e = new BrokerError('pool-full', 'full');
    expect(e.stack).toBe('BrokerError: full');
    expect(Error.stackTraceLimit).toBe(before);
    expect(new Error('x').stack).toContain('\n    at ');
  });
});
