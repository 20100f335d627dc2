import { type Attributes, type Context, type Link, ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import { ATTR_DB_COLLECTION_NAME, ATTR_DB_NAMESPACE, ATTR_DB_OPERATION_NAME, ATTR_DB_SYSTEM_NAME } from '@opentelemetry/semantic-conventions';
import type { SideOutputTrace } from './engine.ts';
import { type HeaderReader, producerSpanContext, TRACE_PARENT_HEADER } from './trace-context.ts';

/**
 * The spans of a run, one set per cut (the messages processed together, then written together):
 *
 * - `rxa.process` (consumer): from the first message of the cut read off the pull to the cut taken,
 *   that is the pull and the operators; it links to the producers' spans of the cut's messages
 *   that their producers sampled, and of its dead letters and late events (which may wait for a
 *   later cut than their message's), at most `MAX_LINKS`. It is the root of the cut's trace, sampled
 *   by the sampler, or always when it links to a sampled producer (core/producer-linked-sampler.ts).
 * - `rxa.insert <table>` (client): each ClickHouse insert of the cut, children of `rxa.process`,
 *   with the same links (the producers of the cut, not of the table's rows alone); also for
 *   `rxa_dead_letters` and `rxa_late_events`. `rxa.dead-letters` (producer): their publish to the
 *   RXA_DLQ stream.
 * - `rxa.checkpoint` and `rxa.ack`, for a cut that carries a checkpoint: the fenced save, then the
 *   ack (AckAll) of everything up to the cut's last message.
 *
 * Loaded only when a tracer provider is registered (core/tracing.ts); the feed then hands it every
 * message's header reader, and nothing else while it is not loaded.
 */

/** Links per cut span at most: a cut of 5,000 events at 1 % sampling holds ~50. */
export const MAX_LINKS = 128;

/** Where the runner reads and writes, for the spans' attributes. */
export interface CutTracingTarget {
  readonly pipeline: string;
  readonly stream: string;
  /** The durable consumer. */
  readonly consumer: string;
  /** The source partition (0 unpartitioned). */
  readonly partition: number;
  /** The ClickHouse database. */
  readonly database: string;
}

// The messaging conventions are still incubating: their names are copied here, as OpenTelemetry
// advises, rather than imported from the incubating entry point.
const MESSAGING_SYSTEM = 'messaging.system';
const MESSAGING_DESTINATION_NAME = 'messaging.destination.name';
const MESSAGING_CONSUMER_GROUP_NAME = 'messaging.consumer.group.name';
const MESSAGING_OPERATION_TYPE = 'messaging.operation.type';
const MESSAGING_OPERATION_NAME = 'messaging.operation.name';
const MESSAGING_BATCH_MESSAGE_COUNT = 'messaging.batch.message_count';

export class CutTracing {
  private readonly tracer: Tracer = trace.getTracer('rxstream-analytics');
  private messages = 0;
  private openedAt = 0;
  private firstSeq = 0;
  private lastSeq = 0;
  private links: Link[] = [];
  /** Messages not looked at for links once the cut's span had `MAX_LINKS`. */
  private unread = 0;
  /** The last cut that read messages, if it was sampled. */
  private lastRead: CutTrace | undefined;

  constructor(private readonly target: CutTracingTarget) {}

  /** A message of the cut being gathered, by stream sequence and header reader (undefined: no headers). */
  observe(seq: number, header: HeaderReader): void {
    if (this.messages++ === 0) {
      this.openedAt = Date.now();
      this.firstSeq = seq;
    }
    this.lastSeq = seq;
    if (header === undefined) return;
    if (this.links.length >= MAX_LINKS) {
      this.unread++;
      return;
    }
    const value = header(TRACE_PARENT_HEADER);
    // Most producers' spans are not sampled (1 % sampled: 99 %): a version 00 `traceparent` (55
    // characters) ends with its flags, so those are passed over without OpenTelemetry's parse, a
    // regular expression of ~1 µs. Any other form is left to the parse.
    if (value === undefined || (value.length === 55 && (Number.parseInt(value.charAt(54), 16) & 1) === 0 && value.startsWith('00-'))) return;
    const producer = producerSpanContext(() => value);
    if (producer !== undefined && (producer.traceFlags & 1) === 1) this.links.push({ context: producer });
  }

  /**
   * The cut is taken, with its side outputs (and a snapshot, `checkpointed`): its `rxa.process`
   * span, ended now, and what traces the rest of its way; undefined when the span is not sampled.
   * A cut that read no message and writes no side output of a sampled producer has no span of its
   * own: with a snapshot, its checkpoint and ack go under the last cut that read messages (they
   * ack those), if that one was sampled; without, it is not traced.
   */
  take(sideOutputs: Iterable<SideOutputTrace>, checkpointed: boolean): CutTrace | undefined {
    // A side output's message may have come in an earlier cut: its producer is linked from the cut that writes it.
    for (const { producer } of sideOutputs) {
      if (this.links.length >= MAX_LINKS) break;
      if (producer !== undefined && (producer.traceFlags & 1) === 1 && !this.links.some((l) => l.context.spanId === producer.spanId)) {
        this.links.push({ context: producer });
      }
    }
    if (this.messages === 0) {
      if (this.links.length === 0) return checkpointed ? this.lastRead : undefined;
      this.openedAt = Date.now();
    }
    const { target } = this;
    const read = this.messages > 0;
    const attributes: Attributes = {
      [MESSAGING_SYSTEM]: 'nats',
      [MESSAGING_DESTINATION_NAME]: target.stream,
      [MESSAGING_CONSUMER_GROUP_NAME]: target.consumer,
      [MESSAGING_OPERATION_TYPE]: 'process',
      [MESSAGING_OPERATION_NAME]: 'process',
      [MESSAGING_BATCH_MESSAGE_COUNT]: this.messages,
      'rxa.pipeline': target.pipeline,
      'rxa.partition': target.partition,
      'rxa.links.unread': this.unread,
      // A cut of side outputs alone (their messages came before) reads no message.
      ...(read ? { 'rxa.seq.first': this.firstSeq, 'rxa.seq.last': this.lastSeq } : {}),
    };
    const links = this.links;
    const span = this.tracer.startSpan('rxa.process', { kind: SpanKind.CONSUMER, startTime: this.openedAt, links, attributes }, ROOT_CONTEXT);
    this.messages = 0;
    this.links = [];
    this.unread = 0;
    const recording = span.isRecording();
    span.end();
    const traced = recording ? new CutTrace(this.tracer, trace.setSpan(ROOT_CONTEXT, span), links, target) : undefined;
    if (read) this.lastRead = traced;
    return traced;
  }
}

/** The spans after a sampled cut's `rxa.process`: its inserts, dead letters, checkpoint and ack. */
export class CutTrace {
  constructor(
    private readonly tracer: Tracer,
    private readonly parent: Context,
    private readonly links: readonly Link[],
    private readonly target: CutTracingTarget,
  ) {}

  /** `rxa.insert <table>` around `write`, an insert of `rows` rows (`bytes` of TabSeparated, when known before encoding). */
  insert<T>(table: string, rows: number, bytes: number | undefined, write: () => Promise<T>): Promise<T> {
    return this.around(
      `rxa.insert ${table}`,
      SpanKind.CLIENT,
      {
        [ATTR_DB_SYSTEM_NAME]: 'clickhouse',
        [ATTR_DB_NAMESPACE]: this.target.database,
        [ATTR_DB_COLLECTION_NAME]: table,
        [ATTR_DB_OPERATION_NAME]: 'INSERT',
        'rxa.rows': rows,
        ...(bytes !== undefined ? { 'rxa.bytes': bytes } : {}),
      },
      write,
    );
  }

  /** `rxa.dead-letters` around the publish of `count` dead letters to the DLQ stream. */
  publishDeadLetters<T>(count: number, publish: () => Promise<T>): Promise<T> {
    return this.around(
      'rxa.dead-letters',
      SpanKind.PRODUCER,
      { [MESSAGING_SYSTEM]: 'nats', [MESSAGING_OPERATION_TYPE]: 'send', [MESSAGING_OPERATION_NAME]: 'publish', [MESSAGING_BATCH_MESSAGE_COUNT]: count },
      publish,
    );
  }

  /** `rxa.checkpoint` around the save of the state up to stream sequence `seq`; `save` gets the spans under it (the ack's). */
  async checkpoint<T>(seq: number, save: (under: CutTrace) => Promise<T>): Promise<T> {
    const span = this.start('rxa.checkpoint', SpanKind.INTERNAL, { 'rxa.pipeline': this.target.pipeline, 'rxa.seq.last': seq });
    try {
      return await save(new CutTrace(this.tracer, trace.setSpan(this.parent, span), this.links, this.target));
    } catch (error) {
      failed(span, error);
      throw error;
    } finally {
      span.end();
    }
  }

  /** `rxa.ack` around the ack (AckAll) of everything up to stream sequence `seq`. */
  ack(seq: number, ack: () => void): void {
    const span = this.start('rxa.ack', SpanKind.CONSUMER, {
      [MESSAGING_SYSTEM]: 'nats',
      [MESSAGING_DESTINATION_NAME]: this.target.stream,
      [MESSAGING_CONSUMER_GROUP_NAME]: this.target.consumer,
      [MESSAGING_OPERATION_TYPE]: 'settle',
      [MESSAGING_OPERATION_NAME]: 'ack',
      'rxa.seq.last': seq,
    });
    try {
      ack();
    } catch (error) {
      failed(span, error);
      throw error;
    } finally {
      span.end();
    }
  }

  private start(name: string, kind: SpanKind, attributes: Attributes): Span {
    return this.tracer.startSpan(name, { kind, attributes, links: [...this.links] }, this.parent);
  }

  private async around<T>(name: string, kind: SpanKind, attributes: Attributes, work: () => Promise<T>): Promise<T> {
    const span = this.start(name, kind, attributes);
    try {
      return await work();
    } catch (error) {
      failed(span, error);
      throw error;
    } finally {
      span.end();
    }
  }
}

function failed(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}
