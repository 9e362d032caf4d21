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
import type { BatchWalker } from '../format/batches.js';
import { adopt, settleCleaned, settleUnlisted } from './adoption.js';
import { checkLogStart, dropMissing, recordedEndProblem } from './catalog-checks.js';
import { finishSwaps } from './compaction.js';
import { segmentPath } from './layout.js';
import { truncation, type OpenReport } from './open-report.js';
import type { PartitionLoad, PartitionRow, SegmentRow } from './partition-catalog.js';
import type { PartitionLog } from './partition-log.js';
import { ProducerReplay } from './producer-replay.js';
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
  const saved = preloaded?.producers ?? log.catalog.producerStates();
  let loaded = openSegments(
    log,
    row,
    rows,
    trusted,
    repair,
    beyond.length > 0,
    report,
    saved,
    listing.indexes,
  );
  if (trusted) {
    const found = recordedEndProblem(log, row);
    if (found) report.catalog.push(found.problem);
    if (found?.recover) {
      releaseAll(log);
      loaded = openSegments(log, row, rows, false, repair, false, report, saved, listing.indexes);
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
    log.producers = loaded.producers.finish(log.segments);
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
 * if any, and idempotent producers' state (`saved`, the catalog's) as far as recovery's walk moved
 * it.
 */
function openSegments(
  log: PartitionLog,
  row: PartitionRow,
  rows: SegmentRow[],
  clean: boolean,
  repair: boolean,
  closedInFact: boolean,
  report: OpenReport,
  saved: readonly ProducerStateRow[],
  indexFiles: ReadonlySet<number>,
): { cut: Truncation | null; producers: ProducerReplay } {
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
  const replayFrom = recoveryIndex === 0 && recoveryPosition === 0 ? log.logStartOffset : row.recoveryOffset;
  const producers = new ProducerReplay(log.name, saved, replayFrom);
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
      cut = recover(log, rows, recoveryIndex, recoveryPosition, closedInFact, report, producers);
    }
    return { cut, producers };
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
 *
 * Each segment is read once, in order: that walk also feeds idempotent producers' replay (and
 * builds the index of the segment that ends the log), and the pages behind it are dropped as it
 * goes (`touch`), so recovering a log of any size keeps about 16 MiB of it resident, not all of it.
 */
function recover(
  log: PartitionLog,
  rows: SegmentRow[],
  recoveryIndex: number,
  recoveryPosition: number,
  closedInFact: boolean,
  report: OpenReport,
  producers: ProducerReplay,
): Truncation | null {
  const segments = log.segments;
  for (let i = recoveryIndex; i < segments.length; i++) {
    const segment = segments[i]!;
    // What the dead writer wrote after its last sync may be only in the page cache: the recovery
    // points the open records past it must not claim it is on the disk, so the open syncs it.
    log.unsynced.add(segment);
    const isLast = i === segments.length - 1;
    const onBatch = (walker: BatchWalker) => {
      producers.feed(walker);
      segment.touch(walker.size, walker.end);
    };
    if (!isLast && keepWhole(log, segment, rows[i]!, segments[i + 1]!.baseOffset, report, producers)) {
      segment.dropResident();
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
    const result = segment.recover(
      {
        position: 0,
        nextOffset: segment.baseOffset,
        maxTimestamp: -1,
        recordedSize: recorded,
        gaps: log.gaps,
        denseFrom,
        maxNextOffset: isLast ? Number.POSITIVE_INFINITY : segments[i + 1]!.baseOffset,
        syncedTo: i === recoveryIndex ? recoveryPosition : 0,
      },
      { onBatch, index: isLast },
    );
    producers.fedAll(segment); // the walk fed every batch up to where the segment now ends
    if (isLast) {
      segment.saveIndex(); // built by the walk; its files written again, as a rebuild does
      segment.dropResident();
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
  producers: ProducerReplay,
): boolean {
  // The survey's batches up to the recorded size are the ones the ordinary recovery would accept
  // too, whatever is decided here: they are fed to the replay at once. One past it is fed only if
  // the segment is kept as surveyed; else the replay walks the segment again at the end.
  let missed = false;
  const survey = surveyOpen(segment, log.gaps, next, (walker) => {
    if (row.size === null || walker.end <= row.size) producers.feed(walker);
    else if (producers.wants(walker)) missed = true;
    segment.touch(walker.size, walker.end);
  });
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
  // What `recover` would find walking to the end the survey found (the same checks, complete):
  // taken from the survey rather than walked again.
  segment.keepWalked({
    position: survey.end,
    nextOffset: survey.nextOffset,
    maxTimestamp: survey.maxTimestamp,
  });
  if (!missed) producers.fedAll(segment);
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
