/**
 * `logstore verify <dir>`: checks a store as it is on disk, without opening it as a store (no
 * lock, no recovery, no mapping), so it also runs on a damaged store and beside a live writer.
 *
 * For every topic, partition and segment the catalog lists, it walks the batches of the `.log`
 * file and checks each one's structure and CRC32C, that base offsets continue the previous batch
 * (last offset + 1; only increasing on a compacted topic), that a closed segment ends where the
 * catalog says, that the bytes after the last batch are zeros, and that the sparse index files,
 * where present and trusted by the store, point at batch starts with the right offsets and
 * timestamps. It also runs SQLite's quick_check on the catalog and notes stray files.
 *
 * Findings:
 *   damage     exit 1: the store would refuse or misread these bytes (LOGSTORE_CORRUPT)
 *   torn tail  exit 0: bytes after the last recovery point in an active segment, left by an
 *              unclean stop; the next writer open cuts them (SPEC section 4)
 *   note       exit 0: harmless (a stray file that the next writer open removes)
 * With a live writer the newest batches may be half-written while they are read: a partition with
 * findings is checked again (up to RECHECKS times) and only what persists is reported.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Catalog, type TopicRow } from '../catalog/catalog.js';
import { LogStore } from '../store.js';
import { CliError, flag, parse, printHelp, stringOption } from './args.js';
import type { Command } from './main.js';
import { CATALOG_FILE, requireStore } from './open.js';
import { colorsFor, formatBytes, formatCount, Progress } from './output.js';
import {
  readIndex,
  SegmentFile,
  segmentPath,
  walkBatches,
  type BatchHeader,
  type IndexEntry,
  type WalkResult,
} from './segment-files.js';
import { pause } from './stop.js';

const USAGE = `usage: logstore verify <dir> [--topic T] [--repair]

Checks every batch of every segment: structure, CRC32C, offset order, that a closed segment
ends where the catalog says and is followed by zeros, and the index files. Runs beside a live
writer. Exit 0: healthy (torn tails that the next writer open cuts are reported but are not
damage); exit 1: damage found, each place named by file and byte position.

options:
  --topic T     only topic T
  --repair      cut each damaged log at its first damage (drops what follows; takes the lock)
  --help, -h    this help
`;

const OPTIONS = {
  topic: { type: 'string' },
  repair: { type: 'boolean' },
} as const;

/** How often a partition with findings is checked again (a live writer may be mid-batch). */
const RECHECKS = 3;
const RECHECK_PAUSE_MS = 30;

export type Severity = 'damage' | 'torn-tail' | 'note';

export interface Finding {
  severity: Severity;
  /** The file concerned (a segment, index or the catalog). */
  file: string;
  /** Byte position in `file`, when the finding is at one. */
  position?: number;
  message: string;
}

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

export const command: Command = {
  usage: USAGE,
  async run(argv) {
    const parsed = parse(argv, OPTIONS, { min: 1, max: 1 });
    if (printHelp(parsed, USAGE)) return 0;
    const dir = parsed.positionals[0]!;
    const result = await verifyStore(dir, { topic: stringOption(parsed, 'topic'), progress: true });
    process.stdout.write(renderResult(result, colorsFor(process.stdout)));
    const damaged = result.findings.some((f) => f.severity === 'damage');
    if (damaged && flag(parsed, 'repair')) {
      const report = await LogStore.repair(dir);
      for (const cut of report.truncated) {
        process.stdout.write(
          `repaired ${cut.file}: cut at position ${cut.position} (${formatBytes(cut.bytesCut)} dropped): ${cut.reason}\n`,
        );
      }
      const after = await verifyStore(dir, { topic: stringOption(parsed, 'topic'), progress: false });
      process.stdout.write(renderResult(after, colorsFor(process.stdout)));
      return after.findings.some((f) => f.severity === 'damage') ? 1 : 0;
    }
    return damaged ? 1 : 0;
  },
};

export function renderResult(r: VerifyResult, colors = colorsFor(process.stdout)): string {
  const label: Record<Severity, string> = {
    damage: colors.red('DAMAGE   '),
    'torn-tail': colors.yellow('TORN TAIL'),
    note: colors.dim('note     '),
  };
  let text = '';
  for (const f of r.findings) {
    const where = f.position === undefined ? f.file : `${f.file} at position ${f.position}`;
    text += `${label[f.severity]} ${where}: ${f.message}\n`;
  }
  const damage = r.findings.filter((f) => f.severity === 'damage').length;
  const torn = r.findings.filter((f) => f.severity === 'torn-tail').length;
  const summary =
    `checked ${r.topics} topic${r.topics === 1 ? '' : 's'}, ${r.partitions} partitions, ${r.segments} segments, ` +
    `${formatCount(r.batches)} batches, ${formatCount(r.records)} records, ${formatBytes(r.bytes)} in ${(r.ms / 1000).toFixed(2)} s`;
  const verdict =
    damage > 0
      ? colors.red(`damage found in ${damage} place${damage === 1 ? '' : 's'}`)
      : colors.green('healthy') +
        (torn > 0 ? ` (the next writer open cuts ${torn} torn tail${torn === 1 ? '' : 's'})` : '');
  return `${text}${summary}: ${verdict}\n`;
}

