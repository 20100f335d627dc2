// The project's TypeScript compiled to JavaScript, so `rxa run` runs on plain Node.
//
// Installed from the package (no TypeScript sources beside bin/, only dist/): the compiled modules
// are dist/, built with tsc when the package was packed (bin/build.js). In a checkout of the
// repository they are the build cache below, whether or not a dist/ happens to exist.
//
// Why: tsx's loader runs its hooks on a thread of its own in Node 20 (a second V8 isolate), which
// cost a running pipeline 35-65 MB of RSS and some CPU per event (docs/adr/0009-compiled-javascript.md).
// Each source file is compiled on its own into a directory named after a hash of every source's
// path, size and mtime, under node_modules/.cache/rxa: an edit makes a new build on the next start
// (~0.3 s), and nothing has to remember to run a build step. Processes starting together build
// side by side and the first rename wins; a build is complete before it has its name.
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, version as esbuildVersion } from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CACHE = join(ROOT, 'node_modules', '.cache', 'rxa');
/** The package's compiled modules (tsc, at `npm pack`); what an installed `rxa` runs. */
const DIST = join(ROOT, 'dist');
/** Installed from the package: the sources are not there, dist/ is. */
const INSTALLED = !existsSync(join(ROOT, 'cli', 'main.ts'));
/** Not compiled: tests (vitest compiles them itself), docs, dependencies, the package's build, `rxa init`'s templates, dot-directories. */
const SKIP_DIRS = new Set(['node_modules', 'test', 'docs', 'test-output', 'dist', 'templates']);
/** Copied beside the compiled files: read at run time relative to the module that serves them. */
const ASSET_DIRS = ['live/public'];
/** Builds kept besides the current one (a process still running may import from its own). */
const KEEP_BUILDS = 4;

/** Source files to compile, relative to the project root. */
function sources(dir = ROOT, out = []) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name)) sources(path, out);
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') && !entry.name.endsWith('.d.ts')) {
      out.push(relative(ROOT, path));
    }
  }
  return out;
}

function assetFiles() {
  return ASSET_DIRS.flatMap((dir) =>
    readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => relative(ROOT, join(e.parentPath ?? e.path, e.name))),
  );
}

function buildKey(files) {
  const hash = createHash('sha256').update(`esbuild ${esbuildVersion}\n`);
  for (const file of [...files, 'bin/compiled.js', 'package.json'].sort()) {
    const s = statSync(join(ROOT, file));
    hash.update(`${file} ${s.size} ${s.mtimeMs}\n`);
  }
  return hash.digest('hex').slice(0, 16);
}

/** An import inside the project (not a dependency) that resolves to `path`. */
function isProjectFile(path) {
  const rel = relative(ROOT, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) && !rel.split(sep).includes('node_modules');
}

/** This process's build: the CLI and the pipeline file it loads must import the same compiled modules. */
let current;

/**
 * The directory of the compiled project for the sources as they were when this process first
 * asked, built if needed. Its layout mirrors the sources': `core/runner.ts` is `<dir>/core/runner.js`.
 */
export function compiledProject() {
  current ??= INSTALLED ? Promise.resolve(DIST) : buildProject();
  return current;
}

