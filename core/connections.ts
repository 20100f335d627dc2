import type { ClickHouseClient } from '@clickhouse/client';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { errorMessage } from '../common/error-message.ts';
import { createClickHouseClient } from './clickhouse-client.ts';
import type { RuntimeConfig } from './config.ts';

/** Connections shared by the live runner, replay and reset. */
export interface Connections {
  nc: NatsConnection;
  clickhouse: ClickHouseClient;
}

/**
 * The NATS connection, reconnecting for as long as the process runs once it is up. A server that
 * cannot be reached at start fails with its address, not a bare "connection refused".
 */
export async function connectNats(config: RuntimeConfig, name: string): Promise<NatsConnection> {
  try {
    // noAsyncTraces: otherwise every request allocates an Error with a stack, on the hot path.
    return await connect({ servers: config.nats.servers, name, maxReconnectAttempts: -1, reconnectTimeWait: 500, noAsyncTraces: true });
  } catch (error) {
    throw new Error(`NATS at ${config.nats.servers.join(',')}: ${errorMessage(error)}`, { cause: error });
  }
}

/**
 * Both servers, reached before anything else is done: one that cannot be reached (or, ClickHouse,
 * refuses the credentials) fails the start with which one and where, not with the socket error of
 * whatever asked first.
 */
export async function openConnections(config: RuntimeConfig, name: string): Promise<Connections> {
  const nc = await connectNats(config, name);
  const clickhouse = createClickHouseClient(config.clickhouse);
  // A query, not the /ping endpoint, so the credentials are checked too.
  const ping = await clickhouse.ping({ select: true });
  if (!ping.success) {
    await Promise.all([clickhouse.close(), nc.close()]);
    throw new Error(`ClickHouse at ${config.clickhouse.url}: ${ping.error.message}`, { cause: ping.error });
  }
  return { nc, clickhouse };
}

export async function closeConnections({ nc, clickhouse }: Connections): Promise<void> {
  await clickhouse.close();
  if (!nc.isClosed()) await nc.drain();
}
