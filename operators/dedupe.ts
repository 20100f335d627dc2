import { Observable } from 'rxjs';
import type { MonoTypeOperatorFunction } from 'rxjs';
import { currentScope } from './scope.ts';

export interface DedupeOptions<T> {
  /** Identity of an event; events with the same key are duplicates while the key is remembered. */
  key: (event: T) => string;
  /** Event time, epoch ms. TTLs are in event time, so a replay deduplicates exactly like the live run. */
  time: (event: T) => number;
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

/** The checkpointed state: remembered keys in insertion order, with their event times. */
export interface DedupeSnapshot {
  readonly maxTime: number | null;
  readonly keys: ReadonlyArray<readonly [key: string, time: number]>;
}

interface ResolvedDedupeOptions<T> {
  readonly key: (event: T) => string;
  readonly time: (event: T) => number;
  readonly ttlMs: number;
  readonly maxKeys: number;
  readonly id: string | undefined;
}

const DEFAULT_MAX_KEYS = 1_000_000;
/** Compact the insertion queue once this many dead slots sit at its front. */
const COMPACT_AT = 4096;

function parseOptions<T>(options: DedupeOptions<T>): ResolvedDedupeOptions<T> {
  const maxKeys = options.maxKeys ?? DEFAULT_MAX_KEYS;
  if (!(options.ttlMs >= 0)) throw new Error(`dedupe: ttlMs must be >= 0, got ${options.ttlMs}`);
  if (!(Number.isInteger(maxKeys) && maxKeys >= 1)) throw new Error(`dedupe: maxKeys must be an integer >= 1, got ${maxKeys}`);
  return { key: options.key, time: options.time, ttlMs: options.ttlMs, maxKeys, id: options.id };
}

/**
 * Drop events whose key was already seen within `ttlMs` of event time.
 *
 * Expiry is lazy and amortized (no timers): remembered keys sit in an insertion-ordered queue that is
 * trimmed from the front as event time advances, and a key found in the map is also checked against
 * the TTL, so out-of-order insertion never makes an expired key suppress an event.
 *
 * @example
 * ```ts
 * events$.pipe(dedupe({ key: (e) => e.event_id, time: (e) => e.ts, ttlMs: 10 * 60_000 }));
 * ```
 */
export function dedupe<T>(options: DedupeOptions<T>): MonoTypeOperatorFunction<T> {
  const { key: keyOf, time: timeOf, ttlMs, maxKeys, id } = parseOptions(options);
  return (source) =>
    new Observable<T>((subscriber) => {
      // key -> sequence number of its live queue slot. A queue slot is live iff the map points at it;
      // a slot whose key was forgotten and inserted again is cleared to `undefined` (dead), so the
      // per-event trim can tell live from dead without a Map lookup.
      const seqOf = new Map<string, number>();
      let qKeys: Array<string | undefined> = [];
      let qTimes: number[] = [];
      /** Sequence number of qKeys[0]. */
      let base = 0;
      /** Index of the first slot not yet dropped. */
      let head = 0;
      let maxTime = -Infinity;
      let seen = 0;
      let out = 0;
      let duplicates = 0;
      let evicted = 0;
      let expired = 0;

      const insert = (k: string, t: number): void => {
        seqOf.set(k, base + qKeys.length);
        qKeys.push(k);
        qTimes.push(t);
      };

      /** Drop expired keys from the front, then evict the oldest while over capacity. */
      const trim = (): void => {
        const horizon = maxTime - ttlMs;
        while (head < qKeys.length) {
          const k = qKeys[head];
          if (k !== undefined) {
            if (qTimes[head]! < horizon) expired++;
            else if (seqOf.size > maxKeys) evicted++;
            else break;
            seqOf.delete(k);
          }
          head++;
        }
        if (head >= COMPACT_AT && head * 2 >= qKeys.length) {
          qKeys = qKeys.slice(head);
          qTimes = qTimes.slice(head);
          base += head;
          head = 0;
        }
      };

      const scope = currentScope();
      if (scope) {
        const { restored } = scope.register('dedupe', id, {
          snapshot: (): DedupeSnapshot => {
            const keys: Array<readonly [string, number]> = [];
            for (let i = head; i < qKeys.length; i++) {
              const k = qKeys[i];
              if (k !== undefined) keys.push([k, qTimes[i]!]);
            }
            return { maxTime: maxTime === -Infinity ? null : maxTime, keys };
          },
          stats: () => ({ in: seen, out, duplicates, evicted, expired, keys: seqOf.size }),
        });
        if (restored !== undefined) {
          const snapshot = parseSnapshot(restored);
          maxTime = snapshot.maxTime ?? -Infinity;
          for (const [k, t] of snapshot.keys) insert(k, t);
        }
      }

      return source.subscribe({
        next: (event) => {
          seen++;
          let emit: boolean;
          try {
            const k = keyOf(event);
            const t = timeOf(event);
            if (t > maxTime) maxTime = t;
            const seq = seqOf.get(k);
            if (seq === undefined) {
              emit = true;
            } else if (maxTime - qTimes[seq - base]! > ttlMs) {
              // Expired but not yet trimmed (it was inserted behind a newer key): forget it now.
              expired++;
              seqOf.delete(k);
              qKeys[seq - base] = undefined;
              emit = true;
            } else {
              emit = false;
            }
            if (emit) insert(k, t);
            trim();
          } catch (err) {
            subscriber.error(err);
            return;
          }
          if (emit) {
            out++;
            subscriber.next(event);
          } else {
            duplicates++;
          }
        },
        error: (err: unknown) => subscriber.error(err),
        complete: () => subscriber.complete(),
      });
    });
}

function parseSnapshot(value: unknown): DedupeSnapshot {
  const fail = (why: string): never => {
    throw new Error(`dedupe: cannot restore snapshot: ${why}`);
  };
  if (typeof value !== 'object' || value === null) return fail('not an object');
  const { maxTime, keys } = value as { maxTime?: unknown; keys?: unknown };
  if (maxTime !== null && typeof maxTime !== 'number') return fail('maxTime must be a number or null');
  if (!Array.isArray(keys)) return fail('keys must be an array');
  for (const entry of keys as unknown[]) {
    if (!Array.isArray(entry) || typeof entry[0] !== 'string' || typeof entry[1] !== 'number') {
      return fail('keys must be [string, number] pairs');
    }
  }
  return { maxTime, keys: keys as Array<[string, number]> };
}
