/**
 * What the log loader checks of the catalog's view of one partition before it trusts it, against
 * the files (the truth for records). Each check either finds nothing or reports a
 * CatalogProblem and returns what the files say instead:
 *
 *   - listed segments whose files are gone where retention (the oldest ones) or compaction (any
 *     closed one of a compacted topic) would have removed them: a catalog older than that
 *     cleaning; their rows are dropped. Any other missing file stays LOGSTORE_CORRUPT;
 *   - a log start offset past the first segment's first offset, which no operation of the
 *     store produces: moved back, so the records there are not hidden;
 *   - after a clean close, the recorded end of the active segment (the recovery point written at
 *     close) must be where a batch ends, at the recorded offset, with only zeros after it. Data
 *     after it means the catalog is older than the log (a lost commit); anything else, damage.
 *     Either way the partition is then recovered from its files. The check reads the bytes from
 *     the last index entry before the end: a few KiB per partition, through `pread`, so that an
 *     open maps no segment it does not need.
 */
import fs from 'node:fs';
import { BatchWalker } from '../format/batches.js';
import type { CatalogProblem, OpenReport } from './open-report.js';
import type { PartitionRow, SegmentRow } from './partition-catalog.js';
import type { PartitionLog } from './partition-log.js';
import { segmentPath } from './layout.js';
import { INDEX_INTERVAL_BYTES } from './sparse-index.js';
import { surveySegment, type DirListing } from './unlisted-files.js';

/** 12 zero bytes where a batch header would start end the data (docs/format.md). */
const END_MARK = 12;

/**
 * Drops the rows of listed segments whose files are gone where a cleaning the catalog does not
 * know about would have removed them: the oldest ones (retention), or any closed one of a
 * compacted topic (compaction). The last listed segment counts as closed when segment files
 * follow it (it was rolled since). If no listed segment is left, the first file that follows
 * becomes the log's first segment, in the same transaction. Returns whether it changed anything.
 */
export function dropMissing(
  log: PartitionLog,
  row: PartitionRow,
  rows: readonly SegmentRow[],
  listing: DirListing,
  report: OpenReport,
): boolean {
  const last = rows[rows.length - 1]!.baseOffset;
  const following = [...listing.logs].filter((b) => b > last).sort((a, b) => a - b);
  const closed = listing.logs.has(last) || following.length === 0 ? rows.slice(0, -1) : rows;
  const missing: number[] = [];
  let head = true;
  for (const r of closed) {
    const present = listing.logs.has(r.baseOffset);
    if (present) head = false;
    else if (head || log.gaps) missing.push(r.baseOffset);
  }
  if (missing.length === 0) return false;
  const remaining = rows.filter((r) => !missing.includes(r.baseOffset));
  const add =
    remaining.length === 0 ? { baseOffset: following[0]!, capacity: log.config.segmentBytes } : undefined;
  const first = remaining[0]?.baseOffset ?? add!.baseOffset;
  const headDropped = missing[0] === rows[0]!.baseOffset;
  const logStart = headDropped && !log.gaps ? Math.max(row.logStartOffset, first) : row.logStartOffset;
  log.catalog.deleteSegments(missing, Math.min(logStart, first), add);
  if (add) {
    const survey = surveySegment(log.dir, add.baseOffset, log.gaps);
    report.files.push({
      action: 'adopted',
      file: segmentPath(log.dir, add.baseOffset, 'log'),
      topic: log.topic,
      partition: log.partition,
      ...(survey.firstOffset >= 0 ? { firstOffset: survey.firstOffset, nextOffset: survey.nextOffset } : {}),
      reason: 'follows the segments the catalog lists, whose files are gone',
    });
  }
  const startMoved = Math.min(logStart, first) !== row.logStartOffset;
  report.catalog.push({
    code: 'segments-missing',
    topic: log.topic,
    partition: log.partition,
    message:
      `the catalog lists segment${missing.length === 1 ? '' : 's'} ${missing.join(', ')}, whose files are gone ` +
      `where ${log.gaps ? 'compaction' : 'retention'} would have removed them (the catalog is older than that ` +
      'cleaning): the rows are dropped' +
      (startMoved ? `, the log now starts at offset ${Math.min(logStart, first)}` : '') +
      (add ? `, and segment ${add.baseOffset}, which follows them, is listed` : ''),
  });
  return true;
}

/** The log start offset, moved back to the first segment's base offset if the catalog had it past it. */
export function checkLogStart(
  log: PartitionLog,
  row: PartitionRow,
  rows: readonly SegmentRow[],
  report: OpenReport,
): PartitionRow {
  const first = rows[0]!.baseOffset;
  if (row.logStartOffset <= first) return row;
  log.catalog.deleteSegments([], first);
  report.catalog.push({
    code: 'log-start-ahead',
    topic: log.topic,
    partition: log.partition,
    message:
      `the catalog's log start offset ${row.logStartOffset} is past the first segment's base offset ${first} ` +
      `(retention only ever moves it to a segment's base): moved back to ${first}, nothing hidden`,
  });
  return { ...row, logStartOffset: first };
}

