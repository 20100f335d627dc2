import type { ClickHouseClient } from '@clickhouse/client';
import type { Observable } from 'rxjs';
import { z } from 'zod';
import type { PreviousVersion } from '../operators/event-versions.ts';
import type { UnknownFields } from '../operators/validate.ts';
import { sqlIdentifier } from '../sinks/clickhouse/sql.ts';
import type { AnyTable, TableRow } from '../sinks/clickhouse/table.ts';
import { natsName, natsSubject } from '../sources/nats-names.ts';
import type { EventTime } from '../state/operator-scope.ts';

/** Where a pipeline reads from. */
export type SourceSpec = SourceCommon &
  (
    | {
        /** Only consume these subjects of the stream. @default all of them */
        filterSubject?: string;
        partitions?: undefined;
      }
    | {
        /** Split the source by key: one runner (consumer, checkpoint, operator state) per partition. */
        partitions: SourcePartitions;
        filterSubject?: undefined;
      }
  );

interface SourceCommon {
  /** JetStream stream; created (limits retention, file storage) if it does not exist. */
  stream: string;
  /** Subjects the stream captures. */
  subjects: string[];
  /** Durable consumer name; partition p's is `<consumer>_p<p>`. @default the pipeline name */
  consumer?: string;
}

/**
 * A key-partitioned source: publishers put every event of a key (a user, an order...) on the
 * subject of that key's partition, so each partition can be processed alone with exact windows.
 * Partition p runs on its own durable consumer filtered to `subject(p)`, with its own checkpoint;
 * `rxa run --partitions` chooses which partitions a process runs (docs/partitions.md).
 */
export interface SourcePartitions {
  /** How many partitions publishers split the keys into (the same count as theirs). */
  count: number;
  /** The subject (or subject filter) of partition `p`, 0 <= p < count; distinct per partition. */
  subject: (partition: number) => string;
}

/**
 * Runtime tuning; every field has a default chosen for one process on a small machine. The
 * descriptions are the settings table of docs/configuration.md (`npx tsx scripts/docs-config.ts --write`).
 */
