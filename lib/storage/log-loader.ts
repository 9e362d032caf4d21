/**
 * Opening one partition in the writer (Kafka's `LogLoader`): finishes a compaction swap a crash
 * interrupted, opens the segments the catalog lists and, after an unclean stop, verifies every
 * batch from the segment holding the last recovery point to the end and cuts the torn tail.
 *
 * Recovery rules: everything before the recovery point was synced, so a bad batch there is
 * damage (LOGSTORE_CORRUPT naming file and position; nothing is changed); the first bad batch
 * after it is the torn tail of the crash: it and everything after it are cut (zeroed in place,
 * later segments dropped, catalog first) and reported. `repair` verifies from the first segment
 * and cuts at the first damage wherever it is (`logstore verify --repair`).
 */
import fs from 'node:fs';
import { ioError, LogStoreError } from '../errors.js';
import { finishSwaps } from './compaction.js';
import { parseSegmentFileName } from './layout.js';
import type { PartitionLoad, SegmentRow } from './partition-catalog.js';
import type { PartitionLog } from './partition-log.js';
import { batchBaseSequence, batchProducerEpoch, batchProducerId } from '../format/record-batch.js';
import type { ProducerStateRow } from '../catalog/producers.js';
import { ProducerStates } from './producer-state.js';
import { Segment, type RecoverResult } from './segment.js';

/** What recovery cut from one partition. */
export interface Truncation {
  topic: string;
  partition: number;
  file: string;
  position: number;
  bytesCut: number;
  /** The problem kind where the cut was made (`truncated`, `bad-crc`, `segment-gap`, ...). */
  kind: string;
  reason: string;
}

/**
 * Loads `log` from the catalog and its files. `clean`: the writer closed cleanly, so the recovery
 * point is the exact end and nothing is read. `preloaded`: the partition's catalog rows, read with
 * the rest of its topic's (else read here). Returns what recovery cut, if anything.
 */
export function loadLog(
  log: PartitionLog,
  clean: boolean,
  repair: boolean,
  preloaded?: PartitionLoad,
): Truncation | null {
  const missingDirectory = () =>
    new LogStoreError(
      'LOGSTORE_CORRUPT',
      `The catalog lists ${log.name}, but its directory ${log.dir} is missing.`,
      {
        details: { file: log.dir, kind: 'missing-directory' },
      },
    );
  const swaps = preloaded?.swaps ?? log.catalog.pendingSwaps();
  // After a clean close the directory is looked at only if a segment turns out to be missing.
  if ((!clean || swaps.length > 0) && !fs.existsSync(log.dir)) throw missingDirectory();
  if (swaps.length > 0) finishSwaps(log.catalog, log.dir, swaps);
  // A compaction's `.cleaned` files outlive it only when the process died during it: only an
  // open after an unclean stop needs to look for them (a directory listing per partition).
  if (!clean) {
    let files: string[];
    try {
      files = fs.readdirSync(log.dir);
    } catch (err) {
      throw ioError(err, `Cannot list ${log.dir}`);
    }
    for (const f of files) {
      if (parseSegmentFileName(f)?.kind === 'cleaned') fs.rmSync(`${log.dir}/${f}`, { force: true });
    }
  }
  const row = preloaded ? preloaded.row : log.catalog.state();
  const rows = preloaded?.segments ?? log.catalog.segments();
  if (!row || rows.length === 0) {
    throw new LogStoreError('LOGSTORE_CORRUPT', `The catalog has no segments for ${log.name}.`, {
      details: { kind: 'no-segments' },
    });
  }
  log.logStartOffset = row.logStartOffset;
  let recoveryIndex = rows.findIndex((r) => r.baseOffset === row.recoverySegment);
  let recoveryPosition = row.recoveryPosition;
  if (recoveryIndex < 0 || repair) {
    // Its segment was deleted since: the first remaining segment is verified from its start.
    recoveryIndex = 0;
    recoveryPosition = 0;
  } else {
    // A closed segment rewritten by compaction after the point was taken: the position is past
    // (or inside) the new batches. Verify that segment from its start instead.
    const r = rows[recoveryIndex]!;
    if (r.endOffset !== null && r.size !== null && recoveryPosition > r.size) recoveryPosition = 0;
  }
  try {
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      const trusted = r.endOffset !== null && (clean || i < recoveryIndex);
      if (trusted) {
        log.segments.push(openClosed(log, r));
        continue;
      }
      // The active segment after a clean close ends at the recovery point recorded at close;
      // anything else is verified (and may be cut: so it is opened writable).
      const atPoint = clean && i === recoveryIndex && recoveryPosition > 0;
      log.segments.push(
        Segment.open(log.dir, r.baseOffset, r.capacity, true, {
          size: atPoint ? recoveryPosition : 0,
          nextOffset: atPoint ? Math.max(row.recoveryOffset, r.baseOffset) : r.baseOffset,
          maxTimestamp: atPoint ? row.recoveryMaxTimestamp : -1,
          indexTrusted: clean,
        }),
      );
    }
    let cut: Truncation | null = null;
    if (clean) {
      // Nothing of the segments is read or mapped: indexes and mappings are made on first use.
      const active = log.active;
      // A catalog from before the max timestamp was recorded: walk the segment for it.
      if (active.maxTimestamp < 0 && active.size > 0) active.walkMaxTimestamp();
    } else {
      cut = recover(log, rows, recoveryIndex, recoveryPosition);
    }
    log.active.setActive(true);
    loadProducers(
      log,
      preloaded?.producers ?? log.catalog.producerStates(),
      recoveryIndex === 0 && recoveryPosition === 0 ? log.logStartOffset : row.recoveryOffset,
    );
    return cut;
  } catch (err) {
    for (const s of log.segments) s.release();
    log.segments = [];
    const missing = err instanceof LogStoreError && err.details.kind === 'missing-segment';
    if (missing && !fs.existsSync(log.dir)) throw missingDirectory();
    throw err;
  }
}

