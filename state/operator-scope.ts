/**
 * The runtime an operator runs in.
 *
 * Operators stay pure (no I/O), but a pipeline runner needs three things from the stateful and
 * fallible ones: their state (to checkpoint and restore it), their side outputs (dead letters and
 * late events, which must never vanish), and a way to ask async operators whether they are idle
 * (a checkpoint is only consistent when no input is half-processed).
 *
 * Operators look the scope up when they are *subscribed*, so the runner wraps its subscribe in
 * `runInScope`. Outside a scope (standalone use), an operator that can produce side outputs
 * requires an explicit `sideOutput` callback, so bad input can never be silently dropped.
 */

/** Where a side output came from: the source position of the input being processed. Opaque to operators. */
export type Origin = unknown;

export type SideOutput =
  | {
      readonly kind: 'dead-letter';
      /** The operator id that rejected the input, e.g. `validate`, `enrich#0`. */
      readonly stage: string;
      /** Human-readable reason, e.g. `invalid JSON: Unexpected token`. */
      readonly reason: string;
      /** The original payload (bytes as received, or the event as JSON for post-validation stages). */
      readonly payload: Uint8Array | string;
    }
  | {
      readonly kind: 'late';
      readonly stage: string;
      /** The event that arrived after its window(s) were purged. */
      readonly event: unknown;
      /** Event time of the late event, epoch ms. */
      readonly eventTime: number;
      /** The operator's watermark when the event arrived, epoch ms. */
      readonly watermark: number;
    };

/** A dead letter's payload for an event past validation: the event as JSON, or as text if it has none. */
export function eventAsJson(event: unknown): string {
  try {
    return JSON.stringify(event) ?? String(event);
  } catch {
    return String(event);
  }
}

/** What a stateful or async operator exposes to the runner, per subscription. */
export interface OperatorHandle {
  /** JSON-serializable state; restoring it must reproduce identical future output. */
  snapshot?(): unknown;
  /** Inputs accepted but whose output (or side output) has not been emitted yet. */
  pending?(): number;
  /** Resolves the next time `pending()` drops to 0 (immediately when it is 0). */
  idle?(): Promise<void>;
  /** Emit early (speculative) results now, synchronously. Used by the runner before each commit. */
  flush?(): void;
  /** Counters for metrics, read periodically by the runner (e.g. `{ in: 10, out: 8, invalid: 2 }`). */
  stats?(): Readonly<Record<string, number>>;
}

/**
 * How a pipeline reads time off its events, declared once (`definePipeline({ eventTime })`): every
 * window operator subscribed in the pipeline's scope uses it unless given its own `time`,
 * `maxOutOfOrderMs` or `allowedLatenessMs`.
 */
export interface EventTime<T> {
  /** Event time, epoch ms. */
  time: (event: T) => number;
  /** Watermark = max event time seen - maxOutOfOrderMs. @default 0 */
  maxOutOfOrderMs?: number;
  /** How long after firing a window still accepts late events, in event time. @default 0 */
  allowedLatenessMs?: number;
}

export interface OperatorScope {
  /** The pipeline's event time, inherited by window operators that do not set their own. */
  readonly eventTime?: EventTime<never> | undefined;
  /**
   * Register an operator instance. `kind` is used to derive a stable id when `id` is not given
   * (`kind#n`, numbered in subscription order). Returns the id and the state to restore, if any.
   * `operator` is one object per call of the operator's factory (`dedupe({...})`): a pipeline
   * refuses a second subscription to it (a stream fanned out without `share()`).
   */
  register(kind: string, id: string | undefined, handle: OperatorHandle, operator: object): { id: string; restored: unknown };
  /** Report a side output. `origin` defaults to the input currently being processed. */
  side(output: SideOutput, origin?: Origin): void;
  /** The origin of the input currently being processed; async operators capture it on input. */
  origin(): Origin;
  /**
   * Run `emit` with `origin` as the current origin. Async operators wrap every later emission in
   * it, so that side outputs of the operators downstream name the right source message.
   */
  withOrigin(origin: Origin, emit: () => void): void;
}

let current: OperatorScope | undefined;

/** Run `fn` (typically a subscribe, or a TestScheduler run) with `scope` as the current scope. */
export function runInScope<T>(scope: OperatorScope, fn: () => T): T {
  const previous = current;
  current = scope;
  try {
    return fn();
  } finally {
    current = previous;
  }
}

export function currentScope(): OperatorScope | undefined {
  return current;
}

/**
 * Resolve how an operator reports side outputs: an explicit callback wins, then the scope.
 * Throws when neither exists, because dropping dead letters or late events silently is never OK.
 */
export function resolveSideOutput(
  operator: string,
  explicit: ((output: SideOutput) => void) | undefined,
  scope: OperatorScope | undefined,
): (output: SideOutput, origin?: Origin) => void {
  if (explicit) return (output) => explicit(output);
  if (scope) return (output, origin) => scope.side(output, origin);
  throw new Error(`${operator}: no side output; subscribe inside a pipeline (runInScope) or pass the 'sideOutput' option`);
}
