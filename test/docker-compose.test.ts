/**
 * docker-compose.yml cannot run here (no Docker), so what can be checked without it is: the file
 * parses, the single-node demo and the `cluster` profile are separate (naming grafana-cluster
 * starts only the cluster), every service's RXA_* environment is a valid rxa configuration, every
 * mounted file exists, the ClickHouse and Keeper configuration files agree with the services
 * and with what rxa checks at start (the cluster, the shard and replica macros, Keeper's address),
 * and the traces go from the generator and the pipeline to a Tempo that each Grafana reads.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { configFromEnv } from '../core/config.ts';
import { tracingRequest } from '../core/tracing.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface Service {
  image?: string;
  profiles?: string[];
  hostname?: string;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  depends_on?: Record<string, unknown>;
}
const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, Service> };
const services = compose.services;
const xml = (file: string): Record<string, unknown> => new XMLParser({ parseTagValue: false }).parse(readFileSync(join(ROOT, file), 'utf8'));

/** A service and everything it depends on, transitively: what `docker compose up <name>` starts. */
function startedBy(name: string, seen = new Set<string>()): Set<string> {
  if (seen.has(name)) return seen;
  seen.add(name);
  for (const dependency of Object.keys(services[name]?.depends_on ?? {})) startedBy(dependency, seen);
  return seen;
}

const cluster = Object.keys(services).filter((name) => services[name]?.profiles?.includes('cluster'));

