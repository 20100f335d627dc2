import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll } from 'vitest';
import { freePorts } from './free-ports.ts';
import { waitFor } from './helpers.ts';
import { logTail } from './log-tail.ts';

/** Debian's nats-server package puts it in /usr/sbin, which a user's PATH may lack. */
const NATS_SERVER = process.env.RXA_NATS_SERVER ?? 'nats-server';
const NATS_SERVER_PATH = `${process.env.PATH ?? ''}:/usr/sbin:/usr/local/sbin`;
const START_TIMEOUT_MS = 60_000;

export interface ClusterServer {
  /** Its `server_name`, which JetStream reports as a stream's leader. */
  readonly name: string;
  /** `127.0.0.1:<port>`, for clients. */
  readonly url: string;
  readonly port: number;
  readonly clusterPort: number;
  /** Its monitoring endpoint (`/jsz`, `/connz`). */
  readonly httpPort: number;
  /** Its JetStream store, kept across a kill and restart. */
  readonly storeDir: string;
}

/** What `/jsz` tells of the JetStream meta group, as the server sees it. */
interface Jsz {
  meta_cluster?: { leader?: string; cluster_size?: number; replicas?: Array<{ name: string; current: boolean }> };
}

/**
 * A JetStream cluster of a test's own: `size` nats-server processes on loopback, routed to each
 * other, each with its own client, cluster and monitoring ports (free when picked) and its own
 * store directory under one temporary directory. A server can be killed (SIGKILL, a crash) and
 * started again on the same ports and store. Stopped by `stop` (every process, and the directory),
 * also on process exit if a test never got there.
 */
export class NatsCluster {
  private readonly processes: Array<ChildProcess | undefined>;
  private readonly killOnExit = (): void => {
    for (const child of this.processes) if (child?.exitCode === null) child.kill('SIGKILL');
  };

  private constructor(
    readonly dir: string,
    readonly name: string,
    readonly servers: readonly ClusterServer[],
  ) {
    this.processes = servers.map(() => undefined);
  }

