/**
 * `testPipeline`: run a pipeline definition over a list of events, in memory and in virtual time,
 * and get back the rows each table would hold, the dead letters and the late events. No NATS, no
 * ClickHouse: for users' unit tests of their own pipelines.
 *
 * The definition runs in a `PipelineEngine`, as `rxa run` runs it: the same validation step (the
 * schema, `validation.maxBytes` and the clock-skew check against the publish time), the same
 * operator scope (operator ids, dead letters and late events as side outputs, restored state) and
 * the same row encoding. Only the runner's I/O is left out: the source is the given list, the
 * cuts are read back instead of written.
 */
import type { z } from 'zod';
import { decodeCheckpoint, encodeCheckpoint } from '../core/checkpoint-codec.ts';
import { parseConfig } from '../core/config.ts';
import { type Cut, type DeadLetterRecord, type LateRecord, PipelineEngine, type SourceRecord } from '../core/engine.ts';
import { type RunTarget, runTarget } from '../core/partitions.ts';
import { assertPipelineDefinition, type BuildContext, type PipelineDefinition, PipelineSettings, type TableMap } from '../core/pipeline.ts';
import { type AnyTable, type ColumnType, PARTITION_COLUMN, type TableRow } from '../sinks/clickhouse/table.ts';
import { releaseSnapshot, SnapshotBuffers } from '../state/snapshot-buffers.ts';
import { fakeClickHouse } from './fake-clickhouse.ts';
import { VirtualClock } from './virtual-clock.ts';

/** Where the default publish clock starts: 2025-01-01T00:00:00Z. */
export const TEST_CLOCK_START = Date.UTC(2025, 0, 1);
/** How far the default publish clock advances per event. */
export const TEST_CLOCK_STEP_MS = 1_000;