export const PipelineSettings = z
  .object({
    pullBatch: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .default(2_000)
      .describe('Most messages one pull asks for (about twice this many wait in memory to be read).'),
    // A standing pull has the server deliver every message as it is stored: a server write and a
    // wakeup on both sides per message (sources/batched-pull.ts, docs/adr/0007-batched-pulls.md).
    pullLingerMs: z
      .number()
      .int()
      .min(0)
      .max(10_000)
      .default(100)
      .describe(
        'With nothing waiting, let messages accumulate this long before the next pull, so the server delivers them in one go instead of one at a time as they are stored: up to this much latency for a fraction of the CPU per message. 0: a standing pull (`consume()`), each message delivered as it is stored.',
      ),
    flushIntervalMs: z
      .number()
      .int()
      .min(50)
      .default(250)
      .describe(
        'Write buffered rows to ClickHouse at least this often: the main part of publish-to-visible latency. Each table gets at most one insert per interval.',
      ),
    // Larger inserts cost ClickHouse less per row (35-40% less of its CPU per event at 1 s than at 250 ms).
    backlogFlushIntervalMs: z
      .number()
      .int()
      .min(50)
      .default(1_000)
      .describe(
        'Flush interval while catching up: when the consumer has more than `pullBatch` messages waiting and the message at hand was published more than `backlogLagMs` ago (a backfill, a restart after downtime, more input than the pipeline keeps up with). Larger inserts cost ClickHouse less per row. Never below `flushIntervalMs`.',
      ),
    backlogLagMs: z
      .number()
      .int()
      .min(0)
      .default(2_000)
      .describe(
        "How far behind (now minus the publish time of the message at hand, by the NATS server's clock) the pipeline must be to count as catching up. A live pipeline that falls a moment behind (a checkpoint save, a garbage collection) keeps cutting every `flushIntervalMs`.",
      ),
    earlyResultsIntervalMs: z
      .number()
      .int()
      .min(0)
      .default(1_000)
      .describe(
        'Windows emit early (partial) results on a flush at most this often (0: on every flush), and on every checkpoint; dead letters and late events are written with them. Raw rows keep the flush interval.',
      ),
    flushRows: z.number().int().min(1).default(50_000).describe('Also flush as soon as this many rows are buffered (batch size).'),
    checkpointIntervalMs: z
      .number()
      .int()
      .min(100)
      .default(10_000)
      .describe(
        'Checkpoint operator state and ack the source this often (sooner after `checkpointEveryMessages` messages). After a crash, input since the last checkpoint is processed again.',
      ),
    checkpointEveryMessages: z.number().int().min(1).optional().meta({
      description:
        'Also checkpoint (and ack) once this many messages came after the last checkpoint, whatever the interval. Must be below `maxAckPending`, where the server stops delivering until an ack.',
      defaultText: 'half of `maxAckPending`, rounded up',
    }),
    maxBufferedRows: z
      .number()
      .int()
      .min(1)
      .default(200_000)
      .describe('Stop pulling while this many rows (dead letters and late events included) wait for ClickHouse: bounds memory during outages.'),
    maxPendingAsync: z.number().int().min(1).default(10_000).describe('Stop pulling while async operators (enrichment) hold this many events.'),
    maxAckPending: z
      .number()
      .int()
      .min(1)
      .default(1_000_000)
      .describe(
        "The consumer's `max_ack_pending`, the server's bound on messages delivered and not yet acked: it stops delivering there until the next checkpoint acks. Must exceed `checkpointEveryMessages`.",
      ),
    ackWaitMs: z.number().int().min(1_000).default(300_000).describe("The consumer's `ack_wait`. Acks happen per checkpoint, so this is generous."),
    checkpointHistoryIntervalMs: z.number().int().min(0).default(600_000).describe('Keep a copy of a checkpoint this often, for `rxa replay` to start from.'),
    checkpointHistoryKeep: z.number().int().min(1).default(144).describe('How many historical checkpoints to keep (oldest deleted first).'),
    shutdownTimeoutMs: z
      .number()
      .int()
      .min(100)
      .default(30_000)
      .describe('Give up flushing on shutdown after this long (un-acked input is reprocessed on restart).'),
    // See core/lease.ts and docs/adr/0005-one-lease-per-partition.md.
    leaseTtlMs: z
      .number()
      .int()
      .min(300)
      .default(15_000)
      .describe(
        'One process at a time runs a partition (or an unpartitioned pipeline): it holds a lease, renewed every third of this. Another process of the same partition waits, and takes over once the holder stops (at once), has not renewed for this long (it died), or was a process of the same host that is gone. Processes balancing partitions (`rxa run` without `--partitions`) likewise count one out whose membership key has not changed for this long.',
      ),
  })
  .strict()
  .refine((s) => s.checkpointEveryMessages === undefined || s.checkpointEveryMessages < s.maxAckPending, {
    path: ['checkpointEveryMessages'],
    message: 'must be below maxAckPending (the server stops delivering at maxAckPending unacked messages, until a checkpoint acks them)',
  })
  .transform(({ checkpointEveryMessages, ...settings }) => ({
    ...settings,
    checkpointEveryMessages: checkpointEveryMessages ?? Math.ceil(settings.maxAckPending / 2),
  }));
export type PipelineSettings = z.output<typeof PipelineSettings>;
export type PipelineSettingsInput = z.input<typeof PipelineSettings>;

/** What `build` and `setup` get: I/O handles for reference data, never for the main flow. */
export interface BuildContext {
  readonly clickhouse: ClickHouseClient;
  readonly database: string;
  readonly pipeline: string;
  /** The ClickHouse cluster tables are replicated on (`RXA_CLICKHOUSE_CLUSTER`): pass it to `ensureTables` as `{ cluster }`. */
  readonly cluster?: string | undefined;
}

export interface ValidationSpec<E> {
  /** Larger payloads are dead-lettered. @default 65_536 */
  maxBytes?: number;
  /** Reject events whose time is too far from their JetStream publish time (clock skew). */
  skew?: { time: (event: E) => number; maxFutureMs: number; maxPastMs: number };
}

/** Confluent Schema Registry's modes: backward (new readers read old events), forward (old readers read new events), full (both); none checks nothing. */
export const CompatibilityMode = z.enum(['backward', 'forward', 'full', 'none']);
export type CompatibilityMode = z.output<typeof CompatibilityMode>;

