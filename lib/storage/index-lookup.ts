/**
 * Finding a batch in a segment through its sparse index (sparse-index.ts): by offset (where a
 * read's walk starts) and by timestamp (Kafka's `findOffsetByTimestamp`). The index files are a
 * cache, so every entry used is checked against the batch it names; a wrong one drops the index,
 * which is then rebuilt by a walk of the segment.
 */
import type { BatchWalker } from '../format/batches.js';
import { decodeRecords } from '../format/record-decoder.js';
import type { LogRecord } from '../record.js';
import type { Segment } from './segment.js';
import type { IndexEntry, SparseIndex } from './sparse-index.js';

/** What a lookup needs of the partition log. */
export interface IndexedLog {
  readonly topic: string;
  readonly partition: number;
  readonly segments: Segment[];
  readonly logStartOffset: number;
  readonly endOffset: number;
  /** Whether base offsets may skip inside closed segments (compaction). */
  readonly gaps: boolean;
}

/** scanForTimestamp: the index led the scan astray (a damaged cache). */
const INDEX_WRONG = -2;
/** A walk from a segment's first batch. */
export const SEGMENT_START: IndexEntry = Object.freeze({ position: 0, offset: -1 });

/**
 * A walk of `segment` from the index entry `find` picks. An entry that does not name the batch
 * at its position is dropped with its index (rebuilt by a walk), so a damaged entry neither hides
 * intact batches nor leads a read to the wrong batch.
 */
export function walkFrom(
  segment: Segment,
  gaps: boolean,
  find: (index: SparseIndex) => IndexEntry,
  pointAtBatch: ((walker: BatchWalker) => void) | null = null,
): BatchWalker {
  // With `pointAtBatch` (a reader's: a window of the file, or else the mapping) the walkers
  // start detached, and the probe reads the entry's batch as the reader will.
  const walker = (position: number, expected: number) =>
    pointAtBatch
      ? segment.detachedWalker(position, expected, gaps)
      : segment.walker(position, expected, gaps);
  let entry = find(segment.index);
  if (entry.position > 0) {
    const probe = walker(entry.position, -1);
    pointAtBatch?.(probe);
    if (!probe.next() || probe.lastOffset !== entry.offset) {
      segment.dropIndex();
      entry = find(segment.index);
    }
  }
  // At an index entry only its batch's last offset is known; at the start, the segment's base.
  const expected = entry.position > 0 || gaps ? -1 : segment.baseOffset;
  return walker(entry.position, expected);
}

/**
 * The first offset whose record has timestamp >= `timestamp` (the end offset if none), found
 * as Kafka finds it: the time index names an offset before which every record is older, the
 * offset index a position at or before it, and a scan from there finds the record.
 */
export function offsetForTimestamp(log: IndexedLog, timestamp: number): number {
  for (const segment of log.segments) {
    if (segment.maxTimestamp < timestamp || segment.size === 0) continue;
    let hit = scanForTimestamp(log, segment, timestamp, true);
    if (hit === INDEX_WRONG) {
      segment.dropIndex(); // a damaged cache: walk the segment instead
      hit = scanForTimestamp(log, segment, timestamp, false);
    }
    if (hit >= 0) return hit;
  }
  return log.endOffset;
}

/** The offset of the first record at or after `timestamp` in `segment`, -1 if none, or INDEX_WRONG. */
function scanForTimestamp(log: IndexedLog, segment: Segment, timestamp: number, useIndex: boolean): number {
  const { entry, time } = useIndex
    ? segment.index.entryForTimestamp(timestamp)
    : { entry: { position: 0, offset: -1 }, time: null };
  const walker = walkFrom(segment, log.gaps, () => entry);
  let timeChecked = time === null;
  while (walker.next()) {
    if (!timeChecked && walker.lastOffset >= time!.offset) {
      // The time entry must name the batch that reached its timestamp, or the scan may have
      // started too late.
      if (walker.lastOffset !== time!.offset || walker.batchMaxTimestamp !== time!.timestamp)
        return INDEX_WRONG;
      timeChecked = true;
    }
    if (walker.batchMaxTimestamp < timestamp) continue;
    const records: LogRecord[] = [];
    decodeRecords(
      segment.buf,
      walker.position,
      0,
      Number.POSITIVE_INFINITY,
      records,
      log.topic,
      log.partition,
      segment.logPath,
    );
    const hit = records.find((r) => r.timestamp >= timestamp && r.offset >= log.logStartOffset);
    if (hit) return timeChecked ? hit.offset : INDEX_WRONG;
  }
  if (walker.stop !== 'end') throw walker.corruptError(segment.logPath);
  return timeChecked ? -1 : INDEX_WRONG;
}
