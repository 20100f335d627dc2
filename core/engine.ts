import { inspect } from 'node:util';
import type { SpanContext } from '@opentelemetry/api';
import { type Observable, Subject, type Subscription, share } from 'rxjs';
import type { z } from 'zod';
import { validate } from '../operators/validate.ts';
import { EncodedRows } from '../sinks/clickhouse/encoded-rows.ts';
import { firstRowProblem } from '../sinks/clickhouse/row-check.ts';
import type { AnyTable } from '../sinks/clickhouse/table.ts';
import { type OperatorHandle, type OperatorScope, runInScope, type SideOutput } from '../state/operator-scope.ts';
import { type SnapshotBuffers, withSnapshotBuffers } from '../state/snapshot-buffers.ts';
import { resolveContract } from './event-contract.ts';
import type { BuildContext, PipelineDefinition, TableMap } from './pipeline.ts';
import { correlationIdOf, producerSpanContext } from './trace-context.ts';

/** One message from the source, as the engine sees it. */
export interface SourceRecord {
  readonly payload: Uint8Array;
  readonly subject: string;
  /** Stream sequence. */
  readonly seq: number;
  /** JetStream publish time, epoch ms. */
  readonly published: number;
  /** A header of the message, by name in any case (absent: a record without headers). */
  readonly header?: ((name: string) => string | undefined) | undefined;
}

/** Where a side output's message came from beyond the stream ('' each when its headers say nothing; see core/trace-context.ts). */
export interface SideOutputTrace {
  /** The producer's span, from the message's `traceparent`: the spans of the cut that writes it link to it (core/cut-tracing.ts). */
  readonly producer: SpanContext | undefined;
  /** Its trace id ('' without one). */
  readonly traceId: string;
  /** From the message's `ce-correlationid`. */
  readonly correlationId: string;
}

export interface DeadLetterRecord extends SideOutputTrace {
  readonly stage: string;
  readonly reason: string;
  readonly payload: Uint8Array | string;
  readonly origin: SourceRecord | undefined;
}

export interface LateRecord extends SideOutputTrace {
  readonly stage: string;
  readonly event: unknown;
  readonly eventTime: number;
  readonly watermark: number;
  readonly origin: SourceRecord | undefined;
}

/** Everything produced since the previous cut, plus (optionally) the state at this instant. */
export interface Cut {
  /** Each table's rows, already encoded for the sink (see EncodedRows: they wait off V8's heap). */
  readonly rows: ReadonlyMap<AnyTable, EncodedRows>;
  readonly deadLetters: readonly DeadLetterRecord[];
  readonly late: readonly LateRecord[];
  readonly snapshot: Record<string, unknown> | undefined;
}

/**
 * Runs a pipeline definition's operators in memory: records in, rows and side outputs out.
 * No I/O here; the feed (core/feed.ts) pushes records and writes cuts.
 *
 * A cut taken while `pending()` is 0 is consistent: every record pushed so far has been fully
 * processed, its rows and side outputs are in this or an earlier cut, and the snapshot holds the
 * state that reflects exactly those records.
 */
export class PipelineEngine {
  private readonly input = new Subject<SourceRecord>();
  private readonly handles = new Map<string, OperatorHandle>();
  /** The handles that can hold input (async operators): `pending()` runs once per message. */
  private readonly holding: OperatorHandle[] = [];
  private readonly kindCounters = new Map<string, number>();
  private readonly subscriptions: Subscription[] = [];
  /** Each operator call's first registered id: a second subscription to it is refused. */
  private readonly operators = new WeakMap<object, string>();
  private rows = new Map<AnyTable, EncodedRows>();
  private buffered = 0;
  private deadLetters: DeadLetterRecord[] = [];
  private late: LateRecord[] = [];
  private current: SourceRecord | undefined;
  private failure: unknown;
  private completedOutputs = 0;
  private readonly outputCount: number;
  private readonly pipelineName: string;

