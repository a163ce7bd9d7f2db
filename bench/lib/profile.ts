import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[]; parent?: number }[];
  samples: number[];
  timeDeltas: number[];
}

export interface HotSpot {
  share: number;
  selfMs: number;
  fn: string;
  where: string;
}

/**
 * Self time by function over every .cpuprofile in `dir` (written by node --cpu-prof), highest first,
 * as shares of the busy time (everything but idle).
 */
export function hotSpots(dir: string, root: string, top = 15): { totalMs: number; spots: HotSpot[]; byArea: { area: string; share: number }[] } {
  const self = new Map<string, { ms: number; fn: string; where: string }>();
  const areas = new Map<string, number>();
  let total = 0;
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.cpuprofile'))) {
    const p = JSON.parse(readFileSync(join(dir, f), 'utf8')) as CpuProfile;
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    for (const n of p.nodes) for (const c of n.children ?? []) byId.get(c)!.parent = n.id;
    p.samples.forEach((id, i) => {
      const n = byId.get(id)!;
      const ms = (p.timeDeltas[i] ?? 0) / 1000;
      total += ms;
      // Node's internals and native code are charged to the nearest library or broker frame that called them.
      let area = areaOf(n.callFrame.url.replace(/^file:\/\//, ''), n.callFrame.functionName);
      for (let cur: number | undefined = n.id; cur !== undefined && (area === 'node internals' || area === 'native'); cur = byId.get(cur)!.parent) {
        const c = byId.get(cur)!.callFrame;
        const a = areaOf(c.url.replace(/^file:\/\//, ''), c.functionName);
        if (a !== 'node internals' && a !== 'native') area = a;
      }
      areas.set(area, (areas.get(area) ?? 0) + ms);
      const url = n.callFrame.url.replace(/^file:\/\//, '');
      const where = url ? `${relative(root, url)}:${n.callFrame.lineNumber + 1}` : '(native)';
      const fn = n.callFrame.functionName || '(anonymous)';
      const key = `${fn} ${where}`;
      const cur = self.get(key) ?? { ms: 0, fn, where };
      cur.ms += ms;
      self.set(key, cur);
    });
  }
  const idle = areas.get('(idle)') ?? 0;
  areas.delete('(idle)');
  total -= idle;
  const spots = [...self.values()].filter((x) => x.fn !== '(idle)').sort((a, b) => b.ms - a.ms);
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
  const b = /\/build\/([^/]+)\//.exec(url);
  if (b) return `broker ${b[1]}/`;
  if (url.includes('/build/')) return 'broker';
  if (url === '') return 'native';
  return 'node internals';
}
