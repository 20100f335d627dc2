/** The sampler the OTEL_TRACES_SAMPLER variables name, behind the producer-linked one. */
import { type Link, ROOT_CONTEXT, SpanKind, TraceFlags } from '@opentelemetry/api';
import { SamplingDecision } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { samplerFromEnv } from './tracing-sdk.ts';

const traceId = 'ffffffff000000000000000000000000'; // the ratio samplers' highest: a ratio below 1 never samples it
const link = (flags: number): Link => ({ context: { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: flags } });
const decide = (env: NodeJS.ProcessEnv, links: Link[] = []): SamplingDecision =>
  samplerFromEnv(env).shouldSample(ROOT_CONTEXT, traceId, 'rxa.process', SpanKind.CONSUMER, {}, links).decision;

describe('samplerFromEnv', () => {
  it('follows the variables, default parentbased_always_on', () => {
    expect(decide({})).toBe(SamplingDecision.RECORD_AND_SAMPLED);
    expect(decide({ OTEL_TRACES_SAMPLER: 'always_off' })).toBe(SamplingDecision.NOT_RECORD);
    expect(decide({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.01' })).toBe(SamplingDecision.NOT_RECORD);
    expect(decide({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '1' })).toBe(SamplingDecision.RECORD_AND_SAMPLED);
  });

  it('samples a span linked to a span its producer sampled, whatever the ratio', () => {
    const env = { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.01' };
    expect(decide(env, [link(TraceFlags.NONE), link(TraceFlags.SAMPLED)])).toBe(SamplingDecision.RECORD_AND_SAMPLED);
    expect(decide(env, [link(TraceFlags.NONE)])).toBe(SamplingDecision.NOT_RECORD);
  });

  it('says so and samples everything when the ratio is not one', () => {
    const logs: string[] = [];
    const sampler = samplerFromEnv({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '2' }, (m) => logs.push(m));
    expect(sampler.shouldSample(ROOT_CONTEXT, traceId, 'x', SpanKind.INTERNAL, {}, []).decision).toBe(SamplingDecision.RECORD_AND_SAMPLED);
    expect(logs).toEqual(["tracing: OTEL_TRACES_SAMPLER_ARG '2' is not a ratio in [0, 1]: sampling every trace"]);
  });
});
