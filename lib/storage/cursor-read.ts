/**
 * Reading a partition log's records through a reader's cursor: the segment and batch walk it is
 * in, where its bytes come from (the file read with `pread` into a window, or the segment's
 * mapping near the end of its data and in a follower), and the records decoded from them, copies
 * or views lent to a zero-copy reader. PartitionLog.read is this; its `batchesView` (the Kafka
 * listener's stored bytes) shares `locate`.
 */
import { LogStoreError } from '../errors.js';
import type { BatchWalker } from '../format/batches.js';
import { BATCH_HEADER_BYTES, LOG_OVERHEAD, readInt32 } from '../format/record-batch.js';
import { BatchPlace, decodeRecords } from '../format/record-decoder.js';
import type { LogRecord } from '../record.js';
import { SEGMENT_START, walkFrom } from './index-lookup.js';
import type { PartitionLog } from './partition-log.js';
import { ReadWindow, SHARED_BUFFER, type LendingBuffers } from './read-window.js';
import type { Segment } from './segment.js';

/** A reader's place in the log: the next offset and the batch walk it is in, if any. */
export interface Cursor {
  offset: number;
  segment: Segment | null;
  /** Walks `segment` from the batch holding `offset`; its current batch is checked already. */
  walker: BatchWalker | null;
  /** Whether the walker's current batch still has records at or after `offset`. */
  inBatch: boolean;
  /** Where in that batch the last read stopped (cleared whenever the walk moves elsewhere). */
  place: BatchPlace;
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
  return {
    offset: 0,
    segment: null,
    walker: null,
    inBatch: false,
    place: new BatchPlace(),
    lease,
    window: null,
  };
}

/**
 * Readers let the pages behind them be dropped from the resident set only this far behind their
 * position: several readers of one partition (consumer groups catching up together) stay within
 * it of each other, and a drop right behind one reader made the others fault the same pages in
 * again, one 4 KiB page at a time.
 */
const READ_TRIM_LAG = 16 * 1024 * 1024;
/**
 * A read takes the batches this close to the end of a segment's data from the mapping, when the
 * segment is mapped: a live reader's next records were just stored through it by this process,
 * so their pages are mapped already, and a read there costs no system call (an open, `pread` and
 * close of the file doubled the CPU time of an append followed by a live read of it, ~10 to ~20
 * us). A segment not mapped is read from the file to its end: mapping it only to read its last
 * batches would cost a full collection (V8 counts all of a mapping as external memory, and every
 * 64 MiB more starts one: ~20 ms for a 128 MiB segment, 10% of reading it), for each closed
 * segment a consumer catches up over.
 */
const RECENT_BYTES = 64 * 1024;

/** Whether the batches from `position` of `segment` are best read through its mapping. */
function nearMappedEnd(segment: Segment, position: number): boolean {
  return segment.size - position <= RECENT_BYTES && segment.mapped;
}

/** Points `walker` at `segment`'s current mapping. */
export function useMapping(walker: BatchWalker, segment: Segment): void {
  walker.buf = segment.buf;
  walker.origin = 0;
}

/** Points `walker` at the bytes `window` holds. */
function pointAt(walker: BatchWalker, window: ReadWindow): void {
  walker.buf = window.buf;
  walker.origin = window.origin;
}

/**
 * Finds the segment and a walk from a batch at or before `cursor.offset`. With `window` (a read
 * in the writer's process) an index entry is checked on the bytes read into it, so that finding
 * a place maps nothing either.
 */
export function locate(log: PartitionLog, cursor: Cursor, window: ReadWindow | null = null): void {
  const offset = cursor.offset;
  if (offset < log.logStartOffset) {
    throw new LogStoreError(
      'LOGSTORE_OFFSET_OUT_OF_RANGE',
      `Offset ${offset} of ${log.name} was deleted by retention; the log now starts at ` +
        `${log.logStartOffset}. Seek to 'earliest' or a later offset.`,
    );
  }
  const segment = log.segmentFor(offset);
  cursor.segment = segment;
  // From a segment's first offset the walk starts at its first batch: no index is needed (a
  // first read of every partition after an open builds none), nor the mapping (the walk's user
  // points it at the bytes of each batch).
  cursor.walker =
    offset <= segment.baseOffset
      ? segment.detachedWalker(SEGMENT_START.position, log.gaps ? -1 : segment.baseOffset, log.gaps)
      : walkFrom(
          segment,
          log.gaps,
          (index) => index.entryFor(offset),
          window &&
            ((walker) => {
              if (!windowOnBatch(window, segment, walker, walker.end)) useMapping(walker, segment);
            }),
        );
  cursor.inBatch = false;
  cursor.place.clear();
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
export function readRecords(log: PartitionLog, cursor: Cursor, max: number, out: LogRecord[]): number {
  const lease = cursor.lease;
  const own = log.writable
    ? (cursor.window ??= new ReadWindow(lease === null ? SHARED_BUFFER : lease.buffers))
    : null;
  let window = own; // null from the first file that cannot be opened on: the mapping instead
  try {
    if (cursor.segment === null || cursor.segment.released) locate(log, cursor, window);
    let added = 0;
    while (added < max) {
      const segment = cursor.segment!;
      const walker = cursor.walker!;
      let viaFile = false; // this batch's bytes come from the window, not the mapping
      if (!cursor.inBatch) {
        if (walker.end >= segment.size) {
          const i = log.segments.indexOf(segment);
          if (i < 0) {
            locate(log, cursor, window); // the segment was replaced (compaction) or deleted under us
            continue;
          }
          if (i === log.segments.length - 1) break;
          segment.dropResident();
          const next = log.segments[i + 1]!;
          cursor.segment = next;
          cursor.walker = next.detachedWalker(0, log.gaps ? -1 : next.baseOffset, log.gaps);
          cursor.place.clear(); // its positions are those of another file
          continue;
        }
        walker.limit = segment.size;
        walker.maxNextOffset = segment.nextOffset;
        if (window !== null && !nearMappedEnd(segment, walker.end)) {
          viaFile = windowOnBatch(window, segment, walker, walker.end);
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
        if (window !== null && !nearMappedEnd(segment, walker.position)) {
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
        log.topic,
        log.partition,
        segment.logPath,
        undefined,
        lease === null,
        walker.origin,
        cursor.place,
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
function windowOnBatch(window: ReadWindow, segment: Segment, walker: BatchWalker, position: number): boolean {
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
