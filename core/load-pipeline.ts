import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { importBundled } from '../bin/compiled.js';
import { assertPipelineDefinition, type PipelineDefinition } from './pipeline.ts';

/** True when this module runs as compiled JavaScript (`rxa`), false under tsx or vitest. */
const compiled = import.meta.url.endsWith('.js');

/**
 * Import a pipeline file (default export, or an export named `pipeline`). The file can be
 * TypeScript and live anywhere, outside this repository too: the compiled CLI compiles it (see
 * bin/compiled.js); under tsx or vitest it is imported as it is.
 */
export async function loadPipeline(file: string): Promise<PipelineDefinition> {
  const module = (compiled ? await importBundled(file) : await import(pathToFileURL(resolve(file)).href)) as { default?: unknown; pipeline?: unknown };
  const definition = module.default ?? module.pipeline;
  assertPipelineDefinition(definition);
  return definition;
}
