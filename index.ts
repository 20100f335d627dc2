/**
 * Authoring API (`rxstream-analytics`): everything a pipeline file imports — definePipeline,
 * defineTable, defineDashboard and sql (the pipeline's own dashboards), the operators, the
 * aggregators, and their option and row types. Running and
 * embedding a pipeline is `rxstream-analytics/runtime`; testing one is `rxstream-analytics/testing`.
 * @module
 */

export type { Aggregator } from './aggregators/aggregator.ts';
export type { AggregateResult, AggregateState, CombinedState } from './aggregators/combine.ts';
export { combine } from './aggregators/combine.ts';
export { count } from './aggregators/count.ts';
export { distinct } from './aggregators/distinct.ts';
export { max } from './aggregators/max.ts';
export { min } from './aggregators/min.ts';
export { sum } from './aggregators/sum.ts';
export type { TopKEntry } from './aggregators/top-k.ts';
export { topK } from './aggregators/top-k.ts';
export type {
  BuildContext,
  EventContract,
  PipelineDashboard,
  PipelineDefinition,
  PipelineOutputs,
  PipelineSettingsInput,
  SourcePartitions,
  SourceSpec,
  TableMap,
  ValidationSpec,
} from './core/pipeline.ts';
export { CompatibilityMode, definePipeline, PipelineSettings } from './core/pipeline.ts';
export type { ColumnDisplay, Dashboard, DashboardInput, PanelInput, TimeRangeName, Unit } from './dashboards/definition.ts';
export { defineDashboard } from './dashboards/definition.ts';
export type { SqlTableRef } from './dashboards/sql.ts';
export { sql } from './dashboards/sql.ts';
export type { DedupeOptions } from './operators/dedupe.ts';
export { dedupe } from './operators/dedupe.ts';
export type { EnrichCacheOptions, EnrichOptions } from './operators/enrich.ts';
export { enrich } from './operators/enrich.ts';
export type { EventVersions, PreviousVersion } from './operators/event-versions.ts';
export { CE_DATASCHEMA_HEADER, CE_ID_HEADER, upcast, VERSION_HEADER } from './operators/event-versions.ts';
export type { HoppingOptions } from './operators/hopping.ts';
export { hopping } from './operators/hopping.ts';
export type { SessionOptions } from './operators/session.ts';
export { session } from './operators/session.ts';
export type { TumblingOptions } from './operators/tumbling.ts';
export { tumbling } from './operators/tumbling.ts';
export type { SkewOptions, UnknownFields, ValidateInput, ValidateOptions } from './operators/validate.ts';
export { validate } from './operators/validate.ts';
// Lookup and reference tables a pipeline's build() creates and queries (see pipelines/clickstream-pages.ts).
export type { TablePlacement } from './sinks/clickhouse/schema.ts';
export { ensureTables } from './sinks/clickhouse/schema.ts';
export { quoteIdent, quoteTable, sqlString } from './sinks/clickhouse/sql.ts';
export type { AnyTable, Columns, ColumnType, ColumnTypes, RowOf, Table, TableOptions, TableRow } from './sinks/clickhouse/table.ts';
export { defineTable } from './sinks/clickhouse/table.ts';
export type { EventTime } from './state/operator-scope.ts';
export type { KeyPart, WindowKey } from './windows/window-key.ts';
export { windowRow } from './windows/window-row.ts';
export type { WindowKind, WindowResult } from './windows/window-types.ts';
