/** Lease against the local NATS: exclusive, handed over on release, taken over from a dead holder, lost when rewritten. */
import { hostname } from 'node:os';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testId, waitFor, watchKey } from '../test/support/helpers.ts';
import { configFromEnv } from './config.ts';
import { Lease, LeaseLost, leaseStore } from './lease.ts';

let nc: NatsConnection;
const bucket = `rxa_lease_test_${testId()}`;

beforeAll(async () => {
  nc = await connect({ servers: configFromEnv().nats.servers });
});

afterAll(async () => {
  await (await jetstreamManager(nc)).streams.delete(`KV_${bucket}`).catch(() => {});
  await nc.close();
});

const options = (ttlMs: number, log: string[] = []) => ({ ttlMs, signal: new AbortController().signal, log: (m: string) => void log.push(m) });

describe('Lease', () => {
  it('is held by one runner at a time; a waiting one takes it when the holder releases it', async () => {
    const first = await Lease.acquire(nc, bucket, 'handover', options(10_000));
    const log: string[] = [];
    let second: Lease | undefined;
    const waiting = Lease.acquire(nc, bucket, 'handover', options(10_000, log)).then((lease) => (second = lease));
    // Once the waiter has found the key held, the holder renews (every third of its TTL): a write of
    // the key with the holder's value, and still no lease for the waiter.
    await waitFor(() => log.length > 0, 10_000, 'the waiter to find the lease held');
    const kv = await leaseStore(nc, bucket);
    const holder = (await kv.get('handover'))?.string();
    const renewals = await watchKey(kv, 'handover');
    try {
      await waitFor(() => renewals.writes.length > 0, 10_000, 'the holder to renew its lease');
    } finally {
      renewals.stop();
    }
    expect(renewals.writes).toEqual([holder]);
    expect(second).toBeUndefined();
    expect(log).toEqual([expect.stringMatching(new RegExp(`^waiting for 'handover': held by ${hostname()} pid ${process.pid} since `))]);
    await first.confirm(); // still the holder
    await first.release();
    await waiting;
    await second!.confirm();
    await second!.release();
  });

  it('is taken over from a holder that stopped renewing, after the TTL', async () => {
    const kv = await leaseStore(nc, bucket);
    // A holder on another host that never renews (a crashed machine).
    await kv.put('stale', JSON.stringify({ id: 'x', host: 'elsewhere', pid: 1, since: Date.now() }));
    const log: string[] = [];
    const started = performance.now();
    const lease = await Lease.acquire(nc, bucket, 'stale', options(900, log));
    expect(performance.now() - started).toBeGreaterThanOrEqual(900);
    expect(log.at(-1)).toMatch(/^took 'stale' over from elsewhere pid 1 since .*: not renewed for 900 ms$/);
    await lease.release();
  });

  it('is taken over at once from a process of this host that is gone', async () => {
    const kv = await leaseStore(nc, bucket);
    // This process's pid with an id it does not hold: an earlier process that had the same pid (a restarted container).
    await kv.put('restarted', JSON.stringify({ id: 'earlier', host: hostname(), pid: process.pid, since: Date.now() }));
    const log: string[] = [];
    const started = performance.now();
    const lease = await Lease.acquire(nc, bucket, 'restarted', options(60_000, log));
    expect(performance.now() - started).toBeLessThan(30_000);
    expect(log.at(-1)).toMatch(/: that process is gone$/);
    await lease.release();
  });

  it('is lost when another process rewrites its key: confirm() throws and the listeners hear it', async () => {
    const lease = await Lease.acquire(nc, bucket, 'lost', options(60_000));
    const heard: LeaseLost[] = [];
    lease.whenLost((error) => heard.push(error));
    const kv = await leaseStore(nc, bucket);
    await kv.put('lost', JSON.stringify({ id: 'other', host: 'elsewhere', pid: 2, since: Date.now() }));
    await expect(lease.confirm()).rejects.toThrow(LeaseLost);
    expect(heard).toHaveLength(1);
    await lease.release();
    // Released after losing it: the other holder's key stays.
    expect(JSON.parse((await kv.get('lost'))!.string())).toMatchObject({ id: 'other' });
  });

  it('keeps the lease when its key holds its own value at another revision: a renewal that landed without its reply', async () => {
    const lease = await Lease.acquire(nc, bucket, 'own-write', options(60_000));
    const heard: LeaseLost[] = [];
    lease.whenLost((error) => heard.push(error));
    const kv = await leaseStore(nc, bucket);
    // What a renewal whose reply timed out (a cluster electing the bucket's leader) leaves: the holder's own value, written again.
    const own = (await kv.get('own-write'))!;
    await kv.put('own-write', own.string());
    await lease.confirm(); // reads the key, finds its value: still the holder
    await lease.confirm(); // and renews from that revision
    expect(heard).toEqual([]);
    expect((await kv.get('own-write'))!.revision).toBeGreaterThan(own.revision + 1);
    await lease.release();
    expect(await kv.get('own-write')).toMatchObject({ operation: 'DEL' });
  });

  it('is taken without waiting (balancing): only when free, or from the revision a caller saw standing for the TTL', async () => {
    const holder = await Lease.acquire(nc, bucket, 'take', options(60_000));
    expect(await Lease.take(nc, bucket, 'take', { ttlMs: 60_000 })).toBeUndefined();
    const kv = await leaseStore(nc, bucket);
    const seen = (await kv.get('take'))!.revision;
    await holder.confirm(); // a renewal: the revision seen is no longer the holder's
    expect(await Lease.take(nc, bucket, 'take', { ttlMs: 60_000, stale: seen })).toBeUndefined();
    const standing = (await kv.get('take'))!.revision;
    const taker = await Lease.take(nc, bucket, 'take', { ttlMs: 60_000, stale: standing, member: 'm1' });
    expect(taker).toBeDefined();
    expect(JSON.parse((await kv.get('take'))!.string())).toMatchObject({ id: taker!.id, member: 'm1', pid: process.pid });
    await expect(holder.confirm()).rejects.toThrow(LeaseLost);
    await taker!.release();
    const free = await Lease.take(nc, bucket, 'take', { ttlMs: 60_000 });
    expect(free).toBeDefined();
    await free!.release();
    await holder.release();
  });

  it('stops waiting when its signal aborts', async () => {
    const holder = await Lease.acquire(nc, bucket, 'abort', options(60_000));
    const controller = new AbortController();
    const waiting = Lease.acquire(nc, bucket, 'abort', { ttlMs: 60_000, signal: controller.signal });
    setTimeout(() => controller.abort(new Error('stopped')), 200);
    await expect(waiting).rejects.toThrow('stopped');
    await holder.release();
  });
});
