import { createServer } from 'node:net';

/** `count` distinct TCP ports on 127.0.0.1 that were free when asked: for servers a test starts. */
export async function freePorts(count: number): Promise<number[]> {
  // All held open at once, so no two are the same.
  const servers = await Promise.all(
    Array.from({ length: count }, async () => {
      const server = createServer();
      await new Promise<void>((done) => server.listen(0, '127.0.0.1', () => done()));
      return server;
    }),
  );
  const ports = servers.map((s) => {
    const address = s.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    return address.port;
  });
  await Promise.all(servers.map((s) => new Promise<void>((done) => s.close(() => done()))));
  return ports;
}
