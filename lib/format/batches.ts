/**
 * THE batch walker: the only code that decides whether bytes are a valid Kafka RecordBatch v2.
 * Recovery, reads, follower refreshes, index rebuilds, timestamp lookups, compaction, `verify`
 * and `dump` all walk batches through a `BatchWalker`; none of them re-implements a check.
 *
 * A batch at `position` is valid when, in this order:
 *   - it is not the end of the data: 12 zero bytes where a header would start (fewer at the very
 *     end) are the preallocated zeros after the last batch (stop kind `zeros`; no batch starts
 *     with a zero length);
 *   - its 61-byte header and its declared length fit before `limit` (`truncated`: what a write
 *     cut short by a crash leaves, or damage to the length field) and the length is possible
 *     (`bad-length`);
 *   - its magic byte is 2 (`bad-magic`) and its CRC32C over attributes..end matches (`bad-crc`);
 *   - its base offset (outside the CRC) is in [0, 2^53], continues the walk (exactly
 *     `nextOffset`, or at least it where compaction leaves gaps) and its last offset stays below
 *     `maxNextOffset` (`bad-offset`);
 *   - its record count fits its offset range (equal to it unless compacted) (`bad-count`);
 *   - a CreateTime batch's max timestamp is not below its base timestamp (`bad-timestamp`).
 * Record-level structure inside a CRC-valid batch is checked when records are decoded
 * (record-batch.ts, kind `bad-records`).
 *
 * The walker never throws: it stops, and says where (`stopPosition`) and why (`stop`, a kind,
 * plus `detail` in words). Whether a stop is a torn tail or damage depends on where it is relative
 * to what was known to be synced: callers ask `isTornTail`.
 */
import { LogStoreError } from '../errors.js';
import type { LogRecord } from '../record.js';
import { crc32c } from './crc32c.js';
import {
  BATCH_HEADER_BYTES,
  batchAttributes,
  batchBaseTimestamp,
  batchLastOffsetDelta,
  batchMaxTimestamp,
  batchRecordCount,
  batchSize,
  CRC_START,
  LOG_APPEND_TIME_FLAG,
  LOG_OVERHEAD,
  MAGIC,
  readInt32,
  readInt64,
} from './record-batch.js';
import { decodeRecords } from './record-decoder.js';

/** Why a walk stopped. `end` is not a problem: the walk reached its limit. */
export type StopKind =
  | 'end'
  | 'zeros'
  | 'truncated'
  | 'bad-length'
  | 'bad-magic'
  | 'bad-crc'
  | 'bad-offset'
  | 'bad-count'
  | 'bad-timestamp';

export interface WalkOptions {
  /** Where the batches must end (exclusive): the data's size, or the file's. */
  limit: number;
  /** Base offset the first batch must have; -1: any (at least `minOffset`). */
  nextOffset: number;
  /** Compacted data: base offsets only increase and counts may be below the offset range. */
  gaps: boolean;
  /** Offsets must be at least this (a segment's base offset). @default 0 */
  minOffset?: number;
  /** Offsets must stay below this (the next segment's base, or the segment's end). @default none */
  maxNextOffset?: number;
}

const MAX_OFFSET = Number.MAX_SAFE_INTEGER;
const hex = (n: number) => '0x' + n.toString(16).padStart(8, '0');

export class BatchWalker {
  /** Start of the batch `next()` accepted last (valid until the next call). */
  position: number;
  /** Its size in bytes. */
  size = 0;
  baseOffset = -1;
  lastOffset = -1;
  /** The accepted batch's own max timestamp. */
  batchMaxTimestamp = -1;
  /** Where the next batch starts: the end of the valid data so far. */
  end: number;
  /** Offset after the last accepted batch (the minimum for the next one where gaps are allowed). */
  nextOffset: number;
  /** The largest batch max timestamp seen (starts at the caller's value). */
  maxTimestamp: number;
  limit: number;
  minOffset: number;
  maxNextOffset: number;
  /** Whether base offsets may skip (compacted data); may be turned off mid-walk. */
  gaps: boolean;
  /** Why the walk stopped, once `next()` returned false. */
  stop: StopKind | null = null;
  /** The stop in words, for messages. */
  detail = '';
  /**
   * The position of `buf[0]`: 0 for a whole segment's mapping; a read that copied a window of the
   * file into a buffer of its own (lib/storage/read-window.ts) sets it to where the window begins.
   * Positions (`position`, `end`, `limit`, stops) are always the segment's.
   */
  origin = 0;

