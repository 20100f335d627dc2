import type { ClickHouseClient } from '@clickhouse/client';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll } from 'vitest';
import { createClickHouseClient } from '../../core/clickhouse-client.ts';
import { configFromEnv, type RuntimeConfig } from '../../core/config.ts';
import { dropTestResources, testId } from './helpers.ts';

/** What a test made on the shared servers besides the defaults, to remove afterwards. */
export type TestResources = Omit<Parameters<typeof dropTestResources>[0], 'nc' | 'ch'>;

export interface TestServers {
  /** The per-run id every name ends with. */
  readonly id: string;
  /** The pipeline's names: `<name>_<id>`, stream `<STREAM>_<id>`, subjects `<prefix>_<id>.events.…`. */
  readonly names: { readonly name: string; readonly stream: string; readonly subjectPrefix: string };
  /** `rxa_<prefix>_<id>`, the config's ClickHouse database. */
  readonly database: string;
  /** The config's checkpoint bucket: `rxa_ckpt_<id>` unless named. */
  readonly bucket: string;
  readonly config: RuntimeConfig;
  /** Connected in `beforeAll`. */
  readonly nc: NatsConnection;
  /** A ClickHouse client on the server's default database, created in `beforeAll`. */
  readonly ch: ClickHouseClient;
  /** A ClickHouse client on {@link database}, created when first asked for. */
  readonly chDb: ClickHouseClient;
  /** Drop these too (besides the stream, bucket, database and the pipeline's dead letters). */
  alsoDrop(resources: TestResources): void;
}

/**
 * The real NATS and ClickHouse for one test file, with names of its own. Call it at the file's top
 * level, before the file's own hooks: it registers a `beforeAll` that connects and an `afterAll`
 * that drops the stream, the checkpoint bucket, the database, the pipeline's dead letters and
 * whatever {@link TestServers.alsoDrop} added (kept with `RXA_KEEP_TEST_DATA`), then closes the
 * connections. The file's own `afterAll` hooks run before it (vitest runs them in reverse).
 *
 * Names: `<prefix>_<id>`, stream `<PREFIX>_<id>`, subjects `<prefix>_<id>.events`, database
 * `rxa_<prefix>_<id>`, bucket `rxa_ckpt_<id>`; `name`, `stream` and `bucket` replace those prefixes.
 */
export function useTestServers(prefix: string, options: { name?: string; stream?: string; bucket?: string } = {}): TestServers {
  const id = testId();
  const names = {
    name: `${options.name ?? prefix}_${id}`,
    stream: `${options.stream ?? prefix.toUpperCase()}_${id}`,
    subjectPrefix: `${prefix}_${id}.events`,
  };
  const database = `rxa_${prefix}_${id}`;
  const bucket = `${options.bucket ?? 'rxa_ckpt'}_${id}`;
  const config = configFromEnv(process.env, { clickhouse: { database }, checkpointBucket: bucket });
  const drop = { streams: [names.stream], buckets: [bucket], databases: [database], deadLetterPipelines: [names.name] };
  let nc: NatsConnection | undefined;
  let ch: ClickHouseClient | undefined;
  let chDb: ClickHouseClient | undefined;

  beforeAll(async () => {
    nc = await connect({ servers: config.nats.servers });
    ch = createClickHouseClient(config.clickhouse);
  });

  afterAll(async () => {
    if (nc && ch && !process.env.RXA_KEEP_TEST_DATA) await dropTestResources({ nc, ch, ...drop });
    await chDb?.close();
    await ch?.close();
    await nc?.close();
  });

  const connected = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} is set in beforeAll: use it in a hook or a test`);
    return value;
  };
  return {
    id,
    names,
    database,
    bucket,
    config,
    get nc() {
      return connected(nc, 'nc');
    },
    get ch() {
      return connected(ch, 'ch');
    },
    get chDb() {
      chDb ??= createClickHouseClient(config.clickhouse, database);
      return chDb;
    },
    alsoDrop(resources) {
      drop.streams.push(...(resources.streams ?? []));
      drop.buckets.push(...(resources.buckets ?? []));
      drop.databases.push(...(resources.databases ?? []));
      drop.deadLetterPipelines.push(...(resources.deadLetterPipelines ?? []));
    },
  };
}
