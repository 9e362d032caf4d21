/**
 * The catalog: `catalog.sqlite` (better-sqlite3, WAL, synchronous=FULL) is the source of truth for
 * topics, their configs, each partition's segment list, log start offset and recovery point, and
 * consumer groups' committed offsets. Records live in the segment files, never here.
 *
 * Schema changes are migrations keyed on `PRAGMA user_version`. Only the writer (the process that
 * holds LOCK) writes; read-only followers open it with `readonly` and re-query to see changes.
 * Every multi-row change is one transaction, so a crash leaves the old or the new state.
 */
import Database from 'better-sqlite3';
import { LogStoreError } from '../errors.js';
import { catalogError, guardAll } from './errors.js';
import { GroupOffsets } from './group-offsets.js';
import { MirrorPositions } from './mirror-positions.js';
import { ProducerCatalog } from './producers.js';
import { TOPIC_DEFAULTS, type ResolvedTopicConfig } from '../options.js';
import { checkSchemaVersion, migrate } from './schema.js';
import type {
  ClosedExtent,
  PartitionCatalog,
  PartitionLoad,
  PartitionRow,
  RecoveryPoint,
  SegmentRow,
} from '../storage/partition-catalog.js';

export type { PartitionRow, RecoveryPoint, SegmentRow };

export interface TopicRow {
  name: string;
  partitions: number;
  config: ResolvedTopicConfig;
  createdAt: number;
}

export class Catalog {
  readonly db: Database.Database;
  /** Consumer groups' committed offsets. */
  readonly groups: GroupOffsets;
  /** Idempotent producers: ids, epochs and per-partition sequence state. */
  readonly producers: ProducerCatalog;
  /** Mirrors' positions on Kafka clusters. */
  readonly mirrors: MirrorPositions;
  private readonly stmts;

