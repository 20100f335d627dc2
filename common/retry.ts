/** Exponential backoff shared by every I/O step that retries (sink inserts, NATS requests, checkpoint saves, lookups). */
export interface BackoffOptions {
  /** Delay before the second attempt. @default 100 */
  initialMs?: number;
  /** Delays stop growing here. @default 5_000 */
  maxMs?: number;
}

export interface RetryOptions extends BackoffOptions {
  /** Give up (rethrow the last error) after this many attempts in all. @default Infinity */
  attempts?: number;
  /** Stop retrying once aborted: the pending wait ends and the last error is rethrown. */
  signal?: AbortSignal;
  /** Whether `error` is worth another attempt. @default every error is */
  retryable?: (error: unknown) => boolean;
  /** Told before each wait: the failed attempt (1 = the first) and how long the wait is. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** How to wait. @default a timer that `signal` cuts short */
  sleep?: (ms: number, signal: AbortSignal | undefined) => Promise<void>;
}

/** The wait after failed attempt `attempt` (1-based): `initialMs` doubled each time, capped at `maxMs`. */
export function backoffDelay(attempt: number, { initialMs = 100, maxMs = 5_000 }: BackoffOptions = {}): number {
  return Math.min(maxMs, initialMs * 2 ** Math.min(Math.max(0, attempt - 1), 30));
}

/** Run `step` until it succeeds, waiting longer after each failure; rethrows when not retryable, out of attempts, or aborted. */
export async function retry<T>(step: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const { attempts = Number.POSITIVE_INFINITY, signal, retryable, onRetry, sleep = abortableSleep } = options;
  for (let attempt = 1; ; attempt++) {
    try {
      return await step(attempt);
    } catch (error) {
      if (signal?.aborted || attempt >= attempts || (retryable !== undefined && !retryable(error))) throw error;
      const delay = backoffDelay(attempt, options);
      onRetry?.(error, attempt, delay);
      await sleep(delay, signal);
      if (signal?.aborted) throw error;
    }
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function abortableSleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** An `onRetry` that logs the first failure and every tenth after it: an outage of minutes must not flood the log. */
export function logRetries(log: (message: string) => void, what: string): NonNullable<RetryOptions['onRetry']> {
  return (error, attempt, delayMs) => {
    if (attempt === 1 || attempt % 10 === 0) log(`${what} failed (attempt ${attempt}), retrying in ${delayMs} ms: ${String(error)}`);
  };
}
