import { readFileSync } from 'node:fs';

/** One fenced shell block of a Markdown file, as the doc-test runs it. */
export interface ShellBlock {
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** Marked ```sh no-run: shown, never run (long runs, other machines, tests themselves). */
  noRun: boolean;
  text: string;
}

/** What a comment `# 201 {"id": …}` right after a command says about its answer. */
export interface Expectation {
  status: number;
  /** JSON keys the sample names: the answer must have each of them (at any depth). */
  keys: string[];
  sample: string;
}

const FENCE = /^```(\S*)(.*)$/;
const SHELL = new Set(['sh', 'bash', 'shell', 'console']);

export function shellBlocks(file: string): ShellBlock[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const blocks: ShellBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!);
    if (!open) continue;
    const end = lines.findIndex((l, j) => j > i && l.startsWith('```'));
    if (end < 0) throw new Error(`${file}:${i + 1}: fence never closed`);
    if (SHELL.has(open[1]!)) blocks.push({ file, line: i + 1, noRun: /\bno-run\b/.test(open[2]!), text: lines.slice(i + 1, end).join('\n') });
    i = end;
  }
  return blocks;
}

const EXPECT = /^#\s*(\d{3})(?:\s|$)(.*)$/;

/**
 * The block as a script: before each command followed by an expectation comment, `DOC_EXPECT=<n>:<status>`
 * (the test's curl wrapper reads it and logs the answer under <n>), and `DOC_EXPECT=` after it.
 */
export function instrument(text: string, first = 0): { script: string; expectations: Expectation[] } {
  const lines = text.split('\n');
  const out: string[] = [];
  const expectations: Expectation[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = EXPECT.exec(lines[i]!);
    if (!m) {
      out.push(lines[i]!);
      continue;
    }
    let sample = m[2]!;
    while (i + 1 < lines.length && /^#\s{2,}\S/.test(lines[i + 1]!)) sample += ' ' + lines[++i]!.replace(/^#\s*/, '');
    // The command this comment answers: the last non-comment line and the lines it continues.
    let end = out.length - 1;
    while (end >= 0 && (out[end]!.startsWith('#') || out[end]!.trim() === '')) end--;
    if (end < 0) throw new Error(`an expected answer (# ${m[1]}) with no command before it`);
    let start = end;
    while (start > 0 && !startsCommand(out, start)) start--;
    const n = first + expectations.length;
    out.splice(start, 0, `DOC_EXPECT=${n}:${m[1]}`);
    out.push(`DOC_EXPECT=`);
    expectations.push({ status: Number(m[1]), keys: [...sample.matchAll(/"([A-Za-z_][\w-]*)"\s*:/g)].map((k) => k[1]!), sample });
  }
  return { script: out.join('\n'), expectations };
}

/**
 * Whether line `i` starts a command: the line before does not continue onto it (`\\`) and no single-quoted
 * string (a JSON body over several lines) is open at its start.
 */
function startsCommand(lines: string[], i: number): boolean {
  if (i > 0 && lines[i - 1]!.endsWith('\\')) return false;
  let open = false;
  for (const l of lines.slice(0, i)) {
    if (!open && l.trimStart().startsWith('#')) continue;
    for (const c of l) if (c === "'") open = !open;
  }
  return !open;
}

/** Every key of a JSON value, at any depth. */
export function keysOf(value: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const v of value) keysOf(v, into);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      into.add(k);
      keysOf(v, into);
    }
  }
  return into;
}
