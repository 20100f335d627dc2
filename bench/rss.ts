import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Samples the process's resident set size on an interval; `peakMb` is the largest sample. */
export class RssSampler {
  private peak = 0;
  private readonly samples: Array<{ at: number; mb: number }> = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly everyMs = 200) {}

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.everyMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.sample();
  }

  get peakMb(): number {
    return this.peak;
  }

  /** RSS at evenly spaced points of the run (e.g. quarters), to show whether memory stays flat. */
  profile(points: number): number[] {
    if (this.samples.length === 0) return [];
    const out: number[] = [];
    for (let i = 1; i <= points; i++) {
      const index = Math.min(this.samples.length - 1, Math.round((i * (this.samples.length - 1)) / points));
      out.push(this.samples[index]!.mb);
    }
    return out;
  }

  private sample(): void {
    const mb = process.memoryUsage.rss() / 1_048_576;
    if (mb > this.peak) this.peak = mb;
    this.samples.push({ at: performance.now(), mb });
  }
}

let gcFunction: (() => void) | undefined;

/**
 * Collect garbage now, so one phase's leftovers do not count against the next one's RSS.
 * `tsx` gives no way to pass --expose-gc, so the flag is set at runtime and `gc` read off a new context.
 */
export function collectGarbage(): void {
  if (!gcFunction) {
    setFlagsFromString('--expose-gc');
    gcFunction = runInNewContext('gc') as () => void;
  }
  gcFunction();
}