  constructor(
    definition: PipelineDefinition,
    context: BuildContext,
    private readonly restored: Readonly<Record<string, unknown>> = {},
    /** Written to every row's `rxa_partition`: the source partition this engine runs (see table.ts). */
    rowPartition = 0,
  ) {
    this.pipelineName = definition.name;
    const scope: OperatorScope = {
      eventTime: definition.eventTime as OperatorScope['eventTime'],
      register: (kind, id, handle, operator) => this.register(kind, id, handle, operator),
      side: (output, origin) => this.side(output, origin),
      origin: () => this.current,
      header: (name) => this.current?.header?.(name),
      withOrigin: (origin, emit) => {
        const previous = this.current;
        this.current = origin as SourceRecord | undefined;
        try {
          emit();
        } finally {
          this.current = previous;
        }
      },
    };
    const validation = definition.validation;
    const contract = resolveContract(definition);
    const events = this.input.pipe(
      validate(definition.schema as z.ZodType, {
        id: 'validate',
        maxBytes: validation?.maxBytes ?? 65_536,
        unknownFields: contract.unknownFields,
        versions: contract.versions,
        ...(validation?.skew ? { skew: validation.skew as { time: (e: unknown) => number; maxFutureMs: number; maxPastMs: number } } : {}),
      }),
      share(),
    );
    const outputs = definition.build(events as Observable<unknown>, context) as Record<string, Observable<Record<string, unknown>> | undefined>;
    const wired = Object.entries(outputs).filter((entry): entry is [string, Observable<Record<string, unknown>>] => entry[1] !== undefined);
    this.outputCount = wired.length;
    runInScope(scope, () => {
      for (const [name, rows$] of wired) {
        const table = (definition.tables as TableMap)[name];
        if (!table) throw new Error(`pipeline ${definition.name}: build() returned output '${name}' but there is no such table`);
        this.rows.set(table, EncodedRows.for(table, rowPartition));
        // The first row shows a definition bug (a column never set, a field of the wrong type): the run fails on it (row-check.ts).
        let checked = false;
        this.subscriptions.push(
          rows$.subscribe({
            next: (row) => {
              if (!checked) {
                checked = true;
                const problem = firstRowProblem(table, row);
                if (problem !== undefined) {
                  this.failure ??= new Error(`pipeline ${definition.name}, table ${table.name}: ${problem} (the first row of output '${name}')`);
                  return;
                }
              }
              try {
                this.rows.get(table)!.push(row);
              } catch (error) {
                // A row JSON cannot hold (a BigInt, a cycle): dead-lettered with its source, never thrown into RxJS.
                this.deadLetters.push({
                  stage: `clickhouse:${table.name}`,
                  reason: `row cannot be encoded: ${String(error)}`,
                  payload: inspect(row, { depth: 4 }),
                  origin: this.current,
                  ...sideOutputTrace(this.current),
                });
                return;
              }
              this.buffered++;
            },
            error: (error: unknown) => {
              // An error that names the pipeline already (two operators with one id, at subscription) is kept as it is.
              const named = error instanceof Error && error.message.startsWith(`pipeline ${definition.name}:`);
              this.failure ??= named ? error : new Error(`pipeline ${definition.name}: output '${name}' failed: ${String(error)}`, { cause: error });
            },
            complete: () => {
              this.completedOutputs++;
            },
          }),
        );
      }
    });
    // An output that failed while being wired (two operators with one id, a bad option): the run does not start.
    if (this.failure !== undefined) {
      this.dispose();
      throw this.failure;
    }
    const unknownState = Object.keys(restored).filter((id) => !this.handles.has(id));
    if (unknownState.length > 0) {
      throw new Error(
        `pipeline ${definition.name}: the checkpoint has state for operators this pipeline no longer has (${unknownState.join(', ')}); ` +
          'give stateful operators stable ids, or reset the pipeline (rxa reset)',
      );
    }
  }

  /** Process one record synchronously (async operators may hold it; see `pending`). */
  push(record: SourceRecord): void {
    this.current = record;
    this.input.next(record);
    this.current = undefined;
  }

  /** Bounded input ended: windows emit their final results. */
  end(): void {
    this.input.complete();
  }

  /** True when every output completed (after `end`). */
  get completed(): boolean {
    return this.completedOutputs === this.outputCount;
  }

  /** A fatal error in user code (an output stream errored), if any. */
  get error(): unknown {
    return this.failure;
  }

  get bufferedRows(): number {
    return this.buffered;
  }

  /** Dead letters and late events waiting for a cut that takes them (see `cut`). */
  get bufferedSideOutputs(): number {
    return this.deadLetters.length + this.late.length;
  }

  pending(): number {
    let total = 0;
    for (let i = 0; i < this.holding.length; i++) total += this.holding[i]!.pending!();
    return total;
  }

  async idle(): Promise<void> {
    while (this.pending() > 0) {
      await Promise.all([...this.handles.values()].map((h) => h.idle?.()));
    }
  }