  constructor(
    /** What is walked; a caller may point it at a new mapping of the same bytes. */
    public buf: Uint8Array,
    start: number,
    options: WalkOptions,
    maxTimestamp = -1,
  ) {
    this.position = start;
    this.end = start;
    this.limit = options.limit;
    this.nextOffset = options.nextOffset;
    this.gaps = options.gaps;
    this.minOffset = options.minOffset ?? 0;
    this.maxNextOffset = options.maxNextOffset ?? Number.POSITIVE_INFINITY;
    this.maxTimestamp = maxTimestamp;
  }

  /** Where the walk stopped (the first byte not part of a valid batch). */
  get stopPosition(): number {
    return this.end;
  }

  /** Validates the batch at `end`; true (and the batch's fields set) if it is valid. */
  next(): boolean {
    const buf = this.buf;
    const pos = this.end;
    const at = pos - this.origin; // where the batch starts in `buf`
    const room = this.limit - pos;
    if (room <= 0) return this.halt('end', '');
    if (room < LOG_OVERHEAD || readInt32(buf, at + 8) === 0) {
      if (zeros(buf, at, Math.min(this.limit, pos + LOG_OVERHEAD) - this.origin))
        return this.halt('zeros', 'the batches end here (zeros follow)');
    }
    if (room < BATCH_HEADER_BYTES)
      return this.halt('truncated', `truncated batch header (${room} bytes before the end of the data)`);
    const length = readInt32(buf, at + 8);
    if (length < BATCH_HEADER_BYTES - LOG_OVERHEAD)
      return this.halt('bad-length', `impossible batch length ${length}`);
    if (length > room - LOG_OVERHEAD)
      return this.halt('truncated', `batch length ${length} runs past the end of the data`);
    if (buf[at + 16] !== MAGIC) return this.halt('bad-magic', `magic byte ${buf[at + 16]} is not ${MAGIC}`);
    const size = LOG_OVERHEAD + length;
    const stored = readInt32(buf, at + 17) >>> 0;
    const actual = crc32c(buf, at + CRC_START, at + size);
    if (stored !== actual) {
      return this.halt('bad-crc', `CRC32C mismatch (stored ${hex(stored)}, computed ${hex(actual)})`);
    }
    if (readInt32(buf, at) < 0) return this.halt('bad-offset', 'negative base offset');
    const base = readInt64(buf, at);
    const lastDelta = batchLastOffsetDelta(buf, at);
    const count = batchRecordCount(buf, at);
    if (base > MAX_OFFSET) return this.halt('bad-offset', 'base offset beyond 2^53');
    if (lastDelta < 0 || count < 0 || count > length)
      return this.halt('bad-count', `impossible record count ${count} (last offset delta ${lastDelta})`);
    const last = base + lastDelta;
    const expected = this.nextOffset;
    if (expected >= 0 && (this.gaps ? base < expected : base !== expected)) {
      return this.halt(
        'bad-offset',
        `batch base offset ${base} does not follow the batch before (expected ${this.gaps ? 'at least ' : ''}${expected})`,
      );
    }
    if (base < this.minOffset || last >= this.maxNextOffset) {
      return this.halt(
        'bad-offset',
        `batch offsets ${base}..${last} lie outside ${this.minOffset}..${this.maxNextOffset - 1}`,
      );
    }
    if (this.gaps ? count > lastDelta + 1 : count !== lastDelta + 1) {
      return this.halt('bad-count', `${count} records but offsets ${base} to ${last}`);
    }
    const maxTs = batchMaxTimestamp(buf, at);
    if (count > 0 && (batchAttributes(buf, at) & LOG_APPEND_TIME_FLAG) === 0) {
      const baseTs = batchBaseTimestamp(buf, at);
      if (maxTs < baseTs)
        return this.halt('bad-timestamp', `max timestamp ${maxTs} is before the base timestamp ${baseTs}`);
    }
    this.position = pos;
    this.size = size;
    this.baseOffset = base;
    this.lastOffset = last;
    this.end = pos + size;
    this.nextOffset = last + 1;
    this.batchMaxTimestamp = maxTs;
    if (maxTs > this.maxTimestamp) this.maxTimestamp = maxTs;
    this.stop = null;
    return true;
  }

