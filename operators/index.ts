/**
 * Pure RxJS operators for event-time analytics: validation, deduplication, enrichment, aggregators
 * and tumbling / hopping / session windows. Stateful operators register with the pipeline scope
 * (`runInScope`) for checkpoints, side outputs (dead letters, late events) and metrics.
 * @module
 */
export { validate } from './validate.ts';
export { dedupe } from './dedupe.ts';
export { enrich } from './enrich.ts';
export { combine, count, distinct, max, min, sum, topK } from './aggregators.ts';
export { tumbling } from './tumbling.ts';
export { hopping } from './hopping.ts';
export { session } from './session.ts';
export { currentScope, resolveSideOutput, runInScope } from './scope.ts';

export type { SkewOptions, ValidateInput, ValidateOptions } from './validate.ts';
export type { DedupeOptions, DedupeSnapshot } from './dedupe.ts';
export type { EnrichCacheOptions, EnrichOptions } from './enrich.ts';
export type { AggregateResult, AggregateState, Aggregator, CombinedState, TopKEntry } from './aggregators.ts';
export type { EarlyFiring, WindowOptions, WindowResult, WindowSnapshot, WindowStateSnapshot } from './window-core.ts';
export type { TumblingOptions } from './tumbling.ts';
export type { HoppingOptions } from './hopping.ts';
export type { SessionOptions } from './session.ts';
export type { OperatorHandle, OperatorScope, Origin, SideOutput } from './scope.ts';
