import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import { freePorts } from './free-ports.ts';
import { waitFor } from './helpers.ts';
import { logTail } from './log-tail.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CLICKHOUSE_SERVER = '/usr/sbin/clickhouse-server';
const ZOOKEEPER_JAR = '/usr/share/java/zookeeper.jar';
const START_TIMEOUT_MS = 60_000;

/** The cluster's name in the servers' `remote_servers`. */
export const CLUSTER_NAME = 'rxa_replicas';

export interface Replica {
  /** Its `{replica}` macro. */
  readonly name: string;
  /** Its HTTP interface, for the pipeline's config and clients. */
  readonly url: string;
  readonly httpPort: number;
  readonly tcpPort: number;
  readonly interserverPort: number;
  readonly dir: string;
}

/**
 * A replicated ClickHouse of a test's own: ZooKeeper (Debian's zookeeper package, its
 * `QuorumPeerMain` run directly) and two clickhouse-server processes (the installed 18.16), one
 * shard of two replicas, internal replication, macros `{shard}`/`{replica}` and a distributed DDL
 * queue. Every port is free when picked, every directory and config file is generated under one
 * temporary directory, so the shared servers are never touched. Started with `start`, and stopped
 * by `stop` (every process it started, SIGKILL; also on process exit if a test never got there).
 */
export class ClickHouseCluster {
  private zooKeeper: ChildProcess | undefined;
  private readonly servers: Array<ChildProcess | undefined>;
  private readonly killOnExit = (): void => this.killAll();

  private constructor(
    readonly dir: string,
    readonly zooKeeperPort: number,
    readonly replicas: readonly Replica[],
  ) {
    this.servers = replicas.map(() => undefined);
  }

