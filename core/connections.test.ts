/** openConnections against the real servers, and against addresses where nothing listens. */
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { configFromEnv } from './config.ts';
import { closeConnections, openConnections } from './connections.ts';

/** A local port nothing listens on (taken, then given back). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('openConnections', () => {
  it('connects to both servers', async () => {
    const connections = await openConnections(configFromEnv(), 'rxa:test:open-connections');
    expect(connections.nc.isClosed()).toBe(false);
    expect((await connections.clickhouse.ping({ select: true })).success).toBe(true);
    await closeConnections(connections);
  });

  it('names the NATS server it could not reach', async () => {
    const port = await closedPort();
    const config = configFromEnv(process.env, { nats: { servers: `127.0.0.1:${port}` } });
    await expect(openConnections(config, 'rxa:test:open-connections')).rejects.toThrow(new RegExp(`^NATS at 127\\.0\\.0\\.1:${port}: `));
  });

  it('names the ClickHouse server it could not reach, or whose credentials it refused', async () => {
    const port = await closedPort();
    const unreachable = configFromEnv(process.env, { clickhouse: { url: `http://127.0.0.1:${port}` } });
    await expect(openConnections(unreachable, 'rxa:test:open-connections')).rejects.toThrow(
      new RegExp(`^ClickHouse at http://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`),
    );

    const base = configFromEnv();
    const refused = configFromEnv(process.env, { clickhouse: { username: 'rxa_no_such_user' } });
    await expect(openConnections(refused, 'rxa:test:open-connections')).rejects.toThrow(
      new RegExp(`^ClickHouse at ${base.clickhouse.url.replace(/[.]/g, '\\.')}: .+`),
    );
  });
});