/**
 * After a clean open: whether the active segment's recorded end (size and next offset, from the
 * recovery point written at close) is where its batches end. Null if it holds. `recover`: the
 * partition is to be recovered from its files; false when the batches up to the recorded end
 * name other offsets than the catalog, which a catalog gone back in time cannot cause (it would
 * leave batches after the end, not other ones before it): the batches or the catalog are damaged
 * and the files prove neither, so the catalog's view is kept and reads check every batch
 * against it (a damaged one is LOGSTORE_CORRUPT where it is).
 */
export function recordedEndProblem(
  log: PartitionLog,
  row: PartitionRow,
): { problem: CatalogProblem; recover: boolean } | null {
  const active = log.active;
  const problem = (code: CatalogProblem['code'], what: string, recover = true) => ({
    problem: {
      code,
      topic: log.topic,
      partition: log.partition,
      file: active.logPath,
      message:
        `${what}: ` +
        (recover
          ? 'the partition is recovered from its files'
          : "the batches or the catalog are damaged; the catalog's view is kept and reads check every batch against it"),
    },
    recover,
  });
  if (row.recoverySegment !== active.baseOffset) {
    return problem(
      'recovery-point-wrong',
      `the clean close recorded its end in segment ${row.recoverySegment}, not in the active segment ${active.baseOffset}`,
    );
  }
  const end = row.recoveryPosition;
  // A segment of at most INDEX_INTERVAL_BYTES has no index entry: read from its start, without
  // building an index (which would map the segment).
  const entry =
    active.nextOffset > active.baseOffset && end > INDEX_INTERVAL_BYTES
      ? active.index.entryFor(active.nextOffset - 1)
      : null;
  // The index is a cache: an entry that does not name the batch at its position is ignored.
  let walk = walkTo(log, active.logPath, entry && entry.position <= end ? entry : null, end);
  if (!walk) walk = walkTo(log, active.logPath, null, end)!;
  const { walker, tail } = walk;
  if (walker.stop === 'end') {
    if (walker.nextOffset !== row.recoveryOffset) {
      return problem(
        'recovery-point-wrong',
        `the clean close recorded the end at position ${end}, offset ${row.recoveryOffset}, but the batches ` +
          `up to that position end at offset ${walker.nextOffset}`,
        false,
      );
    }
    if (tail.some((b) => b !== 0)) {
      return problem(
        'recovery-point-behind',
        `batches follow the end the clean close recorded (position ${end}, offset ${row.recoveryOffset}): ` +
          'the catalog is older than the log',
      );
    }
    return null;
  }
  // A batch running past the recorded end: the end is not a batch boundary. Any other stop is
  // damage to the batches themselves, which reads report where it is (LOGSTORE_CORRUPT).
  if (walker.stop === 'truncated') {
    return problem(
      'recovery-point-wrong',
      `the clean close recorded the end at position ${end}, inside a batch (${walker.detail})`,
    );
  }
  return null;
}

/**
 * Walks the active segment's batches from `entry` (an index entry: a batch's position and last
 * offset; null: the start) to `end`, reading the bytes; null if the entry does not name a batch.
 * `tail`: the END_MARK bytes after `end`.
 */
function walkTo(
  log: PartitionLog,
  file: string,
  entry: { position: number; offset: number } | null,
  end: number,
): { walker: BatchWalker; tail: Buffer } | null {
  const active = log.active;
  const from = entry?.position ?? 0;
  const bytes = readAt(file, from, end - from + END_MARK);
  const walker = new BatchWalker(bytes, 0, {
    limit: end - from,
    nextOffset: entry ? -1 : active.baseOffset,
    gaps: log.gaps,
    minOffset: active.baseOffset,
  });
  if (entry && (!walker.next() || walker.lastOffset !== entry.offset)) return null;
  while (walker.next());
  return { walker, tail: bytes.subarray(end - from) };
}

/**
 * Where readAt reads: one buffer for every partition of an open (the bytes are looked at before
 * the next read), not an allocation each that the collector then has to sweep.
 */
const scratch = Buffer.alloc(64 * 1024);

/**
 * `length` bytes of `file` from `position` (zeros past its end); up to 64 KiB in a buffer the
 * next call reuses.
 */
function readAt(file: string, position: number, length: number): Buffer {
  const bytes = length <= scratch.length ? scratch.subarray(0, length).fill(0) : Buffer.alloc(length);
  const fd = fs.openSync(file, 'r');
  try {
    let done = 0;
    while (done < length) {
      const n = fs.readSync(fd, bytes, done, length - done, position + done);
      if (n === 0) break;
      done += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return bytes;
}
