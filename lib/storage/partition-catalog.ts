/**
 * What the storage layer may ask of the catalog about one partition: its segment list, log start
 * offset and recovery point, and the few changes storage makes to them. The catalog
 * (catalog/partitions.ts) implements it; storage never sees topics, groups or the database.
 *
 * Each change is one SQLite transaction: a crash leaves the old or the new state.
 */

/** An idempotent producer's state in one partition, as the catalog keeps it. */
export interface ProducerStateRow {
  producerId: number;
  epoch: number;
  lastTimestamp: number;
  /** The last batches: [first sequence, last sequence, base offset, last offset]. */
  batches: [number, number, number, number][];
}

export interface SegmentRow {
  baseOffset: number;
  capacity: number;
  /** Offset after the segment's last record; null while the segment is active. */
  endOffset: number | null;
  /** Bytes of batches; null while the segment is active. */
  size: number | null;
  maxTimestamp: number | null;
}

export interface PartitionRow {
  logStartOffset: number;
  /** The recovery point: every batch before this position of this segment is on stable storage. */
  recoverySegment: number;
  recoveryPosition: number;
  recoveryOffset: number;
  recoveryMaxTimestamp: number;
}

/** A closed segment's final extent, recorded when it rolls or is found again by recovery. */
export interface ClosedExtent {
  baseOffset: number;
  endOffset: number;
  size: number;
  maxTimestamp: number;
}

export interface RecoveryPoint {
  topic: string;
  partition: number;
  segment: number;
  position: number;
  offset: number;
  maxTimestamp: number;
}

/**
 * What an open reads of one partition from the catalog, read for all partitions of a topic at once
 * (a query per table rather than four per partition: an open of thousands of partitions).
 */
export interface PartitionLoad {
  row: PartitionRow | undefined;
  segments: SegmentRow[];
  /** Compaction swaps a crash interrupted (base offsets). */
  swaps: number[];
  producers: ProducerStateRow[];
}

export interface PartitionCatalog {
  readonly topic: string;
  readonly partition: number;
  state(): PartitionRow | undefined;
  /** Idempotent producers' state as of the recovery point. */
  producerStates(): ProducerStateRow[];
  segments(): SegmentRow[];
  /** The partition row, the segments and whether compaction swaps are pending, read together. */
  snapshot(): { row: PartitionRow | undefined; rows: SegmentRow[]; swapsPending: boolean };
  /** Records a closed segment's final extent and adds the new active segment. */
  roll(closed: ClosedExtent, next: { baseOffset: number; capacity: number }): void;
  /** Corrects a closed segment's recorded extent to what its batches show (an open found it wrong). */
  setExtent(closed: ClosedExtent): void;
  /**
   * Drops segments (oldest first) and moves the log start offset; with `add`, lists that segment
   * as the active one in the same transaction (an open found the listed ones gone, and that file
   * continuing the log).
   */
  deleteSegments(
    baseOffsets: readonly number[],
    logStartOffset: number,
    add?: { baseOffset: number; capacity: number },
  ): void;
  /** Recovery cut the log inside segment `baseOffset`: it is the active one again, later ones go. */
  cutTo(baseOffset: number, dropped: readonly number[]): void;
  /** The commit point of a compaction: new extents, emptied segments, swaps to finish. */
  swapCompacted(
    rewritten: readonly { baseOffset: number; size: number; maxTimestamp: number }[],
    emptied: readonly number[],
    recoveryPoint?: RecoveryPoint,
  ): void;
  pendingSwaps(): number[];
  clearSwaps(): void;
}
