/**
 * The log of one partition: its ordered segments, the last one active. Appends go to the active
 * segment and roll it at its capacity; reads find the segment by offset and the position by the
 * sparse index. In the writer, opening after an unclean stop recovers the tail; in a read-only
 * follower, `refresh()` catches up with what the writer (another process) has done since.
 *
 * Invariants: offsets are dense and increasing (compaction may leave gaps inside closed
 * segments); `segments` is sorted by base offset; `logStartOffset` <= the first segment's first
 * record; only the last segment is written. Called on the JS thread only.
 */
import fs from 'node:fs';
import { LogStoreError } from '../errors.js';
import {
  batchBaseOffset,
  batchLastOffsetDelta,
  batchMaxTimestamp,
  batchProblem,
  batchSize,
  decodeRecords,
  type BatchEncoder,
} from '../format/record-batch.js';
import type { Catalog, SegmentRow } from '../catalog/catalog.js';
import type { ResolvedTopicConfig } from '../options.js';
import type { LogRecord } from '../record.js';
import { compactSegments, finishSwaps, type CompactionResult } from './compaction.js';
import { crashPoint } from './faults.js';
import { fsyncDir } from './fsync-dir.js';
import { segmentsToDelete } from './retention.js';
import { Segment } from './segment.js';
import type { SparseIndex } from './sparse-index.js';

export { fsyncDir };

/** A follower's refreshes that may find files and catalog out of step (a writer mid-change). */
const MAX_REFRESH_RETRIES = 200;
/** For a short synchronous pause between a follower's attempts to open. */
const PAUSE = new Int32Array(new SharedArrayBuffer(4));

/** A reader's place in the log: the next offset and where its batch is, if known. */
export interface Cursor {
  offset: number;
  segment: Segment | null;
  position: number;
  /** Position of a batch in `segment` whose CRC was already checked (a batch read in parts). */
  checked: number;
  /** Base offset the batch at `position` must have, once known from the batch before (-1: not known). */
  expected: number;
}

/** What recovery cut from one partition. */
export interface Truncation {
  topic: string;
  partition: number;
  file: string;
  position: number;
  bytesCut: number;
  reason: string;
}

