/**
 * The `rxa` launcher (bin/rxa.js run as an executable, as `npx rxa` runs it): sh starts Node with
 * glibc's mmap threshold set, unless the caller set it.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { LAUNCHER_MMAP_THRESHOLD } from '../bench/child.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
mkdirSync(join(root, 'test-output'), { recursive: true });
const dir = mkdtempSync(join(root, 'test-output', 'launcher-'));
// Preloaded into the Node process the launcher starts: reports what that process was given.
const probe = join(dir, 'probe.mjs');
// biome-ignore lint/suspicious/noTemplateCurlyInString: the probe's source is a template literal
writeFileSync(probe, 'process.stderr.write(`probe ${process.env.MALLOC_MMAP_THRESHOLD_} ${process.argv.slice(2).join(" ")}\\n`);\n');

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What the launched Node process was given (its MALLOC_MMAP_THRESHOLD_ and arguments), and the CLI's output. */
function launch(env: Record<string, string>, args: string[]): { probe: string; stdout: string } {
  const { MALLOC_MMAP_THRESHOLD_: _, ...rest } = process.env;
  const run = spawnSync(join(root, 'bin', 'rxa.js'), args, { cwd: root, env: { ...rest, ...env, NODE_OPTIONS: `--import=${probe}` }, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`rxa ${args.join(' ')} exited with ${run.status}: ${run.stderr}`);
  return { probe: run.stderr.split('\n').find((l) => l.startsWith('probe ')) ?? '', stdout: run.stdout };
}

describe('bin/rxa.js as an executable', () => {
  it('starts Node with the mmap threshold the benchmark uses, passing the arguments through', () => {
    const { probe: seen, stdout } = launch({}, ['run', '--help']);
    expect(seen).toBe(`probe ${LAUNCHER_MMAP_THRESHOLD} run --help`);
    expect(stdout).toMatch(/^Usage: rxa run/);
  });

  it("keeps the caller's own setting", () => {
    expect(launch({ MALLOC_MMAP_THRESHOLD_: '1048576' }, ['--help']).probe).toBe('probe 1048576 --help');
  });

  it("prints package.json's version with --version", () => {
    const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    expect(launch({}, ['--version']).stdout).toBe(`${version}\n`);
  });
});