/**
 * The event contract (docs/contracts.md): the versions a pipeline reads, how tolerantly, and the
 * compatibility its schema keeps with the one registered (`rxa schema push`, `rxa schema check`).
 */
export interface EventContract<E> {
  /** The event type: the schema registry's key, and the publisher's `ce-type`. @default the pipeline name */
  type?: string;
  /** The version number of `schema`. @default 1 */
  version?: number;
  /** Older versions, each with its upcaster to the current type (`upcast(schema, fn)`): `build` sees current events only. */
  previous?: Readonly<Record<number, PreviousVersion<E>>>;
  /** The version of a message without a version header. @default the oldest declared */
  unversioned?: number;
  /** The `ce-dataschema` URI of a version. @default `urn:rxa:<type>:<version>` */
  dataschema?: (version: number) => string;
  /** Fields the schema does not declare: `count` (dropped and counted per name) or `reject` (dead-lettered). @default 'count' */
  unknownFields?: UnknownFields;
  /** What `rxa schema check`, `rxa schema push` and `rxa run` require of a changed schema. @default 'backward' */
  compatibility?: CompatibilityMode;
}

export type TableMap = Readonly<Record<string, AnyTable>>;
export type PipelineOutputs<T extends TableMap> = { [K in keyof T]?: Observable<TableRow<T[K]>> };

export interface PipelineDefinition<S extends z.ZodType = z.ZodType, T extends TableMap = TableMap> {
  /** Identifies the pipeline: consumer, checkpoint and dead-letter subject are named after it. */
  name: string;
  source: SourceSpec;
  /** The event schema: messages are parsed and validated with it before `build` sees them. */
  schema: S;
  validation?: ValidationSpec<z.output<S>>;
  /** Versions, tolerant or strict reading, and registry compatibility of the events (docs/contracts.md). @default version 1, tolerant, backward */
  contract?: EventContract<z.output<S>>;
  /**
   * Event time, declared once: every window and session in `build` reads time off its events with
   * `time`, and takes `maxOutOfOrderMs` and `allowedLatenessMs` from here, unless given its own.
   * `time` is typed against the schema; windows over events derived from it (enriched, filtered)
   * use it as long as they keep the field it reads (an event without a usable time is dead-lettered).
   */
  eventTime?: EventTime<z.output<S>>;
  /** Output tables by name; created if missing. */
  tables: T;
  settings?: PipelineSettingsInput;
  /** Runs once before consuming, e.g. to create and seed reference tables. */
  setup?: (ctx: BuildContext) => Promise<void>;
  /**
   * Wire the operators: take validated events, return one row stream per table.
   * Share (`share()`) a stream that feeds several outputs, or its operators run once per output.
   */
  build: (events: Observable<z.output<S>>, ctx: BuildContext) => PipelineOutputs<T>;
  /**
   * The pipeline's own dashboards (`defineDashboard`, panels naming `tables` by their definitions):
   * `rxa run --serve` shows them on the live page beside pipeline health, `rxa dashboards` writes
   * their Grafana JSON.
   */
  dashboards?: readonly PipelineDashboard[];
}

/**
 * A dashboard as a pipeline carries it: what `defineDashboard` returns. The pipeline only holds it;
 * the live page and the Grafana generator (dashboards/) read the rest.
 */
export interface PipelineDashboard {
  readonly uid: string;
  readonly title: string;
  readonly panels: readonly { readonly id: number; readonly sql: string }[];
}

/** At most this many partitions: each one is a consumer and a runner, and rxa_partition is a UInt16. */
export const MAX_PARTITIONS = 1_024;

const Partitions = z
  .object({
    count: z.number().int().min(1).max(MAX_PARTITIONS),
    subject: z.custom<(partition: number) => string>((v) => typeof v === 'function', 'must be a function (partition) => subject'),
  })
  .strict();

