import { LRUCache } from 'lru-cache';
import type { OperatorFunction, SchedulerLike, Subscription } from 'rxjs';
import { asyncScheduler, Observable } from 'rxjs';
import { errorMessage } from '../common/error-message.ts';
import { backoffDelay } from '../common/retry.ts';
import type { Origin, SideOutput } from '../state/operator-scope.ts';
import { currentScope, eventAsJson, resolveSideOutput } from '../state/operator-scope.ts';

/** The lookup cache: an LRU bounded by entry count, with a processing-time TTL. */
export interface EnrichCacheOptions {
  /**
   * Most cached keys; the least recently used is dropped beyond it (0 disables caching). The cache
   * (lru-cache) reserves its index for this many up front: about 16 bytes each, 16 MB at a million.
   * @default 10_000
   */
  maxEntries?: number;
  /** How long a looked-up value is reused, in processing time (`scheduler.now()`). @default 60_000 */
  ttlMs?: number;
  /**
   * After `ttlMs`, how long a value is still used while it is looked up again in the background
   * (stale-while-revalidate): events wait for a lookup only for a key without a value, or whose
   * value is older than `ttlMs + staleMs`. Without it, every key expiring stalls the stream behind
   * it for a lookup (order is kept), once per TTL. A failed refresh is tried again after
   * `retry.backoffMs`. 0: expired values are looked up while events wait. @default 60_000
   */
  staleMs?: number;
}

export interface EnrichOptions<T, K extends string | number, V, R> {
  /** The lookup key of an event. */
  key: (event: T) => K;
  /**
   * Fetch the value for a key. Any thenable works (a `Promise`, or a synchronous test double).
   * Rejections and timeouts are retried (see `retry`), then dead-letter the waiting events;
   * `undefined` is a valid, cacheable value.
   */
  lookup: (key: K) => PromiseLike<V>;
  /**
   * Combine an event with its looked-up value; `key` is the event's key, as `key` returned it (no
   * need to compute it again). A throw dead-letters the event (`merge failed: ...`).
   */
  merge: (event: T, value: V, key: K) => R;
  /**
   * Read the whole reference table into the cache once, before the first lookup: events wait for it
   * (in order, as behind a lookup), and afterwards only keys it lacks are looked up one by one. For
   * reference data that fits the cache and that most events need: without it, the first events of a
   * run wait for a lookup per key. A preload that fails or outlasts `timeoutMs` is counted
   * (`preloadErrors`), and keys are looked up one by one. Preloaded values expire as looked-up ones do.
   * @default none
   */
  preload?: () => PromiseLike<Iterable<readonly [K, V]>>;
  /** @default { maxEntries: 10_000, ttlMs: 60_000 } */
  cache?: EnrichCacheOptions;
  /** Most lookups in flight at once (distinct keys; concurrent events for one key share a lookup). @default 16 */
  concurrency?: number;
  /** A lookup attempt still unsettled after this long fails with `lookup timed out after N ms`. @default 5_000 */
  timeoutMs?: number;
  /**
   * A failed or timed-out lookup is tried again, `attempts` times in all, waiting `backoffMs` and
   * then twice as long each time; only then are its events dead-lettered (reason: the last failure
   * and the attempt count). A reference service that blips for a moment must not dead-letter valid
   * events. Events behind a retried lookup wait (order is kept), and so do the runner's cuts.
   * @default { attempts: 3, backoffMs: 200 }
   */
  retry?: { attempts?: number; backoffMs?: number };
  /** Stage name for dead letters, checkpoints and metrics. @default derived by the scope (`enrich#n`), or 'enrich' */
  id?: string;
  /** Clock for the cache TTL and the lookup timeout. @default asyncScheduler */
  scheduler?: SchedulerLike;
  /** Where dead letters go. @default the pipeline scope's side output (required outside a scope) */
  sideOutput?: (output: SideOutput) => void;
}

