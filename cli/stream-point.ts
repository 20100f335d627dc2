import { InvalidArgumentError } from 'commander';
import type { StreamPoint } from '../core/replay.ts';

/** `--from`/`--to`: a stream sequence (digits) or an ISO 8601 time (compared with publish times). */
export function parseStreamPoint(value: string): StreamPoint {
  if (/^\d+$/.test(value)) return { seq: Number(value) };
  const time = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(time)) {
    throw new InvalidArgumentError('expected a stream sequence (e.g. 1200) or an ISO time (e.g. 2026-11-23T08:00:00Z)');
  }
  return { time };
}
