// `npm run build`, also package.json's `prepare` (run by `npm install` and `npm ci` in a checkout,
// so `npm install <path to the checkout>` works in another project, and by `npm pack` and
// `npm publish`): the package's compiled JavaScript and declarations in dist/, which the installed
// `rxa` runs and `exports` points
// at. tsc compiles the sources (tsconfig.build.json: no tests, benchmarks or scripts); then the
// files tsc does not make: the live page's static files, read beside live/server.js, and two
// re-exports of bin/ for the compiled CLI, which imports `../bin/compiled.js` and `../bin/version.js`
// (plain JavaScript that stays in bin/: version.js reads the package.json beside it).
// A checkout runs from its build cache instead (bin/compiled.js) and never needs this.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(ROOT, 'dist');

rmSync(DIST, { recursive: true, force: true });
execFileSync(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, stdio: 'inherit' });
cpSync(join(ROOT, 'live', 'public'), join(DIST, 'live', 'public'), { recursive: true });
mkdirSync(join(DIST, 'bin'), { recursive: true });
for (const file of ['compiled', 'version']) {
  writeFileSync(join(DIST, 'bin', `${file}.js`), `export * from '../../bin/${file}.js';\n`);
}
