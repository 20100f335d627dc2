/** Retry an I/O step (NATS publish, checkpoint save) until it succeeds or `signal` aborts. */
export async function retry<T>(step: () => Promise<T>, signal: AbortSignal, log: (message: string) => void): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (error) {
      if (signal.aborted) throw error;
      if (attempt === 1 || attempt % 10 === 0) log(`retrying after error (attempt ${attempt}): ${String(error)}`);
      await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 100 * 2 ** Math.min(attempt, 6))));
    }
  }
}
