import { InvalidArgumentError } from 'commander';

/** A command-line ratio in (0, 1] (`--trace-sample 0.01`). */
export function ratioOption(value: string): number {
  const ratio = Number(value);
  if (!(ratio > 0 && ratio <= 1)) throw new InvalidArgumentError('a ratio in (0, 1], e.g. 0.01');
  return ratio;
}