async function buildProject() {
  const files = sources();
  const assets = assetFiles();
  const dir = join(CACHE, buildKey([...files, ...assets]));
  if (exists(dir)) return dir;
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  try {
    await build({
      entryPoints: files.map((f) => join(ROOT, f)),
      outdir: tmp,
      outbase: ROOT,
      // One output per source: every project import stays an import (of the compiled twin), so a
      // module exists once, as under tsx. Bundling is only how esbuild rewrites the import paths.
      bundle: true,
      packages: 'external',
      platform: 'node',
      format: 'esm',
      target: 'node20',
      logLevel: 'silent',
      plugins: [
        {
          name: 'rxa-project-imports',
          setup(b) {
            b.onResolve({ filter: /^\.\.?\// }, (args) => {
              if (args.kind === 'entry-point') return undefined;
              const target = resolve(args.resolveDir, args.path);
              if (!isProjectFile(target)) return undefined;
              // Another compiled file (same relative path, .js), or a file of the project as it is (a .js or JSON file).
              return target.endsWith('.ts')
                ? { path: args.path.replace(/\.ts$/, '.js'), external: true }
                : { path: pathToFileURL(target).href, external: true };
            });
          },
        },
      ],
    });
    for (const assetDir of ASSET_DIRS) cpSync(join(ROOT, assetDir), join(tmp, assetDir), { recursive: true });
    try {
      renameSync(tmp, dir);
    } catch (err) {
      // Another process finished the same build first: use it.
      if (!exists(dir)) throw err;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  pruneBuilds(dir);
  return dir;
}

/**
 * The package's own entry points by the names a pipeline file imports them by (`rxstream-analytics`,
 * `rxstream-analytics/testing`...), each to its module under dist/ as package.json's `exports` say.
 */
function packageEntries() {
  const { name, exports } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const entries = new Map();
  for (const [subpath, target] of Object.entries(exports)) {
    const file = typeof target === 'string' ? target : target.import;
    if (typeof file === 'string' && file.startsWith('./dist/')) entries.set(join(name, subpath).replaceAll(sep, '/'), file.slice('./dist/'.length));
  }
  return entries;
}

/** The compiled twin of a project source file (absolute, or relative to the project root). */
export async function compiledPath(sourceFile) {
  const rel = relative(ROOT, resolve(ROOT, sourceFile));
  if (!isProjectFile(join(ROOT, rel)) || !rel.endsWith('.ts')) throw new Error(`${sourceFile}: not a TypeScript file of this project`);
  return join(await compiledProject(), rel.replace(/\.ts$/, '.js'));
}

/**
 * Import a TypeScript file that may live anywhere (a user's pipeline), from compiled JavaScript:
 * the file and its own imports are bundled into one module written beside it (so its packages
 * resolve from its own directory), with every import of this project's modules pointing at their
 * compiled twins, so it shares them with the running CLI (the operators' scope is module state).
 * The bundle is deleted once imported.
 */
export async function importBundled(file) {
  const dir = await compiledProject();
  const entries = packageEntries();
  const entry = resolve(file);
  // A file of the project itself (pipelines/clickstream.ts) is imported as its twin: one instance, as the CLI's.
  if (isProjectFile(entry) && entry.endsWith('.ts')) {
    const twin = join(dir, relative(ROOT, entry).replace(/\.ts$/, '.js'));
    if (exists(twin)) return import(pathToFileURL(twin).href);
  }
  const out = `${entry}.rxa-${process.pid}-${Date.now()}.mjs`;
  await build({
    entryPoints: [entry],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'silent',
    plugins: [
      {
        name: 'rxa-compiled-twins',
        setup(b) {
          b.onResolve({ filter: /.*/ }, async (args) => {
            if (args.kind === 'entry-point' || args.pluginData === 'resolving') return undefined;
            // `rxstream-analytics` and its subpaths: the modules this CLI runs (dist/, or the build cache in a checkout).
            const own = entries.get(args.path);
            if (own !== undefined) return { path: pathToFileURL(join(dir, own)).href, external: true };
            const bare = !args.path.startsWith('.') && !isAbsolute(args.path);
            const found = await b.resolve(args.path, { resolveDir: args.resolveDir, kind: args.kind, importer: args.importer, pluginData: 'resolving' });
            if (found.errors.length > 0 || found.external) return bare ? { path: args.path, external: true } : undefined;
            if (isProjectFile(found.path) && found.path.endsWith('.ts')) {
              const twin = join(dir, relative(ROOT, found.path).replace(/\.ts$/, '.js'));
              if (exists(twin)) return { path: pathToFileURL(twin).href, external: true };
            }
            // Other packages are imported as they are, from the pipeline file's directory.
            return bare ? { path: args.path, external: true } : undefined;
          });
        },
      },
    ],
  });
  try {
    return await import(pathToFileURL(out).href);
  } finally {
    unlinkSync(out);
  }
}

function exists(path) {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

function pruneBuilds(current) {
  try {
    const builds = readdirSync(CACHE)
      .map((name) => join(CACHE, name))
      .filter((path) => path !== current && !path.includes('.tmp-'))
      .map((path) => ({ path, mtime: statSync(path).mtimeMs }))
      .sort((a, b) => b.mtime - a.mtime);
    for (const { path } of builds.slice(KEEP_BUILDS)) rmSync(path, { recursive: true, force: true });
  } catch {
    // Pruning is housekeeping: never a reason for a pipeline not to start.
  }
}
