/**
 * Log compaction for `cleanupPolicy: 'compact'`: closed segments are rewritten keeping, per key,
 * only the latest record (the active segment counts for "latest" but is never rewritten). A
 * tombstone (null value) is itself dropped once older than `deleteRetentionMs`. Offsets are
 * preserved: a rewritten batch keeps its base offset and last offset delta, so gaps appear, as
 * in Kafka. Records without a key are kept (they can only predate the topic becoming compacted).
 *
 * Every batch is read through the batch walker and decoded with its checks: a damaged batch
 * stops compaction with LOGSTORE_CORRUPT (naming file and position) before anything is written,
 * so damage is never rewritten into a batch with a fresh, valid CRC.
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
import { ioError } from '../errors.js';
import { BatchEncoder, type BatchMeta } from '../format/batch-encoder.js';
import type { CompressionId } from '../format/codecs.js';
import {
  batchAttributes,
  batchBaseSequence,
  batchProducerEpoch,
  batchProducerId,
  COMPRESSION_MASK,
  readInt32,
} from '../format/record-batch.js';
import { decodeRecords } from '../format/record-decoder.js';
import type { AppendRecord, LogRecord } from '../record.js';
import { crashPoint } from './faults.js';
import { fsyncDir, segmentPath } from './layout.js';
import type { PartitionCatalog } from './partition-catalog.js';
import type { Segment } from './segment.js';

/** The new extent of a rewritten segment, or null for one left empty. */
export type Rewritten = Map<number, { size: number; maxTimestamp: number } | null>;

/** A batch as compaction sees it: where its offsets start and what a rewrite keeps of it. */
interface BatchInfo {
  base: number;
  lastDelta: number;
  codec: CompressionId;
  meta: BatchMeta;
}

/** Calls `fn` for every batch of `segment` with its records; LOGSTORE_CORRUPT at damage. */
function forEachBatch(
  segment: Segment,
  gaps: boolean,
  fn: (records: LogRecord[], batch: BatchInfo) => void,
): void {
  const walker = segment.walker(0, -1, gaps);
  const buf = segment.buf;
  while (walker.next()) {
    const pos = walker.position;
    const records: LogRecord[] = [];
    decodeRecords(buf, pos, 0, Number.POSITIVE_INFINITY, records, '', 0, segment.logPath);
    const attributes = batchAttributes(buf, pos);
    fn(records, {
      base: walker.baseOffset,
      lastDelta: walker.lastOffset - walker.baseOffset,
      codec: (attributes & COMPRESSION_MASK) as CompressionId,
      meta: {
        partitionLeaderEpoch: readInt32(buf, pos + 12),
        flags: attributes & ~COMPRESSION_MASK,
        producerId: batchProducerId(buf, pos),
        producerEpoch: batchProducerEpoch(buf, pos),
        baseSequence: batchBaseSequence(buf, pos),
      },
    });
  }
  if (walker.stop !== 'end')
    throw walker.corruptError(segment.logPath, 'Compaction left the segment as it was.');
}

/**
 * Rewrites the closed segments of one partition (`segments`, oldest first, the last one being
 * the active segment) and commits the swap in the catalog. Returns the segments that changed.
 */