  /** Walks to the first stop; returns its kind. */
  walkAll(): StopKind {
    while (this.next());
    return this.stop!;
  }

  private halt(kind: StopKind, detail: string): false {
    this.stop = kind;
    this.detail = detail;
    return false;
  }

  /** The stop as a LOGSTORE_CORRUPT error naming `file` and the position. */
  corruptError(file: string, advice = 'Run `logstore verify` on the store directory.'): LogStoreError {
    return corruptAt(file, this.end, this.stop ?? 'end', this.detail, advice);
  }
}

/** LOGSTORE_CORRUPT with details, in the one wording every caller uses. */
export function corruptAt(
  file: string,
  position: number,
  kind: string,
  detail: string,
  advice = 'Run `logstore verify` on the store directory.',
): LogStoreError {
  return new LogStoreError('LOGSTORE_CORRUPT', `${file} at position ${position}: ${detail}. ${advice}`, {
    details: { file, position, kind },
  });
}

/**
 * Whether a stop is what a crash leaves behind rather than damage: anything at or after the
 * point known to be synced (`syncedTo`: the recovery point, or the end of the segment's recorded
 * extent) in the data still being written. Before it, the bytes were once whole: damage.
 */
export function isTornTail(stop: StopKind, position: number, syncedTo: number): boolean {
  return stop !== 'end' && position >= syncedTo;
}

function zeros(buf: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (buf[i] !== 0) return false;
  return true;
}

/** A batch's header fields, as Kafka's DumpLogSegments prints them. */
export interface BatchHeader {
  position: number;
  baseOffset: number;
  lastOffset: number;
  count: number;
  size: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
}

/** The header of the batch at `buf[pos]` (whole header bytes present), reported at `position`. */
export function headerAt(buf: Uint8Array, pos: number, position = pos): BatchHeader {
  const baseOffset = readInt64(buf, pos);
  return {
    position,
    baseOffset,
    lastOffset: baseOffset + batchLastOffsetDelta(buf, pos),
    count: batchRecordCount(buf, pos),
    size: batchSize(buf, pos),
    partitionLeaderEpoch: readInt32(buf, pos + 12),
    magic: buf[pos + 16]!,
    crc: readInt32(buf, pos + 17) >>> 0,
    attributes: batchAttributes(buf, pos),
    baseTimestamp: batchBaseTimestamp(buf, pos),
    maxTimestamp: batchMaxTimestamp(buf, pos),
    producerId: readInt64(buf, pos + 43),
    producerEpoch: (((buf[pos + 51]! << 8) | buf[pos + 52]!) << 16) >> 16,
    baseSequence: readInt32(buf, pos + 53),
  };
}

/** A whole batch decoded: for tools (dump) and tests, not the read path. */
export interface DecodedBatch {
  baseOffset: number;
  lastOffset: number;
  baseTimestamp: number;
  maxTimestamp: number;
  recordCount: number;
  attributes: number;
  crc: number;
  sizeInBytes: number;
  records: LogRecord[];
}

/** Decodes the one batch at `buf[pos]`; bad bytes of any kind give LOGSTORE_CORRUPT. */
export function decodeBatch(buf: Uint8Array, pos = 0, where = 'batch'): DecodedBatch {
  const walker = new BatchWalker(buf, pos, { limit: buf.length, nextOffset: -1, gaps: true });
  if (!walker.next()) throw walker.corruptError(where, '');
  const records: LogRecord[] = [];
  decodeRecords(buf, pos, 0, Number.POSITIVE_INFINITY, records, '', 0, where);
  return {
    baseOffset: walker.baseOffset,
    lastOffset: walker.lastOffset,
    baseTimestamp: batchBaseTimestamp(buf, pos),
    maxTimestamp: batchMaxTimestamp(buf, pos),
    recordCount: batchRecordCount(buf, pos),
    attributes: batchAttributes(buf, pos),
    crc: readInt32(buf, pos + 17) >>> 0,
    sizeInBytes: batchSize(buf, pos),
    records,
  };
}
