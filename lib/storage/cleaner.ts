/**
 * Cleaning a partition log (Kafka's `Cleaner` and retention): deleting whole closed segments by
 * time or size, and installing what compaction rewrote. The rewriting itself is compaction.ts's.
 *
 * Retention follows Kafka: whole segments, oldest first, the active one never. A segment goes
 * when its newest record is older than `retentionMs`, or while the partition without it is still
 * at least `retentionBytes`. With `retainForGroups`, time retention also waits until every group
 * with a committed offset on the topic has committed past the segment; `retentionBytes` stays a
 * hard cap that does not wait. Catalog first, then files: a crash in between leaves files the
 * catalog no longer lists, which the next open removes.
 */
import { compressionId } from '../format/codecs.js';
import type { ResolvedTopicConfig } from '../options.js';
import { compactSegments } from './compaction.js';
import { fsyncDir } from './layout.js';
import type { PartitionLog } from './partition-log.js';
import { Segment } from './segment.js';

export interface RetentionResult {
  deletedSegments: number;
  bytesFreed: number;
}

export interface CompactionResult {
  compactedSegments: number;
  bytesFreed: number;
}

/** How many of the oldest segments retention deletes. `groupFloor`: the lowest committed offset, or null. */
export function segmentsToDelete(
  segments: readonly Segment[],
  config: ResolvedTopicConfig,
  now: number,
  groupFloor: number | null,
): number {
  let total = 0;
  for (const s of segments) total += s.size;
  let count = 0;
  for (let i = 0; i < segments.length - 1; i++) {
    const segment = segments[i]!;
    const overSize = config.retentionBytes >= 0 && total - segment.size >= config.retentionBytes;
    let expired = config.retentionMs >= 0 && segment.maxTimestamp < now - config.retentionMs;
    if (expired && config.retainForGroups && groupFloor !== null && segment.nextOffset > groupFloor)
      expired = false;
    if (!overSize && !expired) break;
    total -= segment.size;
    count++;
  }
  return count;
}

/** Deletes the closed segments retention selects; disk space is free when this returns. */
export function applyRetention(log: PartitionLog, now: number, groupFloor: number | null): RetentionResult {
  const count = segmentsToDelete(log.segments, log.config, now, groupFloor);
  if (count === 0) return { deletedSegments: 0, bytesFreed: 0 };
  const doomed = log.segments.slice(0, count);
  const newStart = log.segments[count]!.baseOffset;
  log.catalog.deleteSegments(
    doomed.map((s) => s.baseOffset),
    newStart,
  );
  log.segments = log.segments.slice(count);
  log.logStartOffset = newStart;
  let bytesFreed = 0;
  for (const segment of doomed) {
    bytesFreed += segment.diskBytes();
    log.unsynced.delete(segment);
    segment.delete();
  }
  fsyncDir(log.dir);
  return { deletedSegments: count, bytesFreed };
}

/** Compacts the closed segments (compaction.ts) and swaps the rewritten ones in. */
export function compactLog(log: PartitionLog, now: number): CompactionResult {
  if (log.segments.length < 2) return { compactedSegments: 0, bytesFreed: 0 };
  const type = log.config.compressionType;
  const { changed, bytesFreed } = compactSegments(
    log.catalog,
    log.dir,
    log.segments,
    {
      deleteRetentionMs: log.config.deleteRetentionMs,
      codecOf: (codec) => (type === 'producer' ? codec : compressionId(type)),
    },
    now,
  );
  if (changed.size === 0) return { compactedSegments: 0, bytesFreed: 0 };
  const next: Segment[] = [];
  for (const segment of log.segments) {
    const extent = changed.get(segment.baseOffset);
    if (extent === undefined) {
      next.push(segment);
      continue;
    }
    segment.release();
    log.unsynced.delete(segment);
    if (extent !== null) {
      next.push(
        Segment.open(log.dir, segment.baseOffset, segment.capacity, false, {
          size: extent.size,
          nextOffset: segment.nextOffset,
          maxTimestamp: extent.maxTimestamp,
          indexTrusted: false,
          writesIndex: true,
        }),
      );
    }
  }
  log.segments = next;
  return { compactedSegments: changed.size, bytesFreed };
}