export function compactSegments(
  catalog: PartitionCatalog,
  dir: string,
  segments: readonly Segment[],
  options: {
    /** How long a tombstone survives. */
    deleteRetentionMs: number;
    /** The codec a rewritten batch gets, from the codec it had (the topic's compressionType). */
    codecOf: (codec: CompressionId) => CompressionId;
  },
  now: number,
): { changed: Rewritten; bytesFreed: number } {
  const latest = new Map<string, number>();
  for (const segment of segments) {
    forEachBatch(segment, true, (records) => {
      for (const r of records) if (r.key !== null) latest.set(r.key.toString('latin1'), r.offset);
    });
    segment.dropResident(); // memory stays bounded by the keys, not by the segments read
  }
  const tombstoneHorizon = now - options.deleteRetentionMs;
  const keep = (r: LogRecord) =>
    r.key === null ||
    (latest.get(r.key.toString('latin1')) === r.offset &&
      (r.value !== null || r.timestamp >= tombstoneHorizon));

  const changed: Rewritten = new Map();
  let bytesFreed = 0;
  try {
    for (const segment of segments.slice(0, -1)) {
      let removed = 0;
      forEachBatch(segment, true, (records) => {
        for (const r of records) if (!keep(r)) removed++;
      });
      if (removed === 0) {
        segment.dropResident();
        continue;
      }
      const extent = rewrite(segment, dir, keep, options.codecOf, now);
      segment.dropResident();
      bytesFreed +=
        segment.diskBytes() - fs.statSync(segmentPath(dir, segment.baseOffset, 'cleaned')).blocks * 512;
      changed.set(segment.baseOffset, extent.size === 0 ? null : extent);
    }
  } catch (err) {
    for (const base of [...changed.keys(), ...segments.map((s) => s.baseOffset)])
      fs.rmSync(segmentPath(dir, base, 'cleaned'), { force: true });
    throw ioError(err, `Compacting ${dir}`);
  }
  if (changed.size === 0) return { changed, bytesFreed: 0 };
  for (const base of changed.keys()) {
    for (const kind of ['index', 'timeindex'] as const)
      fs.rmSync(segmentPath(dir, base, kind), { force: true });
  }
  fsyncDir(dir);
  crashPoint('compact:after-write');
  const rewritten = [...changed]
    .filter(([, v]) => v !== null)
    .map(([baseOffset, v]) => ({ baseOffset, ...v! }));
  const emptied = [...changed].filter(([, v]) => v === null).map(([base]) => base);
  // A recovery point inside a rewritten segment would name a position that no longer exists:
  // move it to the start of the next segment left alone (everything before is synced).
  const point = catalog.state();
  let moveTo: Segment | undefined;
  if (point && changed.has(point.recoverySegment)) {
    moveTo = segments.find((s) => s.baseOffset > point.recoverySegment && !changed.has(s.baseOffset));
  }
  catalog.swapCompacted(
    rewritten,
    emptied,
    moveTo && {
      topic: catalog.topic,
      partition: catalog.partition,
      segment: moveTo.baseOffset,
      position: 0,
      offset: moveTo.baseOffset,
      maxTimestamp: -1,
    },
  );
  crashPoint('compact:after-swap');
  finishSwaps(catalog, dir, [...changed.keys()]);
  return { changed, bytesFreed };
}

/**
 * Writes the records of `segment` that `keep` accepts to its `.cleaned` file, synced. Each batch
 * keeps its producer fields, leader epoch and timestamp type (as Kafka's cleaner does) and is
 * compressed with `codecOf(its codec)`.
 */
function rewrite(
  segment: Segment,
  dir: string,
  keep: (r: LogRecord) => boolean,
  codecOf: (codec: CompressionId) => CompressionId,
  now: number,
): { size: number; maxTimestamp: number } {
  const encoder = new BatchEncoder();
  let scratch = Buffer.alloc(64 * 1024);
  const fd = fs.openSync(segmentPath(dir, segment.baseOffset, 'cleaned'), 'w');
  let size = 0;
  let maxTimestamp = -1;
  try {
    forEachBatch(segment, true, (records, batch) => {
      const kept: AppendRecord[] = [];
      const deltas: number[] = [];
      for (const r of records) {
        if (!keep(r)) continue;
        // The exact header list: kafkajs's object shape would lose the order of number-like keys.
        kept.push({ key: r.key, value: r.value, timestamp: r.timestamp, headers: r.headerList });
        deltas.push(r.offset - batch.base);
      }
      if (kept.length === 0) return;
      const bytes = encoder.measure(kept, null, now, Number.MAX_SAFE_INTEGER, {
        offsetDeltas: deltas,
        codec: codecOf(batch.codec),
        meta: batch.meta,
      });
      if (scratch.length < bytes) scratch = Buffer.alloc(bytes * 2);
      encoder.write(scratch, 0, batch.base, batch.lastDelta);
      fs.writeSync(fd, scratch, 0, bytes, size);
      size += bytes;
      maxTimestamp = Math.max(maxTimestamp, encoder.lastMaxTimestamp);
    });
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return { size, maxTimestamp };
}

/**
 * Step 3: puts each `.cleaned` file in place of its `.log` (or removes the `.log` of a segment the
 * catalog no longer lists). Also run at open for swaps a crash interrupted.
 */
export function finishSwaps(catalog: PartitionCatalog, dir: string, bases: readonly number[]): void {
  const listed = new Set(catalog.segments().map((s) => s.baseOffset));
  for (const base of bases) {
    const cleaned = segmentPath(dir, base, 'cleaned');
    const log = segmentPath(dir, base, 'log');
    try {
      if (!listed.has(base)) {
        fs.rmSync(log, { force: true });
        fs.rmSync(cleaned, { force: true });
      } else if (fs.existsSync(cleaned)) {
        fs.renameSync(cleaned, log);
      }
    } catch (err) {
      throw ioError(err, `Finishing the compaction of ${log}`);
    }
  }
  fsyncDir(dir);
  catalog.clearSwaps();
}
