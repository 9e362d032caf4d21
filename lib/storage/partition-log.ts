/**
 * The log of one partition: its ordered segments, the last one active (Kafka's `LocalLog`).
 * Appends go to the active segment and roll it at its capacity; reads find the segment by offset
 * and the position by the sparse index (index-lookup.ts), and walk batches from there with a
 * BatchWalker (a reader's records: cursor-read.ts).
 * Loading and recovery are log-loader.ts's; a read-only follower's catching up is follower.ts's;
 * retention and compaction are cleaner.ts's.
 *
 * Invariants: offsets are dense and increasing (compaction may leave gaps inside closed segments
 * of a compacted topic); `segments` is sorted by base offset and never empty once loaded;
 * `logStartOffset` <= the first segment's first record; only the last segment is written.
 * Called on the JS thread only.
 */
import { LogStoreError } from '../errors.js';
import type { BatchEncoder } from '../format/batch-encoder.js';
import type { ResolvedTopicConfig } from '../options.js';
import type { LogRecord } from '../record.js';
import { locate, newCursor, readRecords, useMapping, type Cursor } from './cursor-read.js';
import { crashPoint } from './faults.js';
import { offsetForTimestamp } from './index-lookup.js';
import { fsyncDir } from './layout.js';
import { ProducerStates } from './producer-state.js';
import type { PartitionCatalog } from './partition-catalog.js';
import { Segment } from './segment.js';

/** Something that catches a read-only log up with its writer (follower.ts). */
export interface Refresher {
  /** Everything the writer did since the last look (catalog and files); true if the log changed. */
  refresh(): boolean;
  /** Only the active segment's new batches (no catalog read: cheap); true if it grew. */
  catchUp(): boolean;
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
  /**
   * Bytes of batches appended since the log was opened: only grows (retention and compaction do
   * not take from it). A Kafka listener's long poll counts what arrived while it waits with it.
   */
  appendedBytes = 0;
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
    this.appendedBytes += bytes;
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
    this.appendedBytes += size;
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
    return readRecords(this, cursor, max, out);
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
    locate(this, cursor);
    let segment = cursor.segment!;
    let walker = cursor.walker!;
    useMapping(walker, segment); // these bytes are sent from the mapping
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