  private constructor(db: Database.Database) {
    this.db = db;
    this.groups = new GroupOffsets(db);
    this.producers = new ProducerCatalog(db);
    this.mirrors = new MirrorPositions(db);
    this.stmts = guardAll(db.name, {
      topics: db.prepare('SELECT name, partitions, config, created_at FROM topics ORDER BY name'),
      topic: db.prepare('SELECT name, partitions, config, created_at FROM topics WHERE name = ?'),
      segments: db.prepare(
        `SELECT base_offset, capacity, end_offset, size, max_timestamp FROM segments
         WHERE topic = ? AND partition = ? ORDER BY base_offset`,
      ),
      partition: db.prepare(
        `SELECT log_start_offset, recovery_segment, recovery_position, recovery_offset, recovery_max_timestamp
         FROM partitions WHERE topic = ? AND partition = ?`,
      ),
      topicPartitions: db.prepare(
        `SELECT partition, log_start_offset, recovery_segment, recovery_position, recovery_offset,
         recovery_max_timestamp FROM partitions WHERE topic = ?`,
      ),
      topicSegments: db.prepare(
        `SELECT partition, base_offset, capacity, end_offset, size, max_timestamp FROM segments
         WHERE topic = ? ORDER BY partition, base_offset`,
      ),
      topicSwaps: db.prepare(
        'SELECT partition, base_offset FROM pending_swaps WHERE topic = ? ORDER BY partition, base_offset',
      ),
      insertTopic: db.prepare(
        'INSERT INTO topics (name, partitions, config, created_at) VALUES (?, ?, ?, ?)',
      ),
      insertPartition: db.prepare('INSERT INTO partitions (topic, partition) VALUES (?, ?)'),
      insertSegment: db.prepare(
        'INSERT INTO segments (topic, partition, base_offset, capacity) VALUES (?, ?, ?, ?)',
      ),
      closeSegment: db.prepare(
        `UPDATE segments SET end_offset = ?, size = ?, max_timestamp = ?
         WHERE topic = ? AND partition = ? AND base_offset = ?`,
      ),
      reopenSegment: db.prepare(
        `UPDATE segments SET end_offset = NULL, size = NULL, max_timestamp = NULL
         WHERE topic = ? AND partition = ? AND base_offset = ?`,
      ),
      deleteSegment: db.prepare('DELETE FROM segments WHERE topic = ? AND partition = ? AND base_offset = ?'),
      setLogStart: db.prepare('UPDATE partitions SET log_start_offset = ? WHERE topic = ? AND partition = ?'),
      setRecovery: db.prepare(
        `UPDATE partitions SET recovery_segment = ?, recovery_position = ?, recovery_offset = ?,
         recovery_max_timestamp = ? WHERE topic = ? AND partition = ?`,
      ),
      setConfig: db.prepare('UPDATE topics SET config = ? WHERE name = ?'),
      deleteTopic: db.prepare('DELETE FROM topics WHERE name = ?'),
      deletePartitions: db.prepare('DELETE FROM partitions WHERE topic = ?'),
      deleteSegments: db.prepare('DELETE FROM segments WHERE topic = ?'),
      meta: db.prepare('SELECT value FROM meta WHERE key = ?'),
      setMeta: db.prepare(
        'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      ),
      compacted: db.prepare(
        'UPDATE segments SET size = ?, max_timestamp = ? WHERE topic = ? AND partition = ? AND base_offset = ?',
      ),
      addSwap: db.prepare(
        'INSERT OR REPLACE INTO pending_swaps (topic, partition, base_offset) VALUES (?, ?, ?)',
      ),
      swaps: db.prepare(
        'SELECT base_offset FROM pending_swaps WHERE topic = ? AND partition = ? ORDER BY base_offset',
      ),
      clearSwaps: db.prepare('DELETE FROM pending_swaps WHERE topic = ? AND partition = ?'),
      deleteTopicSwaps: db.prepare('DELETE FROM pending_swaps WHERE topic = ?'),
    });
  }

  /** Opens (and for a writer, creates or migrates) `path`. */
  static open(path: string, readOnly: boolean): Catalog {
    let db: Database.Database;
    try {
      db = new Database(path, { readonly: readOnly, fileMustExist: readOnly, timeout: 5000 });
    } catch (err) {
      throw new LogStoreError(
        readOnly ? 'LOGSTORE_INVALID_ARGUMENT' : 'LOGSTORE_IO',
        `Cannot open the catalog ${path}: ${(err as Error).message}.` +
          (readOnly ? ' Is this a logstore directory? A read-only open needs an existing store.' : ''),
        { cause: err },
      );
    }
    try {
      checkSchemaVersion(db, path, readOnly);
      if (!readOnly) {
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = FULL');
        migrate(db);
      }
      return new Catalog(db);
    } catch (err) {
      db.close();
      if (err instanceof LogStoreError) throw err;
      throw new LogStoreError(
        'LOGSTORE_CORRUPT',
        `The catalog ${path} cannot be read: ${(err as Error).message}.`,
        {
          cause: err,
        },
      );
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** Runs logstore's own multi-row change in one transaction; any failure is a LogStoreError. */
  transaction<T>(fn: () => T): T {
    try {
      return this.db.transaction(fn)();
    } catch (err) {
      throw catalogError(err, this.db.name);
    }
  }

  /**
   * Runs the application's `fn` (store.transaction) in one transaction. What `fn` throws (its own
   * errors, and its own statements' SQLite errors: a typo, a constraint) comes out unchanged once
   * the transaction is rolled back: those are the application's to handle. Only a failure of the
   * transaction itself (BEGIN, COMMIT, the rollback) is the catalog's, and a LogStoreError.
   */
  applicationTransaction<T>(fn: () => T): T {
    let thrown: { error: unknown } | undefined;
    try {
      return this.db.transaction(() => {
        try {
          return fn();
        } catch (err) {
          thrown = { error: err };
          throw err;
        }
      })();
    } catch (err) {
      if (thrown !== undefined && err === thrown.error) throw err;
      throw catalogError(err, this.db.name);
    }
  }

  getMeta(key: string): string | undefined {
    return (this.stmts.meta.get(key) as { value: string } | undefined)?.value;
  }

  setMeta(key: string, value: string): void {
    this.stmts.setMeta.run(key, value);
  }

  topics(): TopicRow[] {
    return (this.stmts.topics.all() as RawTopic[]).map(topicRow);
  }

  topic(name: string): TopicRow | undefined {
    const row = this.stmts.topic.get(name) as RawTopic | undefined;
    return row && topicRow(row);
  }

  /** Inserts a topic with its partitions, each with an empty first segment at offset 0. */
  createTopic(name: string, config: ResolvedTopicConfig, now: number): void {
    this.transaction(() => {
      this.stmts.insertTopic.run(name, config.partitions, JSON.stringify(config), now);
      for (let p = 0; p < config.partitions; p++) {
        this.stmts.insertPartition.run(name, p);
        this.stmts.insertSegment.run(name, p, 0, config.segmentBytes);
      }
    });
  }

  setTopicConfig(name: string, config: ResolvedTopicConfig): void {
    this.stmts.setConfig.run(JSON.stringify(config), name);
  }

  /** Removes a topic's rows, its segments and the offsets groups committed on it. */
  deleteTopic(name: string): void {
    this.transaction(() => {
      this.stmts.deleteTopic.run(name);
      this.stmts.deletePartitions.run(name);
      this.stmts.deleteSegments.run(name);
      this.groups.deleteTopic(name);
      this.producers.deleteTopic(name);
      this.mirrors.deleteTopic(name);
      this.stmts.deleteTopicSwaps.run(name);
    });
  }

  partition(topic: string, partition: number): PartitionRow | undefined {
    const row = this.stmts.partition.get(topic, partition) as RawPartition | undefined;
    return row && partitionRow(row);
  }

  segments(topic: string, partition: number): SegmentRow[] {
    return (this.stmts.segments.all(topic, partition) as RawSegment[]).map(segmentRow);
  }

  /**
   * What an open of `topic` reads of each of its `partitions`: rows, segments, pending swaps and
   * producer states, one query per table for the whole topic, in one read transaction.
   */
  loadTopic(topic: string, partitions: number): PartitionLoad[] {
    return this.transaction(() => {
      const loads: PartitionLoad[] = Array.from({ length: partitions }, () => ({
        row: undefined,
        segments: [],
        swaps: [],
        producers: [],
      }));
      const at = (p: number) => loads[p] ?? { row: undefined, segments: [], swaps: [], producers: [] };
      for (const r of this.stmts.topicPartitions.all(topic) as (RawPartition & { partition: number })[])
        at(r.partition).row = partitionRow(r);
      for (const r of this.stmts.topicSegments.all(topic) as (RawSegment & { partition: number })[])
        at(r.partition).segments.push(segmentRow(r));
      for (const r of this.stmts.topicSwaps.all(topic) as { partition: number; base_offset: number }[])
        at(r.partition).swaps.push(r.base_offset);
      for (const [p, rows] of this.producers.topicStates(topic)) at(p).producers = rows;
      return loads;
    });
  }

  /** The storage layer's view of one partition (see storage/partition-catalog.ts). */
  forPartition(topic: string, partition: number): PartitionCatalog {
    const stmts = this.stmts;
    const state = () => this.partition(topic, partition);
    const segments = () => this.segments(topic, partition);
    const transaction = <T>(fn: () => T) => this.transaction(fn);
    const setRecoveryPoints = (points: readonly RecoveryPoint[]) => this.setRecoveryPoints(points);
    const setExtent = (closed: ClosedExtent) => {
      stmts.closeSegment.run(
        closed.endOffset,
        closed.size,
        closed.maxTimestamp,
        topic,
        partition,
        closed.baseOffset,
      );
    };
    return {
      topic,
      partition,
      state,
      segments,
      producerStates: () => this.producers.states(topic, partition),
      snapshot: () =>
        transaction(() => ({
          row: state(),
          rows: segments(),
          swapsPending: stmts.swaps.all(topic, partition).length > 0,
        })),
      roll(closed: ClosedExtent, next: { baseOffset: number; capacity: number }) {
        transaction(() => {
          setExtent(closed);
          stmts.insertSegment.run(topic, partition, next.baseOffset, next.capacity);
        });
      },
      setExtent,
      deleteSegments(
        baseOffsets: readonly number[],
        logStartOffset: number,
        add?: { baseOffset: number; capacity: number },
      ) {
        transaction(() => {
          for (const base of baseOffsets) stmts.deleteSegment.run(topic, partition, base);
          stmts.setLogStart.run(logStartOffset, topic, partition);
          if (add) stmts.insertSegment.run(topic, partition, add.baseOffset, add.capacity);
        });
      },
      cutTo(baseOffset: number, dropped: readonly number[]) {
        transaction(() => {
          for (const base of dropped) stmts.deleteSegment.run(topic, partition, base);
          stmts.reopenSegment.run(topic, partition, baseOffset);
        });
      },
      swapCompacted(rewritten, emptied, recoveryPoint) {
        transaction(() => {
          if (recoveryPoint) setRecoveryPoints([recoveryPoint]);
          for (const r of rewritten) {
            stmts.compacted.run(r.size, r.maxTimestamp, topic, partition, r.baseOffset);
            stmts.addSwap.run(topic, partition, r.baseOffset);
          }
          for (const base of emptied) {
            stmts.deleteSegment.run(topic, partition, base);
            stmts.addSwap.run(topic, partition, base);
          }
        });
      },
      pendingSwaps: () =>
        (stmts.swaps.all(topic, partition) as { base_offset: number }[]).map((r) => r.base_offset),
      clearSwaps: () => {
        stmts.clearSwaps.run(topic, partition);
      },
    };
  }

  setRecoveryPoints(points: readonly RecoveryPoint[]): void {
    this.transaction(() => {
      for (const p of points)
        this.stmts.setRecovery.run(p.segment, p.position, p.offset, p.maxTimestamp, p.topic, p.partition);
    });
  }
}

interface RawTopic {
  name: string;
  partitions: number;
  config: string;
  created_at: number;
}
interface RawPartition {
  log_start_offset: number;
  recovery_segment: number;
  recovery_position: number;
  recovery_offset: number;
  recovery_max_timestamp: number;
}
interface RawSegment {
  base_offset: number;
  capacity: number;
  end_offset: number | null;
  size: number | null;
  max_timestamp: number | null;
}

function partitionRow(r: RawPartition): PartitionRow {
  return {
    logStartOffset: r.log_start_offset,
    recoverySegment: r.recovery_segment,
    recoveryPosition: r.recovery_position,
    recoveryOffset: r.recovery_offset,
    recoveryMaxTimestamp: r.recovery_max_timestamp,
  };
}

function segmentRow(r: RawSegment): SegmentRow {
  return {
    baseOffset: r.base_offset,
    capacity: r.capacity,
    endOffset: r.end_offset,
    size: r.size,
    maxTimestamp: r.max_timestamp,
  };
}

function topicRow(r: RawTopic): TopicRow {
  let config: ResolvedTopicConfig;
  try {
    // Settings added since the topic was created take their defaults.
    config = { ...TOPIC_DEFAULTS, ...(JSON.parse(r.config) as ResolvedTopicConfig) };
  } catch (err) {
    throw new LogStoreError(
      'LOGSTORE_CORRUPT',
      `The catalog holds an unreadable config for topic '${r.name}'.`,
      {
        cause: err,
      },
    );
  }
  return { name: r.name, partitions: r.partitions, config, createdAt: r.created_at };
}
