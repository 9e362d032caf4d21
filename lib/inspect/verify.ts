/**
 * Verifying a store as it is on disk (what `logstore verify` runs): for every topic, partition
 * and segment the catalog lists, it walks the `.log` file with the batch walker (the same checks
 * the store makes: structure, CRC32C, offsets, counts, timestamps), checks that a closed segment
 * ends where the catalog says and that only zeros follow the last batch, and that the index
 * files, where the store would trust them, are what a walk of the log builds. It also runs
 * SQLite's quick_check on the catalog and notes stray files. The index check is verify-index.ts's,
 * the findings about files the catalog does not list verify-unlisted.ts's.
 *
 * The log files are the truth for records, so it also looks for a catalog older than them (a lost
 * SQLite commit): segment files it does not list (storage/unlisted-files.ts decides, as the open
 * does, which continue the log and are adopted, which are leftovers and which are set aside),
 * partition directories of topics it lost, and batches after the end a clean close recorded.
 *
 * Findings:
 *   damage     the store would refuse or misread these bytes (LOGSTORE_CORRUPT), or the catalog
 *              disagrees with the files (the message says what the next writer open or
 *              `--repair` does about it)
 *   torn-tail  bytes after the last recovery point in an active segment, left by an unclean
 *              stop; the next writer open cuts them
 *   note       harmless (a leftover file that the next writer open removes, a file set aside in
 *              quarantine/ by an earlier open)
 * With a live writer the newest batches may be half-written while they are read: a partition with
 * findings is checked again (up to RECHECKS times) and only what persists is reported.
 */
import fs from 'node:fs';
import type { TopicRow } from '../catalog/catalog.js';
import { LogStoreError } from '../errors.js';
import { batchRecordCount } from '../format/record-batch.js';
import { listPartitionDir, type DirListing } from '../storage/unlisted-files.js';
import type { Finding } from './finding.js';
import { StoreFiles } from './store-files.js';
import { checkIndex, type WalkedBatch } from './verify-index.js';
import { strayFiles, unlistedFindings } from './verify-unlisted.js';

export interface VerifyResult {
  findings: Finding[];
  topics: number;
  partitions: number;
  segments: number;
  batches: number;
  records: number;
  /** Bytes of batches checked. */
  bytes: number;
  ms: number;
}

export interface VerifyOptions {
  /** Only this topic. */
  topic?: string;
  /** Called as files are read: bytes done so far of `total`, and the partition being read. */
  onProgress?: (done: number, total: number, where: string) => void;
}

/** How often a partition with findings is checked again (a live writer may be mid-batch). */
const RECHECKS = 3;
const RECHECK_PAUSE_MS = 30;

interface Stats {
  segments: number;
  batches: number;
  records: number;
  bytes: number;
}

/** Verifies the store in `dir`; LOGSTORE_TOPIC_NOT_FOUND when `topic` names none. */
export async function verifyStore(dir: string, options: VerifyOptions = {}): Promise<VerifyResult> {
  const started = Date.now();
  const files = StoreFiles.open(dir);
  const findings: Finding[] = [];
  const stats: Stats = { segments: 0, batches: 0, records: 0, bytes: 0 };
  let partitions = 0;
  let topics: TopicRow[];
  try {
    for (const message of files.quickCheck()) {
      if (message !== 'ok')
        findings.push({
          severity: 'damage',
          file: files.catalogFile,
          kind: 'catalog',
          message: `SQLite quick_check: ${message}`,
        });
    }
    topics = files.topics();
    if (!files.currentIndexFormat() && topics.length > 0) {
      findings.push({
        severity: 'note',
        file: files.catalogFile,
        kind: 'old-index',
        message:
          'the index files were written by an older logstore (another meaning); the next writer open rebuilds them',
      });
    }
    if (options.topic !== undefined) {
      topics = topics.filter((t) => t.name === options.topic);
      if (topics.length === 0)
        throw new LogStoreError('LOGSTORE_TOPIC_NOT_FOUND', `No topic '${options.topic}' in ${dir}.`);
    } else {
      findings.push(...strayFiles(dir, topics, files.deletingTopics()));
    }
    const total = totalBytes(files, topics);
    let done = 0;
    for (const topic of topics) {
      for (let p = 0; p < topic.partitions; p++) {
        partitions++;
        const show =
          options.onProgress &&
          ((bytes: number) => options.onProgress!(done + bytes, total, `${topic.name}-${p}`));
        let result = checkPartition(files, topic, p, show);
        for (let i = 0; i < RECHECKS && result.findings.some((f) => f.severity !== 'note'); i++) {
          await new Promise((resolve) => setTimeout(resolve, RECHECK_PAUSE_MS));
          result = checkPartition(files, topic, p, undefined);
        }
        findings.push(...result.findings);
        stats.segments += result.stats.segments;
        stats.batches += result.stats.batches;
        stats.records += result.stats.records;
        stats.bytes += result.stats.bytes;
        done += result.fileBytes;
      }
    }
  } finally {
    files.close();
  }
  return { findings, topics: topics.length, partitions, ...stats, ms: Date.now() - started };
}

