/** The status line on a pipe (no TTY): a line every 5 s, and the final figures at the end. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { emptyStatus, type PipelineStatus } from '../core/runner.ts';
import { formatAssignment, statusPrinter } from './status-line.ts';

const status = (ackedSeq: number): PipelineStatus => ({
  ...emptyStatus(),
  eventsIn: ackedSeq,
  eventsPerSecond: 100,
  rowsWritten: ackedSeq,
  lastSeq: ackedSeq,
  ackedSeq,
});

describe('statusPrinter without a TTY', () => {
  let printed: string[];

  beforeEach(() => {
    vi.useFakeTimers();
    printed = [];
    vi.spyOn(console, 'log').mockImplementation((line: string) => void printed.push(line));
  });

  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it('prints a line every 5 s, and the last status when done', () => {
    const printer = statusPrinter(true, undefined, false);
    printer.status(status(1));
    vi.advanceTimersByTime(1_000);
    printer.status(status(2));
    vi.advanceTimersByTime(4_000);
    printer.status(status(3));
    vi.advanceTimersByTime(1_000);
    printer.status(status(4)); // the shutdown's final status, within 5 s of the last line
    expect(printed.map((l) => /acked seq (\d+)/.exec(l)?.[1])).toEqual(['1', '3']);
    printer.done();
    expect(printed.map((l) => /acked seq (\d+)/.exec(l)?.[1])).toEqual(['1', '3', '4']);
    printer.done();
    expect(printed).toHaveLength(3);
  });

  it('prints nothing more when the last status was printed, or when disabled', () => {
    const printer = statusPrinter(true, () => 'published 7', false);
    printer.status(status(1));
    printer.done();
    expect(printed).toEqual([expect.stringMatching(/^published 7 \| in 1 · .* · acked seq 1$/)]);

    const quiet = statusPrinter(false, undefined, false);
    quiet.status(status(1));
    quiet.done();
    expect(printed).toHaveLength(1);
  });
});

describe('formatAssignment', () => {
  it('names the partitions run here, of how many, among how many processes', () => {
    expect(formatAssignment({ held: [1, 4, 6], members: 3, count: 8 })).toBe('partitions 1,4,6 of 8 (3 processes)');
    expect(formatAssignment({ held: [], members: 1, count: 8 })).toBe('partitions none of 8 (1 process)');
  });
});
