import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { assertPipelineDefinition, type PipelineDefinition } from './pipeline.ts';

/** Imports a module file (a path, absolute or relative to the working directory) and gives its namespace. */
export type ModuleImporter = (file: string) => Promise<unknown>;

/** The file as it is, by a dynamic `import()` of its URL: under tsx or vitest, where TypeScript imports work. */
export const importFile: ModuleImporter = (file) => import(pathToFileURL(resolve(file)).href);

/**
 * Import a pipeline file (default export, or an export named `pipeline`) with `importModule`. The
 * file can be TypeScript and live anywhere, outside this repository too: the compiled CLI passes an
 * importer that compiles it (`importBundled`, see bin/compiled.js); by default it is imported as it
 * is (tsx, vitest).
 */
export async function loadPipeline(file: string, importModule: ModuleImporter = importFile): Promise<PipelineDefinition> {
  const module = (await importModule(file)) as { default?: unknown; pipeline?: unknown };
  const definition = module.default ?? module.pipeline;
  assertPipelineDefinition(definition);
  return definition;
}
