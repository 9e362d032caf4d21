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
 *
 * The log files are the truth for records; the catalog can be older than they are (a damaged
 * `-wal` silently takes it back to an older commit) or wrong. So the loader never deletes a file
 * the catalog does not list unless it is recognisably a leftover of the store's own operations
 * (unlisted-files.ts), adopts segments that continue the log, sets aside the rest, and checks
 * what it would otherwise trust: after a clean close, that the recorded end of the active
 * segment is where its batches end; after a crash, that a closed segment's recorded extent is
 * what its batches show. Each disagreement is reported (open-report.ts) and repaired from the
 * files, never acted on from the catalog's view.
 */
import fs from 'node:fs';
import type { ProducerStateRow } from './partition-catalog.js';
import { LogStoreError } from '../errors.js';
import { batchBaseSequence, batchProducerEpoch, batchProducerId } from '../format/record-batch.js';
import { adopt, settleCleaned, settleUnlisted } from './adoption.js';
import { checkLogStart, dropMissing, recordedEndProblem } from './catalog-checks.js';
import { finishSwaps } from './compaction.js';
import { segmentPath } from './layout.js';
import { truncation, type OpenReport } from './open-report.js';
import type { PartitionLoad, PartitionRow, SegmentRow } from './partition-catalog.js';
import type { PartitionLog } from './partition-log.js';
import { ProducerStates } from './producer-state.js';
import type { Quarantine } from './quarantine.js';
import type { RecoverResult } from './segment-recovery.js';
import { Segment } from './segment.js';
import { listPartitionDir, surveyOpen, type DirListing } from './unlisted-files.js';

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
 * point is the exact end and nothing is read but that end. What recovery cut, adopted, set aside
 * or found wrong in the catalog goes to `report`; set-aside files go to `quarantine`.
 * `preloaded`: the partition's catalog rows, read with the rest of its topic's (else read here).
 * @internal
 */
export function loadLog(
  log: PartitionLog,
  clean: boolean,
  repair: boolean,
  report: OpenReport,
  quarantine: Quarantine,
  preloaded?: PartitionLoad,
): void {
  const swaps = preloaded?.swaps ?? log.catalog.pendingSwaps();
  if (swaps.length > 0) {
    if (!fs.existsSync(log.dir)) throw missingDirectory(log);
    finishSwaps(log.catalog, log.dir, swaps);
  }
  // The listing finds a missing directory too: no stat of its own (one system call less per
  // partition at every open).
  let listing: DirListing;
  try {
    listing = listPartitionDir(log.dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw missingDirectory(log);
    throw err;
  }
  settleCleaned(log, listing, report, quarantine);
  let row = preloaded ? preloaded.row : log.catalog.state();
  let rows = preloaded?.segments ?? log.catalog.segments();
  if (!row || rows.length === 0) {
    throw new LogStoreError('LOGSTORE_CORRUPT', `The catalog has no segments for ${log.name}.`, {
      details: { kind: 'no-segments' },
    });
  }
  const dropped = dropMissing(log, row, rows, listing, report);
  if (dropped) {
    row = log.catalog.state()!;
    rows = log.catalog.segments();
  }
  row = checkLogStart(log, row, rows, report);
  const listed = new Set(rows.map((r) => r.baseOffset));
  const unlisted = [...listing.logs].filter((b) => !listed.has(b)).sort((a, b) => a - b);
  const lastListed = rows[rows.length - 1]!.baseOffset;
  const beyond = unlisted.filter((b) => b > lastListed);
  // Segment files past the catalog's last one: it is behind them, so its recorded end is not
  // trusted and the last segment it lists is closed in fact (verified as such).
  const trusted = clean && !repair && beyond.length === 0 && !dropped;
  let loaded = openSegments(log, row, rows, trusted, repair, beyond.length > 0, report, listing.indexes);
  if (trusted) {
    const found = recordedEndProblem(log, row);
    if (found) report.catalog.push(found.problem);
    if (found?.recover) {
      releaseAll(log);
      loaded = openSegments(log, row, rows, false, repair, false, report, listing.indexes);
    }
  }
  try {
    if (loaded.cut) report.truncated.push(loaded.cut);
    const rest = adopt(log, beyond, report);
    settleUnlisted(log, [...unlisted.filter((b) => b < lastListed), ...rest], report, quarantine);
    const kept = new Set(log.segments.map((s) => s.baseOffset));
    for (const base of listing.indexes) {
      if (kept.has(base)) continue;
      for (const kind of ['index', 'timeindex'] as const)
        fs.rmSync(segmentPath(log.dir, base, kind), { force: true });
    }
    log.active.setActive(true);
    loadProducers(log, preloaded?.producers ?? log.catalog.producerStates(), loaded.replayFrom);
  } catch (err) {
    releaseAll(log);
    throw err;
  }
}

function missingDirectory(log: PartitionLog): LogStoreError {
  return new LogStoreError(
    'LOGSTORE_CORRUPT',
    `The catalog lists ${log.name}, but its directory ${log.dir} is missing.`,
    { details: { file: log.dir, kind: 'missing-directory' } },
  );
}

function releaseAll(log: PartitionLog): void {
  for (const s of log.segments) s.release();
  log.segments = [];
}

/**
 * Opens the listed segments; after an unclean stop (`clean` false) verifies them from the
 * recovery point and cuts the torn tail. `closedInFact`: segment files follow the last listed
 * segment, so it was rolled (and may have been compacted since) though the catalog lists it as
 * active. `indexFiles`: the base offsets that have index files in the directory. Returns the cut,
 * if any, and where idempotent producers' state is replayed from.
 */
function openSegments(
  log: PartitionLog,
  row: PartitionRow,
  rows: SegmentRow[],
  clean: boolean,
  repair: boolean,
  closedInFact: boolean,
  report: OpenReport,
  indexFiles: ReadonlySet<number>,
): { cut: Truncation | null; replayFrom: number } {
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
        log.segments.push(openClosed(log, r, indexFiles.has(r.baseOffset)));
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
          indexFiles: indexFiles.has(r.baseOffset),
        }),
      );
    }
    let cut: Truncation | null = null;
    if (clean) {
      const active = log.active;
      // Nothing of the segments is read or mapped: indexes and mappings are made on first use.
      // A catalog from before the max timestamp was recorded: walk the segment for it.
      if (active.maxTimestamp < 0 && active.size > 0) active.walkMaxTimestamp();
    } else {
      cut = recover(log, rows, recoveryIndex, recoveryPosition, closedInFact, report);
    }
    const replayFrom =
      recoveryIndex === 0 && recoveryPosition === 0 ? log.logStartOffset : row.recoveryOffset;
    return { cut, replayFrom };
  } catch (err) {
    releaseAll(log);
    throw err;
  }
}

