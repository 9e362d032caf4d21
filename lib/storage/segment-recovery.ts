/**
 * Where a segment's valid data ends, and why: the read-only half of Kafka's `LogSegment.recover`.
 * `findRecoveredEnd` walks the batches and decides whether a stop is the torn tail of a crash or
 * damage to synced data; `Segment.recover` then makes the segment end there (only the segment
 * writes into its mapping).
 */
import { BatchWalker, corruptAt, isTornTail, type StopKind } from '../format/batches.js';

/** How `recover` walks: from a point known to be whole, to a limit, with the offsets expected. */
export interface RecoverFrom {
  /** Position, offset and max timestamp known to be right (the recovery point, or the start). */
  position: number;
  nextOffset: number;
  maxTimestamp: number;
  /** Where the batches must end: the size the catalog recorded (closed), or null (to the zeros). */
  recordedSize: number | null;
  /** Compacted topic: gaps allowed before `denseFrom` (what compaction rewrote), dense after. */
  gaps: boolean;
  denseFrom: number;
  /** The next segment's base offset: no batch may reach it. */
  maxNextOffset: number;
  /** Everything before this position was synced: a stop before it is damage, not a torn tail. */
  syncedTo: number;
}

/**
 * Where recovery stops a segment: a walk's stop, `short` (a closed segment's batches end before
 * its recorded size) or `segment-gap` (the next segment does not continue its offsets).
 */
export type CutKind = StopKind | 'short' | 'segment-gap';

/** What `recover` found: whether the data ran to its proper end, else where and why it stopped. */
export interface RecoverResult {
  complete: boolean;
  stop: CutKind;
  position: number;
  detail: string;
  bytesCut: number;
}

/** Where the valid batches end, with the offset and max timestamp there. */
export interface RecoveredEnd {
  complete: boolean;
  stop: CutKind;
  position: number;
  detail: string;
  nextOffset: number;
  maxTimestamp: number;
}

/** The segment as recovery reads it. */
export interface RecoveringSegment {
  readonly buf: Buffer;
  readonly baseOffset: number;
  readonly logPath: string;
  readonly fileSize: number;
}

/**
 * What a recovery walk does with each batch it accepted, while its pages are resident: the
 * segment's index, idempotent producers' state and dropping the pages behind are all fed from
 * the one walk (a second walk of a large log costs a page fault per page all over again).
 */
export type OnBatch = (walker: BatchWalker) => void;

/**
 * Validates every batch from `from` on. A stop at or after `from.syncedTo` is a torn tail (the
 * caller cuts it); a stop before it is damage to synced data: LOGSTORE_CORRUPT. `onBatch` sees
 * every batch accepted, in order: all of them lie before the end returned.
 */
export function findRecoveredEnd(
  segment: RecoveringSegment,
  from: RecoverFrom,
  onBatch?: OnBatch,
): RecoveredEnd {
  const limit = from.recordedSize === null ? segment.fileSize : Math.min(from.recordedSize, segment.fileSize);
  const walker = new BatchWalker(
    segment.buf,
    from.position,
    {
      limit,
      nextOffset: from.nextOffset,
      gaps: from.gaps && from.position < from.denseFrom,
      minOffset: segment.baseOffset,
      maxNextOffset: from.maxNextOffset,
    },
    from.maxTimestamp,
  );
  while (walker.next()) {
    if (walker.gaps && walker.end >= from.denseFrom) walker.gaps = false;
    onBatch?.(walker);
  }
  let stop: CutKind = walker.stop!;
  let detail = walker.detail;
  // A closed segment's batches end at its recorded size, a live one's at the zeros (but not
  // before the recovery point: synced batches are missing there).
  const complete =
    stop === 'end' || (stop === 'zeros' && from.recordedSize === null && walker.end >= from.syncedTo);
  if (stop === 'zeros' && from.recordedSize !== null) {
    stop = 'short';
    detail = `the batches end before the recorded size ${from.recordedSize}`;
  }
  const position = walker.end;
  if (!complete && !isTornTail(walker.stop!, position, from.syncedTo)) {
    throw corruptAt(
      segment.logPath,
      position,
      stop,
      `${detail}, before the last recovery point (${from.syncedTo})`,
      'Run `logstore verify` to see the damage and `logstore verify --repair` to cut the log there.',
    );
  }
  return {
    complete,
    stop,
    position,
    detail,
    nextOffset: walker.nextOffset,
    maxTimestamp: walker.maxTimestamp,
  };
}
