/**
 * `rxa init <dir>`: a new project with a pipeline, its unit test, and the scripts to check and run
 * it, from templates/init/ (real files, linted with the repository and type-checked, tested and run
 * by test/package.test.ts in a project made by this command from the packed package).
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { manifest, packageRoot } from '../bin/version.js';

/** templates/init/ of the package (in a checkout and installed alike). */
export const TEMPLATE_DIR = join(packageRoot, 'templates', 'init');

/** Template files whose name npm would drop or act on when packing, under another name. */
const RENAMED: Readonly<Record<string, string>> = { gitignore: '.gitignore' };

export interface InitResult {
  /** The project directory, absolute. */
  dir: string;
  /** The files written, relative to `dir`. */
  files: string[];
}

/** The range of a dependency of this package, for the new project's package.json. */
function range(name: string): string {
  const found = manifest.dependencies?.[name] ?? manifest.devDependencies?.[name];
  if (found === undefined) throw new Error(`rxa init: ${name} is not a dependency of ${manifest.name}`);
  return found;
}

/** An npm package name from a directory name: lower case, [a-z0-9-._] only. */
function packageName(dir: string): string {
  const name = basename(dir)
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[._-]+/, '');
  return name === '' ? 'rxa-pipeline' : name;
}

/** Writes the project into `target` (created if missing); refuses a directory that is not empty. */
export function initProject(target: string): InitResult {
  const dir = resolve(target);
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new Error(`rxa init: ${dir} exists and is not a directory`);
    const entries = readdirSync(dir);
    if (entries.length > 0) {
      throw new Error(`rxa init: ${dir} is not empty (${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}); give a new or empty directory`);
    }
  }
  mkdirSync(dir, { recursive: true });

  const pkg = {
    name: packageName(dir),
    version: '0.1.0',
    private: true,
    type: 'module',
    scripts: { start: 'rxa run ./pipeline.ts', test: 'tsc --noEmit && vitest run' },
    dependencies: { [manifest.name]: `^${manifest.version}`, rxjs: range('rxjs'), zod: range('zod') },
    devDependencies: { typescript: range('typescript'), vitest: range('vitest') },
  };
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  const files = ['package.json'];
  for (const file of readdirSync(TEMPLATE_DIR).sort()) {
    const name = RENAMED[file] ?? file;
    copyFileSync(join(TEMPLATE_DIR, file), join(dir, name));
    files.push(name);
  }
  return { dir, files };
}

/** What to do next, printed after the files. */
export function nextSteps(result: InitResult, cwd = process.cwd()): string {
  const rel = relative(cwd, result.dir);
  const path = rel.startsWith('..') ? result.dir : rel;
  const cd = rel === '' ? [] : [`  cd ${/^[\w./-]+$/.test(path) ? path : JSON.stringify(path)}`];
  return [
    `Created ${result.dir}: ${result.files.join(', ')}`,
    '',
    'Next:',
    ...cd,
    '  npm install',
    '  npm test     # type-check, and run pipeline.test.ts in memory (no servers)',
    '  npm start    # run pipeline.ts on NATS and ClickHouse (RXA_NATS_URL, RXA_CLICKHOUSE_URL, RXA_CLICKHOUSE_DB; see README.md)',
    '',
  ].join('\n');
}
