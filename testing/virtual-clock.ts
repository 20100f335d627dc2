/**
 * Virtual processing time for `testPipeline`: RxJS's timers (`asyncScheduler`, which `timer`,
 * `delay`, enrich's timeouts, TTLs and retries, and windows' `earlyFiring` run on by default) and
 * its clock (`asyncScheduler.now()`) are redirected here while a test pipeline runs, the way
 * `TestScheduler.run` redirects them (the same delegates of RxJS's timer providers). Unlike
 * `TestScheduler.run`, time only moves when the caller advances it, one timer at a time, so
 * promises (a lookup answered by a stub) settle between timers as they would in real time.
 */
import { dateTimestampProvider } from 'rxjs/internal/scheduler/dateTimestampProvider';
import { intervalProvider } from 'rxjs/internal/scheduler/intervalProvider';
import { timeoutProvider } from 'rxjs/internal/scheduler/timeoutProvider';
import type { TimerHandle } from 'rxjs/internal/scheduler/timerHandle';

interface Timer {
  readonly id: number;
  due: number;
  /** Set for an interval: fires again this long after each firing. */
  readonly period: number | undefined;
  readonly handler: () => void;
  /** Scheduling order: timers due at the same instant fire in the order they were set. */
  seq: number;
}

/** The delegates RxJS's providers had before `install` (normally none). */
interface Saved {
  readonly interval: typeof intervalProvider.delegate;
  readonly timeout: typeof timeoutProvider.delegate;
  readonly date: typeof dateTimestampProvider.delegate;
}

let installed: VirtualClock | undefined;

export class VirtualClock {
  private readonly timers = new Map<number, Timer>();
  private nextId = 1;
  private nextSeq = 0;
  private saved: Saved | undefined;
  /** Timers fired so far. */
  fired = 0;

  constructor(
    /** Virtual now, epoch ms. */
    public now: number,
  ) {}

  /** Take over RxJS's timers and clock. One clock at a time in a process. */
  install(): void {
    if (installed) throw new Error('testPipeline: another test pipeline is running in this process; await each run before starting the next');
    installed = this;
    this.saved = { interval: intervalProvider.delegate, timeout: timeoutProvider.delegate, date: dateTimestampProvider.delegate };
    intervalProvider.delegate = {
      setInterval: (handler: () => void, timeout?: number, ...args: unknown[]) => this.set(handler, timeout, args, true),
      clearInterval: (handle: TimerHandle) => this.clear(handle),
    };
    timeoutProvider.delegate = {
      setTimeout: (handler: () => void, timeout?: number, ...args: unknown[]) => this.set(handler, timeout, args, false),
      clearTimeout: (handle: TimerHandle) => this.clear(handle),
    };
    dateTimestampProvider.delegate = { now: () => this.now };
  }

  /** Give RxJS its own timers and clock back. */
  uninstall(): void {
    if (installed !== this || !this.saved) return;
    intervalProvider.delegate = this.saved.interval;
    timeoutProvider.delegate = this.saved.timeout;
    dateTimestampProvider.delegate = this.saved.date;
    this.saved = undefined;
    installed = undefined;
  }

  /** The timer that fires next, if any. */
  next(): Timer | undefined {
    let first: Timer | undefined;
    for (const timer of this.timers.values()) {
      if (first === undefined || timer.due < first.due || (timer.due === first.due && timer.seq < first.seq)) first = timer;
    }
    return first;
  }

  /** Move to `timer`'s instant and run it (an interval is set again first, as a real one would be). */
  fire(timer: Timer): void {
    this.now = Math.max(this.now, timer.due);
    if (timer.period === undefined) this.timers.delete(timer.id);
    else {
      timer.due = this.now + timer.period;
      timer.seq = this.nextSeq++;
    }
    this.fired++;
    timer.handler();
  }

  private set(handler: () => void, timeout: number | undefined, args: unknown[], repeat: boolean): TimerHandle {
    const id = this.nextId++;
    const delay = Math.max(0, Number(timeout) || 0);
    const run = args.length === 0 ? handler : () => (handler as (...a: unknown[]) => void)(...args);
    this.timers.set(id, { id, due: this.now + delay, period: repeat ? delay : undefined, handler: run, seq: this.nextSeq++ });
    return id;
  }

  private clear(handle: TimerHandle): void {
    if (typeof handle === 'number') this.timers.delete(handle);
  }
}
