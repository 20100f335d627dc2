import type { ClickHouseClient } from '@clickhouse/client';
import { errorMessage } from '../common/error-message.ts';
import { PipelineEngine } from './engine.ts';
import type { BuildContext, PipelineDefinition } from './pipeline.ts';

/** Thrown by the stand-in client when `build` uses it while being checked: the check is skipped then. */
class ClientUnavailable extends Error {}

/**
 * Wire the pipeline's operators once, with no input and no connections, and take them down: what
 * only shows when `build` runs (two stateful operators with the same id, an output without a
 * table) fails here, naming the pipeline, before anything is connected or consumed. Run by
 * `loadPipeline` and before a run or replay connects (RunSetup.open).
 *
 * `build` gets a context whose ClickHouse client cannot be used: lookups use it per event, not
 * while wiring. A `build` that does use it while wiring is not checked here (the run checks it
 * when it starts, still before its first pull).
 */
export function assertPipelineBuilds(definition: PipelineDefinition): void {
  const context: BuildContext = { clickhouse: unavailableClient(), database: 'rxa_definition_check', pipeline: definition.name };
  let engine: PipelineEngine;
  try {
    engine = new PipelineEngine(definition, context);
  } catch (error) {
    if (error instanceof ClientUnavailable) return;
    const message = errorMessage(error);
    throw new Error(message.startsWith(`pipeline ${definition.name}`) ? message : `pipeline ${definition.name}: build() failed: ${message}`, {
      cause: error,
    });
  }
  engine.dispose();
}

function unavailableClient(): ClickHouseClient {
  return new Proxy({} as ClickHouseClient, {
    get: () => {
      throw new ClientUnavailable('the ClickHouse client is not available while the definition is checked');
    },
  });
}