/** @internal */
export function openClosed(log: PartitionLog, r: SegmentRow, indexFiles: boolean): Segment {
  return Segment.open(log.dir, r.baseOffset, r.capacity, false, {
    size: r.size ?? 0,
    nextOffset: r.endOffset ?? r.baseOffset,
    maxTimestamp: r.maxTimestamp ?? -1,
    indexTrusted: true,
    indexFiles,
    writesIndex: true,
  });
}

/**
 * Verifies the segments from `recoveryIndex` on; cuts at the torn tail. A closed segment whose
 * batches are whole and continue into the next segment is kept whatever its recorded extent says
 * (a catalog older than a compaction, or damaged): the row is corrected and reported.
 */
function recover(
  log: PartitionLog,
  rows: SegmentRow[],
  recoveryIndex: number,
  recoveryPosition: number,
  closedInFact: boolean,
  report: OpenReport,
): Truncation | null {
  const segments = log.segments;
  for (let i = recoveryIndex; i < segments.length; i++) {
    const segment = segments[i]!;
    const isLast = i === segments.length - 1;
    if (!isLast && keepWhole(log, segment, rows[i]!, segments[i + 1]!.baseOffset, report)) {
      segment.dropResident(); // a long recovery must not keep every verified page mapped
      continue;
    }
    const recorded = isLast ? null : (rows[i]!.size ?? null);
    const limit = recorded === null ? segment.fileSize : Math.min(recorded, segment.fileSize);
    // Compaction leaves gaps in closed segments only: what the active segment got after the
    // recovery point was appended, so dense. (The CRC does not cover base offsets.)
    const denseFrom = !log.gaps
      ? 0
      : !isLast || closedInFact
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
      return result.bytesCut > 0 ? cutReport(log, segment, result) : null;
    }
    const next = segments[i + 1]!.baseOffset;
    const follows = log.gaps ? next >= segment.nextOffset : next === segment.nextOffset;
    if (result.complete && follows) {
      segment.dropResident();
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
 * A closed segment whose batches, walked to the zeros, are whole and end where the next segment
 * begins: taken as its files show it, the catalog row corrected if it said otherwise (it cannot
 * be a torn tail: nothing is missing). False leaves the segment to the ordinary recovery.
 */
function keepWhole(
  log: PartitionLog,
  segment: Segment,
  row: SegmentRow,
  next: number,
  report: OpenReport,
): boolean {
  const survey = surveyOpen(segment, log.gaps, next);
  const continues = log.gaps ? survey.nextOffset <= next : survey.nextOffset === next;
  if (!survey.whole || !continues || survey.firstOffset < 0) return false;
  // A compacted segment ending early with fewer bytes than recorded may have lost its last batches
  // (gaps hide that the offsets do not reach the next segment): left to the ordinary recovery,
  // which treats the missing bytes as damage.
  if (log.gaps && row.size !== null && survey.end < row.size) return false;
  const recordedEnd = row.endOffset;
  const endOffset = !log.gaps
    ? survey.nextOffset
    : recordedEnd !== null && recordedEnd >= survey.nextOffset && recordedEnd <= next
      ? recordedEnd
      : next;
  if (survey.end !== row.size || endOffset !== recordedEnd) {
    log.catalog.setExtent({
      baseOffset: segment.baseOffset,
      endOffset,
      size: survey.end,
      maxTimestamp: survey.maxTimestamp,
    });
  }
  // The same walk as the survey's, to the end it found: complete, so nothing is zeroed.
  segment.recover({
    position: 0,
    nextOffset: segment.baseOffset,
    maxTimestamp: -1,
    recordedSize: survey.end,
    gaps: log.gaps,
    denseFrom: survey.end,
    maxNextOffset: next,
    syncedTo: 0,
  });
  if (survey.end !== row.size || endOffset !== recordedEnd) {
    report.catalog.push({
      code: 'extent-wrong',
      topic: log.topic,
      partition: log.partition,
      file: segment.logPath,
      message:
        `the catalog records ${row.size} bytes and end offset ${recordedEnd} for this closed segment; ` +
        `its batches are whole, ${survey.end} bytes ending at offset ${survey.nextOffset}, and the next ` +
        `segment starts at ${next}: the row now says what the file holds`,
    });
  }
  return true;
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
  return cutReport(log, segment, result);
}

function cutReport(log: PartitionLog, segment: Segment, result: RecoverResult): Truncation {
  log.unsynced.add(segment);
  return truncation(log, segment, result);
}
