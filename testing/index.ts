/**
 * Testing API (`rxstream-analytics/testing`): run a pipeline over events in memory and in virtual
 * time, no NATS and no ClickHouse, and check the rows, dead letters and late events it produces.
 * @module
 */

export type { FakeClickHouseHandlers, FakeQuery } from './fake-clickhouse.ts';
export { fakeClickHouse } from './fake-clickhouse.ts';
export type {
  TestDeadLetter,
  TestEvent,
  TestLateEvent,
  TestMessage,
  TestPipelineOptions,
  TestPipelineResult,
  TestRows,
  VersionedTestMessage,
} from './test-pipeline.ts';
export { TEST_CLOCK_START, TEST_CLOCK_STEP_MS, testPipeline } from './test-pipeline.ts';
