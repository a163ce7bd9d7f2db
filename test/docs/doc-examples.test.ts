import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { instrument, keysOf, shellBlocks, type Expectation } from './shell-blocks';

/**
 * Every shell example of README.md and docs/*.md that is meant to run (a ```sh block not marked
 * `no-run`) runs here, as pasted, against a broker started as README says (`npm start`, embedded
 * store, config/broker.yaml), on 127.0.0.1:23080 instead of :8080. The blocks of one file run in
 * order in one bash session, so what a block captures (ids, tokens) is there for the next. Each
 * curl answer must be 2xx, or the status of the `# NNN {…}` comment under the command; that comment's
 * JSON keys must all be in the answer. Port range of this suite: 23000–23099.
 */
const ROOT = resolve(__dirname, '..', '..');
const PORT = 23080;
const files = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

const PRELUDE = readFileSync(join(__dirname, 'curl-log.sh'), 'utf8');

let broker: ChildProcess;
let output = '';
let stateDir: string;

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'doc-tests-'));
  // As README says: npm start (builds, then runs dist/main.js) on the embedded store with the sample config.
  broker = spawn('npm', ['start'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? stateDir, PORT: String(PORT), BROKER_STATE_DIR: join(stateDir, 'state'), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  broker.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  broker.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  for (;;) {
    if (broker.exitCode !== null) throw new Error(`npm start exited with ${broker.exitCode}:\n${output}`);
    try {
      if ((await fetch(`http://127.0.0.1:${PORT}/health/ready`)).status === 200) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}, 180_000);

afterAll(async () => {
  if (broker && broker.exitCode === null) {
    const exited = new Promise((r) => broker.once('exit', r));
    process.kill(-broker.pid!, 'SIGTERM'); // npm and the node process it started
    await exited;
  }
  rmSync(stateDir, { recursive: true, force: true });
});

interface Logged {
  expectation: number | null;
  status: number;
  body: string;
}

function run(file: string): { code: number; stderr: string; log: Logged[]; expectations: Expectation[] } {
  const blocks = shellBlocks(join(ROOT, file)).filter((b) => !b.noRun);
  const expectations: Expectation[] = [];
  let script = PRELUDE;
  for (const b of blocks) {
    const { script: s, expectations: e } = instrument(b.text.replace(/(localhost|127\.0\.0\.1):8080/g, `$1:${PORT}`), expectations.length);
    expectations.push(...e);
    script += `\n# ${file}:${b.line}\n${s}\n`;
  }
  const dir = mkdtempSync(join(tmpdir(), 'doc-test-run-'));
  try {
    const logFile = join(dir, 'answers.tsv');
    writeFileSync(logFile, '');
    writeFileSync(join(dir, 'script.sh'), script);
    const r = spawnSync('bash', [join(dir, 'script.sh')], {
      cwd: ROOT,
      // The token CLI reads the broker's generated local secret from the same state directory.
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? dir, PORT: String(PORT), BROKER_STATE_DIR: join(stateDir, 'state'), DOC_LOG: logFile, TMPDIR: dir },
      encoding: 'utf8',
      timeout: 120_000,
    });
    const log = readFileSync(logFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [exp, status, body] = l.split('\t');
        return { expectation: exp ? Number(exp.split(':')[0]) : null, status: Number(status), body: Buffer.from(body ?? '', 'base64').toString() };
      });
    return { code: r.status ?? -1, stderr: `${r.stderr}${r.error ? String(r.error) : ''}`, log, expectations };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The JSON of an answer (after any headers curl -i printed). */
function json(body: string): unknown {
  const at = body.search(/^[[{]/m);
  return at < 0 ? undefined : JSON.parse(body.slice(at));
}

const runnable = files.filter((f) => shellBlocks(join(ROOT, f)).some((b) => !b.noRun));

describe.each(runnable)('%s: the shell examples run as pasted', (file) => {
  it('every command succeeds, and every answer has the status and shape the doc shows', () => {
    const r = run(file);
    if (r.code !== 0) throw new Error(`${file}: the examples stopped with exit code ${r.code}; the end of what they printed to stderr:\n${r.stderr.slice(-1500)}`);
    r.expectations.forEach((e, n) => {
      const answer = r.log.find((l) => l.expectation === n);
      const where = `${file}: the answer shown as "# ${e.status} ${e.sample.slice(0, 60)}"`;
      expect({ where, seen: answer !== undefined }).toEqual({ where, seen: true });
      expect({ where, status: answer!.status }).toEqual({ where, status: e.status });
      const have = keysOf(json(answer!.body));
      expect({ where, missing: e.keys.filter((k) => !have.has(k)) }).toEqual({ where, missing: [] });
    });
  });
});

describe('the doc-tests themselves', () => {
  it('find the tour in README and mark nothing runnable that they cannot run (wscat, other hosts)', () => {
    expect(runnable).toContain('README.md');
    for (const f of files) {
      for (const b of shellBlocks(join(ROOT, f)).filter((x) => !x.noRun)) {
        expect({ at: `${relative(ROOT, b.file)}:${b.line}`, wscat: /\bwscat\b/.test(b.text) }).toEqual({ at: `${relative(ROOT, b.file)}:${b.line}`, wscat: false });
      }
    }
  });

  it('docs/development.md lists every Lua script', () => {
    const table = readFileSync(join(ROOT, 'docs', 'development.md'), 'utf8');
    const scripts = readdirSync(join(ROOT, 'src', 'repositories', 'redis', 'lua')).filter((f) => f.endsWith('.lua'));
    expect(scripts.filter((s) => !table.includes(s))).toEqual([]);
  });
});