  /**
   * Hand over the rows buffered, and with `snapshotInto`, a snapshot of the state whose columns
   * come from those buffers (the checkpointer's: it gives them back once the checkpoint is saved,
   * see state/snapshot-buffers.ts). With `early`, windows first emit their early (partial)
   * results, and the side outputs (dead letters, late events) go along too; without it, windows not
   * flushed stay dirty (in the snapshot too) and the side outputs wait, for a later cut: their
   * tables get fewer, larger inserts. A snapshot always takes the side outputs: its checkpoint acks
   * their input.
   */
  cut(snapshotInto: SnapshotBuffers | undefined, early = true): Cut {
    if (this.pending() > 0) throw new Error('cut while async operators hold input; await idle() first');
    // Nothing more is written once the pipeline failed (a first row that does not fit its table).
    if (this.failure !== undefined) throw this.failure;
    if (early) for (const handle of this.handles.values()) handle.flush?.();
    const rows = this.rows;
    this.rows = new Map([...rows].map(([table, batch]) => [table, batch.empty()]));
    this.buffered = 0;
    const sides = early || snapshotInto !== undefined;
    const cut: Cut = {
      rows,
      deadLetters: sides ? this.deadLetters : [],
      late: sides ? this.late : [],
      snapshot: snapshotInto ? this.snapshot(snapshotInto) : undefined,
    };
    if (sides) {
      this.deadLetters = [];
      this.late = [];
    }
    return cut;
  }

  /** Per-operator counters (`validate.invalid`, `dedupe#0.duplicates`, ...). */
  stats(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [id, handle] of this.handles) {
      for (const [name, value] of Object.entries(handle.stats?.() ?? {})) out[`${id}.${name}`] = value;
    }
    return out;
  }

  dispose(): void {
    for (const subscription of this.subscriptions) subscription.unsubscribe();
  }

  private snapshot(buffers: SnapshotBuffers): Record<string, unknown> {
    return withSnapshotBuffers(buffers, () => {
      const state: Record<string, unknown> = {};
      for (const [id, handle] of this.handles) {
        if (handle.snapshot) state[id] = handle.snapshot();
      }
      return state;
    });
  }

  private register(kind: string, id: string | undefined, handle: OperatorHandle, operator: object): { id: string; restored: unknown } {
    let resolved = id;
    if (resolved === undefined) {
      const n = this.kindCounters.get(kind) ?? 0;
      this.kindCounters.set(kind, n + 1);
      resolved = `${kind}#${n}`;
    }
    const first = this.operators.get(operator);
    if (first !== undefined) throw new Error(subscribedTwice(this.pipelineName, kind, first));
    this.operators.set(operator, resolved);
    if (this.handles.has(resolved)) {
      throw new Error(`pipeline ${this.pipelineName}: two operators share the id '${resolved}'; give each stateful operator a distinct id`);
    }
    this.handles.set(resolved, handle);
    if (handle.pending) this.holding.push(handle);
    return { id: resolved, restored: this.restored[resolved] };
  }

  private side(output: SideOutput, origin: unknown): void {
    const received = (origin ?? this.current) as SourceRecord | undefined;
    const source = detached(received);
    const trace = sideOutputTrace(received);
    if (output.kind === 'dead-letter') {
      const { payload: bytes } = output;
      const payload = bytes === received?.payload ? source!.payload : bytes instanceof Uint8Array ? ownBytes(bytes) : bytes;
      this.deadLetters.push({ stage: output.stage, reason: output.reason, payload, origin: source, ...trace });
    } else {
      this.late.push({ stage: output.stage, event: output.event, eventTime: output.eventTime, watermark: output.watermark, origin: source, ...trace });
    }
  }
}

/** Read off the message's headers when a side output is made (rare): no message pays for it otherwise. */
function sideOutputTrace(record: SourceRecord | undefined): SideOutputTrace {
  const header = record?.header;
  if (header === undefined) return NO_TRACE;
  const producer = producerSpanContext(header);
  return { producer, traceId: producer?.traceId ?? '', correlationId: correlationIdOf(header) };
}

const NO_TRACE: SideOutputTrace = { producer: undefined, traceId: '', correlationId: '' };

/**
 * A copy of `record` that holds its own bytes. A received payload is a view into the socket read it
 * came in (64 KB, shared by the messages around it): a side output that waits for its write (up to a
 * second) would keep the whole read alive long enough to be promoted, and such reads pile up outside
 * V8's heap until a full collection.
 */
function detached(record: SourceRecord | undefined): SourceRecord | undefined {
  if (record === undefined) return undefined;
  return { payload: ownBytes(record.payload), subject: record.subject, seq: record.seq, published: record.published };
}

/** A copy of `bytes` in memory of its own (a Buffer's `slice`, unlike a Uint8Array's, is a view). */
function ownBytes(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}

/**
 * Subscribing one operator twice runs it twice, with two states: a stream that feeds several
 * outputs without `share()` (every output re-runs the stages above it), or an operator value reused
 * on two streams. Either way its results, counters and side outputs would be doubled or split.
 */
function subscribedTwice(pipeline: string, kind: string, id: string): string {
  return (
    `pipeline ${pipeline}: the ${kind} operator '${id}' is subscribed twice, so it would run twice with two states. ` +
    `A stream that feeds several outputs must be shared: \`const clicks = events.pipe(${kind}({...}), share())\`, then pipe clicks into each output. ` +
    `To run the same logic on two streams, call ${kind}(...) once per stream.`
  );
}
