/**
 * Runtime API (`rxstream-analytics/runtime`): running a pipeline inside your own program rather than
 * with `rxa run` — connections from the environment, one pipeline, some or all of its partitions or
 * a share of them balanced with other processes (`runBalanced`), loading a pipeline file, running
 * the operators outside the runner with a scope of your own, publishing a pipeline's events as
 * its contract says (`eventPublisher`), and tracing as the OTEL_* variables say (`startTracing`).
 * @module
 */

export type { Assignment, BalancedRunOptions } from './core/balancer.ts';
export { runBalanced } from './core/balancer.ts';
export type { RuntimeConfigInput } from './core/config.ts';
export { configFromEnv, RuntimeConfig } from './core/config.ts';
export type { EncodedEvent, EventPublisherOptions, PublishEventOptions } from './core/event-publisher.ts';
export { EventPublisher, eventPublisher } from './core/event-publisher.ts';
export type { ModuleImporter } from './core/load-pipeline.ts';
export { loadPipeline } from './core/load-pipeline.ts';
export type { RunTarget } from './core/partitions.ts';
export type { PartitionResult, RunPartitionsOptions } from './core/run-partitions.ts';
export { runPartitions } from './core/run-partitions.ts';
export type { PipelineStatus, RunOptions } from './core/runner.ts';
export { runPipeline } from './core/runner.ts';
export { CORRELATION_ID_HEADER } from './core/trace-context.ts';
export type { Tracing, TracingRequest } from './core/tracing.ts';
export { startTracing, tracingRequest } from './core/tracing.ts';
export type { OperatorHandle, OperatorScope, SideOutput } from './state/operator-scope.ts';
export { runInScope } from './state/operator-scope.ts';
