/**
 * The log of one partition: its ordered segments, the last one active (Kafka's `LocalLog`).
 * Appends go to the active segment and roll it at its capacity; reads find the segment by offset
 * and the position by the sparse index (index-lookup.ts), and walk batches from there with a
 * BatchWalker.
 * Loading and recovery are log-loader.ts's; a read-only follower's catching up is follower.ts's;
 * retention and compaction are cleaner.ts's.
 *
 * Invariants: offsets are dense and increasing (compaction may leave gaps inside closed segments
 * of a compacted topic); `segments` is sorted by base offset and never empty once loaded;
 * `logStartOffset` <= the first segment's first record; only the last segment is written.
 * Called on the JS thread only.
 */
import { LogStoreError } from '../errors.js';
import type { BatchWalker } from '../format/batches.js';
import { BATCH_HEADER_BYTES, LOG_OVERHEAD, readInt32 } from '../format/record-batch.js';
import type { BatchEncoder } from '../format/batch-encoder.js';
import { decodeRecords } from '../format/record-decoder.js';
import type { ResolvedTopicConfig } from '../options.js';
import type { LogRecord } from '../record.js';
import { crashPoint } from './faults.js';
import { offsetForTimestamp, SEGMENT_START, walkFrom } from './index-lookup.js';
import { fsyncDir } from './layout.js';
import { ProducerStates } from './producer-state.js';
import { ReadWindow, SHARED_BUFFER, type LendingBuffers } from './read-window.js';
import type { PartitionCatalog } from './partition-catalog.js';
import { Segment } from './segment.js';

/** A reader's place in the log: the next offset and the batch walk it is in, if any. */
export interface Cursor {
  offset: number;
  segment: Segment | null;
  /** Walks `segment` from the batch holding `offset`; its current batch is checked already. */
  walker: BatchWalker | null;
  /** Whether the walker's current batch still has records at or after `offset`. */
  inBatch: boolean;
  /**
   * Set for a zero-copy reader: records are views into its window's buffers (lent until its next
   * read) or into the segments' mappings (each segment read from is lent to it: pinned). Null:
   * records are copies.
   */
  lease: { lend(segment: Segment): void; readonly buffers: LendingBuffers } | null;
  /** The reader's bytes read from the file (read-window.ts); made at its first read. */
  window: ReadWindow | null;
}

export function newCursor(lease: Cursor['lease'] = null): Cursor {
  return { offset: 0, segment: null, walker: null, inBatch: false, lease, window: null };
}

/** Something that catches a read-only log up with its writer (follower.ts). */
export interface Refresher {
  /** Everything the writer did since the last look (catalog and files); true if the log changed. */
  refresh(): boolean;
  /** Only the active segment's new batches (no catalog read: cheap); true if it grew. */
  catchUp(): boolean;
}

/**
 * Readers let the pages behind them be dropped from the resident set only this far behind their
 * position: several readers of one partition (consumer groups catching up together) stay within
 * it of each other, and a drop right behind one reader made the others fault the same pages in
 * again, one 4 KiB page at a time.
 */
const READ_TRIM_LAG = 16 * 1024 * 1024;
/**
 * A copying read takes the batches this close to the end of a segment's data from the mapping:
 * a live reader's next records were just stored through it by this process, so their pages are
 * mapped already, and a read there costs no system call (an open, `pread` and close of the file
 * doubled the CPU time of an append followed by a live read of it, ~10 to ~20 us).
 */
const RECENT_BYTES = 64 * 1024;
/** Points `walker` at `segment`'s current mapping. */
function useMapping(walker: BatchWalker, segment: Segment): void {
  walker.buf = segment.buf;
  walker.origin = 0;
}

/** Points `walker` at the bytes `window` holds. */
function pointAt(walker: BatchWalker, window: ReadWindow): void {
  walker.buf = window.buf;
  walker.origin = window.origin;
}

/** What batchesView returns where there is nothing to read. */
const EMPTY_VIEW = Buffer.alloc(0);