const DefinitionShape = z
  .object({
    name: natsName.pipe(sqlIdentifier),
    source: z
      .object({
        stream: natsName,
        subjects: z.array(natsSubject).min(1),
        filterSubject: natsSubject.optional(),
        consumer: natsName.optional(),
        partitions: Partitions.optional(),
      })
      .strict(),
    eventTime: z
      .object({
        time: z.custom<(event: never) => number>((v) => typeof v === 'function', 'must be a function (event) => epoch ms'),
        maxOutOfOrderMs: z.number().min(0).optional(),
        allowedLatenessMs: z.number().min(0).optional(),
      })
      .strict()
      .optional(),
    contract: z
      .object({
        type: natsName.optional(),
        version: z.number().int().min(1).optional(),
        previous: z
          .record(
            z.string().regex(/^[1-9]\d*$/, 'versions are integers >= 1'),
            z.object({
              schema: z.custom<z.ZodType>((v) => typeof v === 'object' && v !== null && '_zod' in v, 'must be a zod schema'),
              upcast: z.custom<(event: never) => unknown>((v) => typeof v === 'function', 'must be a function (old event) => current event'),
            }),
          )
          .optional(),
        unversioned: z.number().int().min(1).optional(),
        dataschema: z.custom<(version: number) => string>((v) => typeof v === 'function', 'must be a function (version) => URI').optional(),
        unknownFields: z.enum(['count', 'reject']).optional(),
        compatibility: CompatibilityMode.optional(),
      })
      .strict()
      .superRefine(({ version = 1, previous = {}, unversioned }, ctx) => {
        if (String(version) in previous)
          ctx.addIssue({ code: 'custom', path: ['previous', String(version)], message: `version ${version} is the current one` });
        if (unversioned !== undefined && unversioned !== version && !(String(unversioned) in previous)) {
          ctx.addIssue({ code: 'custom', path: ['unversioned'], message: `version ${unversioned} is not declared` });
        }
      })
      .optional(),
    tables: z.record(z.string(), z.object({ name: sqlIdentifier })),
    build: z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function', 'must be a function'),
    dashboards: z
      .array(
        z.looseObject({ uid: z.string(), title: z.string(), panels: z.array(z.looseObject({ id: z.number(), sql: z.string() })) }),
        'an array of defineDashboard(...) results',
      )
      .optional(),
  })
  .superRefine(({ name, source, dashboards }, ctx) => {
    const uids = new Set<string>();
    dashboards?.forEach(({ uid }, i) => {
      if (uids.has(uid)) ctx.addIssue({ code: 'custom', path: ['dashboards', i, 'uid'], message: `two dashboards with uid '${uid}'` });
      uids.add(uid);
    });
    const { partitions } = source;
    if (!partitions) return;
    const issue = (path: string[], message: string): void => void ctx.addIssue({ code: 'custom', path: ['source', ...path], message });
    if (source.filterSubject !== undefined) issue(['filterSubject'], 'filterSubject and partitions exclude each other: each partition has its subject');
    const seen = new Map<string, number>();
    for (let p = 0; p < partitions.count; p++) {
      let subject: string;
      try {
        subject = partitions.subject(p);
      } catch (error) {
        issue(['partitions', 'subject'], `subject(${p}) threw: ${String(error)}`);
        continue;
      }
      const valid = natsSubject.safeParse(subject);
      if (!valid.success) issue(['partitions', 'subject'], `subject(${p}) = ${JSON.stringify(subject)}: ${valid.error.issues[0]?.message}`);
      else if (seen.has(subject))
        issue(['partitions', 'subject'], `subject(${p}) = subject(${seen.get(subject)}) = '${subject}': partitions must have distinct subjects`);
      seen.set(subject, p);
    }
    const lastConsumer = `${source.consumer ?? name}_p${partitions.count - 1}`;
    if (!natsName.safeParse(lastConsumer).success)
      issue(['consumer'], `partition consumer names (e.g. '${lastConsumer}') must be NATS names of at most 64 characters`);
  });

/**
 * Declare a pipeline. Types flow from the zod schema through the operators to the table rows:
 * `build` must return, for each table, an Observable of exactly that table's row type.
 */
export function definePipeline<S extends z.ZodType, const T extends TableMap>(definition: PipelineDefinition<S, T>): PipelineDefinition<S, T> {
  assertPipelineDefinition(definition);
  return definition;
}

/** Runtime check for definitions loaded from user files (`rxa run ./my-pipeline.ts`). */
export function assertPipelineDefinition(value: unknown): asserts value is PipelineDefinition {
  const result = DefinitionShape.safeParse(value);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `  - ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`not a valid pipeline definition:\n${problems.join('\n')}`);
  }
}
