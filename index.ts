/**
 * Public API. Everything a pipeline file needs; implementations stay internal.
 * @module
 */

export type { Aggregator, StateColumns, StateColumnWriter } from './aggregators/aggregator.ts';
export { combine } from './aggregators/combine.ts';
export { count } from './aggregators/count.ts';
export { distinct } from './aggregators/distinct.ts';
export { max } from './aggregators/max.ts';
export { min } from './aggregators/min.ts';
export { sum } from './aggregators/sum.ts';
export { topK } from './aggregators/top-k.ts';
export { configFromEnv, RuntimeConfig } from './core/config.ts';
export { loadPipeline } from './core/load-pipeline.ts';
export type { RunTarget } from './core/partitions.ts';
export type { BuildContext, PipelineDefinition, PipelineOutputs, SourcePartitions, SourceSpec, ValidationSpec } from './core/pipeline.ts';
export { definePipeline, PipelineSettings } from './core/pipeline.ts';
export type { PartitionResult, RunPartitionsOptions } from './core/run-partitions.ts';
export { runPartitions } from './core/run-partitions.ts';
export type { PipelineStatus, RunOptions } from './core/runner.ts';
export { runPipeline } from './core/runner.ts';
export { dedupe } from './operators/dedupe.ts';
export { enrich } from './operators/enrich.ts';
export { hopping } from './operators/hopping.ts';
export { session } from './operators/session.ts';
export { tumbling } from './operators/tumbling.ts';
export { validate } from './operators/validate.ts';
export type { ColumnType, Table, TableRow } from './sinks/clickhouse/table.ts';
export { defineTable } from './sinks/clickhouse/table.ts';
export type { EventTime, OperatorHandle, OperatorScope, SideOutput } from './state/operator-scope.ts';
export { runInScope } from './state/operator-scope.ts';
export type { KeyPart, WindowKey } from './windows/window-key.ts';
export { windowRow } from './windows/window-row.ts';
export type { WindowResult } from './windows/window-types.ts';