interface Stats {
  segments: number;
  batches: number;
  records: number;
  bytes: number;
}

export async function verifyStore(
  dir: string,
  options: { topic?: string; progress?: boolean } = {},
): Promise<VerifyResult> {
  const started = Date.now();
  const absolute = requireStore(dir);
  const catalogPath = path.join(absolute, CATALOG_FILE);
  const catalog = Catalog.open(catalogPath, true);
  const findings: Finding[] = [];
  const stats: Stats = { segments: 0, batches: 0, records: 0, bytes: 0 };
  let partitions = 0;
  let topics: TopicRow[];
  try {
    const check = catalog.db.pragma('quick_check') as { quick_check: string }[];
    for (const row of check) {
      if (row.quick_check !== 'ok')
        findings.push({
          severity: 'damage',
          file: catalogPath,
          message: `SQLite quick_check: ${row.quick_check}`,
        });
    }
    topics = catalog.topics();
    if (options.topic !== undefined) {
      topics = topics.filter((t) => t.name === options.topic);
      if (topics.length === 0) throw new CliError(`no topic '${options.topic}' in ${absolute}`);
    } else {
      findings.push(...strayFiles(absolute, topics));
    }
    const total = totalBytes(absolute, catalog, topics);
    const progress = new Progress(total, 'verify', process.stderr);
    let done = 0;
    const show = options.progress
      ? (bytes: number, where: string) => progress.update(done + bytes, where)
      : undefined;
    for (const topic of topics) {
      for (let p = 0; p < topic.partitions; p++) {
        partitions++;
        let result = checkPartition(absolute, catalog, topic, p, show);
        for (let i = 0; i < RECHECKS && result.findings.some((f) => f.severity !== 'note'); i++) {
          await pause(RECHECK_PAUSE_MS, new AbortController().signal);
          result = checkPartition(absolute, catalog, topic, p, undefined);
        }
        findings.push(...result.findings);
        stats.segments += result.stats.segments;
        stats.batches += result.stats.batches;
        stats.records += result.stats.records;
        stats.bytes += result.stats.bytes;
        done += result.fileBytes;
      }
    }
    progress.done();
  } finally {
    catalog.close();
  }
  return { findings, topics: topics.length, partitions, ...stats, ms: Date.now() - started };
}

function totalBytes(dir: string, catalog: Catalog, topics: TopicRow[]): number {
  let total = 0;
  for (const t of topics) {
    for (let p = 0; p < t.partitions; p++) {
      for (const s of catalog.segments(t.name, p)) {
        try {
          total += fs.statSync(segmentPath(dir, t.name, p, s.baseOffset)).size;
        } catch {
          // missing: reported by the check
        }
      }
    }
  }
  return total;
}

/**
 * Checks one partition's segments in order. `show(bytes, where)` reports progress within the
 * partition's files.
 */
