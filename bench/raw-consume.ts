import { AckPolicy, DeliverPolicy, type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { PipelineSettings } from '../core/pipeline.ts';

export interface RawConsumeResult {
  readonly messages: number;
  readonly seconds: number;
  readonly perSecond: number;
}

/**
 * The ceiling for a Node consumer: the same stream through the same kind of durable pull consumer
 * as the pipeline's (AckPolicy.All, state in memory, same pullBatch, max_ack_pending and ack_wait), `consume()`d
 * with no processing at all, acking the last message of every pull batch (which acks everything
 * before it). Timed from the consume request to the server's confirmation of the final ack.
 */
export async function rawConsumeAck(
  js: JetStreamClient,
  jsm: JetStreamManager,
  stream: string,
  expected: number,
  settings: PipelineSettings,
): Promise<RawConsumeResult> {
  const durable = 'bench_raw_consume';
  await jsm.consumers.add(stream, {
    durable_name: durable,
    ack_policy: AckPolicy.All,
    deliver_policy: DeliverPolicy.All,
    max_ack_pending: settings.maxAckPending,
    ack_wait: nanos(settings.ackWaitMs),
    mem_storage: true,
  });
  const consumer = await js.consumers.get(stream, durable);
  const started = performance.now();
  const messages = await consumer.consume({ max_messages: settings.pullBatch });
  let count = 0;
  let last: JsMsg | undefined;
  for await (const msg of messages) {
    count++;
    last = msg;
    if (count === expected) break;
    if (count % settings.pullBatch === 0) msg.ack();
  }
  // The final ack waits for the server's confirmation: every message is acked when it resolves.
  if (last === undefined || !(await last.ackAck())) throw new Error('raw consume: the final ack was not confirmed');
  const seconds = (performance.now() - started) / 1000;
  await messages.close();
  const info = await jsm.consumers.info(stream, durable);
  if (info.ack_floor.stream_seq !== last.seq) throw new Error(`raw consume: ack floor ${info.ack_floor.stream_seq}, expected ${last.seq}`);
  await jsm.consumers.delete(stream, durable);
  return { messages: count, seconds, perSecond: count / seconds };
}
