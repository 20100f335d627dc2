import { defineTable } from '../sinks/clickhouse/table.ts';

/**
 * Tables every pipeline writes besides its own, so nothing it rejects is invisible:
 * dead letters (also published to the RXA_DLQ stream) and late events (the windows' side output).
 * Keyed by source position and stage, so a reprocessed message rewrites its row.
 */
export const deadLettersTable = defineTable('rxa_dead_letters', {
  columns: {
    pipeline: 'String',
    stage: 'String',
    reason: 'String',
    /** The payload as UTF-8 text, or base64 when it is not valid UTF-8 (see payload_encoding). */
    payload: 'String',
    payload_encoding: 'String',
    source_subject: 'String',
    source_seq: 'UInt64',
    id: 'String',
    received_at: 'DateTime',
  },
  orderBy: ['pipeline', 'stage', 'source_seq', 'id'],
  partitionByMonth: 'received_at',
});

export const lateEventsTable = defineTable('rxa_late_events', {
  columns: {
    pipeline: 'String',
    stage: 'String',
    event_time: 'DateTime',
    watermark: 'DateTime',
    lateness_ms: 'UInt64',
    payload: 'String',
    source_seq: 'UInt64',
  },
  orderBy: ['pipeline', 'stage', 'source_seq'],
  partitionByMonth: 'event_time',
});

export const systemTables = [deadLettersTable, lateEventsTable] as const;