function checkPartition(
  dir: string,
  catalog: Catalog,
  topic: TopicRow,
  partition: number,
  show: ((bytes: number, where: string) => void) | undefined,
): { findings: Finding[]; stats: Stats; fileBytes: number } {
  const findings: Finding[] = [];
  const stats: Stats = { segments: 0, batches: 0, records: 0, bytes: 0 };
  const name = `${topic.name}-${partition}`;
  const rows = catalog.segments(topic.name, partition);
  const prow = catalog.partition(topic.name, partition);
  const damage = (file: string, message: string, position?: number) =>
    findings.push({ severity: 'damage', file, message, ...(position === undefined ? {} : { position }) });
  if (!prow || rows.length === 0) {
    damage(catalog.db.name, `the catalog lists no segments for ${name}`);
    return { findings, stats, fileBytes: 0 };
  }
  const clean = catalog.getMeta('clean_shutdown') !== '0';
  const gaps = topic.config.cleanupPolicy === 'compact';
  const maxBatchBytes = Math.max(topic.config.segmentBytes, ...rows.map((r) => r.capacity));
  let fileBytes = 0;
  let expected: number | null = null;

  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    const file = segmentPath(dir, topic.name, partition, row.baseOffset);
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
    const bad = (position: number, message: string) => {
      if (position >= tailFrom) {
        findings.push({
          severity: 'torn-tail',
          file,
          position,
          message: `${message}; after the last recovery point (${tailFrom}), so the next writer open cuts the log here`,
        });
      } else damage(file, message, position);
    };
    if (expected !== null && (gaps ? row.baseOffset < expected : row.baseOffset !== expected)) {
      damage(
        file,
        `segment starts at offset ${row.baseOffset}, but the segment before it ends at offset ${expected}`,
      );
    }
    let sf: SegmentFile;
    try {
      sf = new SegmentFile(file);
    } catch (err) {
      damage(file, `cannot read the segment the catalog lists: ${(err as Error).message}`);
      expected = row.endOffset;
      continue;
    }
    stats.segments++;
    try {
      if (row.size !== null && sf.size < row.size) {
        damage(
          file,
          `the file is ${sf.size} bytes, but the catalog records ${row.size} bytes of batches in it`,
        );
      }
      let index: IndexEntry[] | null = null;
      if (!active || clean) {
        try {
          index = readIndex(dir, topic.name, partition, row.baseOffset);
        } catch (err) {
          damage(
            segmentPath(dir, topic.name, partition, row.baseOffset, 'index'),
            `${(err as Error).message}; delete the index files (they are rebuilt)`,
          );
        }
      }
      const indexFile = segmentPath(dir, topic.name, partition, row.baseOffset, 'index');
      let k = 0;
      let next = row.baseOffset;
      let first = true;
      let maxTs = -1;
      const result: WalkResult = { end: 0 };
      for (const { header: h } of walkBatches(sf, maxBatchBytes, result, row.size ?? sf.size)) {
        const refused = checkBatch(h, first ? row.baseOffset : next, gaps);
        if (refused) {
          result.end = h.position;
          result.problem = refused;
          break;
        }
        first = false;
        next = h.lastOffset + 1;
        if (h.maxTimestamp > maxTs) maxTs = h.maxTimestamp;
        stats.batches++;
        stats.records += h.count;
        stats.bytes += h.size;
        if (index) {
          for (; k < index.length && index[k]!.position <= h.position; k++) {
            const e = index[k]!;
            if (e.position < h.position) {
              damage(
                indexFile,
                `entry ${k} points to position ${e.position}, inside a batch (batches start at ${h.position} and before)`,
              );
            } else if (e.offset !== h.baseOffset || e.timestamp !== maxTs) {
              damage(
                indexFile,
                `entry ${k} (offset ${e.offset}, timestamp ${e.timestamp}) does not match the batch at position ${h.position} ` +
                  `(base offset ${h.baseOffset}, max timestamp so far ${maxTs}); delete the index files (they are rebuilt)`,
              );
            }
          }
        }
        if (show && stats.batches % 256 === 0) show(fileBytes + h.position, name);
      }
      if (index && k < index.length) {
        damage(
          indexFile,
          `entry ${k} points to position ${index[k]!.position}, past the last batch (which ends at ${result.end})`,
        );
      }
      if (result.problem) {
        bad(
          result.end,
          `${result.problem}${next > row.baseOffset ? ` (the batch after offset ${next - 1})` : ''}`,
        );
      } else {
        const nonZero = sf.firstNonZero(result.end, show && ((pos) => show(fileBytes + pos, name)));
        if (nonZero >= 0)
          bad(
            nonZero,
            `non-zero bytes after the last batch (which ends at ${result.end}); only zeros may follow it`,
          );
        if (!active && result.end !== row.size && nonZero < 0) {
          damage(
            file,
            `the batches end at position ${result.end}, but the catalog records ${row.size} bytes`,
          );
        }
        if (!active && row.endOffset !== null && (gaps ? next > row.endOffset : next !== row.endOffset)) {
          damage(
            file,
            `the batches end before offset ${next}, but the catalog records the segment's end offset as ${row.endOffset}`,
          );
        }
      }
      expected = row.endOffset ?? next;
      fileBytes += sf.size;
    } finally {
      sf.close();
    }
  }
  return { findings, stats, fileBytes };
}

/** Why a batch does not continue the partition's offsets (`want`: the next offset), if it does not. */
function checkBatch(h: BatchHeader, want: number, gaps: boolean): string | undefined {
  if (gaps ? h.baseOffset < want : h.baseOffset !== want) {
    return `batch base offset ${h.baseOffset}, expected ${gaps ? `at least ${want}` : want}`;
  }
  if (h.maxTimestamp < h.baseTimestamp)
    return `max timestamp ${h.maxTimestamp} is before the base timestamp ${h.baseTimestamp}`;
  if (!gaps && h.count !== h.lastOffset - h.baseOffset + 1)
    return `${h.count} records but offsets ${h.baseOffset} to ${h.lastOffset}`;
  return undefined;
}

/** Partition directories and segment files the catalog does not list. */
function strayFiles(dir: string, topics: TopicRow[]): Finding[] {
  const findings: Finding[] = [];
  const known = new Set<string>();
  for (const t of topics) for (let p = 0; p < t.partitions; p++) known.add(`${t.name}-${p}`);
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return findings;
  }
  for (const entry of entries) {
    if (!entry.isDirectory() || !/^.+-\d+$/.test(entry.name)) continue;
    if (!known.has(entry.name)) {
      findings.push({
        severity: 'note',
        file: path.join(dir, entry.name),
        message: 'a partition directory the catalog does not list; the next writer open removes it',
      });
    }
  }
  return findings;
}
