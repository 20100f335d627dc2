import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { RuntimeConfig } from '../core/config.ts';
import { connectNats } from '../core/connections.ts';
import { eventPublisher } from '../core/event-publisher.ts';
import { startTracing } from '../core/tracing.ts';
import { generateClickstream } from '../generator/clickstream.ts';
import { withProducerSpans } from '../generator/producer-spans.ts';
import { partitionSubject, publishMessages } from '../generator/publish.ts';
import clickstream from '../pipelines/clickstream.ts';
import { ensureStream } from '../sources/streams.ts';

export interface GeneratorRun {
  rate: number;
  count?: number;
  seed: number;
  users: number;
  partitions: number;
  duplicates: number;
  outOfOrder: number;
  late: number;
  malformed: number;
}

/** Events per second of synthetic event time when publishing as fast as possible. */
const BULK_EVENT_RATE = 1_000;

/**
 * Publish generated clickstream events to `clickstream.events.<partition>`, partitioned by user.
 * Paced runs use the wall clock as event time; bulk runs (`rate` 0) end at "now", so their events
 * look like recent history rather than the future.
 */
export async function runGenerator(
  config: RuntimeConfig,
  run: GeneratorRun,
  signal: AbortSignal,
  onProgress?: (published: number) => void,
): Promise<{ published: number; duplicatesDropped: number }> {
  const nc = await connectNats(config, 'rxa:gen');
  // With the OTEL_* variables set, events go out in producer spans the pipeline's spans link to.
  const tracing = await startTracing();
  try {
    await ensureStream(await jetstreamManager(nc), {
      name: clickstream.source.stream,
      subjects: clickstream.source.subjects,
      replicas: config.nats.streamReplicas,
    });
    const paced = run.rate > 0;
    const eventsPerSecond = paced ? run.rate : BULK_EVENT_RATE;
    const startTime = paced ? Date.now() : Date.now() - ((run.count ?? 0) * 1000) / eventsPerSecond;
    const messages = generateClickstream({
      seed: run.seed,
      startTime,
      eventsPerSecond,
      users: run.users,
      duplicateRate: run.duplicates,
      outOfOrderRate: run.outOfOrder,
      lateRate: run.late,
      malformedRate: run.malformed,
    });
    const js = jetstream(nc);
    // Events checked against the clickstream's schema and stamped with its version (malformed ones go out as they are).
    const checked = eventPublisher(js, clickstream);
    const publisher = tracing.enabled ? withProducerSpans(checked, clickstream.source.stream) : checked;
    const published = await publishMessages(
      js,
      (m, i) => ('event' in m ? partitionSubject('clickstream.events', m.event.user_id, run.partitions) : `clickstream.events.${i % run.partitions}`),
      messages,
      {
        ...(run.count !== undefined ? { count: run.count } : {}),
        ...(paced ? { ratePerSecond: run.rate } : {}),
        signal,
        ...(onProgress ? { onProgress } : {}),
        publisher,
      },
    );
    if ('end' in publisher) publisher.end();
    return published;
  } finally {
    await nc.drain();
    await tracing.shutdown();
  }
}