export function openClosed(log: PartitionLog, r: SegmentRow): Segment {
  return Segment.open(log.dir, r.baseOffset, r.capacity, false, {
    size: r.size ?? 0,
    nextOffset: r.endOffset ?? r.baseOffset,
    maxTimestamp: r.maxTimestamp ?? -1,
    indexTrusted: true,
    writesIndex: true,
  });
}

/** Verifies the segments from `recoveryIndex` on; cuts at the torn tail. */
function recover(
  log: PartitionLog,
  rows: SegmentRow[],
  recoveryIndex: number,
  recoveryPosition: number,
): Truncation | null {
  const segments = log.segments;
  for (let i = recoveryIndex; i < segments.length; i++) {
    const segment = segments[i]!;
    const isLast = i === segments.length - 1;
    const recorded = isLast ? null : (rows[i]!.size ?? null);
    const limit = recorded === null ? segment.fileSize : Math.min(recorded, segment.fileSize);
    // Compaction leaves gaps in closed segments only: what the active segment got after the
    // recovery point was appended, so dense. (The CRC does not cover base offsets.)
    const denseFrom = !log.gaps
      ? 0
      : !isLast
        ? limit
        : i === recoveryIndex
          ? Math.min(recoveryPosition, limit)
          : 0;
    const result = segment.recover({
      position: 0,
      nextOffset: segment.baseOffset,
      maxTimestamp: -1,
      recordedSize: recorded,
      gaps: log.gaps,
      denseFrom,
      maxNextOffset: isLast ? Number.POSITIVE_INFINITY : segments[i + 1]!.baseOffset,
      syncedTo: i === recoveryIndex ? recoveryPosition : 0,
    });
    if (isLast) {
      segment.loadIndex();
      return result.bytesCut > 0 ? truncation(log, segment, result) : null;
    }
    const next = segments[i + 1]!.baseOffset;
    const follows = log.gaps ? next >= segment.nextOffset : next === segment.nextOffset;
    if (result.complete && follows) {
      segment.dropResident(); // a long recovery must not keep every verified page mapped
      continue;
    }
    if (result.complete) {
      result.stop = 'segment-gap';
      result.detail = `the next segment starts at offset ${next}, not ${segment.nextOffset}`;
    }
    return cutAfter(log, i, result);
  }
  return null;
}

/**
 * Idempotent producers' state: the catalog's (as of the recovery point), moved forward by the
 * producer batches after `from` (none after a clean close).
 */
function loadProducers(log: PartitionLog, saved: ProducerStateRow[], from: number): void {
  log.producers = ProducerStates.from(log.name, saved);
  if (from >= log.endOffset) return;
  for (const segment of log.segments) {
    if (segment.nextOffset <= from) continue;
    const buf = segment.buf;
    const walker = segment.walker(0, -1, true);
    while (walker.next()) {
      const producerId = batchProducerId(buf, walker.position);
      if (walker.lastOffset < from || producerId < 0) continue;
      const batch = {
        producerId,
        epoch: batchProducerEpoch(buf, walker.position),
        firstSequence: batchBaseSequence(buf, walker.position),
        count: walker.lastOffset - walker.baseOffset + 1,
      };
      log.producers.replay(batch, walker.baseOffset, walker.lastOffset, walker.batchMaxTimestamp);
    }
  }
}

/** Segment i ends the log now: the segments after it go (catalog first), it becomes active. */
function cutAfter(log: PartitionLog, i: number, result: RecoverResult): Truncation {
  const segment = log.segments[i]!;
  const dropped = log.segments.splice(i + 1);
  // Catalog first: a crash after it leaves only files the catalog does not list.
  log.catalog.cutTo(
    segment.baseOffset,
    dropped.map((s) => s.baseOffset),
  );
  for (const later of dropped) {
    result.bytesCut += later.dataEnd(0);
    later.delete();
  }
  segment.loadIndex();
  return truncation(log, segment, result);
}

function truncation(log: PartitionLog, segment: Segment, result: RecoverResult): Truncation {
  log.unsynced.add(segment);
  return {
    topic: log.topic,
    partition: log.partition,
    file: segment.logPath,
    position: result.position,
    bytesCut: result.bytesCut,
    kind: result.stop,
    reason: result.detail,
  };
}
