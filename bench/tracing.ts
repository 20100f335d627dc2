import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { registerTracerProvider, samplerFromEnv } from '../core/tracing-sdk.ts';

/**
 * `--trace-sample <ratio>`: the benchmark with tracing on, as a traced deployment runs it, minus the
 * network. Every event carries a `traceparent` (bench/producer-headers.ts), `ratio` of them
 * sampled; the pipeline process samples its cuts at the same ratio (`parentbased_traceidratio`,
 * behind the producer-linked sampler, as `rxa run` would with OTEL_TRACES_SAMPLER_ARG), and its
 * spans go through the BatchSpanProcessor to an exporter that counts and drops them. Imported
 * only by a traced run (it loads the SDK).
 */

/** Counts what it is handed, sends nothing. */
class CountingExporter implements SpanExporter {
  spans = 0;

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.spans += spans.length;
    done({ code: ExportResultCode.SUCCESS });
  }

  async shutdown(): Promise<void> {}
}

/** Register the tracer provider of a traced pipeline process; `finish` exports what is left and says how many spans were made. */
export function startBenchTracing(ratio: number): { finish(): Promise<number> } {
  const exporter = new CountingExporter();
  const provider = registerTracerProvider({
    exporters: [exporter],
    sampler: samplerFromEnv({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: String(ratio) }),
  });
  return {
    finish: async () => {
      await provider.shutdown();
      return exporter.spans;
    },
  };
}
