import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { errorMessage } from '../common/error-message.ts';
import { assertPipelineBuilds } from './definition-check.ts';
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
  let module: { default?: unknown; pipeline?: unknown };
  try {
    module = (await importModule(file)) as typeof module;
  } catch (error) {
    // E.g. a defineTable with a name that is not an identifier, thrown while the file is evaluated.
    throw new Error(`${file}: ${errorMessage(error)}`, { cause: error });
  }
  const definition = module.default ?? module.pipeline;
  if (definition === undefined) {
    const names = Object.keys(module).filter((name) => name !== 'default' && name !== 'pipeline');
    const has = names.length > 0 ? `its exports are ${names.join(', ')}` : 'it exports nothing';
    throw new Error(`${file}: no pipeline: export one as the default export (export default definePipeline({...})) or as 'pipeline'; ${has}`);
  }
  try {
    assertPipelineDefinition(definition);
    assertPipelineBuilds(definition);
  } catch (error) {
    throw new Error(`${file}: ${errorMessage(error)}`, { cause: error });
  }
  return definition;
}
