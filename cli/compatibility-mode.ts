import { InvalidArgumentError } from 'commander';
import { CompatibilityMode } from '../core/pipeline.ts';

/** `--mode`: one of Confluent's modes, or a readable refusal. */
export function parseCompatibilityMode(value: string): CompatibilityMode {
  const mode = CompatibilityMode.safeParse(value.toLowerCase());
  if (!mode.success) throw new InvalidArgumentError(`unknown compatibility mode '${value}': expected ${CompatibilityMode.options.join(', ')}`);
  return mode.data;
}
