import type { Attributes, Context, Link, SpanKind } from '@opentelemetry/api';
import { type Sampler, SamplingDecision, type SamplingResult } from '@opentelemetry/sdk-trace-base';

/**
 * Samples a span that links to a sampled span, else asks `delegate`. A cut's span has no parent but
 * links to the producers' spans of the events in it (core/cut-tracing.ts): an event its producer
 * sampled is followed into the pipeline, as a parent-based sampler follows a parent. Loaded with
 * the SDK only (core/tracing-sdk.ts).
 */
export class ProducerLinkedSampler implements Sampler {
  constructor(private readonly delegate: Sampler) {}

  shouldSample(context: Context, traceId: string, spanName: string, spanKind: SpanKind, attributes: Attributes, links: Link[]): SamplingResult {
    for (const link of links) {
      // The W3C sampled flag is the lowest bit of the trace flags.
      if ((link.context.traceFlags & 1) === 1) return { decision: SamplingDecision.RECORD_AND_SAMPLED };
    }
    return this.delegate.shouldSample(context, traceId, spanName, spanKind, attributes, links);
  }

  toString(): string {
    return `ProducerLinkedSampler{${this.delegate.toString()}}`;
  }
}
