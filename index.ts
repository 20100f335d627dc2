/**
 * Public API. Everything a pipeline file needs; implementations stay internal.
 * @module
 */
export { definePipeline, PipelineSettings } from './core/pipeline.ts';
export { defineTable } from './sinks/clickhouse/table.ts';
export { RuntimeConfig, configFromEnv } from './core/config.ts';
export { runPipeline } from './core/runner.ts';
export { runPartitions } from './core/run-partitions.ts';
export { loadPipeline } from './core/load-pipeline.ts';
export { validate } from './operators/validate.ts';
export { dedupe } from './operators/dedupe.ts';
export { enrich } from './operators/enrich.ts';
export { tumbling } from './operators/tumbling.ts';
export { hopping } from './operators/hopping.ts';
export { session } from './operators/session.ts';
export { count } from './aggregators/count.ts';
export { sum } from './aggregators/sum.ts';
export { min } from './aggregators/min.ts';
export { max } from './aggregators/max.ts';
export { distinct } from './aggregators/distinct.ts';
export { topK } from './aggregators/top-k.ts';
export { combine } from './aggregators/combine.ts';
export { runInScope } from './state/operator-scope.ts';

export type { BuildContext, PipelineDefinition, PipelineOutputs, SourcePartitions, SourceSpec, ValidationSpec } from './core/pipeline.ts';
export type { PartitionResult, RunPartitionsOptions } from './core/run-partitions.ts';
export type { RunTarget } from './core/partitions.ts';
export type { Table, TableRow, ColumnType } from './sinks/clickhouse/table.ts';
export type { PipelineStatus, RunOptions } from './core/runner.ts';
export type { Aggregator, StateColumns, StateColumnWriter } from './aggregators/aggregator.ts';
export type { WindowResult } from './windows/window-types.ts';
export type { SideOutput, OperatorScope, OperatorHandle } from './state/operator-scope.ts';
