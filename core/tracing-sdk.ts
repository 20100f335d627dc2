import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  ParentBasedSampler,
  type Sampler,
  type SpanExporter,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { ProducerLinkedSampler } from './producer-linked-sampler.ts';

/**
 * The OpenTelemetry SDK as rxa sets it up, imported by core/tracing.ts only once the environment
 * asks for traces (and by the benchmark): so a run without tracing loads none of it.
 */

/** The service name when `OTEL_SERVICE_NAME` (or `service.name` in `OTEL_RESOURCE_ATTRIBUTES`) does not give one. */
export const DEFAULT_SERVICE_NAME = 'rxa';

export interface TracerProviderSettings {
  readonly exporters: readonly SpanExporter[];
  readonly sampler: Sampler;
  /** The environment's resource attributes are read from process.env by OpenTelemetry's detector. */
  readonly env?: NodeJS.ProcessEnv;
  /** Spans buffered for export at most (the BatchSpanProcessor's queue; more are dropped). @default 2_048 */
  readonly maxQueueSize?: number;
}

/**
 * A Node tracer provider (AsyncLocalStorage context, W3C trace context and baggage propagators),
 * registered globally, each exporter behind a BatchSpanProcessor: spans leave in the background, in
 * batches, and a full queue drops spans rather than growing.
 */
export function registerTracerProvider(settings: TracerProviderSettings): NodeTracerProvider {
  const resource = defaultResource()
    .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: DEFAULT_SERVICE_NAME }))
    .merge(detectResources({ detectors: [envDetector] }));
  const provider = new NodeTracerProvider({
    resource,
    sampler: settings.sampler,
    spanProcessors: settings.exporters.map((exporter) => new BatchSpanProcessor(exporter, { maxQueueSize: settings.maxQueueSize ?? 2_048 })),
  });
  provider.register();
  return provider;
}

/** The exporters named: OTLP/HTTP protobuf (endpoint, headers and timeout from the `OTEL_EXPORTER_OTLP_*` variables), or the console. */
export function exportersFor(kinds: ReadonlyArray<'otlp' | 'console'>): SpanExporter[] {
  return kinds.map((kind) => (kind === 'otlp' ? new OTLPTraceExporter() : new ConsoleSpanExporter()));
}

/**
 * The sampler `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG` name, as the specification
 * defines them (default `parentbased_always_on`, ratio 1 when the argument is missing or out of
 * [0, 1]), behind a `ProducerLinkedSampler`: a cut holding an event its producer sampled is
 * sampled too.
 */
export function samplerFromEnv(env: NodeJS.ProcessEnv, log: (message: string) => void = () => {}): Sampler {
  const name = env.OTEL_TRACES_SAMPLER?.trim().toLowerCase() || 'parentbased_always_on';
  const ratio = (): number => {
    const arg = env.OTEL_TRACES_SAMPLER_ARG?.trim();
    const value = arg ? Number(arg) : Number.NaN;
    if (value >= 0 && value <= 1) return value;
    log(`tracing: OTEL_TRACES_SAMPLER_ARG '${arg ?? ''}' is not a ratio in [0, 1]: sampling every trace`);
    return 1;
  };
  let sampler: Sampler;
  switch (name) {
    case 'always_on':
      sampler = new AlwaysOnSampler();
      break;
    case 'always_off':
      sampler = new AlwaysOffSampler();
      break;
    case 'traceidratio':
      sampler = new TraceIdRatioBasedSampler(ratio());
      break;
    case 'parentbased_always_off':
      sampler = new ParentBasedSampler({ root: new AlwaysOffSampler() });
      break;
    case 'parentbased_traceidratio':
      sampler = new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio()) });
      break;
    default:
      if (name !== 'parentbased_always_on') log(`tracing: OTEL_TRACES_SAMPLER '${name}' is not supported: using parentbased_always_on`);
      sampler = new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
  return new ProducerLinkedSampler(sampler);
}