export class PartitionLog {
  segments: Segment[] = [];
  logStartOffset = 0;
  /** Segments written since the last sync. */
  readonly unsynced = new Set<Segment>();
  /** Called once at the next append (or close), then dropped: live readers waiting for data. */
  private waiters = new Set<() => void>();
  /** Set by the store: called after each roll (retention runs on roll). */
  onRoll: (() => void) | null = null;
  /** Set for a read-only follower: catches up with the writer in another process. */
  refresher: Refresher | null = null;
  /** Idempotent producers' sequences on this partition (the writer's; loaded by log-loader.ts). */
  producers: ProducerStates;

  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly dir: string,
    public config: ResolvedTopicConfig,
    readonly catalog: PartitionCatalog,
    readonly writable: boolean,
  ) {
    this.producers = new ProducerStates(`${topic}-${partition}`);
  }

  get name(): string {
    return `${this.topic}-${this.partition}`;
  }

  get active(): Segment {
    return this.segments[this.segments.length - 1]!;
  }

  get endOffset(): number {
    return this.active.nextOffset;
  }

  /** Whether base offsets may skip inside closed segments (compaction). */
  get gaps(): boolean {
    return this.config.cleanupPolicy === 'compact';
  }

  /** Bytes of batches in all segments. */
  get bytes(): number {
    let total = 0;
    for (const s of this.segments) total += s.size;
    return total;
  }

  /** Follower: catches up with what the writer did since the last look; true if the log grew. */
  refresh(): boolean {
    return this.refresher?.refresh() ?? false;
  }

  /** A follower's cheap look at the active segment only (see Refresher.catchUp). */
  catchUp(): boolean {
    return this.refresher?.catchUp() ?? false;
  }

  /**
   * Writes the batch last measured by `encoder` (`count` records, `bytes` long) at the end of the
   * log, rolling first if it does not fit. Returns its base offset. Nothing is written if the
   * disk is full (the preallocation fails first).
   */
  append(encoder: BatchEncoder, bytes: number, count: number): number {
    this.checkBatchFits(bytes);
    let segment = this.active;
    if (!segment.fits(bytes)) segment = this.roll();
    const baseOffset = segment.append(encoder, bytes, count);
    this.unsynced.add(segment);
    if (this.waiters.size > 0) this.wake();
    return baseOffset;
  }

  /** Appends a batch as a producer sent it (see Segment.appendRaw); returns its base offset. */
  appendRaw(
    src: Uint8Array,
    start: number,
    size: number,
    lastOffsetDelta: number,
    maxTimestamp: number,
  ): number {
    this.checkBatchFits(size);
    let segment = this.active;
    if (!segment.fits(size)) segment = this.roll();
    const baseOffset = segment.appendRaw(src, start, size, lastOffsetDelta, maxTimestamp);
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
          `(${this.name}). Append fewer records per call or raise the topic's segmentBytes.`,
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
      this.catalog.roll(
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
    old.setActive(false);
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
        `Offset ${offset} is outside ${this.name}, which holds offsets ${this.logStartOffset} to ` +
          `${this.endOffset} (end exclusive). Seek to 'earliest', 'latest' or an offset in that range.`,
      );
    }
    cursor.offset = offset;
    cursor.segment = null;
    cursor.walker = null;
    cursor.inBatch = false;
  }

  /** The segment holding `offset` (the last one whose base is at or below it). */
  segmentFor(offset: number): Segment {
    const segments = this.segments;
    let lo = 0;
    let hi = segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (segments[mid]!.baseOffset <= offset) lo = mid;
      else hi = mid - 1;
    }
    return segments[lo]!;
  }

  /** Finds the segment and a walk from a batch at or before `cursor.offset`. */
  private locate(cursor: Cursor): void {
    const offset = cursor.offset;
    if (offset < this.logStartOffset) {
      throw new LogStoreError(
        'LOGSTORE_OFFSET_OUT_OF_RANGE',
        `Offset ${offset} of ${this.name} was deleted by retention; the log now starts at ` +
          `${this.logStartOffset}. Seek to 'earliest' or a later offset.`,
      );
    }
    const segment = this.segmentFor(offset);
    cursor.segment = segment;
    // From a segment's first offset the walk starts at its first batch: no index is needed (a
    // first read of every partition after an open builds none).
    cursor.walker =
      offset <= segment.baseOffset
        ? segment.walker(SEGMENT_START.position, this.gaps ? -1 : segment.baseOffset, this.gaps)
        : walkFrom(segment, this.gaps, (index) => index.entryFor(offset));
    cursor.inBatch = false;
  }

  /**
   * Appends to `out` up to `max` records from `cursor.offset` on, advancing the cursor. Returns
   * how many were added (0 when the cursor is at the end). Never blocks.
   *
   * A read in the writer's process reads the file with `pread` into a reused buffer
   * (read-window.ts) instead of touching the mapping, except within RECENT_BYTES of the end of a
   * segment's data; a follower's walks the mapping itself. A copying read copies its records out
   * of the buffer; a zero-copy read returns views into it, and its lease keeps the buffer from
   * being read into again until the reader's next read.
   */
  read(cursor: Cursor, max: number, out: LogRecord[]): number {
    if (cursor.segment === null || cursor.segment.released) this.locate(cursor);
    const lease = cursor.lease;
    const own = this.writable
      ? (cursor.window ??= new ReadWindow(lease === null ? SHARED_BUFFER : lease.buffers))
      : null;
    let window = own; // null from the first file that cannot be opened on: the mapping instead
    try {
      let added = 0;
      while (added < max) {
        const segment = cursor.segment!;
        const walker = cursor.walker!;
        let viaFile = false; // this batch's bytes come from the window, not the mapping
        if (!cursor.inBatch) {
          if (walker.end >= segment.size) {
            const i = this.segments.indexOf(segment);
            if (i < 0) {
              this.locate(cursor); // the segment was replaced (compaction) or deleted under us
              continue;
            }
            if (i === this.segments.length - 1) break;
            segment.dropResident();
            const next = this.segments[i + 1]!;
            cursor.segment = next;
            cursor.walker = next.walker(0, this.gaps ? -1 : next.baseOffset, this.gaps);
            continue;
          }
          walker.limit = segment.size;
          walker.maxNextOffset = segment.nextOffset;
          if (window !== null && segment.size - walker.end > RECENT_BYTES) {
            viaFile = this.windowOnBatch(window, segment, walker, walker.end);
            if (!viaFile) window = null;
          }
          // The mapping the walk began on may have been replaced (growth) or released (the
          // mapping cache) since the last call: go on over the current one.
          if (!viaFile) useMapping(walker, segment);
          if (!walker.next()) throw walker.corruptError(segment.logPath);
          if (walker.lastOffset < cursor.offset) {
            if (!viaFile) segment.touch(walker.size, walker.position - READ_TRIM_LAG);
            continue;
          }
          cursor.inBatch = true;
        } else {
          // Resuming inside a batch checked by an earlier call: its bytes again.
          if (window !== null && segment.size - walker.position > RECENT_BYTES) {
            viaFile = window.cover(segment, walker.position, walker.end);
            if (viaFile) pointAt(walker, window);
            else window = null;
          }
          if (!viaFile) useMapping(walker, segment);
        }
        const before = out.length;
        const n = decodeRecords(
          walker.buf,
          walker.position - walker.origin,
          cursor.offset,
          max - added,
          out,
          this.topic,
          this.partition,
          segment.logPath,
          undefined,
          lease === null,
          walker.origin,
        );
        if (lease !== null && n > 0) {
          if (viaFile) lease.buffers.lend(walker.buf);
          else lease.lend(segment);
        }
        added += n;
        if (n > 0) cursor.offset = out[before + n - 1]!.offset + 1;
        if (added >= max && cursor.offset <= walker.lastOffset) break; // the rest of this batch is for the next read
        cursor.offset = Math.max(cursor.offset, walker.lastOffset + 1);
        cursor.inBatch = false;
        if (!viaFile) segment.touch(walker.size, walker.position - READ_TRIM_LAG);
      }
      return added;
    } finally {
      own?.release();
    }
  }

  /**
   * Reads the batch at `position` of `segment` into `window` (its header first, for its length)
   * and points `walker` at it; false when the file cannot be read this way.
   */
  private windowOnBatch(
    window: ReadWindow,
    segment: Segment,
    walker: BatchWalker,
    position: number,
  ): boolean {
    const size = segment.size;
    if (!window.cover(segment, position, Math.min(size, position + BATCH_HEADER_BYTES))) return false;
    if (window.end - position >= BATCH_HEADER_BYTES) {
      const length = readInt32(window.buf, position - window.origin + 8);
      // A length the walker will refuse is not read: it stops at the header.
      if (length > 0 && length <= size - position - LOG_OVERHEAD) {
        if (!window.cover(segment, position, position + LOG_OVERHEAD + length)) return false;
      }
    }
    pointAt(walker, window);
    walker.limit = Math.min(walker.limit, window.end);
    return true;
  }

  /** The first offset whose record has timestamp >= `timestamp` (see index-lookup.ts). */
  offsetForTimestamp(timestamp: number): number {
    return offsetForTimestamp(this, timestamp);
  }

  /**
   * Copies of the stored bytes of whole batches, from the one holding `offset` (it may start below
   * it) up to `maxBytes`, or the first batch alone if it is larger (as a Kafka broker serves a
   * fetch), within one segment. Empty at the end offset; LOGSTORE_OFFSET_OUT_OF_RANGE outside the log.
   */
  readBatches(offset: number, maxBytes: number): Buffer {
    return Buffer.from(this.batchesView(offset, maxBytes));
  }

  /**
   * readBatches' bytes as a view of the mapping, not copied: valid only until the next append
   * (growth may replace the mapping), so the caller copies them before anything else runs (the
   * Kafka listener copies them into memory it reuses once the response is written).
   */
  batchesView(offset: number, maxBytes: number): Buffer {
    const cursor = newCursor();
    this.seek(cursor, offset);
    if (offset === this.endOffset) return EMPTY_VIEW;
    this.locate(cursor);
    let segment = cursor.segment!;
    let walker = cursor.walker!;
    for (;;) {
      walker.limit = segment.size;
      walker.maxNextOffset = segment.nextOffset;
      if (!walker.next()) {
        if (walker.stop !== 'end') throw walker.corruptError(segment.logPath);
        const i = this.segments.indexOf(segment);
        if (i < 0 || i === this.segments.length - 1) return EMPTY_VIEW;
        segment = this.segments[i + 1]!;
        walker = segment.walker(0, this.gaps ? -1 : segment.baseOffset, this.gaps);
        continue;
      }
      if (walker.lastOffset >= offset) break;
    }
    const start = walker.position;
    let end = walker.end;
    while (end - start < maxBytes && walker.end < segment.size) {
      walker.limit = segment.size;
      if (!walker.next() || walker.end - start > maxBytes) break;
      end = walker.end;
    }
    segment.touch(end - start, start);
    return segment.buf.subarray(start, end);
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
