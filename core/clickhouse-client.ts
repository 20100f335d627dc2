import { type ClickHouseClient, ClickHouseLogLevel, createClient } from '@clickhouse/client';
import type { RuntimeConfig } from './config.ts';

/**
 * A ClickHouse client for the configured server. The client's own logger is off: every failure is
 * handled (retried, dead-lettered or thrown) and reported by the caller, once, with context.
 */
export function createClickHouseClient(settings: RuntimeConfig['clickhouse'], database?: string): ClickHouseClient {
  return createClient({
    url: settings.url,
    username: settings.username,
    password: settings.password,
    request_timeout: settings.requestTimeoutMs,
    ...(database ? { database } : {}),
    log: { level: ClickHouseLogLevel.OFF },
  });
}
