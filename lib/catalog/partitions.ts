/**
 * Each partition's rows in the catalog: `partitions` (log start offset and recovery point),
 * `segments` (the segment list, with each closed segment's extent) and `pending_swaps` (the
 * compactions a crash may have interrupted). This is the part of the catalog the storage layer
 * works on, through the narrow per-partition view `forPartition` gives it
 * (storage/partition-catalog.ts); topics, groups and the database stay out of its sight.
 */
import type Database from 'better-sqlite3';
import { guardAll, inTransaction } from './errors.js';
import type { ProducerCatalog } from './producers.js';
import type {
  ClosedExtent,
  PartitionCatalog,
  PartitionLoad,
  PartitionRow,
  RecoveryPoint,
  SegmentRow,
} from '../storage/partition-catalog.js';

export class PartitionTables {
  private readonly stmts;

  constructor(
    private readonly db: Database.Database,
    private readonly producers: ProducerCatalog,
  ) {
    this.stmts = guardAll(db.name, {
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
      allPartitions: db.prepare(
        `SELECT topic, partition, log_start_offset, recovery_segment, recovery_position, recovery_offset,
         recovery_max_timestamp FROM partitions`,
      ),
      allSegments: db.prepare(
        `SELECT topic, partition, base_offset, capacity, end_offset, size, max_timestamp FROM segments
         ORDER BY topic, partition, base_offset`,
      ),
      allSwaps: db.prepare(
        'SELECT topic, partition, base_offset FROM pending_swaps ORDER BY topic, partition, base_offset',
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
      deletePartitions: db.prepare('DELETE FROM partitions WHERE topic = ?'),
      deleteSegments: db.prepare('DELETE FROM segments WHERE topic = ?'),
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

  /** A new topic's `count` partitions, each with an empty first segment at 0 (inside its transaction). */
  createTopic(topic: string, count: number, segmentBytes: number): void {
    for (let p = 0; p < count; p++) {
      this.stmts.insertPartition.run(topic, p);
      this.stmts.insertSegment.run(topic, p, 0, segmentBytes);
    }
  }

  /** Removes a topic's partitions, segments and pending swaps (call inside its transaction). */
  deleteTopic(topic: string): void {
    this.stmts.deletePartitions.run(topic);
    this.stmts.deleteSegments.run(topic);
    this.stmts.deleteTopicSwaps.run(topic);
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
    return inTransaction(this.db, () => {
      const loads = emptyLoads(partitions);
      const at = (p: number) => loads[p] ?? emptyLoad();
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

  /**
   * The same for every topic of the store at once (an open): one query per table, in one read
   * transaction, whatever the number of topics. Rows of partitions or topics not in `topics` are
   * left out.
   */
  loadTopics(topics: readonly { name: string; partitions: number }[]): Map<string, PartitionLoad[]> {
    return inTransaction(this.db, () => {
      const loads = new Map(topics.map((t) => [t.name, emptyLoads(t.partitions)]));
      const at = (topic: string, p: number) => loads.get(topic)?.[p] ?? emptyLoad();
      type Keyed = { topic: string; partition: number };
      for (const r of this.stmts.allPartitions.all() as (RawPartition & Keyed)[])
        at(r.topic, r.partition).row = partitionRow(r);
      for (const r of this.stmts.allSegments.all() as (RawSegment & Keyed)[])
        at(r.topic, r.partition).segments.push(segmentRow(r));
      for (const r of this.stmts.allSwaps.all() as (Keyed & { base_offset: number })[])
        at(r.topic, r.partition).swaps.push(r.base_offset);
      for (const r of this.producers.allStates()) at(r.topic, r.partition).producers = r.rows;
      return loads;
    });
  }

  /** The storage layer's view of one partition (see storage/partition-catalog.ts). */
  forPartition(topic: string, partition: number): PartitionCatalog {
    const stmts = this.stmts;
    const state = () => this.partition(topic, partition);
    const segments = () => this.segments(topic, partition);
    const transaction = <T>(fn: () => T) => inTransaction(this.db, fn);
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
    inTransaction(this.db, () => {
      for (const p of points)
        this.stmts.setRecovery.run(p.segment, p.position, p.offset, p.maxTimestamp, p.topic, p.partition);
    });
  }
}

function emptyLoad(): PartitionLoad {
  return { row: undefined, segments: [], swaps: [], producers: [] };
}

function emptyLoads(partitions: number): PartitionLoad[] {
  return Array.from({ length: partitions }, emptyLoad);
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
