import { z } from 'zod';
import { sqlIdentifier } from '../sinks/clickhouse/sql.ts';
import { natsName } from '../sources/nats-names.ts';

/**
 * Connection and runtime settings, shared by every pipeline. Read from the environment
 * (RXA_* variables, documented in the README) and validated here; unknown keys are rejected.
 */
export const RuntimeConfig = z
  .object({
    nats: z
      .object({
        /** @default '127.0.0.1:4222' */
        servers: z.string().min(1).default('127.0.0.1:4222'),
      })
      .strict()
      .prefault({}),
    clickhouse: z
      .object({
        /** @default 'http://127.0.0.1:8123' */
        url: z.url().default('http://127.0.0.1:8123'),
        /** Database the pipeline's tables live in; created if missing. @default 'analytics' */
        database: sqlIdentifier.default('analytics'),
        username: z.string().default('default'),
        password: z.string().default(''),
        /** Per-request timeout. @default 30_000 */
        requestTimeoutMs: z.number().int().positive().default(30_000),
      })
      .strict()
      .prefault({}),
    /** Object store bucket holding pipeline checkpoints. @default 'rxa_checkpoints' */
    checkpointBucket: natsName.default('rxa_checkpoints'),
    /**
     * V8's heap growing factor in a pipeline process, as `--heap-growing-percent` (0: V8's own
     * heuristic). See core/heap-tuning.ts. @default 100
     */
    heapGrowingPercent: z.number().int().min(0).max(1_000).default(100),
  })
  .strict();

export type RuntimeConfig = z.output<typeof RuntimeConfig>;
export type RuntimeConfigInput = z.input<typeof RuntimeConfig>;

/** Build the runtime config from environment variables, overridden by explicit values. */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env, overrides: RuntimeConfigInput = {}): RuntimeConfig {
  const fromEnv: RuntimeConfigInput = {
    nats: { ...(env.RXA_NATS_URL ? { servers: env.RXA_NATS_URL } : {}), ...overrides.nats },
    clickhouse: {
      ...(env.RXA_CLICKHOUSE_URL ? { url: env.RXA_CLICKHOUSE_URL } : {}),
      ...(env.RXA_CLICKHOUSE_DB ? { database: env.RXA_CLICKHOUSE_DB } : {}),
      ...(env.RXA_CLICKHOUSE_USER ? { username: env.RXA_CLICKHOUSE_USER } : {}),
      ...(env.RXA_CLICKHOUSE_PASSWORD ? { password: env.RXA_CLICKHOUSE_PASSWORD } : {}),
      ...overrides.clickhouse,
    },
    ...(env.RXA_CHECKPOINT_BUCKET ? { checkpointBucket: env.RXA_CHECKPOINT_BUCKET } : {}),
    ...(overrides.checkpointBucket ? { checkpointBucket: overrides.checkpointBucket } : {}),
    ...(env.RXA_HEAP_GROWING_PERCENT ? { heapGrowingPercent: Number(env.RXA_HEAP_GROWING_PERCENT) } : {}),
    ...(overrides.heapGrowingPercent !== undefined ? { heapGrowingPercent: overrides.heapGrowingPercent } : {}),
  };
  return parseConfig(RuntimeConfig, fromEnv, 'config');
}

/** Parse with a schema and throw one plain, readable message listing every problem. */
export function parseConfig<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `  - ${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
  throw new Error(`invalid ${what}:\n${problems.join('\n')}`);
}