interface ResolvedEnrichOptions<T, K extends string | number, V, R> {
  readonly key: (event: T) => K;
  readonly lookup: (key: K) => PromiseLike<V>;
  readonly merge: (event: T, value: V, key: K) => R;
  readonly preload: (() => PromiseLike<Iterable<readonly [K, V]>>) | undefined;
  readonly maxEntries: number;
  readonly ttlMs: number;
  readonly staleMs: number;
  readonly concurrency: number;
  readonly timeoutMs: number;
  readonly attempts: number;
  readonly backoffMs: number;
  readonly id: string | undefined;
  readonly scheduler: SchedulerLike;
  readonly sideOutput: ((output: SideOutput) => void) | undefined;
}

function parseOptions<T, K extends string | number, V, R>(options: EnrichOptions<T, K, V, R>): ResolvedEnrichOptions<T, K, V, R> {
  const maxEntries = options.cache?.maxEntries ?? 10_000;
  const ttlMs = options.cache?.ttlMs ?? 60_000;
  const staleMs = options.cache?.staleMs ?? 60_000;
  const concurrency = options.concurrency ?? 16;
  const timeoutMs = options.timeoutMs ?? 5_000;
  if (!(Number.isInteger(maxEntries) && maxEntries >= 0)) throw new Error(`enrich: cache.maxEntries must be an integer >= 0, got ${maxEntries}`);
  if (!(ttlMs >= 0)) throw new Error(`enrich: cache.ttlMs must be >= 0, got ${ttlMs}`);
  if (!(staleMs >= 0)) throw new Error(`enrich: cache.staleMs must be >= 0, got ${staleMs}`);
  if (!(Number.isInteger(concurrency) && concurrency >= 1)) throw new Error(`enrich: concurrency must be an integer >= 1, got ${concurrency}`);
  if (!(timeoutMs > 0)) throw new Error(`enrich: timeoutMs must be > 0, got ${timeoutMs}`);
  const attempts = options.retry?.attempts ?? 3;
  const backoffMs = options.retry?.backoffMs ?? 200;
  if (!(Number.isInteger(attempts) && attempts >= 1)) throw new Error(`enrich: retry.attempts must be an integer >= 1, got ${attempts}`);
  if (!(backoffMs >= 0)) throw new Error(`enrich: retry.backoffMs must be >= 0, got ${backoffMs}`);
  return {
    key: options.key,
    lookup: options.lookup,
    merge: options.merge,
    preload: options.preload,
    maxEntries,
    ttlMs,
    staleMs,
    concurrency,
    timeoutMs,
    attempts,
    backoffMs,
    id: options.id,
    scheduler: options.scheduler ?? asyncScheduler,
    sideOutput: options.sideOutput,
  };
}

const WAITING = 0;
const RESOLVED = 1;
const FAILED = 2;

/** An accepted event waiting for its turn (or its lookup) to be emitted. */
interface Queued<T, K, V> {
  readonly event: T;
  readonly key: K;
  readonly origin: Origin;
  state: typeof WAITING | typeof RESOLVED | typeof FAILED;
  value: V | undefined;
  reason: string;
}

/** One lookup of one key, shared by every queued event that needs it. */
interface Lookup<T, K, V> {
  readonly key: K;
  readonly waiting: Array<Queued<T, K, V>>;
  settled: boolean;
  /** Attempts started so far. */
  attempts: number;
  /** The current attempt's timeout, or the wait before the next attempt. */
  timer: Subscription | undefined;
}

/** A cached value (boxed: `undefined` is a valid value, and lru-cache treats setting `undefined` as a delete). */
interface CacheEntry<V> {
  readonly value: V;
  /** When to look the value up again (in the background while it is still usable). */
  expires: number;
  /** When the value is no longer used. */
  readonly staleUntil: number;
}

/**
 * Enrich each event with an asynchronously looked-up value, preserving input order.
 *
 * A cache hit with nothing queued ahead is emitted synchronously. Otherwise the event is queued; lookups
 * for queued events run concurrently (up to `concurrency`, one per key) and the head of the queue is
 * emitted as soon as it is resolved. Lookups that fail or time out are retried with backoff; events whose
 * lookup still fails, and unmergeable events, go to the dead-letter side output with the origin captured
 * when they were accepted. Completion waits for the queue to drain.
 * The handle's `pending()`/`idle()` let the runner checkpoint only when nothing is in flight.
 *
 * @example
 * ```ts
 * events$.pipe(
 *   enrich({
 *     key: (e) => e.user_id,
 *     lookup: (id) => users.get(id),
 *     merge: (e, user) => ({ ...e, plan: user?.plan ?? 'free' }),
 *   }),
 * );
 * ```
 */
