/**
 * The schema registry on the real NATS: `rxa schema push` and `check` (in-process and through the
 * CLI), `rxa run` refusing an incompatible schema, and bad input to the registry.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Kvm } from '@nats-io/kv';
import { describe, expect, it } from 'vitest';
import { checkRegisteredSchema, pushSchema } from '../cli/schema.ts';
import { SchemaRegistry, schemaBucket } from '../core/schema-registry.ts';
import { type ContractVariant, contractPipeline } from './fixtures/contract-pipeline.ts';
import { useTestServers } from './support/test-servers.ts';

const servers = useTestServers('schemas');
const run = promisify(execFile);

/** `rxa <args>` on the fixture's variant: exit code and output. */
async function rxa(id: string, variant: ContractVariant, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['bin/rxa.js', ...args], {
      env: { ...process.env, RXA_TEST_ID: id, RXA_TEST_CONTRACT: variant, RXA_CHECKPOINT_BUCKET: servers.bucket, RXA_CLICKHOUSE_DB: servers.database },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('schema registry', () => {
  it('push registers a version with history, skips an unchanged one, and takes compatible changes', async () => {
    const id = `${servers.id}a`;
    const first = await pushSchema(servers.config, contractPipeline(id, 'v1'));
    expect(first.revision).toBeGreaterThan(0);
    expect(first.check.lines).toEqual([`'payment_${id}' has no registered schema: version 1 is compatible (register it with rxa schema push)`]);
    expect((await pushSchema(servers.config, contractPipeline(id, 'v1'))).revision).toBeUndefined();

    const added = await pushSchema(servers.config, contractPipeline(id, 'optional-added'));
    expect(added.check.compatible).toBe(true);
    expect(added.check.lines.slice(1)).toEqual(['  ✓ method: field added (optional)']);
    const registry = await SchemaRegistry.open(servers.nc, schemaBucket(servers.bucket));
    const history = await registry.history(`payment_${id}`);
    expect(history.map((h) => [h.version, h.revision, h.pipeline, Object.keys((h.schema.properties as object) ?? {})])).toEqual([
      [1, first.revision, `payments_${id}`, ['id', 'ts', 'amount_cents', 'note']],
      [1, added.revision, `payments_${id}`, ['id', 'ts', 'amount_cents', 'note', 'method']],
    ]);

    // A breaking change is refused under the contract's mode (backward), registered with --force, and passes under forward.
    const refused = await pushSchema(servers.config, contractPipeline(id, 'required-added'));
    expect(refused).toMatchObject({ revision: undefined, check: { compatible: false, mode: 'backward' } });
    expect((await checkRegisteredSchema(servers.config, contractPipeline(id, 'required-added'), 'forward')).compatible).toBe(true);
  });

  it('schema check exits 1 with a readable diff on a breaking change, rxa run refuses it and names the fix; a new version with an upcaster passes', async () => {
    const id = `${servers.id}b`;
    await pushSchema(servers.config, contractPipeline(id, 'v1'));
    const file = 'test/fixtures/contract-pipeline.ts';

    const check = await rxa(id, 'required-added', 'schema', 'check', file);
    expect(check.code).toBe(1);
    expect(check.stdout).toContain(`'payment_${id}' version 1: 1 change not backward-compatible with version 1 registered`);
    expect(check.stdout).toContain('✗ method: field added (required) — breaks backward');

    const started = await rxa(id, 'required-added', 'run', file, '--quiet');
    expect(started.code).toBe(1);
    expect(started.stderr).toContain(`pipeline payments_${id}: its event schema is not backward-compatible with the registered one; not starting.`);
    expect(started.stderr).toContain('✗ method: field added (required)');
    expect(started.stderr).toMatch(/Fix: .*\n.*contract: \{ version: 2, previous: \{ 1: upcast\(/);
    expect(started.stderr).toContain(`rxa schema push ${file}`);

    // The rename as a new version: events of version 1 are read by its declaration and upcaster.
    const v2 = await checkRegisteredSchema(servers.config, contractPipeline(id, 'v2'));
    expect(v2.compatible).toBe(true);
    expect(v2.lines).toContain('  · amount_cents: field removed (was required) — breaks forward');
    const pushed = await rxa(id, 'v2', 'schema', 'push', file);
    expect(pushed).toMatchObject({ code: 0 });
    expect(pushed.stdout).toMatch(new RegExp(`registered 'payment_${id}' version 2 \\(backward\\), revision \\d+`));
    // Now the registry holds version 2: a pipeline still at version 1 would dead-letter its events.
    const behind = await checkRegisteredSchema(servers.config, contractPipeline(id, 'v1'));
    expect(behind.compatible).toBe(false);
    expect(behind.lines[0]).toMatch(/is newer than this pipeline's version 1: its events would be dead-lettered/);
  });

  it('bad input: an entry that is not JSON or not a JSON Schema, an unknown mode, a schema JSON Schema cannot hold', async () => {
    const id = `${servers.id}c`;
    const kv = await new Kvm(servers.nc).open(schemaBucket(servers.bucket));
    const type = `payment_${id}`;
    await kv.put(type, '{"type": ');
    await expect(checkRegisteredSchema(servers.config, contractPipeline(id, 'v1'))).rejects.toThrow(
      new RegExp(`^schema registry entry '${type}' \\(bucket ${schemaBucket(servers.bucket)}, revision \\d+\\) is not JSON: `),
    );
    const registration = { type, version: 1, compatibility: 'backward', pipeline: 'p', registeredAt: new Date().toISOString() };
    await kv.put(type, JSON.stringify({ ...registration, schema: { type: 'object', properties: { id: { type: 'text' } } } }));
    await expect(checkRegisteredSchema(servers.config, contractPipeline(id, 'v1'))).rejects.toThrow(/is not a valid JSON Schema: properties\.id\.type: /);
    await kv.put(type, JSON.stringify({ ...registration, compatibility: 'sideways', schema: {} }));
    await expect(checkRegisteredSchema(servers.config, contractPipeline(id, 'v1'))).rejects.toThrow(/is not a registration: compatibility: /);

    const registry = await SchemaRegistry.open(servers.nc, schemaBucket(servers.bucket));
    await expect(registry.put({ ...registration, compatibility: 'backward', schema: { required: 'id' } })).rejects.toThrow(
      /the schema of 'payment_\w+' version 1 is not a valid JSON Schema: required: /,
    );

    const mode = await rxa(id, 'v1', 'schema', 'check', 'test/fixtures/contract-pipeline.ts', '--mode', 'sideways');
    expect(mode.code).toBe(1);
    expect(mode.stderr).toContain("unknown compatibility mode 'sideways': expected backward, forward, full, none");
  });
});
