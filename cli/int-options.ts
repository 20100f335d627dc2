import { InvalidArgumentError } from 'commander';

/** Parses a command option's count: digits with optional `_` or `,` separators (`1_000_000`), at least 1. */
export function positiveInt(value: string): number {
  const n = Number(value.replace(/[_,]/g, ''));
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

/** As `positiveInt`, 0 allowed. */
export function nonNegativeInt(value: string): number {
  return value === '0' ? 0 : positiveInt(value);
}
