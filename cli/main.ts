import { Command, InvalidArgumentError } from 'commander';
import { importBundled } from '../bin/compiled.js';
import { version } from '../bin/version.js';
import { configFromEnv } from '../core/config.ts';
import { importFile, loadPipeline } from '../core/load-pipeline.ts';
import { selectPartitions } from '../core/partitions.ts';
import type { CompatibilityMode } from '../core/pipeline.ts';
import type { StreamPoint } from '../core/replay.ts';
import { CLICKSTREAM_PARTITIONS } from '../pipelines/clickstream.ts';
import { parseCompatibilityMode } from './compatibility-mode.ts';
import type { GeneratorRun } from './gen.ts';
import { nonNegativeInt, positiveInt } from './int-options.ts';

import { parseStreamPoint } from './stream-point.ts';

// Each command's module is imported when the command runs: `rxa run` then loads neither the
// generator (faker) nor the demo, which were ~35 MB of its RSS.

/** True when this module runs as compiled JavaScript (`rxa`), false under tsx. */
const compiled = import.meta.url.endsWith('.js');

/**
 * A pipeline file (TypeScript, anywhere): the compiled CLI compiles it as it imports it, sharing the
 * project's compiled modules (see bin/compiled.js); under tsx it is imported as it is.
 */
const load = (file: string) => loadPipeline(file, compiled ? importBundled : importFile);

const program = new Command()
  .name('rxa')
  .description(
    'Real-time analytics pipelines: NATS JetStream → RxJS → ClickHouse.\nConnections come from RXA_NATS_URL, RXA_CLICKHOUSE_URL, RXA_CLICKHOUSE_DB (see README).',
  )
  .version(version)
  .showHelpAfterError();

program
  .command('init')
  .description('create a project: a pipeline, its unit test (testPipeline, no servers), package.json with `npm test` and `npm start`, tsconfig.json, README.md')
  .argument('<dir>', 'the project directory: new or empty')
  .action(async (dir: string) => {
    const { initProject, nextSteps } = await import('./init.ts');
    console.log(nextSteps(initProject(dir)));
  });

program
  .command('run')
  .description('run a pipeline (a .ts file whose default export is definePipeline(...)) until Ctrl-C')
  .argument('<pipeline>', 'path to the pipeline file, e.g. pipelines/clickstream.ts')
  .option(
    '--partitions <list>',
    'partitioned pipelines: the partitions this process runs, e.g. 0,1 or 2-3 (default: shared with the other processes running it)',
  )
  .option('--quiet', 'no live status line')
  .option('--serve <port>', 'serve the live dashboards and Prometheus /metrics on http://127.0.0.1:<port>/', nonNegativeInt)
  .action(async (file: string, opts: { partitions?: string; quiet?: boolean; serve?: number }) => {
    const definition = await load(file);
    const partitions = selectPartitions(definition, opts.partitions);
    const config = configFromEnv();
    // Refuses a schema the registry's latest version of its event type cannot live with (docs/contracts.md).
    const { checkRegisteredSchema, refusal } = await import('./schema.ts');
    const check = await checkRegisteredSchema(config, definition);
    if (!check.compatible) throw new Error(refusal(definition, file, check));
    const { runCommand } = await import('./run.ts');
    await runCommand(definition, config, {
      signal: stopOnSignals().signal,
      ...(partitions ? { partitions } : {}),
      ...(opts.quiet ? { quiet: true } : {}),
      ...(opts.serve !== undefined ? { serve: opts.serve } : {}),
    });
  });

program
  .command('gen')
  .description('publish sample clickstream events to JetStream')
  .option('--rate <n>', 'events per second (wall clock); 0 = as fast as possible', nonNegativeInt, 200)
  .option('--count <n>', 'stop after n messages (default: run until Ctrl-C)', positiveInt)
  .option('--seed <n>', 'random seed', nonNegativeInt, 1)
  .option('--users <n>', 'user population size', positiveInt, 5_000)
  .option('--partitions <n>', 'publish to clickstream.events.<0..n-1> by user (the clickstream pipeline declares as many)', positiveInt, CLICKSTREAM_PARTITIONS)
  .option('--duplicates <fraction>', 'fraction of re-sent events', fraction, 0.01)
  .option('--out-of-order <fraction>', 'fraction of events moved back in time (within the watermark)', fraction, 0.02)
  .option('--late <fraction>', 'fraction of events far behind the watermark', fraction, 0.002)
  .option('--malformed <fraction>', 'fraction of malformed messages', fraction, 0.005)
  .action(async (opts: GeneratorRun) => {
    const controller = stopOnSignals();
    const { runGenerator } = await import('./gen.ts');
    await runGenerator(configFromEnv(), opts, controller.signal);
  });

program
  .command('demo')
  .description('create everything, then run the generator and the clickstream pipeline with a live status line')
  .option('--rate <n>', 'generated events per second', positiveInt, 200)
  .option('--port <n>', 'port of the live dashboards (0 = any free port)', nonNegativeInt, 3100)
  .action(async (opts: { rate: number; port: number }) => {
    const controller = stopOnSignals();
    const { runDemo } = await import('./demo.ts');
    await runDemo(configFromEnv(), { rate: opts.rate, port: opts.port, signal: controller.signal });
  });

