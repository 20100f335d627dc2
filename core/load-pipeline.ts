import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { assertPipelineDefinition, type PipelineDefinition } from './pipeline.ts';

/**
 * Import a pipeline file (default export, or an export named `pipeline`). The CLI runs under tsx,
 * so the file can be TypeScript and live anywhere, outside this repository too.
 */
export async function loadPipeline(file: string): Promise<PipelineDefinition> {
  const module = (await import(pathToFileURL(resolve(file)).href)) as { default?: unknown; pipeline?: unknown };
  const definition = module.default ?? module.pipeline;
  assertPipelineDefinition(definition);
  return definition;
}