/** A message with its publish time or subject given. */
export interface TestMessage<E = unknown> {
  /** An event (sent as its JSON), or the raw payload: bytes, or text (sent as its UTF-8 bytes). */
  readonly payload: E | Uint8Array | string;
  /** JetStream publish time, epoch ms. @default the previous message's + `clock.stepMs` (the first: `clock.start`) */
  readonly publishedAt?: number;
  /**
   * The subject it is published on. It must be one the source's stream captures; a message outside
   * the run's consumer filter (another partition's subject) is not delivered.
   * @default the run's subject: the partition's, the filter's, or the stream's first (wildcards as `test`)
   */
  readonly subject?: string;
  /**
   * Its headers, e.g. `{ 'rxa-schema-version': '1' }` for an event of an older version, or
   * CloudEvents' `ce-id`, `ce-dataschema` (names in any case).
   * @default none
   */
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * One input message: an event object (sent as its JSON), raw bytes or a string (sent as they are:
 * malformed input), or a {@link TestMessage} or {@link VersionedTestMessage} (an object whose only keys are `payload`,
 * `publishedAt`, `subject` and `headers`).
 */
export type TestEvent<E = unknown> = E | Uint8Array | string | TestMessage<E> | VersionedTestMessage;

/** A message with headers: its payload may be of any declared version of the event (the headers say which). */
export interface VersionedTestMessage extends Omit<TestMessage, 'payload' | 'headers'> {
  readonly payload: object | Uint8Array | string;
  readonly headers: Readonly<Record<string, string>>;
}

export interface TestPipelineOptions {
  /**
   * What `build` (and `setup`) get, instead of a connection: the ClickHouse client their lookups
   * use (e.g. `fakeClickHouse({ query })`), the database name.
   * @default a ClickHouse client whose every query fails (enrich then dead-letters its events, saying so), database 'rxa_test', pipeline: the definition's name
   */
  context?: Partial<BuildContext>;
  /** The source partition to run, for a partitioned pipeline; written to rows' `rxa_partition`. @default 0 for a partitioned pipeline */
  partition?: number;
  /** The default publish clock (virtual processing time follows the publish times). */
  clock?: {
    /** @default TEST_CLOCK_START (2025-01-01T00:00:00Z) */
    start?: number;
    /** @default TEST_CLOCK_STEP_MS (1 s) */
    stepMs?: number;
  };
  /**
   * End the input after the last event, as a bounded input ends: windows close and emit their
   * final results, async operators drain. `false`: stop where a checkpoint would (windows stay
   * open; their early results are in the rows), and return the state as `snapshot`.
   * @default true
   */
  end?: boolean;
  /**
   * `final`: each table's rows as `SELECT ... FINAL` reads them: of rows with the same sorting key
   * (`orderBy`), the one with the highest `version`, else the last written. `all`: every row
   * written, in the order written (early window results included).
   * @default 'final'
   */
  versions?: 'final' | 'all';
  /**
   * Windows emit early (partial) results as under the runner: every `settings.earlyResultsIntervalMs`
   * of virtual time, between messages. `false`: only what the watermark and the end of input fire.
   * @default true
   */
  earlyResults?: boolean;
  /** Start from this state: a `snapshot` of an earlier run (with `end: false`), as the runner restores a checkpoint. */
  restore?: Uint8Array;
  /** Run the definition's `setup` first, with the context (it gets a client that fails unless `context.clickhouse` is given). @default false */
  setup?: boolean;
}

/** A message (or row) the pipeline could not process. */
export interface TestDeadLetter {
  /** The operator that rejected it (`validate`, an operator id such as `page-category`), or `clickhouse:<table>` for a row ClickHouse would refuse. */
  readonly stage: string;
  readonly reason: string;
  /** The payload as text: the message as received (validate), the event as JSON (operators after it), the row as JSON (`clickhouse:<table>`). */
  readonly payload: string;
  /** The index in `events` of the message it came from; undefined for a row ClickHouse would refuse. */
  readonly input: number | undefined;
}

/** An event that came after its window(s) were purged (the runner writes these to rxa_late_events). */
export interface TestLateEvent {
  /** The window operator's id. */
  readonly stage: string;
  readonly event: unknown;
  /** The event's time, epoch ms. */
  readonly eventTime: number;
  /** The operator's watermark when the event came, epoch ms. */
  readonly watermark: number;
  /** The index in `events` of the message it came from. */
  readonly input: number | undefined;
}

/** Each table's rows, by the table's name (`defineTable`'s first argument). */
export type TestRows<T extends TableMap> = { -readonly [K in keyof T as T[K]['name']]: Array<TableRow<T[K]>> };

export interface TestPipelineResult<T extends TableMap> {
  /**
   * Each table's rows as ClickHouse would store them: values as encoded for it and read back
   * (DateTime in whole seconds, as epoch ms), without the `rxa_partition` column.
   */
  readonly rows: TestRows<T>;
  readonly deadLetters: TestDeadLetter[];
  readonly late: TestLateEvent[];
  /** Per-operator counters, as the runner's metrics read them (`validate.invalid`, `dedupe.duplicates`, ...). */
  readonly stats: Record<string, number>;
  /** With `end: false`: the operators' state at the end, in the checkpoint encoding; pass it as `restore` to continue. */
  readonly snapshot: Uint8Array | undefined;
}

/** Timers fired at most in one run: past that, something reschedules itself forever. */
const MAX_TIMER_FIRINGS = 1_000_000;
/** setImmediate as it was when this module loaded (tests may fake the global timers). */
const realSetImmediate = setImmediate;
const turn = (): Promise<void> => new Promise((resolve) => realSetImmediate(resolve));

/**
 * Run `definition` over `events` in memory, in virtual time, and return what it would write.
 *
 * Virtual time: processing time (`asyncScheduler.now()`, and every timer on `asyncScheduler`: enrich's
 * timeouts, retries and cache TTL, windows' `earlyFiring`, RxJS's `timer` and `delay`) is the
 * publish time of the message at hand, and moves on to the next one's by firing the timers due
 * in between, with promises settled after each. A lookup answered from memory (a promise that
 * settles without real I/O or real timers) takes no virtual time. One run at a time per process.
 *
 * @example
 * ```ts
 * const { rows, deadLetters } = await testPipeline(pipeline, [{ page: '/a', ts: 1_000 }, 'not json']);
 * expect(rows.page_views[0]).toMatchObject({ page: '/a', views: 1 });
 * expect(deadLetters[0]).toMatchObject({ stage: 'validate', input: 1 });
 * ```
 */
export async function testPipeline<S extends z.ZodType, T extends TableMap>(
  definition: PipelineDefinition<S, T>,
  events: ReadonlyArray<TestEvent<z.input<S>>>,
  options: TestPipelineOptions = {},
): Promise<TestPipelineResult<T>> {
  const pipeline: PipelineDefinition = definition;
  assertPipelineDefinition(pipeline);
  const settings = parseConfig(PipelineSettings, pipeline.settings ?? {}, `pipeline '${pipeline.name}' settings`);
  const target = runTarget(pipeline, options.partition ?? (pipeline.source.partitions ? 0 : undefined));
  const given = options.context;
  const context: BuildContext = {
    clickhouse: given?.clickhouse ?? fakeClickHouse(),
    database: given?.database ?? 'rxa_test',
    pipeline: given?.pipeline ?? pipeline.name,
  };
  const messages = toMessages(pipeline, target, events, options.clock);
  const restored = options.restore === undefined ? {} : decodeSnapshot(options.restore);
  const end = options.end ?? true;
  const earlyEveryMs = (options.earlyResults ?? true) ? settings.earlyResultsIntervalMs : undefined;
  if (options.setup) await pipeline.setup?.(context);

  const output = new Output(pipeline.tables);
  let snapshot: Record<string, unknown> | undefined;
  let stats: Record<string, number>;
  const clock = new VirtualClock(messages[0]?.published ?? options.clock?.start ?? TEST_CLOCK_START);
  clock.install();
  let engine: PipelineEngine | undefined;
  try {
    // Built under the virtual clock: operators set their timers up when they are subscribed.
    const running = new PipelineEngine(pipeline, context, restored, target.rowPartition);
    engine = running;
    const check = (): void => {
      if (running.error) throw running.error;
      if (clock.fired > MAX_TIMER_FIRINGS) {
        throw new Error(
          `testPipeline: ${MAX_TIMER_FIRINGS} timers fired; a timer reschedules itself forever (an interval in build() that outlives the input?)`,
        );
      }
    };
    /** Let promises settle: a real turn of the event loop, more while async operators make progress in them. */
    const settle = async (): Promise<void> => {
      await turn();
      for (let i = 0, held = running.pending(); held > 0 && i < 8; i++) {
        await turn();
        const now = running.pending();
        if (now >= held) break;
        held = now;
      }
      check();
    };
    /** Fire the timers due up to `time`, then stand at `time`. */
    const advance = async (time: number): Promise<void> => {
      for (;;) {
        await settle();
        const timer = clock.next();
        if (timer === undefined || timer.due > time) break;
        clock.fire(timer);
      }
      clock.now = Math.max(clock.now, time);
    };
    /** Fire timers until `done`, or until no timer is left. */
    const drain = async (done: () => boolean): Promise<void> => {
      for (;;) {
        await settle();
        if (done()) return;
        const timer = clock.next();
        if (timer === undefined) return;
        clock.fire(timer);
      }
    };

    let lastEarly = clock.now;
    for (const message of messages) {
      await advance(message.published);
      if (earlyEveryMs !== undefined && clock.now - lastEarly >= earlyEveryMs && running.pending() === 0) {
        output.take(running.cut(undefined, true));
        lastEarly = clock.now;
      }
      if (!message.delivered) continue;
      running.push(message);
      check();
      // The runner's feed stops consuming while async operators hold this many, until they are idle.
      if (running.pending() > settings.maxPendingAsync) await drain(() => running.pending() === 0);
    }
    if (end) {
      running.end();
      await drain(() => running.completed && running.pending() === 0);
    } else {
      await drain(() => running.pending() === 0);
    }
    if (running.pending() > 0) {
      throw new Error(
        `testPipeline: async operators still hold ${running.pending()} events and no timer is due: a lookup that never settles ` +
          '(real I/O and real timers do not run in virtual time; answer lookups from memory)',
      );
    }
    // The runner's last cut: every early result, and with `end: false` the state (its checkpoint).
    const last = running.cut(end ? undefined : new SnapshotBuffers(), true);
    output.take(last);
    snapshot = last.snapshot;
    stats = running.stats();
  } finally {
    engine?.dispose();
    clock.uninstall();
  }
  let encoded: Uint8Array | undefined;
  if (snapshot) {
    encoded = await encodeSnapshot(snapshot);
    releaseSnapshot(snapshot);
  }
  return {
    rows: output.rows(options.versions ?? 'final') as TestRows<T>,
    deadLetters: output.deadLetters,
    late: output.late,
    stats,
    snapshot: encoded,
  };
}

/** A source message of the run, and whether the run's consumer receives it. */
interface Message extends SourceRecord {
  readonly delivered: boolean;
}

function toMessages(definition: PipelineDefinition, target: RunTarget, events: ReadonlyArray<unknown>, clock: TestPipelineOptions['clock']): Message[] {
  const start = clock?.start ?? TEST_CLOCK_START;
  const step = clock?.stepMs ?? TEST_CLOCK_STEP_MS;
  if (!Number.isFinite(start)) throw new Error(`testPipeline: clock.start must be a finite number, got ${start}`);
  if (!(step >= 0 && step < Infinity)) throw new Error(`testPipeline: clock.stepMs must be >= 0, got ${step}`);
  const { subjects } = definition.source;
  const filter = target.filterSubject;
  const defaultSubject = concrete(filter ?? subjects[0]!);
  const encoder = new TextEncoder();
  let previous: number | undefined;
  return events.map((event, index) => {
    const message = isMessage(event) ? event : { payload: event };
    const published = message.publishedAt ?? (previous === undefined ? start : previous + step);
    if (!Number.isFinite(published)) throw new Error(`testPipeline: events[${index}].publishedAt must be a finite number, got ${published}`);
    previous = published;
    const subject = message.subject ?? defaultSubject;
    if (!subjects.some((s) => subjectMatches(s, subject))) {
      throw new Error(`testPipeline: events[${index}] is on '${subject}', which stream ${definition.source.stream} does not capture (${subjects.join(', ')})`);
    }
    let payload: Uint8Array;
    const { payload: value } = message;
    if (value instanceof Uint8Array) payload = value;
    else if (typeof value === 'string') payload = encoder.encode(value);
    else {
      const json = JSON.stringify(value);
      if (json === undefined) throw new Error(`testPipeline: events[${index}] has no JSON form (${String(value)})`);
      payload = encoder.encode(json);
    }
    const delivered = filter === undefined || subjectMatches(filter, subject);
    const headers = message.headers;
    if (headers === undefined) return { payload, subject, seq: index + 1, published, delivered };
    const byName = new Map(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), String(value)]));
    return { payload, subject, seq: index + 1, published, delivered, header: (name: string) => byName.get(name.toLowerCase()) };
  });
}