function totalBytes(files: StoreFiles, topics: TopicRow[]): number {
  let total = 0;
  for (const t of topics) {
    for (let p = 0; p < t.partitions; p++) {
      for (const s of files.partition(t.name, p).segments) {
        try {
          total += fs.statSync(files.segmentFile(t.name, p, s.baseOffset)).size;
        } catch {
          // missing: reported by the check
        }
      }
    }
  }
  return total;
}

/** Checks one partition's segments in order; `show(bytes)` reports progress within its files. */
function checkPartition(
  files: StoreFiles,
  topic: TopicRow,
  partition: number,
  show: ((bytes: number) => void) | undefined,
): { findings: Finding[]; stats: Stats; fileBytes: number } {
  const findings: Finding[] = [];
  const stats: Stats = { segments: 0, batches: 0, records: 0, bytes: 0 };
  const { row: prow, segments: rows } = files.partition(topic.name, partition);
  const damage = (file: string, kind: string, message: string, position?: number) =>
    findings.push({
      severity: 'damage',
      file,
      kind,
      message,
      ...(position === undefined ? {} : { position }),
    });
  if (!prow || rows.length === 0) {
    damage(files.catalogFile, 'no-segments', `the catalog lists no segments for ${topic.name}-${partition}`);
    return { findings, stats, fileBytes: 0 };
  }
  const clean = files.cleanShutdown();
  const gaps = topic.config.cleanupPolicy === 'compact';
  let fileBytes = 0;
  let expected: number | null = null;
  let listing: DirListing | null = null;
  try {
    listing = listPartitionDir(files.partition(topic.name, partition).dir);
  } catch {
    // a missing directory: every segment is reported missing below
  }
  let head = true;
  // Segment files past the last listed one: the catalog lost rolls, which `segments-behind` names
  // (the open then recovers from the files, so the recorded end is not judged on its own).
  const lastListed = rows[rows.length - 1]!.baseOffset;
  const rolledPast = [...(listing?.logs ?? [])].some((b) => b > lastListed);

  for (const row of rows) {
    const file = files.segmentFile(topic.name, partition, row.baseOffset);
    const active = row.endOffset === null;
    // Bytes after the recovery point of an active segment are a torn tail if bad, not damage.
    const tailFrom =
      !active || clean
        ? Number.POSITIVE_INFINITY
        : prow.recoverySegment < row.baseOffset
          ? 0
          : prow.recoverySegment === row.baseOffset
            ? prow.recoveryPosition
            : Number.POSITIVE_INFINITY;
    const bad = (position: number, kind: string, message: string) => {
      if (position >= tailFrom) {
        findings.push({
          severity: 'torn-tail',
          file,
          position,
          kind,
          message: `${message}; after the last recovery point (${tailFrom}), so the next writer open cuts the log here`,
        });
      } else damage(file, kind, message, position);
    };
    if (expected !== null && (gaps ? row.baseOffset < expected : row.baseOffset !== expected)) {
      damage(
        file,
        'segment-gap',
        `segment starts at offset ${row.baseOffset}, but the segment before it ends at offset ${expected}`,
      );
    }
    let segment;
    try {
      segment = files.openSegment(topic.name, partition, row);
    } catch (err) {
      const last = row === rows[rows.length - 1];
      const cleaned = !last && (head || gaps) && listing?.logs.has(rows[rows.length - 1]!.baseOffset);
      if (cleaned) {
        damage(
          file,
          'segments-missing',
          `the catalog lists this segment but its file is gone, where ${head ? 'retention' : 'compaction'} ` +
            'would have removed it (the catalog is older than that cleaning): the next writer open drops its row',
        );
      } else {
        damage(
          file,
          'missing-segment',
          `cannot read the segment the catalog lists: ${(err as Error).message}`,
        );
      }
      expected = row.endOffset;
      continue;
    }
    head = false;
    stats.segments++;
    try {
      if (row.size !== null && segment.fileSize < row.size) {
        damage(
          file,
          'short-file',
          `the file is ${segment.fileSize} bytes, but the catalog records ${row.size} bytes of batches in it`,
        );
      }
      const limit = Math.min(row.size ?? segment.fileSize, segment.fileSize);
      const walker = segment.walker(0, row.baseOffset, gaps, limit);
      walker.maxNextOffset = row.endOffset ?? Number.POSITIVE_INFINITY;
      const walked: WalkedBatch[] = [];
      while (walker.next()) {
        stats.batches++;
        stats.records += batchRecordCount(segment.buf, walker.position);
        stats.bytes += walker.size;
        walked.push({
          position: walker.position,
          lastOffset: walker.lastOffset,
          ownMax: walker.batchMaxTimestamp,
          runningMax: walker.maxTimestamp,
        });
        segment.touch(walker.size, walker.position);
        if (show && stats.batches % 256 === 0) show(fileBytes + walker.position);
      }
      const end = walker.end;
      const next = walker.nextOffset;
      if (walker.stop !== 'end' && walker.stop !== 'zeros') {
        bad(
          end,
          walker.stop!,
          `${walker.detail}${next > row.baseOffset ? ` (the batch after offset ${next - 1})` : ''}`,
        );
      } else {
        const nonZero = segment.dataEnd(end) > end ? firstNonZero(segment.buf, end, segment.fileSize) : -1;
        if (nonZero >= 0)
          bad(
            nonZero,
            'trailing-bytes',
            `non-zero bytes after the last batch (which ends at ${end}); only zeros may follow it`,
          );
        if (!active && end !== row.size && nonZero < 0) {
          damage(
            file,
            'short',
            `the batches end at position ${end}, but the catalog records ${row.size} bytes`,
          );
        }
        if (!active && row.endOffset !== null && (gaps ? next > row.endOffset : next !== row.endOffset)) {
          damage(
            file,
            'bad-offset',
            `the batches end before offset ${next}, but the catalog records the segment's end offset as ${row.endOffset}`,
          );
        }
      }
      if (
        active &&
        clean &&
        !rolledPast &&
        endedProperly(walker.stop) &&
        prow.recoverySegment === row.baseOffset &&
        end > prow.recoveryPosition
      ) {
        damage(
          file,
          'recovery-point-behind',
          `batches follow the end the last clean close recorded (position ${prow.recoveryPosition}, offset ` +
            `${prow.recoveryOffset}): the catalog is older than the log; the next writer open recovers the partition from its files`,
          prow.recoveryPosition,
        );
      }
      // The index is only judged over a log that is whole: damage makes every entry after it moot.
      const whole = walker.stop === 'end' || walker.stop === 'zeros';
      if (whole && (!active || clean) && files.currentIndexFormat())
        checkIndex(files, topic.name, partition, row, walked, end, damage);
      expected = row.endOffset ?? next;
      fileBytes += segment.fileSize;
    } finally {
      segment.release();
    }
  }
  if (listing) findings.push(...unlistedFindings(files, topic, partition, rows, listing, expected, prow));
  return { findings, stats, fileBytes };
}

function endedProperly(stop: string | null): boolean {
  return stop === 'end' || stop === 'zeros';
}

function firstNonZero(buf: Buffer, from: number, to: number): number {
  for (let i = from; i < to; i++) if (buf[i] !== 0) return i;
  return -1;
}