export class PartitionLog {
  segments: Segment[] = [];
  logStartOffset = 0;
  /** Segments written since the last sync. */
  readonly unsynced = new Set<Segment>();
  /** Called once at the next append (or close), then dropped: live readers waiting for data. */
  private waiters = new Set<() => void>();
  /** Follower: refreshes in a row whose files disagreed with the catalog (see refreshSegments). */
  private refreshFailures = 0;
  /** Set by the store: called after each roll (retention runs on roll). */
  onRoll: (() => void) | null = null;

  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly dir: string,
    public config: ResolvedTopicConfig,
    private readonly catalog: Catalog,
    readonly writable: boolean,
  ) {}

  /**
   * Opens the segments the catalog lists. `clean` says whether the writer closed cleanly (its
   * recovery point is then the exact end); otherwise the tail after the recovery point is
   * verified batch by batch and a torn tail is cut. Followers never cut: they stop at the first
   * batch that is not (yet) whole. `repair` verifies every segment from the first and cuts at the
   * first damage wherever it is (what `logstore verify --repair` asks for).
   */
  open(clean: boolean, repair = false): Truncation | null {
    // A follower reads the catalog, then opens files the writer may be changing right then
    // (compaction swapping files, retention deleting them): look again rather than fail.
    for (let attempt = 1; ; attempt++) {
      try {
        return this.openOnce(clean, repair);
      } catch (err) {
        for (const s of this.segments) s.release();
        this.segments = [];
        if (this.writable || !(err instanceof LogStoreError) || attempt >= MAX_REFRESH_RETRIES) throw err;
        Atomics.wait(PAUSE, 0, 0, 1);
      }
    }
  }

  private openOnce(clean: boolean, repair: boolean): Truncation | null {
    if (!this.writable && this.catalog.pendingSwaps(this.topic, this.partition).length > 0) {
      throw new LogStoreError('LOGSTORE_CORRUPT', `${this.topic}-${this.partition} is being compacted.`);
    }
    if (!fs.existsSync(this.dir)) {
      throw new LogStoreError(
        'LOGSTORE_CORRUPT',
        `The catalog lists ${this.topic}-${this.partition}, but its directory ${this.dir} is missing.`,
      );
    }
    if (this.writable) {
      // A compaction interrupted after its catalog commit: put the rewritten files in place.
      const swaps = this.catalog.pendingSwaps(this.topic, this.partition);
      if (swaps.length > 0) finishSwaps(this.catalog, this.topic, this.partition, this.dir, swaps);
      for (const f of fs.readdirSync(this.dir))
        if (f.endsWith('.cleaned')) fs.rmSync(`${this.dir}/${f}`, { force: true });
    }
    const row = this.catalog.partition(this.topic, this.partition);
    const rows = this.catalog.segments(this.topic, this.partition);
    if (!row || rows.length === 0) {
      throw new LogStoreError(
        'LOGSTORE_CORRUPT',
        `The catalog has no segments for ${this.topic}-${this.partition}.`,
      );
    }
    this.logStartOffset = row.logStartOffset;
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
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      const last = i === rows.length - 1;
      const trusted = r.endOffset !== null && (clean || i < recoveryIndex);
      if (trusted) {
        this.segments.push(this.openClosed(r));
      } else {
        // Extent to be found by scanning; start from the recovery point inside its segment.
        const atRecovery = i === recoveryIndex && recoveryPosition > 0;
        const segment = Segment.open(this.dir, r.baseOffset, r.capacity, this.writable && last, {
          size: atRecovery ? recoveryPosition : 0,
          nextOffset: atRecovery ? Math.max(row.recoveryOffset, r.baseOffset) : r.baseOffset,
          maxTimestamp: atRecovery ? row.recoveryMaxTimestamp : -1,
          // After a clean close the active segment's index files were written at close.
          indexTrusted: clean && last && this.writable,
        });
        this.segments.push(segment);
      }
    }
    if (!this.writable) {
      this.refreshTail();
      return null;
    }
    if (clean) {
      this.active.loadIndex(); // from the files written at close: nothing in the segment is read
      // A catalog from before schema 3 has no max timestamp for the active segment: walk it.
      if (this.active.maxTimestamp < 0 && this.active.size > 0) this.active.walkMaxTimestamp();
      return null;
    }
    return this.recover(
      recoveryIndex,
      recoveryPosition,
      rows.map((r) => (r.endOffset === null ? null : r.size)),
    );
  }

  private openClosed(r: SegmentRow): Segment {
    return Segment.open(this.dir, r.baseOffset, r.capacity, false, {
      size: r.size ?? 0,
      nextOffset: r.endOffset ?? r.baseOffset,
      maxTimestamp: r.maxTimestamp ?? -1,
      indexTrusted: true,
    });
  }

  /**
   * Verifies every batch from the start of the segment holding the recovery point to the end.
   * Damage before the recovery point was synced data: LOGSTORE_CORRUPT. Damage after it is the
   * torn tail of an unclean stop: everything from there on is cut (and later segments dropped).
   */
  private recover(
    recoveryIndex: number,
    recoveryPosition: number,
    recordedSizes: readonly (number | null)[],
  ): Truncation | null {
    const gaps = this.config.cleanupPolicy === 'compact';
    for (let i = recoveryIndex; i < this.segments.length; i++) {
      const segment = this.segments[i]!;
      const isLast = i === this.segments.length - 1;
      // A closed segment's extent is in the catalog: bytes past it are not batches, and batches
      // ending short of it are damage (or a torn tail), not the end of the segment.
      const recorded = isLast ? null : (recordedSizes[i] ?? null);
      const limit = recorded === null ? segment.fileSize : Math.min(recorded, segment.fileSize);
      // Compaction leaves gaps in closed segments only: what the active segment got after the
      // recovery point was appended, so dense. (The CRC does not cover base offsets.)
      const denseFrom = !gaps
        ? 0
        : !isLast
          ? limit
          : i === recoveryIndex
            ? Math.min(recoveryPosition, limit)
            : 0;
      const maxNext = isLast ? Number.POSITIVE_INFINITY : this.segments[i + 1]!.baseOffset;
      let result = segment.scan(0, segment.baseOffset, -1, denseFrom, gaps, maxNext);
      if (!result.problem && result.end === denseFrom && denseFrom < limit) {
        result = segment.scan(result.end, result.nextOffset, result.maxTimestamp, limit, false, maxNext);
      }
      const short = recorded !== null && result.end < recorded;
      const follows =
        isLast ||
        (!short &&
          (gaps
            ? this.segments[i + 1]!.baseOffset >= result.nextOffset
            : this.segments[i + 1]!.baseOffset === result.nextOffset));
      if (i === recoveryIndex && result.end < recoveryPosition) {
        // Synced batches are missing (zeros, or damage): not a torn tail.
        throw new LogStoreError(
          'LOGSTORE_CORRUPT',
          `${segment.logPath} is damaged at position ${result.end}, before the last recovery point ` +
            `(${recoveryPosition}): ${result.problem ?? 'the batches stop there (zeros)'}. ` +
            'Run `logstore verify` to see the damage and `logstore verify --repair` to cut the log there.',
        );
      }
      if (!result.problem && follows) {
        segment.size = result.end;
        segment.nextOffset = result.nextOffset;
        segment.maxTimestamp = result.maxTimestamp;
        if (!isLast) {
          segment.dropResident(); // a long recovery must not keep every verified page mapped
          continue;
        }
        const bytesCut = segment.truncateTo(result.end, result.nextOffset, result.maxTimestamp);
        segment.loadIndex();
        return bytesCut > 0
          ? this.truncation(segment, result.end, bytesCut, 'bytes after the last whole batch')
          : null;
      }
      return this.cutAt(
        i,
        result.end,
        result.nextOffset,
        result.maxTimestamp,
        result.problem ??
          (short ? `the batches end before the recorded size ${recorded}` : 'next segment does not follow'),
      );
    }
    return null;
  }

  /** Cuts segment i at `position`, drops the segments after it, and makes it the active one. */
  private cutAt(
    i: number,
    position: number,
    nextOffset: number,
    maxTimestamp: number,
    reason: string,
  ): Truncation {
    const segment = this.segments[i]!;
    let bytesCut = 0;
    const dropped = this.segments.splice(i + 1);
    if (dropped.length > 0 || !segment.writable) {
      // The cut segment becomes the active one again. Catalog first: a crash after it leaves
      // only orphan files, which the next open removes.
      this.catalog.transaction(() => {
        for (const later of dropped) {
          this.catalog.deleteSegments(this.topic, this.partition, [later.baseOffset], this.logStartOffset);
        }
        this.catalog.reopenSegment(this.topic, this.partition, segment.baseOffset);
      });
      for (const later of dropped) {
        bytesCut += later.dataEnd(0);
        later.delete();
      }
      segment.release();
      const reopened = Segment.open(this.dir, segment.baseOffset, segment.capacity, true, {
        size: position,
        nextOffset,
        maxTimestamp,
        indexTrusted: false,
      });
      this.segments[i] = reopened;
      bytesCut += reopened.truncateTo(position, nextOffset, maxTimestamp);
      reopened.loadIndex();
      return this.truncation(reopened, position, bytesCut, reason);
    }
    bytesCut += segment.truncateTo(position, nextOffset, maxTimestamp);
    segment.loadIndex();
    return this.truncation(segment, position, bytesCut, reason);
  }

  private truncation(segment: Segment, position: number, bytesCut: number, reason: string): Truncation {
    this.unsynced.add(segment);
    return {
      topic: this.topic,
      partition: this.partition,
      file: segment.logPath,
      position,
      bytesCut,
      reason,
    };
  }

  get active(): Segment {
    return this.segments[this.segments.length - 1]!;
  }

  get endOffset(): number {
    return this.active.nextOffset;
  }

  /** Bytes of batches in all segments. */
  get bytes(): number {
    let total = 0;
    for (const s of this.segments) total += s.size;
    return total;
  }

  /**
   * Writes the batch last measured by `encoder` (`count` records, `bytes` long) at the end of the
   * log, rolling first if it does not fit. Returns its base offset. Nothing is written if the
   * disk is full (the preallocation fails first).
   */
  append(encoder: BatchEncoder, bytes: number, count: number): number {
    this.checkBatchFits(bytes);
    let segment = this.active;
    if (segment.size + bytes > segment.capacity) segment = this.roll();
    segment.ensureAllocated(segment.size + bytes);
    const baseOffset = segment.nextOffset;
    encoder.write(segment.buf, segment.size, baseOffset);
    segment.appended(bytes, baseOffset + count - 1, encoder.lastMaxTimestamp);
    this.unsynced.add(segment);
    if (this.waiters.size > 0) this.wake();
    return baseOffset;
  }

  /** LOGSTORE_RECORD_TOO_LARGE for a batch that no segment of this log can hold. */
  checkBatchFits(bytes: number): void {
    const active = this.active;
    if (bytes > this.config.segmentBytes || (active.size === 0 && bytes > active.capacity)) {
      throw new LogStoreError(
        'LOGSTORE_RECORD_TOO_LARGE',
        `A batch of ${bytes} bytes does not fit in a segment of ${this.config.segmentBytes} bytes ` +
          `(${this.topic}-${this.partition}). Append fewer records per call or raise the topic's segmentBytes.`,
      );
    }
  }

  /** Closes the active segment and starts a new one at the end offset. */
  roll(): Segment {
    const old = this.active;
    const next = Segment.create(this.dir, old.nextOffset, this.config.segmentBytes);
    try {
      fsyncDir(this.dir);
      crashPoint('roll:after-create');
      this.catalog.rollSegment(
        this.topic,
        this.partition,
        {
          baseOffset: old.baseOffset,
          endOffset: old.nextOffset,
          size: old.size,
          maxTimestamp: old.maxTimestamp,
        },
        { baseOffset: next.baseOffset, capacity: next.capacity },
      );
    } catch (err) {
      next.delete();
      throw err;
    }
    crashPoint('roll:after-catalog');
    old.trimPreallocation();
    old.dropResident();
    old.saveIndex();
    this.segments.push(next);
    this.onRoll?.();
    return next;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = new Set();
    for (const notify of waiters) notify();
  }

  /** Calls `notify` once, at the next append or on close; returns a function that cancels it. */
  onNextAppend(notify: () => void): () => void {
    this.waiters.add(notify);
    return () => this.waiters.delete(notify);
  }

  /** Points `cursor` at `offset`; LOGSTORE_OFFSET_OUT_OF_RANGE outside [logStartOffset, endOffset]. */
  seek(cursor: Cursor, offset: number): void {
    if (offset < this.logStartOffset || offset > this.endOffset) {
      throw new LogStoreError(
        'LOGSTORE_OFFSET_OUT_OF_RANGE',
        `Offset ${offset} is outside ${this.topic}-${this.partition}, which holds offsets ${this.logStartOffset} to ` +
          `${this.endOffset} (end exclusive). Seek to 'earliest', 'latest' or an offset in that range.`,
      );
    }
    cursor.offset = offset;
    cursor.segment = null;
  }

  /** Finds the segment and a batch position at or before `cursor.offset`. */
  private locate(cursor: Cursor): void {
    const offset = cursor.offset;
    if (offset < this.logStartOffset) {
      throw new LogStoreError(
        'LOGSTORE_OFFSET_OUT_OF_RANGE',
        `Offset ${offset} of ${this.topic}-${this.partition} was deleted by retention; the log now starts at ` +
          `${this.logStartOffset}. Seek to 'earliest' or a later offset.`,
      );
    }
    const segments = this.segments;
    let lo = 0;
    let hi = segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (segments[mid]!.baseOffset <= offset) lo = mid;
      else hi = mid - 1;
    }
    const segment = segments[lo]!;
    const entry = this.indexEntry(segment, (index) => index.entryFor(offset));
    cursor.segment = segment;
    cursor.position = entry.position;
    cursor.checked = -1;
    cursor.expected = this.expectedAt(segment, entry);
  }

  /**
   * An index entry checked against the log: the index files are a cache, and a damaged entry must
   * neither make intact batches unreadable nor lead a read to the wrong batch.
   */
  private indexEntry(
    segment: Segment,
    find: (index: SparseIndex) => { position: number; offset: number },
  ): { position: number; offset: number } {
    const entry = find(segment.index);
    if (entry.position === 0 || segment.batchAt(entry.position, entry.offset)) return entry;
    segment.dropIndex();
    return find(segment.index);
  }

  /** The base offset the batch at an index entry must have (-1: any, within the segment). */
  private expectedAt(segment: Segment, entry: { position: number; offset: number }): number {
    if (entry.position > 0) return entry.offset;
    return this.config.cleanupPolicy === 'compact' ? -1 : segment.baseOffset;
  }

  /**
   * Appends to `out` up to `max` records from `cursor.offset` on, advancing the cursor. Returns
   * how many were added (0 when the cursor is at the end). Never blocks.
   */
  read(cursor: Cursor, max: number, out: LogRecord[]): number {
    if (cursor.segment === null || cursor.segment.released) this.locate(cursor);
    let added = 0;
    while (added < max) {
      const segment = cursor.segment!;
      if (cursor.position >= segment.size) {
        const i = this.segments.indexOf(segment);
        if (i < 0) {
          this.locate(cursor); // the segment was replaced (compaction) or deleted under us
          continue;
        }
        if (i === this.segments.length - 1) break;
        segment.dropResident();
        cursor.segment = this.segments[i + 1]!;
        cursor.position = 0;
        cursor.checked = -1;
        continue;
      }
      const buf = segment.buf;
      const pos = cursor.position;
      if (cursor.checked !== pos) {
        const problem =
          batchProblem(buf, pos, segment.size) ?? this.offsetProblem(segment, buf, pos, cursor.expected);
        if (problem) {
          throw new LogStoreError(
            'LOGSTORE_CORRUPT',
            `${segment.logPath} at position ${pos}: ${problem}. Run \`logstore verify\` on the store directory.`,
          );
        }
        cursor.checked = pos;
      }
      const lastOffset = batchBaseOffset(buf, pos) + batchLastOffsetDelta(buf, pos);
      if (lastOffset >= cursor.offset) {
        const before = out.length;
        const n = decodeRecords(
          buf,
          pos,
          cursor.offset,
          max - added,
          out,
          this.topic,
          this.partition,
          segment.logPath,
        );
        added += n;
        if (n > 0) cursor.offset = out[before + n - 1]!.offset + 1;
        if (added >= max && cursor.offset <= lastOffset) break; // the rest of this batch is for the next read
      }
      cursor.offset = Math.max(cursor.offset, lastOffset + 1);
      cursor.position = pos + batchSize(buf, pos);
      segment.touch(cursor.position - pos, pos);
      cursor.expected = lastOffset + 1;
    }
    return added;
  }

  /**
   * The CRC does not cover a batch's base offset: check it against the segment's range and,
   * reading on from the batch before, against that batch's end.
   */
  private offsetProblem(segment: Segment, buf: Buffer, pos: number, expected: number): string | undefined {
    const base = batchBaseOffset(buf, pos);
    const last = base + batchLastOffsetDelta(buf, pos);
    if (base < segment.baseOffset || last >= segment.nextOffset) {
      return `batch offsets ${base}..${last} lie outside the segment's ${segment.baseOffset}..${segment.nextOffset - 1}`;
    }
    const gapsAllowed = this.config.cleanupPolicy === 'compact';
    if (expected >= 0 && (gapsAllowed ? base < expected : base !== expected)) {
      return `batch base offset ${base} does not follow the previous batch (expected ${expected})`;
    }
    return undefined;
  }

  /** The first offset whose record has timestamp >= `timestamp` (the end offset if none). */
  offsetForTimestamp(timestamp: number): number {
    for (const segment of this.segments) {
      if (segment.maxTimestamp < timestamp || segment.size === 0) continue;
      const buf = segment.buf;
      const entry = this.indexEntry(segment, (index) => index.entryForTimestamp(timestamp));
      let expected = this.expectedAt(segment, entry);
      for (let pos = entry.position; pos < segment.size; pos += batchSize(buf, pos)) {
        // The CRC does not cover base offsets: check them as reads do, or a misplaced batch sends
        // the reader to the wrong offset.
        const problem =
          batchProblem(buf, pos, segment.size) ?? this.offsetProblem(segment, buf, pos, expected);
        if (problem)
          throw new LogStoreError('LOGSTORE_CORRUPT', `${segment.logPath} at position ${pos}: ${problem}.`);
        expected = batchBaseOffset(buf, pos) + batchLastOffsetDelta(buf, pos) + 1;
        if (batchMaxTimestamp(buf, pos) < timestamp) continue;
        const records: LogRecord[] = [];
        decodeRecords(
          buf,
          pos,
          0,
          Number.POSITIVE_INFINITY,
          records,
          this.topic,
          this.partition,
          segment.logPath,
        );
        const hit = records.find((r) => r.timestamp >= timestamp && r.offset >= this.logStartOffset);
        if (hit) return hit.offset;
      }
    }
    return this.endOffset;
  }

  /**
   * Follower: picks up what the writer appended since the last look, including segments it
   * rolled or deleted. Returns true if the log grew. Never throws on a half-written batch.
   */
  refresh(): boolean {
    const grew = this.refreshTail();
    return this.refreshSegments() || grew;
  }

  /** Follower: applies the writer's rolls, deletions and compactions recorded in the catalog. */
  private refreshSegments(): boolean {
    const { row, rows, swapsPending } = this.catalog.followerView(this.topic, this.partition);
    if (!row || rows.length === 0) return false; // the topic is being deleted
    // A compaction between its catalog commit and its renames: the files do not match the
    // catalog yet (a rewritten segment's old file, with its new size). Look again next time.
    if (swapsPending) return false;
    const last = rows[rows.length - 1]!;
    const active = this.active;
    const byBase = new Map(rows.map((r) => [r.baseOffset, r]));
    // Build the new list aside: opening a file can fail when the writer changed it after the
    // catalog was read (a later compaction or retention); then nothing changes and the next
    // refresh tries again, instead of leaving this log half updated.
    const opened: Segment[] = [];
    const next: Segment[] = [];
    try {
      for (const s of this.segments) {
        const r = byBase.get(s.baseOffset);
        if (!r) continue; // gone: retention, compaction or deletion
        const rewritten = s !== active && r.endOffset !== null && r.size !== null && r.size !== s.size; // compaction
        if (rewritten) opened.push(this.openClosed(r));
        next.push(rewritten ? opened[opened.length - 1]! : s);
      }
      if (last.baseOffset > active.baseOffset) {
        for (const r of rows) {
          if (r.baseOffset <= active.baseOffset) continue;
          opened.push(
            r.endOffset !== null
              ? this.openClosed(r)
              : Segment.open(this.dir, r.baseOffset, r.capacity, false, {
                  size: 0,
                  nextOffset: r.baseOffset,
                  maxTimestamp: -1,
                  indexTrusted: false,
                }),
          );
          next.push(opened[opened.length - 1]!);
        }
      }
      if (next.length === 0) {
        for (const r of rows) {
          opened.push(this.openClosed(r));
          next.push(opened[opened.length - 1]!);
        }
      }
    } catch (err) {
      for (const s of opened) s.release();
      // Files that keep disagreeing with the catalog are damage, not a race.
      if (++this.refreshFailures < MAX_REFRESH_RETRIES) return false;
      throw err;
    }
    this.refreshFailures = 0;
    const changed = next.length !== this.segments.length || next.some((s, k) => s !== this.segments[k]);
    // The writer rolled: finish the old active segment at its recorded end.
    const closedRow = byBase.get(active.baseOffset);
    if (
      last.baseOffset > active.baseOffset &&
      closedRow &&
      closedRow.size !== null &&
      next.includes(active)
    ) {
      this.catchUp(active, closedRow.size);
    }
    for (const s of this.segments) if (!next.includes(s)) s.release();
    this.segments = next;
    this.logStartOffset = row.logStartOffset;
    if (changed) this.refreshTail();
    return changed;
  }

  /** Follower: extends the active segment over whole valid batches written since. */
  private refreshTail(): boolean {
    const segment = this.active;
    if (!segment || segment.released) return false;
    return this.catchUp(segment, segment.refreshFileSize());
  }

  private catchUp(segment: Segment, limit: number): boolean {
    if (segment.size >= limit) return false;
    const result = segment.scan(segment.size, segment.nextOffset, segment.maxTimestamp, limit, true);
    if (result.end === segment.size) return false;
    const index = segment.index;
    const buf = segment.buf;
    let maxTs = segment.maxTimestamp;
    for (let pos = segment.size; pos < result.end; pos += batchSize(buf, pos)) {
      const ts = batchMaxTimestamp(buf, pos);
      if (ts > maxTs) maxTs = ts;
      index.onBatch(batchBaseOffset(buf, pos), pos, batchSize(buf, pos), maxTs);
    }
    segment.size = result.end;
    segment.nextOffset = result.nextOffset;
    segment.maxTimestamp = result.maxTimestamp;
    return true;
  }

  /**
   * Deletes the closed segments retention selects; `groupFloor` is the lowest offset a group has
   * committed on this partition (for retainForGroups). Disk space is free when this returns.
   */
  applyRetention(now: number, groupFloor: number | null): { deletedSegments: number; bytesFreed: number } {
    const count = segmentsToDelete(this.segments, this.config, now, groupFloor);
    if (count === 0) return { deletedSegments: 0, bytesFreed: 0 };
    const doomed = this.segments.slice(0, count);
    const newStart = this.segments[count]!.baseOffset;
    // Catalog first: a crash after it leaves orphan files, which the next open removes.
    this.catalog.deleteSegments(
      this.topic,
      this.partition,
      doomed.map((s) => s.baseOffset),
      newStart,
    );
    this.segments = this.segments.slice(count);
    this.logStartOffset = newStart;
    let bytesFreed = 0;
    for (const segment of doomed) {
      bytesFreed += segment.diskBytes();
      this.unsynced.delete(segment);
      segment.delete();
    }
    fsyncDir(this.dir);
    return { deletedSegments: count, bytesFreed };
  }

  /** Compacts the closed segments (see compaction.ts) and swaps the results in. */
  compact(now: number): CompactionResult {
    if (this.segments.length < 2) return { compactedSegments: 0, bytesFreed: 0 };
    const { changed, bytesFreed } = compactSegments(
      this.catalog,
      this.topic,
      this.partition,
      this.dir,
      this.segments,
      this.config.deleteRetentionMs,
      now,
    );
    if (changed.size === 0) return { compactedSegments: 0, bytesFreed: 0 };
    const next: Segment[] = [];
    for (const segment of this.segments) {
      const extent = changed.get(segment.baseOffset);
      if (extent === undefined) {
        next.push(segment);
        continue;
      }
      segment.release();
      this.unsynced.delete(segment);
      if (extent !== null) {
        next.push(
          Segment.open(this.dir, segment.baseOffset, segment.capacity, false, {
            size: extent.size,
            nextOffset: segment.nextOffset,
            maxTimestamp: extent.maxTimestamp,
            indexTrusted: false,
          }),
        );
      }
    }
    this.segments = next;
    return { compactedSegments: changed.size, bytesFreed };
  }

  /** Per-partition figures for describeTopic. */
  describe(): { partition: number; startOffset: number; endOffset: number; bytes: number; segments: number } {
    return {
      partition: this.partition,
      startOffset: this.logStartOffset,
      endOffset: this.endOffset,
      bytes: this.bytes,
      segments: this.segments.length,
    };
  }

  /** Saves the index files of the active segment (closed ones were saved at roll). */
  saveIndexes(): void {
    this.active.saveIndex();
  }

  close(): void {
    this.wake();
    for (const s of this.segments) s.release();
  }
}
