import { z } from 'zod';
import { sqlIdentifier } from '../sinks/clickhouse/sql.ts';
import { natsName } from '../sources/nats-names.ts';
import { natsServers } from '../sources/nats-servers.ts';

/**
 * Connection and runtime settings, shared by every pipeline. Read from the environment by
 * `configFromEnv` (the `env` of a field's metadata names its variable) and validated here; unknown
 * keys are rejected. The descriptions are the environment table of README.md and
 * docs/configuration.md (`npx tsx scripts/docs-config.ts --write`).
 */
export const RuntimeConfig = z
  .object({
    nats: z
      .object({
        servers: natsServers.prefault('127.0.0.1:4222').meta({
          env: 'RXA_NATS_URL',
          typeText: 'comma-separated `host:port` list',
          description:
            'NATS server, `host:port` (or `nats://host:port`); several, comma-separated, for a cluster: the pipeline connects to one and moves to another when it is lost.',
        }),
        streamReplicas: z.number().int().min(1).max(5).default(1).meta({
          env: 'RXA_STREAM_REPLICAS',
          advanced: true,
          description:
            "Replicas of what rxa creates in JetStream: the pipeline's stream, the dead-letter stream, the checkpoint object store and its KV buckets (leases, schemas). 3 on a three-server cluster survives the loss of any one server ([Scaling out](scaling-out.md#nats-cluster)). Applied when they are created; an existing stream keeps its own.",
        }),
      })
      .strict()
      .prefault({}),
    clickhouse: z
      .object({
        url: z.url().default('http://127.0.0.1:8123').meta({ env: 'RXA_CLICKHOUSE_URL', description: "ClickHouse's HTTP interface." }),
        database: sqlIdentifier
          .default('analytics')
          .meta({ env: 'RXA_CLICKHOUSE_DB', description: "Database the pipeline's tables live in; created if missing." }),
        cluster: sqlIdentifier.optional().meta({
          env: 'RXA_CLICKHOUSE_CLUSTER',
          advanced: true,
          description:
            "A cluster of the server's `remote_servers`: every table is created on it with `ON CLUSTER` as a `ReplicatedReplacingMergeTree`, read through a Distributed `<table>_all` ([Scaling out](scaling-out.md#replicated-clickhouse)). Unset: single-node tables.",
        }),
        username: z.string().default('default').meta({ env: 'RXA_CLICKHOUSE_USER', description: 'ClickHouse user.' }),
        password: z.string().default('').meta({ env: 'RXA_CLICKHOUSE_PASSWORD', description: 'ClickHouse password.' }),
        requestTimeoutMs: z
          .number()
          .int()
          .positive()
          .default(30_000)
          .describe('Per-request timeout of the ClickHouse client (no variable: set it in `configFromEnv` overrides).'),
      })
      .strict()
      .prefault({}),
    checkpointBucket: natsName.default('rxa_checkpoints').meta({
      env: 'RXA_CHECKPOINT_BUCKET',
      description: 'JetStream object store bucket holding checkpoints; leases live in the KV bucket `<bucket>_leases`.',
    }),
    heapGrowingPercent: z.number().int().min(0).max(1_000).default(100).meta({
      env: 'RXA_HEAP_GROWING_PERCENT',
      description:
        "The V8 old generation's growing factor in `rxa run` and `rxa demo`, as `--heap-growing-percent`: 100 lets it grow to 2× what survived the last full collection; 0 leaves it to V8 (up to 4×).",
    }),
  })
  .strict();

export type RuntimeConfig = z.output<typeof RuntimeConfig>;
export type RuntimeConfigInput = z.input<typeof RuntimeConfig>;

/** Build the runtime config from environment variables, overridden by explicit values. */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env, overrides: RuntimeConfigInput = {}): RuntimeConfig {
  const fromEnv: RuntimeConfigInput = {
    nats: {
      ...(env.RXA_NATS_URL ? { servers: env.RXA_NATS_URL } : {}),
      ...(env.RXA_STREAM_REPLICAS ? { streamReplicas: Number(env.RXA_STREAM_REPLICAS) } : {}),
      ...overrides.nats,
    },
    clickhouse: {
      ...(env.RXA_CLICKHOUSE_URL ? { url: env.RXA_CLICKHOUSE_URL } : {}),
      ...(env.RXA_CLICKHOUSE_DB ? { database: env.RXA_CLICKHOUSE_DB } : {}),
      ...(env.RXA_CLICKHOUSE_CLUSTER ? { cluster: env.RXA_CLICKHOUSE_CLUSTER } : {}),
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