  /** Start `size` servers and wait until JetStream has a meta leader every server agrees on. */
  static async start(name: string, size = 3): Promise<NatsCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'rxa-natscluster-'));
    const ports = await freePorts(size * 3);
    const servers = Array.from({ length: size }, (_, i): ClusterServer => {
      const [port, clusterPort, httpPort] = ports.slice(i * 3, i * 3 + 3) as [number, number, number];
      return { name: `${name}-${i + 1}`, url: `127.0.0.1:${port}`, port, clusterPort, httpPort, storeDir: join(dir, `n${i + 1}`) };
    });
    const cluster = new NatsCluster(dir, name, servers);
    process.once('exit', cluster.killOnExit);
    try {
      for (const server of servers) mkdirSync(server.storeDir, { recursive: true });
      for (let i = 0; i < size; i++) cluster.spawn(i);
      await cluster.waitReady();
      return cluster;
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  }

  /** Every server's client address, for `RXA_NATS_URL` (comma-joined) or `connect({ servers })`. */
  get urls(): string[] {
    return this.servers.map((s) => s.url);
  }

  /** Whether server `i` runs (not killed, or started again). */
  running(i: number): boolean {
    return this.processes[i] !== undefined;
  }

  /** Kill server `i` with SIGKILL (no shutdown: a crash); resolves once it exited. */
  async kill(i: number): Promise<void> {
    const child = this.processes[i];
    this.processes[i] = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }

  /** Start server `i` again (same ports and store) and wait until it is back in the meta group. */
  async restart(i: number): Promise<void> {
    if (this.processes[i]) throw new Error(`${this.server(i).name} is running`);
    this.spawn(i);
    await this.waitReady();
  }

  /**
   * Until every running server answers its monitoring endpoint, names the same meta leader, and
   * that leader counts each of them current: JetStream requests are served from then on.
   */
  async waitReady(timeoutMs = START_TIMEOUT_MS): Promise<void> {
    const ready = async (): Promise<boolean> => {
      const running = this.servers.filter((_, i) => this.running(i));
      const views = await Promise.all(running.map((s) => this.jsz(s)));
      const leader = views[0]?.meta_cluster?.leader;
      if (!leader || views.some((v) => v?.meta_cluster?.leader !== leader)) return false;
      const leaderView = views[running.findIndex((s) => s.name === leader)];
      const current = new Set([leader, ...(leaderView?.meta_cluster?.replicas ?? []).filter((r) => r.current).map((r) => r.name)]);
      return running.every((s) => current.has(s.name));
    };
    await this.waitLogged(ready, timeoutMs, `the NATS cluster ${this.name} to have a JetStream meta leader every running server follows`);
  }

  /**
   * Until every stream of `nc`'s account, and each of `consumers`, has a leader that counts each of
   * its replicas current: a restarted server has caught up with what it missed. The meta group
   * (`waitReady`) comes back first; an operator restarting servers one by one waits for this
   * before the next, as nats-server 2.9 may stall a stream whose other replicas are still behind.
   */
  async waitCurrent(nc: NatsConnection, consumers: ReadonlyArray<{ stream: string; name: string }>, timeoutMs = START_TIMEOUT_MS): Promise<void> {
    const allCurrent = (cluster: { leader?: string; replicas?: Array<{ current: boolean; offline?: boolean }> } | undefined): boolean =>
      cluster?.leader !== undefined && cluster.leader !== '' && (cluster.replicas ?? []).every((r) => r.current && r.offline !== true);
    const current = async (): Promise<boolean> => {
      try {
        const jsm = await jetstreamManager(nc, { timeout: 2_000 });
        for await (const info of jsm.streams.list()) if (!allCurrent(info.cluster)) return false;
        for (const { stream, name } of consumers) if (!allCurrent((await jsm.consumers.info(stream, name)).cluster)) return false;
        return true;
      } catch {
        return false; // an election, or the server nc uses restarting
      }
    };
    await this.waitLogged(current, timeoutMs, `the streams and consumers of the NATS cluster ${this.name} to have their replicas current`);
  }

  /** `waitFor`, failing with each server's log tail in the message. */
  private async waitLogged(condition: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
    await waitFor(condition, timeoutMs, what).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}\n${this.logTails(15)}`);
    });
  }

  /** The last `lines` lines of each server's log, for a failure message. */
  logTails(lines: number): string {
    return this.servers.map((s) => `${s.name}:\n${logTail(this.logFile(s), lines)}`).join('\n');
  }

  /** The index of the server named `name` (a stream's leader, a connection's server). */
  indexOf(name: string): number {
    const i = this.servers.findIndex((s) => s.name === name);
    if (i < 0) throw new Error(`no server named '${name}' in the cluster ${this.name}`);
    return i;
  }

  /** The index of the server leading `stream`'s replicas; undefined while it has none (an election), or JetStream does not answer. */
  async streamLeader(nc: NatsConnection, stream: string): Promise<number | undefined> {
    try {
      const leader = (await (await jetstreamManager(nc, { timeout: 2_000 })).streams.info(stream)).cluster?.leader;
      return leader ? this.indexOf(leader) : undefined;
    } catch {
      return undefined;
    }
  }

  /** The index of the server leading a consumer's replicas; undefined while it has none, or JetStream does not answer. */
  async consumerLeader(nc: NatsConnection, stream: string, consumer: string): Promise<number | undefined> {
    try {
      const leader = (await (await jetstreamManager(nc, { timeout: 2_000 })).consumers.info(stream, consumer)).cluster?.leader;
      return leader ? this.indexOf(leader) : undefined;
    } catch {
      return undefined;
    }
  }

  /** The indexes of the running servers holding a client connection named `clientName` (another process's, seen through each server's `/connz`). */
  async serversOfClient(clientName: string): Promise<number[]> {
    const found: number[] = [];
    for (const [i, server] of this.servers.entries()) {
      if (!this.running(i)) continue;
      const connz = await getJson<{ connections?: Array<{ name?: string }> }>(`http://127.0.0.1:${server.httpPort}/connz?limit=1024`);
      if (connz?.connections?.some((c) => c.name === clientName)) found.push(i);
    }
    return found;
  }

  /** Stop every server (SIGKILL) and remove the directory (kept with RXA_KEEP_TEST_DATA). */
  async stop(): Promise<void> {
    await Promise.all(this.servers.map((_, i) => this.kill(i)));
    process.removeListener('exit', this.killOnExit);
    if (!process.env.RXA_KEEP_TEST_DATA) rmSync(this.dir, { recursive: true, force: true });
  }

  private server(i: number): ClusterServer {
    const server = this.servers[i];
    if (!server) throw new Error(`no server ${i}: the cluster has ${this.servers.length}`);
    return server;
  }

  private spawn(i: number): void {
    const server = this.server(i);
    const routes = this.servers.filter((s) => s !== server).map((s) => `nats://127.0.0.1:${s.clusterPort}`);
    const out = openSync(this.logFile(server), 'a');
    const args = ['-a', '127.0.0.1', '-p', String(server.port), '-m', String(server.httpPort), '-js', '-sd', server.storeDir, '--server_name', server.name];
    args.push('--cluster_name', this.name, '--cluster', `nats://127.0.0.1:${server.clusterPort}`, '--routes', routes.join(','));
    this.processes[i] = spawn(NATS_SERVER, args, { stdio: ['ignore', out, out], env: { ...process.env, PATH: NATS_SERVER_PATH } });
  }

  private jsz(server: ClusterServer): Promise<Jsz | undefined> {
    return getJson<Jsz>(`http://127.0.0.1:${server.httpPort}/jsz`);
  }

  private logFile(server: ClusterServer): string {
    return join(this.dir, `${server.name}.log`);
  }
}

/** A cluster for this test file: started in `beforeAll`, stopped in `afterAll` (also when a test failed). */
export function useNatsCluster(name: string, size = 3): { readonly cluster: NatsCluster } {
  let cluster: NatsCluster | undefined;
  beforeAll(async () => {
    cluster = await NatsCluster.start(name, size);
  }, 2 * START_TIMEOUT_MS);
  afterAll(async () => {
    await cluster?.stop();
  });
  return {
    get cluster() {
      if (!cluster) throw new Error('the cluster is started in beforeAll: use it in a hook or a test');
      return cluster;
    },
  };
}

/** A monitoring endpoint's JSON; undefined when the server does not answer. */
async function getJson<T>(url: string): Promise<T | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return response.ok ? ((await response.json()) as T) : undefined;
  } catch {
    return undefined;
  }
}
