import type { RuntimeConfig } from '../core/config.ts';
import { connectNats } from '../core/connections.ts';
import { type ContractCheck, checkContract } from '../core/contract-check.ts';
import { resolveContract } from '../core/event-contract.ts';
import type { CompatibilityMode, PipelineDefinition } from '../core/pipeline.ts';
import { SchemaRegistry, schemaBucket } from '../core/schema-registry.ts';

/** The pipeline's schema against the latest registered version of its event type. */
export async function checkRegisteredSchema(config: RuntimeConfig, definition: PipelineDefinition, mode?: CompatibilityMode): Promise<ContractCheck> {
  const nc = await connectNats(config, `rxa:schema:${definition.name}`);
  try {
    const registry = await SchemaRegistry.open(nc, schemaBucket(config.checkpointBucket), config.nats.streamReplicas);
    return checkContract(definition, await registry.latest(resolveContract(definition).type), mode);
  } finally {
    await nc.close();
  }
}

export interface PushResult {
  readonly check: ContractCheck;
  /** The revision written; undefined when the registered version is the same schema, or the check refused it. */
  readonly revision: number | undefined;
}

/**
 * `rxa schema push`: register the pipeline's current schema, unless it is incompatible with the
 * registered one under the mode (`force` registers it anyway) or it is already registered as it is.
 */
export async function pushSchema(
  config: RuntimeConfig,
  definition: PipelineDefinition,
  options: { force?: boolean; mode?: CompatibilityMode } = {},
): Promise<PushResult> {
  const nc = await connectNats(config, `rxa:schema:${definition.name}`);
  try {
    const registry = await SchemaRegistry.open(nc, schemaBucket(config.checkpointBucket), config.nats.streamReplicas);
    const contract = resolveContract(definition);
    const latest = await registry.latest(contract.type);
    const check = checkContract(definition, latest, options.mode);
    if (!check.compatible && !options.force) return { check, revision: undefined };
    if (latest && latest.version === check.version && JSON.stringify(latest.schema) === JSON.stringify(check.jsonSchema)) return { check, revision: undefined };
    const revision = await registry.put({
      type: contract.type,
      version: contract.version,
      compatibility: check.mode,
      pipeline: definition.name,
      registeredAt: new Date().toISOString(),
      schema: check.jsonSchema,
    });
    return { check, revision };
  } finally {
    await nc.close();
  }
}

/** What `rxa run` says when the registry refuses its schema: the check, and how to fix it. */
export function refusal(definition: PipelineDefinition, file: string, check: ContractCheck): string {
  const registered = check.registered?.version ?? 0;
  return [
    `pipeline ${definition.name}: its event schema is not ${check.mode}-compatible with the registered one; not starting.`,
    ...check.lines,
    `Fix: make the change ${check.mode}-compatible (add fields as optional, keep required ones), or make it a new version:`,
    `  contract: { version: ${Math.max(check.version, registered) + (check.version > registered ? 0 : 1)}, previous: { ${registered}: upcast(<version ${registered} schema>, (old) => <current event>) } }`,
    `then register it with: rxa schema push ${file}  (docs/contracts.md)`,
  ].join('\n');
}
