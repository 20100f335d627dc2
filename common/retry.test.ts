import { describe, expect, it } from 'vitest';
import { backoffDelay, retry } from './retry.ts';

const noWait = (): Promise<void> => Promise.resolve();

describe('retry', () => {
  it('doubles the delay from initialMs up to maxMs', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((a) => backoffDelay(a, { initialMs: 100, maxMs: 1_000 }))).toEqual([100, 200, 400, 800, 1_000, 1_000, 1_000]);
    expect(backoffDelay(1_000)).toBe(5_000);
  });

  it('runs the step until it succeeds, reporting each failure with its attempt and delay', async () => {
    const seen: Array<[number, number]> = [];
    let calls = 0;
    const value = await retry(
      async () => {
        if (++calls < 4) throw new Error(`fail ${calls}`);
        return 'ok';
      },
      { sleep: noWait, onRetry: (_error, attempt, delay) => seen.push([attempt, delay]) },
    );
    expect(value).toBe('ok');
    expect(seen).toEqual([
      [1, 100],
      [2, 200],
      [3, 400],
    ]);
  });

  it('rethrows at once an error that is not retryable, and the last error when out of attempts', async () => {
    let calls = 0;
    const fatal = retry(
      async () => {
        calls++;
        throw new Error('fatal');
      },
      { sleep: noWait, retryable: () => false },
    );
    await expect(fatal).rejects.toThrow('fatal');
    expect(calls).toBe(1);
    const limited = retry(
      async (attempt) => {
        throw new Error(`attempt ${attempt}`);
      },
      { sleep: noWait, attempts: 3 },
    );
    await expect(limited).rejects.toThrow('attempt 3');
  });

  it('stops waiting when the signal aborts, rethrowing the last error', async () => {
    const controller = new AbortController();
    const started = retry(
      async () => {
        throw new Error('down');
      },
      { signal: controller.signal, initialMs: 60_000 },
    );
    setTimeout(() => controller.abort(), 10);
    await expect(started).rejects.toThrow('down');
  });
});