export function enrich<T, K extends string | number, V, R>(options: EnrichOptions<T, K, V, R>): OperatorFunction<T, R> {
  const opts = parseOptions(options);
  const { key: keyOf, lookup: fetch, merge, preload, maxEntries, ttlMs, staleMs, concurrency, timeoutMs, attempts: maxAttempts, backoffMs, scheduler } = opts;
  const operator = {};
  return (source) =>
    new Observable<R>((subscriber) => {
      const scope = currentScope();
      const side = resolveSideOutput('enrich', opts.sideOutput, scope);

      /**
       * Recency and eviction (O(1)) come from lru-cache, used synchronously (get/peek/set). The expiry
       * times stay in the entries, checked against `scheduler.now()` here: lru-cache's `ttl` takes a
       * start time of 0 (TestScheduler's first instant) for "no TTL" and expires only past start + ttl;
       * its `fetch()` settles in microtasks, which would make every hit and lookup asynchronous.
       * Lookups, their concurrency and retries stay on `scheduler` for the same reason (p-limit starts
       * tasks, and common/retry's `retry()` resumes, in microtasks).
       */
      const cache = new LRUCache<K, CacheEntry<V>>({ max: Math.max(1, maxEntries) });
      /** Lookups queued or in flight, by key. */
      const lookups = new Map<K, Lookup<T, K, V>>();
      /** Lookups waiting for a concurrency slot, FIFO from `startHead`. */
      let toStart: Array<Lookup<T, K, V> | undefined> = [];
      let startHead = 0;
      let inFlight = 0;
      /** Accepted events not yet emitted, FIFO from `head`. */
      let queue: Array<Queued<T, K, V> | undefined> = [];
      let head = 0;
      let idleWaiters: Array<() => void> = [];
      let sourceDone = false;
      let closed = false;

      let seen = 0;
      let out = 0;
      let hits = 0;
      let misses = 0;
      let errors = 0;
      let timeouts = 0;
      let retries = 0;
      let refreshes = 0;
      let deadLetters = 0;
      let preloaded = 0;
      let preloadErrors = 0;
      /** Events accepted while the preload runs, with their keys: looked up (or not) once it is in. */
      let preloadWaiting: Array<Queued<T, K, V>> | undefined;

      const pending = (): number => queue.length - head;

      const stage = scope
        ? scope.register(
            'enrich',
            opts.id,
            {
              pending,
              idle: () => (pending() === 0 ? Promise.resolve() : new Promise<void>((resolve) => idleWaiters.push(resolve))),
              stats: () => ({
                in: seen,
                out,
                hits,
                misses,
                errors,
                timeouts,
                retries,
                refreshes,
                deadLetters,
                ...(preload ? { preloaded, preloadErrors } : {}),
                pending: pending(),
                cached: cache.size,
              }),
            },
            operator,
          ).id
        : (opts.id ?? 'enrich');

      /** Whether `key` is cached and fresh; the value is then in `cachedValue` (it may be `undefined`). */
      let cachedValue: V | undefined;
      const cacheHit = (key: K): boolean => {
        const entry = cache.get(key);
        if (entry === undefined) return false;
        const now = scheduler.now();
        if (entry.expires <= now) {
          if (entry.staleUntil <= now) {
            cache.delete(key);
            return false;
          }
          // Still usable: look it up again without holding events (once at a time per key).
          if (!lookups.has(key)) refresh(key);
        }
        cachedValue = entry.value;
        return true;
      };

      const cacheSet = (key: K, value: V): void => {
        if (maxEntries === 0) return;
        const now = scheduler.now();
        // Beyond maxEntries, lru-cache drops the least recently used entry.
        cache.set(key, { value, expires: now + ttlMs, staleUntil: now + ttlMs + staleMs });
      };

      const deadLetter = (event: T, reason: string, origin: Origin): void => {
        deadLetters++;
        side({ kind: 'dead-letter', stage, reason, payload: eventAsJson(event) }, origin);
      };

      /**
       * Merge and emit one event (or dead-letter it when merge throws). `held` events were accepted
       * earlier: they are emitted with their own origin made current again.
       */
      const emit = (event: T, value: V, key: K, origin: Origin, held: boolean): void => {
        let result: R;
        try {
          result = merge(event, value, key);
        } catch (err) {
          deadLetter(event, `merge failed: ${errorMessage(err)}`, origin);
          return;
        }
        out++;
        if (held && scope) scope.withOrigin(origin, () => subscriber.next(result));
        else subscriber.next(result);
      };

      /** Emit the resolved prefix of the queue, then complete or wake idle waiters when it is empty. */
      const drain = (): void => {
        try {
          while (head < queue.length && !closed) {
            const item = queue[head]!;
            if (item.state === WAITING) return;
            queue[head++] = undefined;
            if (item.state === RESOLVED) emit(item.event, item.value as V, item.key, item.origin, true);
            else deadLetter(item.event, item.reason, item.origin);
          }
        } catch (err) {
          // Only a failing side output gets here: losing a dead letter is not an option.
          subscriber.error(err);
          return;
        }
        if (closed || head < queue.length) return;
        queue = [];
        head = 0;
        wakeIdle();
        if (sourceDone) subscriber.complete();
      };

      const wakeIdle = (): void => {
        if (idleWaiters.length === 0) return;
        const waiters = idleWaiters;
        idleWaiters = [];
        for (const resolve of waiters) resolve();
      };

      const settle = (lookup: Lookup<T, K, V>, ok: boolean, value: V | undefined, reason: string): void => {
        if (lookup.settled || closed) return;
        lookup.settled = true;
        inFlight--;
        lookup.timer?.unsubscribe();
        lookups.delete(lookup.key);
        if (ok) cacheSet(lookup.key, value as V);
        else {
          // A failed background refresh: keep the stale value, try again after a backoff.
          const entry = cache.peek(lookup.key);
          if (entry) entry.expires = scheduler.now() + backoffMs;
        }
        const state = ok ? RESOLVED : FAILED;
        for (const item of lookup.waiting) {
          item.state = state;
          item.value = value;
          item.reason = reason;
        }
        startLookups();
        drain();
      };

      /** Takes a concurrency slot, kept through retries until the lookup settles. */
      const start = (lookup: Lookup<T, K, V>): void => {
        inFlight++;
        attempt(lookup);
      };

      const attempt = (lookup: Lookup<T, K, V>): void => {
        const n = ++lookup.attempts;
        lookup.timer = scheduler.schedule(() => {
          if (lookup.settled || lookup.attempts !== n) return;
          timeouts++;
          fail(lookup, `lookup timed out after ${timeoutMs} ms`);
        }, timeoutMs);
        let result: PromiseLike<V>;
        try {
          result = fetch(lookup.key);
        } catch (err) {
          errors++;
          fail(lookup, `lookup failed: ${errorMessage(err)}`);
          return;
        }
        result.then(
          // A late answer to an earlier, timed-out attempt is as good as any.
          (value) => settle(lookup, true, value, ''),
          (err: unknown) => {
            if (lookup.settled || closed || lookup.attempts !== n) return;
            errors++;
            fail(lookup, `lookup failed: ${errorMessage(err)}`);
          },
        );
      };

      /** An attempt failed: try again after a backoff, or dead-letter the lookup's events. */
      const fail = (lookup: Lookup<T, K, V>, reason: string): void => {
        lookup.timer?.unsubscribe();
        if (lookup.attempts >= maxAttempts) {
          settle(lookup, false, undefined, maxAttempts > 1 ? `${reason} (${lookup.attempts} attempts)` : reason);
          return;
        }
        retries++;
        lookup.timer = scheduler.schedule(
          () => {
            if (!lookup.settled && !closed) attempt(lookup);
          },
          backoffDelay(lookup.attempts, { initialMs: backoffMs, maxMs: Number.POSITIVE_INFINITY }),
        );
      };

      /** A lookup no event waits for: its answer replaces a stale cache entry. */
      const refresh = (key: K): void => {
        refreshes++;
        const lookup: Lookup<T, K, V> = { key, waiting: [], settled: false, attempts: 0, timer: undefined };
        lookups.set(key, lookup);
        toStart.push(lookup);
        startLookups();
      };

      const startLookups = (): void => {
        while (inFlight < concurrency && startHead < toStart.length && !closed) {
          const lookup = toStart[startHead]!;
          toStart[startHead++] = undefined;
          start(lookup);
        }
        if (startHead === toStart.length) {
          toStart = [];
          startHead = 0;
        }
      };

      /** `item` (a miss) waits for its key's lookup, started when a concurrency slot frees. */
      const awaitLookup = (item: Queued<T, K, V>): void => {
        const { key } = item;
        misses++;
        let lookup = lookups.get(key);
        if (lookup === undefined) {
          lookup = { key, waiting: [], settled: false, attempts: 0, timer: undefined };
          lookups.set(key, lookup);
          toStart.push(lookup);
        }
        lookup.waiting.push(item);
      };

      /** The preload is in (`entries`) or failed: cache it, then resolve or look up what waited for it. */
      const preloadDone = (entries: Iterable<readonly [K, V]> | undefined): void => {
        const waiting = preloadWaiting;
        if (waiting === undefined || closed) return;
        preloadWaiting = undefined;
        if (entries === undefined) preloadErrors++;
        else {
          try {
            for (const [key, value] of entries) {
              cacheSet(key, value);
              preloaded++;
            }
          } catch {
            // A table that failed part way: what was read is cached, the rest is looked up.
            preloadErrors++;
          }
        }
        for (const item of waiting) {
          if (cacheHit(item.key)) {
            hits++;
            item.state = RESOLVED;
            item.value = cachedValue;
          } else awaitLookup(item);
        }
        startLookups();
        drain();
      };

      if (preload) {
        preloadWaiting = [];
        const timer = scheduler.schedule(() => preloadDone(undefined), timeoutMs);
        // Unsubscribed before the preload is in: its timeout must not keep the process up.
        subscriber.add(timer);
        let loading: PromiseLike<Iterable<readonly [K, V]>> | undefined;
        try {
          loading = preload();
        } catch {
          loading = undefined;
        }
        if (loading === undefined) {
          timer.unsubscribe();
          preloadDone(undefined);
        } else {
          loading.then(
            (entries) => {
              timer.unsubscribe();
              preloadDone(entries);
            },
            () => {
              timer.unsubscribe();
              preloadDone(undefined);
            },
          );
        }
      }

      subscriber.add(() => {
        closed = true;
        for (const lookup of lookups.values()) lookup.timer?.unsubscribe();
        lookups.clear();
        toStart = [];
        queue = [];
        head = 0;
        cache.clear();
        wakeIdle();
      });

      return source.subscribe({
        next: (event) => {
          seen++;
          let key: K;
          try {
            key = keyOf(event);
          } catch (err) {
            subscriber.error(err);
            return;
          }
          if (preloadWaiting !== undefined) {
            const item: Queued<T, K, V> = { event, key, origin: scope?.origin(), state: WAITING, value: undefined, reason: '' };
            queue.push(item);
            preloadWaiting.push(item);
            return;
          }
          const hit = cacheHit(key);
          if (hit && head === queue.length) {
            // Fast path: nothing queued ahead, emit synchronously.
            hits++;
            try {
              emit(event, cachedValue as V, key, undefined, false);
            } catch (err) {
              subscriber.error(err);
            }
            return;
          }
          const item: Queued<T, K, V> = {
            event,
            key,
            origin: scope?.origin(),
            state: hit ? RESOLVED : WAITING,
            value: hit ? cachedValue : undefined,
            reason: '',
          };
          queue.push(item);
          if (hit) {
            hits++;
            return; // Something is queued ahead, so this cannot be the head: nothing to drain.
          }
          awaitLookup(item);
          startLookups();
        },
        error: (err: unknown) => subscriber.error(err),
        complete: () => {
          sourceDone = true;
          if (pending() === 0) subscriber.complete();
        },
      });
    });
}