program
  .command('replay')
  .description('reprocess a range of the stream through a pipeline (backfill); totals stay exactly as if processed once')
  .argument('<pipeline>', 'path to the pipeline file')
  .requiredOption('--from <point>', 'start: stream sequence or ISO time', parseStreamPoint)
  .option('--to <point>', 'end, inclusive: stream sequence or ISO time (default: the last message now)', parseStreamPoint)
  .option('--partitions <list>', 'partitioned pipelines: the partitions to replay, one after another, e.g. 0,1 (default: all)')
  .action(async (file: string, opts: { from: StreamPoint; to?: StreamPoint; partitions?: string }) => {
    const definition = await load(file);
    const partitions = selectPartitions(definition, opts.partitions);
    const controller = stopOnSignals();
    const range = { from: opts.from, ...(opts.to ? { to: opts.to } : {}) };
    const { runReplay } = await import('./replay.ts');
    for (const partition of partitions ?? allPartitions(definition.source.partitions?.count)) {
      if (controller.signal.aborted) break;
      const summary = await runReplay(configFromEnv(), definition, { ...range, ...(partition !== undefined ? { partition } : {}) }, controller.signal);
      console.log(JSON.stringify(partition === undefined ? summary : { partition, ...summary }));
    }
  });

program
  .command('reset')
  .description("forget a pipeline's checkpoints and consumer positions, of every partition (its tables are kept)")
  .argument('<pipeline>', 'path to the pipeline file')
  .action(async (file: string) => {
    const definition = await load(file);
    const { resetPipeline } = await import('./reset.ts');
    const consumers = await resetPipeline(configFromEnv(), definition, { signal: stopOnSignals().signal, log: (m) => console.error(m) });
    console.log(`reset ${definition.name}: checkpoints deleted; consumers deleted: ${consumers.length > 0 ? consumers.join(', ') : 'none'}`);
  });

const schema = program
  .command('schema')
  .description("a pipeline's event schema in the registry (NATS KV bucket <checkpoint bucket>_schemas, one key per event type)");

schema
  .command('push')
  .description("register the pipeline's current event schema (JSON Schema) unless it breaks the compatibility mode")
  .argument('<pipeline>', 'path to the pipeline file')
  .option('--mode <mode>', "backward, forward, full or none (default: the contract's, else backward)", parseCompatibilityMode)
  .option('--force', 'register it even when it is not compatible with the registered version')
  .action(async (file: string, opts: { mode?: CompatibilityMode; force?: boolean }) => {
    const definition = await load(file);
    const { pushSchema } = await import('./schema.ts');
    const { check, revision } = await pushSchema(configFromEnv(), definition, opts);
    for (const line of check.lines) console.log(line);
    if (revision !== undefined) console.log(`registered '${check.type}' version ${check.version} (${check.mode}), revision ${revision}`);
    else if (!check.compatible) {
      console.log(`not registered: not ${check.mode}-compatible (see docs/contracts.md; --force registers it anyway)`);
      process.exitCode = 1;
    } else console.log(`'${check.type}' version ${check.version} is registered as it is (revision ${check.registered?.revision}): nothing to push`);
  });

schema
  .command('check')
  .description("compare the pipeline's event schema with the latest registered version; exits 1 on a breaking change")
  .argument('<pipeline>', 'path to the pipeline file')
  .option('--mode <mode>', "backward, forward, full or none (default: the contract's, else backward)", parseCompatibilityMode)
  .action(async (file: string, opts: { mode?: CompatibilityMode }) => {
    const definition = await load(file);
    const { checkRegisteredSchema } = await import('./schema.ts');
    const check = await checkRegisteredSchema(configFromEnv(), definition, opts.mode);
    for (const line of check.lines) console.log(line);
    if (!check.compatible) process.exitCode = 1;
  });

program
  .command('dashboards')
  .description("write the Grafana JSON of a pipeline's dashboards (definePipeline({ dashboards })) and of pipeline health")
  .argument('<pipeline>', 'path to the pipeline file')
  .requiredOption('--out <dir>', 'directory to write <name>.json to (created if missing), e.g. a Grafana provisioning folder')
  .action(async (file: string, opts: { out: string }) => {
    const definition = await load(file);
    const { writePipelineDashboards } = await import('./dashboards.ts');
    for (const written of await writePipelineDashboards(definition, opts.out)) console.log(`wrote ${written}`);
  });

/** Every partition of a pipeline, or the one runner (`undefined`) of an unpartitioned one. */
function allPartitions(count: number | undefined): Array<number | undefined> {
  return count === undefined ? [undefined] : [...Array(count).keys()];
}

/** First SIGINT/SIGTERM: graceful stop. Second: exit now (un-acked input is reprocessed later). */
function stopOnSignals(): AbortController {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write(`\n${signal}: stopping (flushing and acking; press Ctrl-C again to exit now)\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return controller;
}

function fraction(value: string): number {
  const n = Number(value);
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError('expected a fraction between 0 and 1');
  return n;
}

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