describe('docker-compose.yml', () => {
  it('keeps the single-node demo as it is, and starts the whole cluster profile from grafana-cluster', () => {
    expect(Object.keys(services).filter((name) => !services[name]?.profiles)).toEqual([
      'nats',
      'clickhouse',
      'grafana',
      'tempo',
      'deps',
      'pipeline',
      'generator',
    ]);
    expect([...startedBy('grafana-cluster')].sort()).toEqual([...cluster, 'deps'].sort());
    expect(cluster.sort()).toEqual(
      [
        'nats-1',
        'nats-2',
        'nats-3',
        'keeper',
        'clickhouse-1',
        'clickhouse-2',
        'pipeline-1',
        'pipeline-2',
        'generator-cluster',
        'tempo-cluster',
        'grafana-cluster',
      ].sort(),
    );
  });

  it("gives every Node service an environment rxa accepts: the cluster's lists all three NATS servers, R3 streams and the ClickHouse cluster", () => {
    for (const [name, service] of Object.entries(services)) {
      if (!service.environment || !Object.keys(service.environment).some((k) => k.startsWith('RXA_'))) continue;
      expect(() => configFromEnv(service.environment), name).not.toThrow();
    }
    for (const name of ['pipeline-1', 'pipeline-2']) {
      const config = configFromEnv(services[name]!.environment);
      expect(config.nats.servers, name).toEqual(['nats-1:4222', 'nats-2:4222', 'nats-3:4222']);
      expect(config.nats.streamReplicas, name).toBe(3);
      expect(config.clickhouse.cluster, name).toBe('rxa');
      expect(services[name]!.command, name).not.toContain('--partitions');
    }
    // The generator may create the stream first: with the same replicas.
    expect(configFromEnv(services['generator-cluster']!.environment).nats).toEqual({
      servers: ['nats-1:4222', 'nats-2:4222', 'nats-3:4222'],
      streamReplicas: 3,
    });
    // Each pipeline process writes through a replica of its own.
    expect(['pipeline-1', 'pipeline-2'].map((name) => configFromEnv(services[name]!.environment).clickhouse.url)).toEqual([
      'http://clickhouse-1:8123',
      'http://clickhouse-2:8123',
    ]);
  });

  it('mounts only files that exist', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const volume of service.volumes ?? []) {
        const [source] = volume.split(':');
        if (source!.startsWith('.')) expect(existsSync(join(ROOT, source!)), `${name}: ${volume}`).toBe(true);
      }
    }
  });

  it('routes each NATS server to all three, with a name of its own', () => {
    const nats = ['nats-1', 'nats-2', 'nats-3'];
    for (const name of nats) {
      const args = services[name]!.command!;
      const argumentOf = (flag: string): string | undefined => args[args.indexOf(flag) + 1];
      expect(argumentOf('--server_name'), name).toBe(name);
      expect(argumentOf('--cluster_name'), name).toBe('rxa');
      expect(argumentOf('--routes')?.split(','), name).toEqual(nats.map((n) => `nats://${n}:6222`));
      expect(args, name).toContain('-js');
    }
  });

  it('describes the ClickHouse cluster rxa is told to use: its replicas, their macros and Keeper', () => {
    const config = xml('deploy/cluster/clickhouse-cluster.xml') as {
      clickhouse: {
        remote_servers: Record<string, { shard: { internal_replication: string; replica: Array<{ host: string; port: string }> } }>;
        zookeeper: { node: { host: string; port: string } };
        distributed_ddl: { path: string };
      };
    };
    const { remote_servers, zookeeper, distributed_ddl } = config.clickhouse;
    const name = configFromEnv(services['pipeline-1']!.environment).clickhouse.cluster!;
    expect(Object.keys(remote_servers)).toEqual([name]);
    const shard = remote_servers[name]!.shard;
    expect(shard.internal_replication).toBe('true');
    const replicas = ['clickhouse-1', 'clickhouse-2'];
    expect(shard.replica.map((r) => r.host)).toEqual(replicas);
    expect(distributed_ddl.path).not.toBe('');
    for (const replica of replicas) {
      const service = services[replica]!;
      expect(service.hostname).toBe(replica);
      const mounted = (target: string): string => service.volumes!.find((v) => v.split(':')[1] === target)!.split(':')[0]!;
      expect(mounted('/etc/clickhouse-server/config.d/cluster.xml')).toBe('./deploy/cluster/clickhouse-cluster.xml');
      const macros = (xml(mounted('/etc/clickhouse-server/config.d/macros.xml')) as { clickhouse: { macros: { shard: string; replica: string } } }).clickhouse
        .macros;
      expect(macros).toEqual({ shard: '1', replica });
    }
    const keeper = (
      xml('deploy/cluster/keeper.xml') as { clickhouse: { keeper_server: { tcp_port: string; raft_configuration: { server: { hostname: string } } } } }
    ).clickhouse.keeper_server;
    expect(zookeeper.node).toEqual({ host: 'keeper', port: keeper.tcp_port });
    expect(keeper.raft_configuration.server.hostname).toBe('keeper');
    expect(services.keeper!.volumes).toContain('./deploy/cluster/keeper.xml:/etc/clickhouse-keeper/keeper_config.xml:ro');
  });

  it('points each Grafana at its own ClickHouse', () => {
    expect(readFileSync(join(ROOT, 'grafana/provisioning/datasources/clickhouse.yaml'), 'utf8')).toContain('host: $CLICKHOUSE_HOST');
    expect(services.grafana!.environment!.CLICKHOUSE_HOST).toBe('clickhouse');
    expect(services['grafana-cluster']!.environment!.CLICKHOUSE_HOST).toBe('clickhouse-1');
  });

  it("sends the generator's and the pipeline's spans to a Tempo that each Grafana reads", () => {
    const tempo = parse(readFileSync(join(ROOT, 'deploy/tempo.yaml'), 'utf8')) as {
      server: { http_listen_port: number };
      distributor: { receivers: { otlp: { protocols: { http: { endpoint: string } } } } };
    };
    const otlpPort = tempo.distributor.receivers.otlp.protocols.http.endpoint.split(':')[1];
    const setups = [
      { tempo: 'tempo', grafana: 'grafana', senders: ['pipeline', 'generator'] },
      { tempo: 'tempo-cluster', grafana: 'grafana-cluster', senders: ['pipeline-1', 'pipeline-2', 'generator-cluster'] },
    ];
    for (const setup of setups) {
      const service = services[setup.tempo]!;
      const configFile = service.command!.find((arg) => arg.startsWith('-config.file='))!.split('=')[1];
      expect(service.volumes).toContain(`./deploy/tempo.yaml:${configFile}:ro`);
      for (const sender of setup.senders) {
        const environment = services[sender]!.environment!;
        expect(environment.OTEL_EXPORTER_OTLP_ENDPOINT, sender).toBe(`http://${setup.tempo}:${otlpPort}`);
        expect(environment.OTEL_SERVICE_NAME, sender).toMatch(/^rxa-(pipeline|generator)$/);
        // What rxa makes of the variables: OTLP export on.
        expect(tracingRequest(environment), sender).toEqual({ exporters: ['otlp'], warnings: [] });
      }
      expect(services[setup.grafana]!.environment!.TEMPO_URL).toBe(`http://${setup.tempo}:${tempo.server.http_listen_port}`);
      expect(Object.keys(services[setup.grafana]!.depends_on!)).toContain(setup.tempo);
    }
    const datasources = parse(readFileSync(join(ROOT, 'grafana/provisioning/datasources/tempo.yaml'), 'utf8')) as {
      datasources: Array<{ type: string; uid: string; url: string }>;
    };
    expect(datasources.datasources).toEqual([expect.objectContaining({ type: 'tempo', uid: 'tempo', url: '$TEMPO_URL' })]);
  });
});
