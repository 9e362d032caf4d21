/**
 * Log compaction for `cleanupPolicy: 'compact'`: closed segments are rewritten keeping, per key,
 * only the latest record (the active segment counts for "latest" but is never rewritten). A
 * tombstone (null value) is itself dropped once older than `deleteRetentionMs`. Offsets are
 * preserved: a rewritten batch keeps its base offset and last offset delta, so gaps appear, as
 * in Kafka. Records without a key are kept (they can only predate the topic becoming compacted).
 *
 * Memory is bounded by the number of distinct keys (one map entry each) plus one batch: segments
 * are read batch by batch and written out with plain file writes.
 *
 * Crash safety, step by step (a kill anywhere leaves the old or the new segments, never both,
 * never neither):
 *   1. write `<base>.cleaned` for every segment that changes, fsync them and the directory, and
 *      delete the old index files (a cache);                   crash: old .log intact, .cleaned ignored
 *   2. one catalog transaction: new sizes, empty segments removed, and `pending_swaps` rows;
 *                                                             crash: open finishes the swaps (3)
 *   3. rename each `.cleaned` over its `.log` (or unlink the emptied `.log`), fsync the directory,
 *      then clear `pending_swaps`.
 * A reader that mapped an old file keeps its inode (and old, consistent data) until it moves on.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Catalog } from '../catalog/catalog.js';
import {
  BatchEncoder,
  batchBaseOffset,
  batchLastOffsetDelta,
  batchSize,
  decodeRecords,
} from '../format/record-batch.js';
import type { AppendRecord, LogRecord } from '../record.js';
import { crashPoint } from './faults.js';
import { fsyncDir } from './fsync-dir.js';
import { segmentFileName, type Segment } from './segment.js';

export interface CompactionResult {
  compactedSegments: number;
  bytesFreed: number;
}

const CLEANED = 'cleaned';

export function cleanedPath(dir: string, baseOffset: number): string {
  return path.join(dir, `${String(baseOffset).padStart(20, '0')}.${CLEANED}`);
}

/** Calls `fn` for every record of `segment`, batch by batch. */
function forEachBatch(
  segment: Segment,
  fn: (records: LogRecord[], base: number, lastDelta: number) => void,
): void {
  const buf = segment.buf;
  for (let pos = 0; pos < segment.size; pos += batchSize(buf, pos)) {
    const records: LogRecord[] = [];
    decodeRecords(buf, pos, 0, Number.POSITIVE_INFINITY, records, '', 0, segment.logPath);
    fn(records, batchBaseOffset(buf, pos), batchLastOffsetDelta(buf, pos));
  }
}

/**
 * Rewrites the closed segments of one partition (`segments`, oldest first, the last one being
 * the active segment) and commits the swap in the catalog. Returns the segments that changed:
 * the caller replaces them in memory (null for a segment that became empty).
 */
export function compactSegments(
  catalog: Catalog,
  topic: string,
  partition: number,
  dir: string,
  segments: readonly Segment[],
  deleteRetentionMs: number,
  now: number,
): { changed: Map<number, { size: number; maxTimestamp: number } | null>; bytesFreed: number } {
  const latest = new Map<string, number>();
  for (const segment of segments) {
    forEachBatch(segment, (records) => {
      for (const r of records) if (r.key !== null) latest.set(r.key.toString('latin1'), r.offset);
    });
    segment.dropResident(); // memory stays bounded by the keys, not by the segments read
  }
  const tombstoneHorizon = now - deleteRetentionMs;
  const keep = (r: LogRecord) =>
    r.key === null ||
    (latest.get(r.key.toString('latin1')) === r.offset &&
      (r.value !== null || r.timestamp >= tombstoneHorizon));

  const encoder = new BatchEncoder();
  let scratch = Buffer.alloc(64 * 1024);
  const changed = new Map<number, { size: number; maxTimestamp: number } | null>();
  let bytesFreed = 0;
  for (const segment of segments.slice(0, -1)) {
    let removed = 0;
    forEachBatch(segment, (records) => {
      for (const r of records) if (!keep(r)) removed++;
    });
    if (removed === 0) {
      segment.dropResident();
      continue;
    }
    const file = cleanedPath(dir, segment.baseOffset);
    const fd = fs.openSync(file, 'w');
    let size = 0;
    let maxTimestamp = -1;
    try {
      forEachBatch(segment, (records, base, lastDelta) => {
        const kept = records.filter(keep);
        if (kept.length === 0) return;
        const bytes = encoder.measure(
          kept as AppendRecord[],
          null,
          now,
          Number.MAX_SAFE_INTEGER,
          kept.map((r) => r.offset - base),
        );
        if (scratch.length < bytes) scratch = Buffer.alloc(bytes * 2);
        encoder.write(scratch, 0, base, lastDelta);
        fs.writeSync(fd, scratch, 0, bytes, size);
        size += bytes;
        maxTimestamp = Math.max(maxTimestamp, encoder.lastMaxTimestamp);
      });
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    segment.dropResident();
    bytesFreed += segment.diskBytes() - fs.statSync(file).blocks * 512;
    changed.set(segment.baseOffset, size === 0 ? null : { size, maxTimestamp });
  }
  if (changed.size === 0) return { changed, bytesFreed: 0 };
  for (const base of changed.keys()) {
    for (const ext of ['index', 'timeindex'] as const)
      fs.rmSync(path.join(dir, segmentFileName(base, ext)), { force: true });
  }
  fsyncDir(dir);
  crashPoint('compact:after-write');
  const rewritten = [...changed]
    .filter(([, v]) => v !== null)
    .map(([baseOffset, v]) => ({ baseOffset, ...v! }));
  const emptied = [...changed].filter(([, v]) => v === null).map(([base]) => base);
  // A recovery point inside a rewritten segment would name a position that no longer exists:
  // move it to the start of the next segment left alone (everything before is synced).
  const point = catalog.partition(topic, partition);
  let moveTo: Segment | undefined;
  if (point && changed.has(point.recoverySegment)) {
    moveTo = segments.find((s) => s.baseOffset > point.recoverySegment && !changed.has(s.baseOffset));
  }
  catalog.swapCompacted(
    topic,
    partition,
    rewritten,
    emptied,
    moveTo && {
      topic,
      partition,
      segment: moveTo.baseOffset,
      position: 0,
      offset: moveTo.baseOffset,
      maxTimestamp: -1,
    },
  );
  crashPoint('compact:after-swap');
  finishSwaps(catalog, topic, partition, dir, [...changed.keys()]);
  return { changed, bytesFreed };
}

/**
 * Step 3: puts each `.cleaned` file in place of its `.log` (or removes the `.log` of a segment the
 * catalog no longer lists). Also run at open for swaps a crash interrupted.
 */
export function finishSwaps(
  catalog: Catalog,
  topic: string,
  partition: number,
  dir: string,
  bases: readonly number[],
): void {
  const listed = new Set(catalog.segments(topic, partition).map((s) => s.baseOffset));
  for (const base of bases) {
    const cleaned = cleanedPath(dir, base);
    const log = path.join(dir, segmentFileName(base, 'log'));
    if (!listed.has(base)) {
      fs.rmSync(log, { force: true });
      fs.rmSync(cleaned, { force: true });
    } else if (fs.existsSync(cleaned)) {
      fs.renameSync(cleaned, log);
    }
  }
  fsyncDir(dir);
  catalog.clearSwaps(topic, partition);
}
