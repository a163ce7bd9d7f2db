// Copies every non-TypeScript file under src/ (Lua scripts, page assets) to dist/, keeping paths. Runs after tsc.
const { cpSync, readdirSync, statSync } = require('node:fs');
const { join, relative } = require('node:path');

const src = join(__dirname, '..', 'src');
const dist = join(__dirname, '..', 'dist');

function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (!name.endsWith('.ts')) cpSync(path, join(dist, relative(src, path)));
  }
}
walk(src);