const MESSAGE_KEYS = new Set(['payload', 'publishedAt', 'subject', 'headers']);

function isMessage(value: unknown): value is TestMessage {
  if (typeof value !== 'object' || value === null || value instanceof Uint8Array || !('payload' in value)) return false;
  return Object.keys(value).every((key) => MESSAGE_KEYS.has(key));
}

/** A subject a message can be published on, from a subject filter: wildcards become `test`. */
function concrete(filter: string): string {
  return filter
    .split('.')
    .map((token) => (token === '*' || token === '>' ? 'test' : token))
    .join('.');
}

/** NATS subject matching: `*` is one token, a last `>` one or more. */
function subjectMatches(filter: string, subject: string): boolean {
  const f = filter.split('.');
  const s = subject.split('.');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '>' && i === f.length - 1) return s.length > i;
    if (i >= s.length || (f[i] !== '*' && f[i] !== s[i])) return false;
  }
  return f.length === s.length;
}

/** What the cuts held, read back: rows per table name, in the order written, and the side outputs. */
class Output {
  private readonly written = new Map<string, { table: AnyTable; rows: Record<string, unknown>[] }>();
  readonly deadLetters: TestDeadLetter[] = [];
  readonly late: TestLateEvent[] = [];
  private readonly decoder = new TextDecoder();

