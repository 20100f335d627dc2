import { AckPolicy, DeliverPolicy, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { OpenedConsumer } from './durable-consumer.ts';

/**
 * Replay's consumer: ephemeral, without acks (AckPolicy.None: nothing is redelivered, a replay
 * acks nothing) and in memory. Each `open` replaces it with one that starts at the sequence asked
 * for (the reader reopens after a lost delivery, an interrupted pull or a consumer gone); the last
 * is deleted at the end, or by the server once unused for `INACTIVE_MS` (a replay that crashed).
 */
export class ReplayConsumer {
  private static readonly INACTIVE_MS = 300_000;
  private name: string | undefined;

  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly stream: string,
    private readonly filterSubject: string | undefined,
  ) {}

  async open(resumeSeq: number): Promise<OpenedConsumer> {
    await this.delete();
    const info = await this.jsm.consumers.add(this.stream, {
      ack_policy: AckPolicy.None,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: resumeSeq,
      ...(this.filterSubject ? { filter_subject: this.filterSubject } : {}),
      mem_storage: true,
      inactive_threshold: nanos(ReplayConsumer.INACTIVE_MS),
    });
    this.name = info.name;
    return { consumer: await this.js.consumers.get(this.stream, info.name), deliveredConsumerSeq: 0 };
  }

  async delete(): Promise<void> {
    const { name } = this;
    if (name === undefined) return;
    this.name = undefined;
    await this.jsm.consumers.delete(this.stream, name).catch(() => {});
  }
}
