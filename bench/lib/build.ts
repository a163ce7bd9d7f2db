import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Compiles the broker into `out` with every non-TypeScript file of src/ beside it (Lua scripts,
 * pages): the working tree of `root`, or with `commit` the sources of that commit (git archive into
 * `snapshot`), so a run measures exactly one revision whatever is being edited.
 */
export function compileBroker(root: string, commit: string | null, out: string, snapshot: string, options: { ownDependencies?: boolean } = {}): void {
  rmSync(out, { recursive: true, force: true });
  let from = root;
  if (commit) {
    from = snapshot;
    rmSync(from, { recursive: true, force: true });
    mkdirSync(from, { recursive: true });
    const tar = spawnSync('sh', ['-c', `git archive --format=tar "$0" src tsconfig.json tsconfig.build.json package.json package-lock.json | tar -x -C "$1"`, commit, from], { cwd: root, encoding: 'utf8' });
    if (tar.status !== 0) throw new Error(`cannot take the sources of ${commit}: ${tar.stderr}`);
    // Its own dependencies, found before the project's: compiled against and run on them.
    if (options.ownDependencies) installDependencies(from);
  }
  const tsc = require.resolve('typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', join(from, 'tsconfig.build.json'), '--outDir', out], { cwd: from, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`the broker does not compile:\n${r.stdout}${r.stderr}`);
  cpSync(join(from, 'src'), out, { recursive: true, filter: (src) => !src.endsWith('.ts') });
  if (commit && options.ownDependencies) symlinkSync(join(from, 'node_modules'), join(out, 'node_modules'), 'dir');
}

/**
 * A commit's own production dependencies (its package.json and lock, `npm ci --omit=dev`) in its
 * snapshot: without them a build of another commit compiles against and runs on the working tree's
 * node_modules, and a dependency's change would not show in a comparison. The working tree's are
 * the project's own.
 */
function installDependencies(snapshot: string): void {
  const npm = spawnSync('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: snapshot, encoding: 'utf8' });
  if (npm.status !== 0) throw new Error(`npm ci in ${snapshot} failed:\n${npm.stderr}`);
}
