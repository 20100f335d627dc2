import type { MonoTypeOperatorFunction } from 'rxjs';
import { Observable } from 'rxjs';
import { eventTimeError } from '../state/event-time.ts';
import { KeyQueue } from '../state/key-queue.ts';
import { currentScope } from '../state/operator-scope.ts';

export interface DedupeOptions<T> {
  /** Identity of an event; events with the same key are duplicates while the key is remembered. */
  key: (event: T) => string;
  /**
   * Event time, epoch ms. TTLs are in event time, so a replay deduplicates exactly like the live run.
   * @default the pipeline's `eventTime.time` (`definePipeline({ eventTime })`); required outside a pipeline that declares one
   */
  time?: (event: T) => number;
  /** A key seen at event time t0 is forgotten once (max event time seen so far - t0) > ttlMs. */
  ttlMs: number;
  /**
   * Most keys held at once; beyond it the oldest-inserted keys are evicted (bounded memory, at the
   * price of letting a very late duplicate through).
   * @default 1_000_000
   */
  maxKeys?: number;
  /** Operator id for checkpoints and metrics. @default derived by the scope (`dedupe#n`) */
  id?: string;
}

interface ResolvedDedupeOptions<T> {
  readonly key: (event: T) => string;
  readonly time: ((event: T) => number) | undefined;
  readonly ttlMs: number;
  readonly maxKeys: number;
  readonly id: string | undefined;
}

const DEFAULT_MAX_KEYS = 1_000_000;

function parseOptions<T>(options: DedupeOptions<T>): ResolvedDedupeOptions<T> {
  const maxKeys = options.maxKeys ?? DEFAULT_MAX_KEYS;
  if (!(options.ttlMs >= 0)) throw new Error(`dedupe: ttlMs must be >= 0, got ${options.ttlMs}`);
  if (!(Number.isInteger(maxKeys) && maxKeys >= 1)) throw new Error(`dedupe: maxKeys must be an integer >= 1, got ${maxKeys}`);
  return { key: options.key, time: options.time, ttlMs: options.ttlMs, maxKeys, id: options.id };
}

/**
 * Drop events whose key was already seen within `ttlMs` of event time.
 *
 * Keys are remembered by their 64-bit fingerprint (see state/fingerprint.ts) in flat typed arrays
 * (`KeyQueue`, state/key-queue.ts): 16 bytes per slot of the insertion-ordered ring and 4 per slot
 * of its index (`FingerprintIndex`, at power-of-two capacity); nothing for the GC to walk. Expiry is lazy and amortized (no timers):
 * the ring is trimmed from the front as event time advances, and a key found in the index is also
 * checked against the TTL, so out-of-order insertion never makes an expired key suppress an event.
 *
 * @example
 * ```ts
 * events$.pipe(dedupe({ key: (e) => e.event_id, time: (e) => e.ts, ttlMs: 10 * 60_000 }));
 * ```
 */
export function dedupe<T>(options: DedupeOptions<T>): MonoTypeOperatorFunction<T> {
  const { key: keyOf, time, ttlMs, maxKeys, id } = parseOptions(options);
  const operator = {};
  return (source) =>
    new Observable<T>((subscriber) => {
      const scope = currentScope();
      const timeOf = time ?? (scope?.eventTime?.time as ((event: T) => number) | undefined);
      if (timeOf === undefined) {
        throw new Error("dedupe: no event time; pass 'time', or declare 'eventTime' in definePipeline and subscribe inside the pipeline");
      }
      const keys = new KeyQueue(ttlMs, maxKeys);
      let stage = id ?? 'dedupe';
      let first = true;
      if (scope) {
        const { id: registered, restored } = scope.register(
          'dedupe',
          id,
          {
            snapshot: () => keys.snapshot(),
            stats: () => keys.stats(),
          },
          operator,
        );
        stage = registered;
        if (restored !== undefined) keys.restore(restored);
      }

      return source.subscribe({
        next: (event) => {
          let emit: boolean;
          try {
            const t = timeOf(event);
            if (!Number.isFinite(t)) {
              // Not a number, or not finite at the first event: a definition bug (state/event-time.ts).
              const error = eventTimeError(stage, t, first);
              if (error) throw error;
            }
            first = false;
            emit = keys.admit(keyOf(event), t);
          } catch (err) {
            subscriber.error(err);
            return;
          }
          if (emit) subscriber.next(event);
        },
        error: (err: unknown) => subscriber.error(err),
        complete: () => subscriber.complete(),
      });
    });
}