  /** Install ZooKeeper if missing (scripts/services.sh --zookeeper), start it and both replicas, wait until each sees ZooKeeper. */
  static async start(): Promise<ClickHouseCluster> {
    if (!existsSync(ZOOKEEPER_JAR)) execFileSync('bash', [join(ROOT, 'scripts/services.sh'), '--zookeeper'], { stdio: 'inherit' });
    const dir = mkdtempSync(join(tmpdir(), 'rxa-chcluster-'));
    const ports = await freePorts(7);
    const replicas = [1, 2].map((n, i): Replica => {
      const [httpPort, tcpPort, interserverPort] = ports.slice(1 + i * 3, 4 + i * 3) as [number, number, number];
      return { name: `replica${n}`, url: `http://127.0.0.1:${httpPort}`, httpPort, tcpPort, interserverPort, dir: join(dir, `replica${n}`) };
    });
    const cluster = new ClickHouseCluster(dir, ports[0]!, replicas);
    process.once('exit', cluster.killOnExit);
    try {
      cluster.writeConfigs();
      await cluster.startZooKeeper();
      await Promise.all(replicas.map((_, i) => cluster.startReplica(i)));
      await cluster.checkDistributedDdl();
      return cluster;
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  }

  /** Start replica `i` (again: same ports, data and config) and wait until it answers and sees ZooKeeper. */
  async startReplica(i: number): Promise<void> {
    const replica = this.replica(i);
    if (this.servers[i]) throw new Error(`${replica.name} is already running`);
    const out = openSync(join(replica.dir, 'log', 'stdout.log'), 'a');
    this.servers[i] = spawn(CLICKHOUSE_SERVER, [`--config-file=${join(replica.dir, 'config.xml')}`], { stdio: ['ignore', out, out] });
    await waitFor(() => this.answers(replica), START_TIMEOUT_MS, `${replica.name} (${replica.url}) to answer and reach ZooKeeper`).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}\n${logTail(join(replica.dir, 'log', 'err.log'), 20)}`);
    });
  }

  /** Stop replica `i`: SIGKILL by default (a crash), or SIGTERM (a shutdown); resolves once it exited. */
  async stopReplica(i: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const server = this.servers[i];
    this.servers[i] = undefined;
    if (server) await stopProcess(server, signal);
  }

  /** Stop every process this cluster started and remove its directory (kept with RXA_KEEP_TEST_DATA). */
  async stop(): Promise<void> {
    await Promise.all(this.replicas.map((_, i) => this.stopReplica(i)));
    if (this.zooKeeper) await stopProcess(this.zooKeeper, 'SIGKILL');
    this.zooKeeper = undefined;
    process.removeListener('exit', this.killOnExit);
    if (!process.env.RXA_KEEP_TEST_DATA) rmSync(this.dir, { recursive: true, force: true });
  }

  private replica(i: number): Replica {
    const replica = this.replicas[i];
    if (!replica) throw new Error(`no replica ${i}: the cluster has ${this.replicas.length}`);
    return replica;
  }

  private killAll(): void {
    for (const child of [...this.servers, this.zooKeeper]) if (child?.exitCode === null) child.kill('SIGKILL');
  }

  private async startZooKeeper(): Promise<void> {
    const zkDir = join(this.dir, 'zookeeper');
    const out = openSync(join(zkDir, 'zookeeper.log'), 'a');
    // Serial GC and the client compiler: a small heap that starts fast on a busy two-core machine.
    this.zooKeeper = spawn(
      'java',
      [
        '-Xmx128m',
        '-XX:+UseSerialGC',
        '-XX:TieredStopAtLevel=1',
        '-cp',
        ZOOKEEPER_JAR,
        'org.apache.zookeeper.server.quorum.QuorumPeerMain',
        join(zkDir, 'zoo.cfg'),
      ],
      { stdio: ['ignore', out, out] },
    );
    // Serving, not only listening: `srvr` names the mode once it serves (`ruok` answers earlier).
    // A ClickHouse 18.16 started before that loses its distributed DDL worker (the handshake is
    // refused, the worker's thread ends or the server crashes), and ON CLUSTER queries hang.
    const serving = async (): Promise<boolean> => (await fourLetterWord(this.zooKeeperPort, 'srvr')).includes('Mode: standalone');
    await waitFor(serving, START_TIMEOUT_MS, `ZooKeeper on port ${this.zooKeeperPort} to serve`).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}\n${logTail(join(zkDir, 'zookeeper.log'), 20)}`);
    });
  }

  /** An ON CLUSTER query every replica runs: their distributed DDL workers are up (they fail alone otherwise, and such queries hang). */
  private async checkDistributedDdl(): Promise<void> {
    const query = `CREATE DATABASE IF NOT EXISTS rxa_ddl_check ON CLUSTER ${CLUSTER_NAME}`;
    const response = await fetch(`${this.replica(0).url}/?distributed_ddl_task_timeout=30`, { method: 'POST', body: query });
    if (!response.ok) throw new Error(`the replicas' distributed DDL does not work: ${await response.text()}`);
  }

  /** Answers /ping and a query on system.zookeeper (which fails until the session is up). */
  private async answers(replica: Replica): Promise<boolean> {
    try {
      const ping = await fetch(`${replica.url}/ping`, { signal: AbortSignal.timeout(2_000) });
      if (!ping.ok) return false;
      const zk = await fetch(replica.url, {
        method: 'POST',
        body: `SELECT count() FROM system.zookeeper WHERE path = '/'`,
        signal: AbortSignal.timeout(2_000),
      });
      return zk.ok;
    } catch {
      return false;
    }
  }

  private writeConfigs(): void {
    const zkDir = join(this.dir, 'zookeeper');
    mkdirSync(join(zkDir, 'data'), { recursive: true });
    // tickTime 500: sessions of 1-10 s, so a killed replica's session (and its is_active node) ends soon.
    writeFileSync(
      join(zkDir, 'zoo.cfg'),
      [
        'tickTime=500',
        `dataDir=${join(zkDir, 'data')}`,
        `clientPort=${this.zooKeeperPort}`,
        'clientPortAddress=127.0.0.1',
        'admin.enableServer=false',
        '4lw.commands.whitelist=srvr',
        '',
      ].join('\n'),
    );
    // replicated_max_ratio_of_wrong_parts: a replica killed while fetching a part has it on disk but
    // not yet in ZooKeeper; at start ClickHouse sets such a part aside and fetches it again, but
    // refuses to start when they hold more than half a table's rows, which one part of these small
    // tables does. Production tables hold far more parts.
    const replicasXml = this.replicas.map((r) => `<replica><host>127.0.0.1</host><port>${r.tcpPort}</port></replica>`).join('');
    for (const replica of this.replicas) {
      for (const sub of ['data', 'tmp', 'log', 'user_files']) mkdirSync(join(replica.dir, sub), { recursive: true });
      writeFileSync(join(replica.dir, 'users.xml'), USERS_XML);
      writeFileSync(
        join(replica.dir, 'config.xml'),
        `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>${join(replica.dir, 'log', 'server.log')}</log><errorlog>${join(replica.dir, 'log', 'err.log')}</errorlog></logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>${replica.httpPort}</http_port>
  <tcp_port>${replica.tcpPort}</tcp_port>
  <interserver_http_port>${replica.interserverPort}</interserver_http_port>
  <interserver_http_host>127.0.0.1</interserver_http_host>
  <path>${join(replica.dir, 'data')}/</path>
  <tmp_path>${join(replica.dir, 'tmp')}/</tmp_path>
  <user_files_path>${join(replica.dir, 'user_files')}/</user_files_path>
  <users_config>${join(replica.dir, 'users.xml')}</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>67108864</mark_cache_size>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
  <remote_servers><${CLUSTER_NAME}><shard><internal_replication>true</internal_replication>${replicasXml}</shard></${CLUSTER_NAME}></remote_servers>
  <zookeeper><node><host>127.0.0.1</host><port>${this.zooKeeperPort}</port></node><session_timeout_ms>5000</session_timeout_ms></zookeeper>
  <macros><shard>01</shard><replica>${replica.name}</replica></macros>
  <distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>
  <merge_tree><replicated_max_ratio_of_wrong_parts>1</replicated_max_ratio_of_wrong_parts></merge_tree>
</yandex>
`,
      );
    }
  }
}

/** The default user without a password, from localhost; fewer background threads than the package's defaults. */
const USERS_XML = `<?xml version="1.0"?>
<yandex>
  <profiles><default><background_pool_size>4</background_pool_size></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
`;

/** A cluster for this test file: started in `beforeAll`, stopped in `afterAll` (also when a test failed). */
export function useClickHouseCluster(): { readonly cluster: ClickHouseCluster } {
  let cluster: ClickHouseCluster | undefined;
  beforeAll(async () => {
    cluster = await ClickHouseCluster.start();
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

/** ZooKeeper's four-letter command over its client port; '' when it does not answer. */
function fourLetterWord(port: number, word: string): Promise<string> {
  return new Promise((done) => {
    let answer = '';
    const socket = createConnection({ host: '127.0.0.1', port }, () => socket.end(word));
    socket.setTimeout(2_000, () => socket.destroy());
    socket.on('data', (chunk) => {
      answer += chunk.toString();
    });
    socket.on('close', () => done(answer));
    socket.on('error', () => done(''));
  });
}

async function stopProcess(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  await exited;
}