  constructor(tables: TableMap) {
    for (const table of Object.values(tables)) if (!this.written.has(table.name)) this.written.set(table.name, { table, rows: [] });
  }

  take(cut: Cut): void {
    for (const letter of cut.deadLetters) this.deadLetters.push(this.deadLetter(letter));
    for (const late of cut.late) this.late.push(lateEvent(late));
    for (const [table, batch] of cut.rows) {
      const rows = this.written.get(table.name)!.rows;
      for (const sent of batch.decode()) {
        const stored = fromClickHouse(table, sent);
        if (typeof stored !== 'string') rows.push(stored);
        else this.deadLetters.push({ stage: `clickhouse:${table.name}`, reason: stored, payload: JSON.stringify(sent), input: undefined });
      }
      batch.release();
    }
  }

  rows(versions: 'final' | 'all'): Record<string, Record<string, unknown>[]> {
    const out: Record<string, Record<string, unknown>[]> = {};
    for (const [name, { table, rows }] of this.written) out[name] = versions === 'all' ? rows : replacing(table, rows);
    return out;
  }

  private deadLetter(letter: DeadLetterRecord): TestDeadLetter {
    const { payload } = letter;
    return {
      stage: letter.stage,
      reason: letter.reason,
      payload: typeof payload === 'string' ? payload : this.decoder.decode(payload),
      input: letter.origin === undefined ? undefined : letter.origin.seq - 1,
    };
  }
}

