import { context, ProxyTracerProvider, propagation, trace } from '@opentelemetry/api';
import type { CutTracing, CutTracingTarget } from './cut-tracing.ts';

/**
 * Tracing with OpenTelemetry, switched by the standard `OTEL_*` variables (docs/contracts.md,
 * "Following an event with traces"). Off, nothing of the SDK is loaded: the API's tracer is a
 * no-op and the runner reads no message's `traceparent` (it checks once per run whether a tracer
 * provider is registered, see `cutTracing`).
 */

/** What the environment asks for; `exporters` empty: no tracing. */
export interface TracingRequest {
  /** `otlp`: OTLP over HTTP (protobuf) to `OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT`; `console`: spans printed to stdout. */
  readonly exporters: ReadonlyArray<'otlp' | 'console'>;
  /** Settings that were not taken (an exporter or protocol rxa does not ship), to log. */
  readonly warnings: readonly string[];
}

/**
 * The standard variables' answer, with one deviation: the specification's default exporter is OTLP
 * (to localhost:4318), rxa's is none. So traces are exported when `OTEL_TRACES_EXPORTER` names
 * `otlp` (or `console`), or, without it, when `OTEL_EXPORTER_OTLP_ENDPOINT` or
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set; never with `OTEL_SDK_DISABLED=true` or
 * `OTEL_TRACES_EXPORTER=none`.
 */
export function tracingRequest(env: NodeJS.ProcessEnv): TracingRequest {
  const off: TracingRequest = { exporters: [], warnings: [] };
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return off;
  const named = env.OTEL_TRACES_EXPORTER?.split(',')
    .map((e) => e.trim().toLowerCase())
    .filter((e) => e !== '');
  const warnings: string[] = [];
  let exporters: Array<'otlp' | 'console'>;
  if (named === undefined || named.length === 0) {
    const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
    exporters = endpoint ? ['otlp'] : [];
  } else {
    if (named.includes('none')) return off;
    exporters = named.filter((e): e is 'otlp' | 'console' => e === 'otlp' || e === 'console');
    for (const other of named.filter((e) => e !== 'otlp' && e !== 'console'))
      warnings.push(`OTEL_TRACES_EXPORTER: '${other}' is not supported (otlp, console, none)`);
  }
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL)?.trim();
  if (exporters.includes('otlp') && protocol && protocol !== 'http/protobuf') {
    warnings.push(`OTLP protocol '${protocol}' is not supported: traces are exported as http/protobuf`);
  }
  return { exporters, warnings };
}

export interface Tracing {
  /** Whether spans are exported (by this setup, or by a tracer provider the program registered before). */
  readonly enabled: boolean;
  /** Export what is buffered and stop (at the end of the command). */
  shutdown(): Promise<void>;
}

/**
 * Set up tracing as the `OTEL_*` variables say (see `tracingRequest`): a Node tracer provider
 * registered globally, with the W3C propagator, the sampler of `OTEL_TRACES_SAMPLER` (see
 * core/tracing-sdk.ts) and a batching OTLP exporter. A provider the program registered itself is
 * left in place. `rxa run` and `rxa gen` call it; a program embedding the runtime may.
 */
export async function startTracing(options: { env?: NodeJS.ProcessEnv; log?: (message: string) => void } = {}): Promise<Tracing> {
  const { env = process.env, log = () => {} } = options;
  const request = tracingRequest(env);
  for (const warning of request.warnings) log(`tracing: ${warning}`);
  if (request.exporters.length === 0 || (started === undefined && tracingActive())) return { enabled: tracingActive(), shutdown: async () => {} };
  // `rxa demo` runs the generator and the pipeline in one process: one provider, shut down by the last.
  started ??= (async () => {
    const { registerTracerProvider, exportersFor, samplerFromEnv } = await import('./tracing-sdk.ts');
    const provider = registerTracerProvider({ exporters: exportersFor(request.exporters), sampler: samplerFromEnv(env, log), env });
    log(`tracing: exporting spans (${request.exporters.join(', ')})`);
    return { provider, users: 0 };
  })();
  const shared = await started;
  shared.users++;
  let stopped = false;
  return {
    enabled: true,
    shutdown: async () => {
      if (stopped || --shared.users > 0) return;
      stopped = true;
      await shared.provider.shutdown().catch((error: unknown) => log(`tracing: could not export the last spans: ${String(error)}`));
      // Unregistered, so a later command in this process (a test) can start again.
      trace.disable();
      context.disable();
      propagation.disable();
      started = undefined;
    },
  };
}

/** The provider `startTracing` registered, and how many of its callers have not shut down yet. */
let started: Promise<{ provider: { shutdown(): Promise<void> }; users: number }> | undefined;

/** Whether a tracer provider is registered globally (by `startTracing` or by the program): until one is, the API's tracers are no-ops. */
export function tracingActive(): boolean {
  const provider = trace.getTracerProvider();
  return !(provider instanceof ProxyTracerProvider) || provider.getDelegateTracer('rxa') !== undefined;
}

/**
 * The runner's tracing of its cuts (core/cut-tracing.ts, loaded only now), or undefined when no
 * tracer provider is registered: then no message is looked at for tracing.
 */
export async function cutTracing(target: CutTracingTarget): Promise<CutTracing | undefined> {
  if (!tracingActive()) return undefined;
  const { CutTracing } = await import('./cut-tracing.ts');
  return new CutTracing(target);
}
