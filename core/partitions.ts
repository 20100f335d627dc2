import type { PipelineDefinition } from './pipeline.ts';

/**
 * What one runner of a pipeline reads and where it keeps its progress. A partitioned pipeline has
 * one per partition; an unpartitioned one has exactly one, named as before partitions existed, so
 * existing deployments keep their consumer and checkpoint.
 */
export interface RunTarget {
  /** `undefined`: the pipeline is not partitioned. */
  readonly partition: number | undefined;
  /** Durable consumer: `<consumer>` or `<consumer>_p<p>`. */
  readonly durable: string;
  readonly filterSubject: string | undefined;
  /** Object store key of the latest checkpoint: `pipeline.<name>` or `pipeline.<name>.p<p>`. */
  readonly checkpointKey: string;
  /** Written to `rxa_partition` in every row (0 when unpartitioned). */
  readonly rowPartition: number;
  /** For logs and connection names: `clickstream` or `clickstream/p3`. */
  readonly label: string;
}

export function runTarget(definition: PipelineDefinition, partition?: number): RunTarget {
  const { source, name } = definition;
  const consumer = source.consumer ?? name;
  if (!source.partitions) {
    if (partition !== undefined) throw new Error(`pipeline '${name}' is not partitioned: there is no partition ${partition}`);
    return { partition, durable: consumer, filterSubject: source.filterSubject, checkpointKey: pipelineCheckpointKey(name), rowPartition: 0, label: name };
  }
  const { count } = source.partitions;
  if (partition === undefined) throw new Error(`pipeline '${name}' has ${count} partitions: say which one to run`);
  if (!(Number.isInteger(partition) && partition >= 0 && partition < count)) {
    throw new Error(`pipeline '${name}' has partitions 0..${count - 1}, not ${partition}`);
  }
  return {
    partition,
    durable: `${consumer}_p${partition}`,
    filterSubject: source.partitions.subject(partition),
    checkpointKey: pipelineCheckpointKey(name, partition),
    rowPartition: partition,
    label: `${name}/p${partition}`,
  };
}

/** Every runner of a pipeline: one per partition, or the single unpartitioned one. */
export function allRunTargets(definition: PipelineDefinition): RunTarget[] {
  const count = definition.source.partitions?.count;
  if (count === undefined) return [runTarget(definition)];
  return Array.from({ length: count }, (_, p) => runTarget(definition, p));
}

/** The object store key of a pipeline's (or one of its partitions') latest checkpoint. */
export function pipelineCheckpointKey(pipeline: string, partition?: number): string {
  return partition === undefined ? `pipeline.${pipeline}` : `pipeline.${pipeline}.p${partition}`;
}

/**
 * `--partitions 0,2,4-7` → [0, 2, 4, 5, 6, 7] for a pipeline with `count` partitions: sorted,
 * de-duplicated, each in 0..count-1.
 */
export function parsePartitionList(text: string, count: number): number[] {
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const match = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!match) throw new Error(`'${text}' is not a partition list (e.g. 0,1 or 0-3)`);
    const from = Number(match[1]);
    const to = match[2] === undefined ? from : Number(match[2]);
    if (from > to) throw new Error(`'${part.trim()}': a range goes up (e.g. 0-3)`);
    if (to >= count) throw new Error(`partition ${to} does not exist: the pipeline has partitions 0..${count - 1}`);
    for (let p = from; p <= to; p++) out.add(p);
  }
  return [...out].sort((a, b) => a - b);
}

/**
 * The partitions a command works on: those listed (`--partitions 0,1`), or `undefined` for all of
 * them. A list for an unpartitioned pipeline is an error.
 */
export function selectPartitions(definition: PipelineDefinition, list: string | undefined): number[] | undefined {
  if (list === undefined) return undefined;
  const count = definition.source.partitions?.count;
  if (count === undefined) throw new Error(`pipeline '${definition.name}' is not partitioned (no source.partitions): drop --partitions`);
  return parsePartitionList(list, count);
}
