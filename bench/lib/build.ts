import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Compiles the broker into `out` with every non-TypeScript file of src/ beside it (Lua scripts,
 * pages): the working tree of `root`, or with `commit` the sources of that commit (git archive into
 * `snapshot`), so a run measures exactly one revision whatever is being edited.
 */
export function compileBroker(root: string, commit: string | null, out: string, snapshot: string): void {
  rmSync(out, { recursive: true, force: true });
  let from = root;
  if (commit) {
    from = snapshot;
    rmSync(from, { recursive: true, force: true });
    mkdirSync(from, { recursive: true });
    const tar = spawnSync('sh', ['-c', `git archive --format=tar "$0" src tsconfig.json tsconfig.build.json | tar -x -C "$1"`, commit, from], { cwd: root, encoding: 'utf8' });
    if (tar.status !== 0) throw new Error(`cannot take the sources of ${commit}: ${tar.stderr}`);
  }
  const tsc = require.resolve('typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', join(from, 'tsconfig.build.json'), '--outDir', out], { cwd: from, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`the broker does not compile:\n${r.stdout}${r.stderr}`);
  cpSync(join(from, 'src'), out, { recursive: true, filter: (src) => !src.endsWith('.ts') });
}