function lateEvent(late: LateRecord): TestLateEvent {
  return {
    stage: late.stage,
    event: late.event,
    eventTime: late.eventTime,
    watermark: late.watermark,
    input: late.origin === undefined ? undefined : late.origin.seq - 1,
  };
}

/**
 * ReplacingMergeTree, read with FINAL: of the rows with the same sorting key, the one with the
 * highest version (the last written of those), else the last written; in the order keys first
 * appeared.
 */
function replacing(table: AnyTable, rows: readonly Record<string, unknown>[]): Record<string, unknown>[] {
  const byKey = new Map<string, { row: Record<string, unknown>; version: number }>();
  for (const row of rows) {
    const key = JSON.stringify(table.orderBy.map((column) => row[column]));
    const version = table.version === undefined ? 0 : Number(row[table.version]);
    const held = byKey.get(key);
    if (held === undefined || version >= held.version) byKey.set(key, { row, version });
  }
  return [...byKey.values()].map((entry) => entry.row);
}

const FLOATS: Readonly<Record<string, number>> = { nan: Number.NaN, inf: Number.POSITIVE_INFINITY, '-inf': Number.NEGATIVE_INFINITY };

/**
 * A row as ClickHouse was sent it (decoded TabSeparated, `rxa_partition` first) as the table holds
 * it: DateTime seconds as epoch ms, `nan`/`inf` as numbers, without `rxa_partition`. A value the
 * column's type cannot hold (a wrong type cast into a row) makes the server refuse the row: then
 * the reason, as a string.
 */
function fromClickHouse(table: AnyTable, sent: Record<string, unknown>): Record<string, unknown> | string {
  const row: Record<string, unknown> = {};
  for (const [column, type] of Object.entries(table.columns)) {
    if (column === PARTITION_COLUMN) continue;
    const value = stored(type, sent[column]);
    if (value === REFUSED) {
      return `ClickHouse would refuse this row: column '${column}' (${type}) cannot hold ${JSON.stringify(sent[column])} (simulated: the server's own message differs)`;
    }
    row[column] = value;
  }
  return row;
}

const REFUSED = Symbol('refused');

function stored(type: ColumnType, value: unknown): unknown {
  switch (type) {
    case 'String':
    case 'Nullable(String)':
      return value;
    case 'DateTime':
      return typeof value === 'number' && Number.isInteger(value) ? value * 1000 : REFUSED;
    case 'Float64':
    case 'Nullable(Float64)':
      if (value === null || typeof value === 'number') return value;
      return typeof value === 'string' && value in FLOATS ? FLOATS[value] : REFUSED;
    case 'Array(String)':
      return Array.isArray(value) ? value : REFUSED;
    case 'Array(UInt64)':
      return Array.isArray(value) && value.every((v) => typeof v === 'number' && Number.isInteger(v)) ? value : REFUSED;
    default:
      return typeof value === 'number' && Number.isInteger(value) ? value : REFUSED;
  }
}

async function encodeSnapshot(snapshot: Record<string, unknown>): Promise<Uint8Array> {
  const pieces: Uint8Array[] = [];
  for await (const piece of encodeCheckpoint(snapshot)) pieces.push(piece);
  return new Uint8Array(Buffer.concat(pieces));
}

function decodeSnapshot(bytes: Uint8Array): Record<string, unknown> {
  const value = decodeCheckpoint(bytes);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('testPipeline: restore is not a snapshot of operator state');
  return value as Record<string, unknown>;
}
