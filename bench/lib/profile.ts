import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
}

export interface HotSpot {
  share: number;
  selfMs: number;
  fn: string;
  where: string;
}

/** Self time by function over every .cpuprofile in `dir` (written by node --cpu-prof), highest first. */
export function hotSpots(dir: string, root: string, top = 15): { totalMs: number; spots: HotSpot[]; byArea: { area: string; share: number }[] } {
  const self = new Map<string, { ms: number; fn: string; where: string; area: string }>();
  let total = 0;
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.cpuprofile'))) {
    const p = JSON.parse(readFileSync(join(dir, f), 'utf8')) as CpuProfile;
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    p.samples.forEach((id, i) => {
      const n = byId.get(id)!;
      const ms = (p.timeDeltas[i] ?? 0) / 1000;
      total += ms;
      const url = n.callFrame.url.replace(/^file:\/\//, '');
      const where = url ? `${relative(root, url)}:${n.callFrame.lineNumber + 1}` : '(native)';
      const fn = n.callFrame.functionName || '(anonymous)';
      const key = `${fn} ${where}`;
      const cur = self.get(key) ?? { ms: 0, fn, where, area: areaOf(url, fn) };
      cur.ms += ms;
      self.set(key, cur);
    });
  }
  const spots = [...self.values()].sort((a, b) => b.ms - a.ms);
  const areas = new Map<string, number>();
  for (const s of spots) areas.set(s.area, (areas.get(s.area) ?? 0) + s.ms);
  return {
    totalMs: total,
    spots: spots.slice(0, top).map((s) => ({ share: s.ms / total, selfMs: s.ms, fn: s.fn, where: s.where })),
    byArea: [...areas.entries()].sort((a, b) => b[1] - a[1]).map(([area, ms]) => ({ area, share: ms / total })),
  };
}

/** A coarse owner for a frame: which library or part of the broker the time belongs to. */
function areaOf(url: string, fn: string): string {
  if (fn === '(garbage collector)') return 'garbage collection';
  if (fn === '(idle)' || fn === '(program)') return fn;
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1]!;
  if (url.includes('/build/')) return 'broker';
  if (url.startsWith('node:') || url === '') return 'node internals';
  return 'other';
}
