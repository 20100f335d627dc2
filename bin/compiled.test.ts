/**
 * The compiled project `rxa` runs (bin/compiled.js): one output per source, project imports
 * pointing at compiled twins, and user pipeline files bundled so they share the CLI's modules.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { compiledPath, compiledProject, importBundled } from './compiled.js';

const root = fileURLToPath(new URL('..', import.meta.url));
mkdirSync(join(root, 'test-output'), { recursive: true });
const userDir = mkdtempSync(join(root, 'test-output', 'compiled-'));

afterAll(() => rmSync(userDir, { recursive: true, force: true }));

describe('the compiled project', () => {
  it('mirrors the sources, imports project modules as their twins, and is reused while the sources are unchanged', async () => {
    const dir = await compiledProject();
    // Another process with the same sources finds this build instead of making its own.
    const script = `import(${JSON.stringify(new URL('./compiled.js', import.meta.url).href)}).then((m) => m.compiledProject()).then((d) => process.stdout.write(d))`;
    expect(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })).toBe(dir);
    const runner = await compiledPath('core/runner.ts');
    expect(runner).toBe(join(dir, 'core', 'runner.js'));
    const code = readFileSync(runner, 'utf8');
    // Imports of other project files stay imports (one module instance each), of .js twins.
    expect(code).toMatch(/from "\.\/checkpointer\.js"/);
    expect(code).not.toMatch(/\.ts"/);
    expect(existsSync(join(dir, 'live', 'public', 'index.html'))).toBe(true);
    expect(existsSync(join(dir, 'core', 'runner.test.js'))).toBe(false);
    await expect(compiledPath('README.md')).rejects.toThrow(/not a TypeScript file of this project/);
  });

  it("bundles a user's pipeline file with its own modules, sharing the project's compiled modules", async () => {
    const index = join(root, 'index.ts');
    writeFileSync(join(userDir, 'helper.ts'), `export const label: string = 'orders';\n`);
    writeFileSync(
      join(userDir, 'pipeline.ts'),
      [
        `import { definePipeline, count } from ${JSON.stringify(index)};`,
        `import { label } from './helper.ts';`,
        `import { map } from 'rxjs';`,
        `export default { definePipeline, count, label, map: typeof map };`,
      ].join('\n'),
    );
    const module = (await importBundled(join(userDir, 'pipeline.ts'))) as { default: Record<string, unknown> };
    const twin = (await import(pathToFileURL(await compiledPath(index)).href)) as Record<string, unknown>;
    expect(module.default.definePipeline).toBe(twin.definePipeline);
    expect(module.default.count).toBe(twin.count);
    expect(module.default.label).toBe('orders');
    expect(module.default.map).toBe('function');
    // The bundle written beside the file is gone once imported.
    expect(readdirSync(userDir).sort()).toEqual(['helper.ts', 'pipeline.ts']);
  });

  it("points a user's imports of rxstream-analytics and its subpaths at the project's compiled entry points", async () => {
    const file = join(userDir, 'by-name.ts');
    writeFileSync(
      file,
      [
        `import { definePipeline } from 'rxstream-analytics';`,
        `import { runPipeline } from 'rxstream-analytics/runtime';`,
        `import { testPipeline } from 'rxstream-analytics/testing';`,
        `export default { definePipeline, runPipeline, testPipeline };`,
      ].join('\n'),
    );
    const module = (await importBundled(file)) as { default: Record<string, unknown> };
    rmSync(file);
    const twin = async (source: string) => (await import(pathToFileURL(await compiledPath(source)).href)) as Record<string, unknown>;
    expect(module.default.definePipeline).toBe((await twin('index.ts')).definePipeline);
    expect(module.default.runPipeline).toBe((await twin('runtime.ts')).runPipeline);
    expect(module.default.testPipeline).toBe((await twin('testing/index.ts')).testPipeline);
  });

  it('imports a project pipeline file as its compiled twin', async () => {
    const file = join(root, 'pipelines', 'clickstream.ts');
    const module = await importBundled(file);
    expect(module).toBe(await import(pathToFileURL(await compiledPath(file)).href));
    expect(readdirSync(dirname(file)).filter((f) => f.endsWith('.mjs'))).toEqual([]);
  });
});
