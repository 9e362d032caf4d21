/**
 * Kafka RecordBatch v2 (magic 2), byte for byte: what logstore writes is what a Kafka broker
 * stores, and any Kafka client's batch decoder accepts it.
 *
 *   pos  size  field
 *   0    8     baseOffset
 *   8    4     batchLength           bytes after this field (so a batch is 12 + batchLength bytes)
 *   12   4     partitionLeaderEpoch  0 (the first leader of a fresh partition)
 *   16   1     magic                 2
 *   17   4     crc                   CRC32C of bytes 21..end
 *   21   2     attributes            0: no compression, CreateTime, not transactional, not control
 *   23   4     lastOffsetDelta
 *   27   8     baseTimestamp         the first record's timestamp
 *   35   8     maxTimestamp
 *   43   8     producerId            -1
 *   51   2     producerEpoch         -1
 *   53   4     baseSequence          -1
 *   57   4     recordCount
 *   61         records, each:
 *                length varint | attributes int8 | timestampDelta varlong | offsetDelta varint |
 *                keyLength varint (-1 = null) | key | valueLength varint (-1 = null) | value |
 *                headerCount varint | (keyLength varint | key | valueLength varint | value)*
 *
 * Integers are big-endian; varints are zigzag. Offsets and timestamps are JS numbers (exact up to
 * 2^53). The encoder writes straight into the destination (a memory-mapped segment) in two passes,
 * measure then write, with no per-record allocation. The decoder checks every length against the
 * bytes it has before touching them, so bad input yields LOGSTORE_CORRUPT and never an allocation
 * larger than the input.
 */
import { LogStoreError } from '../errors.js';
import type { AppendRecord, Bytes, LogRecord } from '../record.js';
import { crc32c } from './crc32c.js';
import { readVarint, varintEnd, varintSize, writeVarint, zigzag } from './varint.js';

export const BATCH_HEADER_BYTES = 61;
/** baseOffset + batchLength: the bytes before the part batchLength counts. */
export const LOG_OVERHEAD = 12;
export const MAGIC = 2;
/** The CRC covers the bytes from the attributes to the end of the batch. */
export const CRC_START = 21;
const COMPRESSION_MASK = 0x07;
const CONTROL_FLAG = 0x20;
/** Broker-stamped batches: every record's timestamp is the batch's maxTimestamp. */
export const LOG_APPEND_TIME_FLAG = 0x08;
const TWO_32 = 0x100000000;
/**
 * Timestamps up to 2^52 ms (year 144,683): the zigzag of any delta between two of them (down to
 * -2^52) stays below 2^53, so varints carry it exactly.
 */
const MAX_TIMESTAMP = 2 ** 52;

export function readInt64(buf: Uint8Array, pos: number): number {
  const hi = (buf[pos]! << 24) | (buf[pos + 1]! << 16) | (buf[pos + 2]! << 8) | buf[pos + 3]!;
  const lo = ((buf[pos + 4]! << 24) | (buf[pos + 5]! << 16) | (buf[pos + 6]! << 8) | buf[pos + 7]!) >>> 0;
  return hi * TWO_32 + lo;
}

export function readInt32(buf: Uint8Array, pos: number): number {
  return (buf[pos]! << 24) | (buf[pos + 1]! << 16) | (buf[pos + 2]! << 8) | buf[pos + 3]!;
}

function writeInt32(buf: Uint8Array, pos: number, n: number): void {
  buf[pos] = n >>> 24;
  buf[pos + 1] = n >>> 16;
  buf[pos + 2] = n >>> 8;
  buf[pos + 3] = n;
}

function writeInt64(buf: Uint8Array, pos: number, n: number): void {
  const hi = Math.floor(n / TWO_32);
  writeInt32(buf, pos, hi);
  writeInt32(buf, pos + 4, n - hi * TWO_32);
}

/** Field readers for a batch whose header bytes are known to be present. */
export const batchBaseOffset = (buf: Uint8Array, pos: number): number => readInt64(buf, pos);
export const batchSize = (buf: Uint8Array, pos: number): number => LOG_OVERHEAD + readInt32(buf, pos + 8);
export const batchLastOffsetDelta = (buf: Uint8Array, pos: number): number => readInt32(buf, pos + 23);
export const batchBaseTimestamp = (buf: Uint8Array, pos: number): number => readInt64(buf, pos + 27);
export const batchMaxTimestamp = (buf: Uint8Array, pos: number): number => readInt64(buf, pos + 35);
export const batchRecordCount = (buf: Uint8Array, pos: number): number => readInt32(buf, pos + 57);
export const batchAttributes = (buf: Uint8Array, pos: number): number =>
  (buf[pos + 21]! << 8) | buf[pos + 22]!;

/**
 * Encodes appends into batches. One instance is reused: it keeps per-record sizes from `measure`
 * for `write`, so that the hot path allocates nothing per record.
 */
export class BatchEncoder {
  private sizes = new Int32Array(1024);
  private timestamps = new Float64Array(1024);
  private records: readonly AppendRecord[] = [];
  private count = 0;
  private indices: readonly number[] | null = null;
  private offsetDeltas: readonly number[] | null = null;
  private maxTimestamp = 0;
  private bytes = 0;

  /**
   * Validates and measures the records `records[i]` for i in `indices` (or all of them) as one
   * batch; returns its size in bytes. Throws LOGSTORE_INVALID_ARGUMENT / LOGSTORE_RECORD_TOO_LARGE.
   * `offsetDeltas` (compaction) gives each record's offset relative to the batch base; by default
   * they are dense (0, 1, 2, ...).
   */
  measure(
    records: readonly AppendRecord[],
    indices: readonly number[] | null,
    now: number,
    maxRecordBytes: number,
    offsetDeltas: readonly number[] | null = null,
  ): number {
    const count = indices ? indices.length : records.length;
    if (count === 0)
      throw new LogStoreError('LOGSTORE_INVALID_ARGUMENT', 'A batch needs at least one record.');
    if (this.sizes.length < count) {
      this.sizes = new Int32Array(count * 2);
      this.timestamps = new Float64Array(count * 2);
    }
    let total = BATCH_HEADER_BYTES;
    let baseTimestamp = 0;
    let maxTimestamp = -1;
    for (let i = 0; i < count; i++) {
      const index = indices ? indices[i]! : i;
      const rec = records[index]!;
      let ts = rec.timestamp;
      if (ts === undefined) ts = now;
      else if (!Number.isSafeInteger(ts) || ts < 0 || ts > MAX_TIMESTAMP) {
        throw invalid(
          index,
          `timestamp must be a non-negative integer (ms since the epoch), got ${String(ts)}`,
        );
      }
      if (i === 0) baseTimestamp = ts;
      if (ts > maxTimestamp) maxTimestamp = ts;
      const keyLen = byteLength(rec.key, index, 'key');
      const valueLen = byteLength(rec.value, index, 'value');
      let body =
        1 +
        varintSize(zigzag(ts - baseTimestamp)) +
        varintSize((offsetDeltas ? offsetDeltas[i]! : i) * 2) +
        varintSize(zigzag(keyLen)) +
        (keyLen > 0 ? keyLen : 0) +
        varintSize(zigzag(valueLen)) +
        (valueLen > 0 ? valueLen : 0);
      const headers = rec.headers;
      if (headers === undefined || headers === null) body += 1;
      else body += headersSize(headers, index);
      const recordBytes = varintSize(body * 2) + body;
      if (recordBytes > maxRecordBytes) {
        throw new LogStoreError(
          'LOGSTORE_RECORD_TOO_LARGE',
          `Record ${index} is ${recordBytes} bytes encoded, over the topic's maxRecordBytes of ${maxRecordBytes}. ` +
            'Send a smaller record or raise maxRecordBytes with alterTopic.',
        );
      }
      this.sizes[i] = body;
      this.timestamps[i] = ts;
      total += recordBytes;
    }
    this.records = records;
    this.indices = indices;
    this.offsetDeltas = offsetDeltas;
    this.count = count;
    this.maxTimestamp = maxTimestamp;
    this.bytes = total;
    return total;
  }

  /** The largest timestamp in the batch last measured. */
  get lastMaxTimestamp(): number {
    return this.maxTimestamp;
  }

  /**
   * Writes the batch last measured at `buf[pos]` with the given base offset. A compacted batch
   * keeps its original `lastOffsetDelta` even when its last record is gone, as Kafka's cleaner does.
   */
  write(buf: Buffer, pos: number, baseOffset: number, lastOffsetDelta = this.count - 1): void {
    const { count, records, indices, sizes, timestamps, offsetDeltas } = this;
    const baseTimestamp = timestamps[0]!;
    writeInt64(buf, pos, baseOffset);
    writeInt32(buf, pos + 8, this.bytes - LOG_OVERHEAD);
    writeInt32(buf, pos + 12, 0);
    buf[pos + 16] = MAGIC;
    buf[pos + 21] = 0;
    buf[pos + 22] = 0;
    writeInt32(buf, pos + 23, lastOffsetDelta);
    writeInt64(buf, pos + 27, baseTimestamp);
    writeInt64(buf, pos + 35, this.maxTimestamp);
    buf.fill(0xff, pos + 43, pos + 57); // producerId, producerEpoch, baseSequence: -1
    writeInt32(buf, pos + 57, count);
    let p = pos + BATCH_HEADER_BYTES;
    for (let i = 0; i < count; i++) {
      const rec = records[indices ? indices[i]! : i]!;
      p = writeVarint(buf, p, sizes[i]!);
      buf[p++] = 0;
      p = writeVarint(buf, p, timestamps[i]! - baseTimestamp);
      p = writeVarint(buf, p, offsetDeltas ? offsetDeltas[i]! : i);
      p = writeBytes(buf, p, rec.key);
      p = writeBytes(buf, p, rec.value);
      const headers = rec.headers;
      if (headers === undefined || headers === null) buf[p++] = 0;
      else p = writeHeaders(buf, p, headers);
    }
    const crc = crc32c(buf, pos + CRC_START, p);
    writeInt32(buf, pos + 17, crc);
  }
}

function invalid(index: number, what: string): LogStoreError {
  return new LogStoreError('LOGSTORE_INVALID_ARGUMENT', `Record ${index}: ${what}.`);
}

function byteLength(b: Bytes | null | undefined, index: number, field: string): number {
  if (b === null || b === undefined) return -1;
  if (typeof b === 'string') return b.length < 64 && isAscii(b) ? b.length : Buffer.byteLength(b, 'utf8');
  if (b instanceof Uint8Array) return b.length;
  throw invalid(index, `${field} must be a Buffer, Uint8Array, string or null, got ${typeof b}`);
}

/** Short ASCII strings are the common key; their byte length is their length. */
function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

function writeBytes(buf: Buffer, p: number, b: Bytes | null | undefined): number {
  if (b === null || b === undefined) {
    buf[p] = 1; // zigzag(-1)
    return p + 1;
  }
  if (typeof b === 'string') {
    const len = Buffer.byteLength(b, 'utf8');
    p = writeVarint(buf, p, len);
    return p + buf.write(b, p, len, 'utf8');
  }
  p = writeVarint(buf, p, b.length);
  buf.set(b, p);
  return p + b.length;
}

function headersSize(headers: Record<string, Bytes>, index: number): number {
  if (typeof headers !== 'object') throw invalid(index, 'headers must be an object of string -> bytes');
  let size = 0;
  let n = 0;
  for (const key of Object.keys(headers)) {
    const keyLen = Buffer.byteLength(key, 'utf8');
    const valueLen = byteLength(headers[key], index, `header ${JSON.stringify(key)}`);
    size += varintSize(keyLen * 2) + keyLen + varintSize(zigzag(valueLen)) + (valueLen > 0 ? valueLen : 0);
    n++;
  }
  return size + varintSize(n * 2);
}

function writeHeaders(buf: Buffer, p: number, headers: Record<string, Bytes>): number {
  const keys = Object.keys(headers);
  p = writeVarint(buf, p, keys.length);
  for (const key of keys) {
    p = writeBytes(buf, p, key);
    p = writeBytes(buf, p, headers[key]);
  }
  return p;
}

const EMPTY_HEADERS: Record<string, Buffer> = Object.freeze({}) as Record<string, Buffer>;

/**
 * Views of the decoded keys and values are Buffers (Buffer.prototype is in their chain, so
 * `Buffer.isBuffer`, `toString`, `equals`... work) built the way Node builds its own FastBuffer:
 * `buf.subarray()` costs ~40 ns a call against ~14 ns for this, on a path that makes two views
 * per record.
 */
class RecordBuffer extends Uint8Array {}
Object.setPrototypeOf(RecordBuffer.prototype, Buffer.prototype);

function view(copy: Buffer, start: number, length: number): Buffer {
  return new RecordBuffer(copy.buffer as ArrayBuffer, copy.byteOffset + start, length) as unknown as Buffer;
}

/**
 * Decodes the records of the valid batch at `buf[pos]` (checked by a BatchWalker) whose offsets
 * are >= `fromOffset`, at most `max`, onto `out`. Keys, values and headers are copies (one copy of
 * the batch's record bytes), so they stay valid after the segment is unmapped. Returns how many
 * records were added. Throws LOGSTORE_CORRUPT (naming `where` and the position) when a record's
 * structure does not hold, which a CRC-valid batch written by a Kafka producer never does.
 */
export function decodeRecords(
  buf: Uint8Array,
  pos: number,
  fromOffset: number,
  max: number,
  out: LogRecord[],
  topic: string,
  partition: number,
  where: string,
): number {
  const end = pos + batchSize(buf, pos);
  const attributes = (buf[pos + 21]! << 8) | buf[pos + 22]!;
  if ((attributes & CONTROL_FLAG) !== 0) return 0; // transaction markers carry no user records
  if ((attributes & COMPRESSION_MASK) !== 0) {
    throw new LogStoreError(
      'LOGSTORE_CORRUPT',
      `${where} at position ${pos}: compressed batches (codec ${attributes & COMPRESSION_MASK}) are not supported`,
    );
  }
  const baseOffset = readInt64(buf, pos);
  const baseTimestamp = readInt64(buf, pos + 27);
  const appendTime = (attributes & LOG_APPEND_TIME_FLAG) !== 0 ? readInt64(buf, pos + 35) : -1;
  const count = readInt32(buf, pos + 57);
  const lastOffsetDelta = readInt32(buf, pos + 23);
  const fail = (at: number, what: string) =>
    new LogStoreError('LOGSTORE_CORRUPT', `${where} at position ${at}: ${what} in the batch at ${pos}`, {
      details: { file: where, position: at, kind: 'bad-records' },
    });
  // Skip, in place, the records before `fromOffset` (a reader resuming inside a batch).
  let first = pos + BATCH_HEADER_BYTES;
  let i = 0;
  // Offset deltas increase (compaction leaves gaps) and never pass the header's lastOffsetDelta.
  let previousDelta = -1;
  for (; i < count; i++) {
    const length = readVarint(buf, first, end);
    if (varintEnd < 0 || length < 0 || length > end - varintEnd) throw fail(first, 'bad record length');
    const next = varintEnd + length;
    readVarint(buf, varintEnd + 1, end);
    const offsetDelta = varintEnd < 0 ? -1 : readVarint(buf, varintEnd, end);
    if (varintEnd < 0 || offsetDelta <= previousDelta || offsetDelta > lastOffsetDelta) {
      throw fail(first, 'bad offset delta');
    }
    if (baseOffset + offsetDelta >= fromOffset) break;
    previousDelta = offsetDelta;
    first = next;
  }
  // One copy of the rest of the batch: the returned buffers are views into it, so they stay valid
  // after the segment is unmapped, and the copy is never larger than the input.
  const copy = Buffer.allocUnsafeSlow(end - first);
  copy.set(buf.subarray(first, end));
  let p = 0;
  const limit = copy.length;
  let added = 0;
  for (; i < count && added < max; i++) {
    const length = readVarint(copy, p, limit);
    if (varintEnd < 0 || length < 0 || length > limit - varintEnd) throw fail(first + p, 'bad record length');
    const recordEnd = varintEnd + length;
    p = varintEnd + 1; // attributes
    const tsDelta = readVarint(copy, p, recordEnd);
    if (varintEnd < 0) throw fail(first + p, 'bad timestamp delta');
    const offsetDelta = readVarint(copy, varintEnd, recordEnd);
    if (varintEnd < 0 || offsetDelta <= previousDelta || offsetDelta > lastOffsetDelta) {
      throw fail(first + p, 'bad offset delta');
    }
    previousDelta = offsetDelta;
    p = varintEnd;
    const offset = baseOffset + offsetDelta;
    const keyLen = readVarint(copy, p, recordEnd);
    if (varintEnd < 0 || keyLen < -1 || keyLen > recordEnd - varintEnd)
      throw fail(first + p, 'bad key length');
    p = varintEnd;
    const key = keyLen < 0 ? null : view(copy, p, keyLen);
    if (keyLen > 0) p += keyLen;
    const valueLen = readVarint(copy, p, recordEnd);
    if (varintEnd < 0 || valueLen < -1 || valueLen > recordEnd - varintEnd)
      throw fail(first + p, 'bad value length');
    p = varintEnd;
    const value = valueLen < 0 ? null : view(copy, p, valueLen);
    if (valueLen > 0) p += valueLen;
    const headerCount = readVarint(copy, p, recordEnd);
    if (varintEnd < 0 || headerCount < 0 || headerCount > recordEnd - varintEnd)
      throw fail(first + p, 'bad header count');
    p = varintEnd;
    let headers = EMPTY_HEADERS;
    if (headerCount > 0) {
      headers = {};
      for (let h = 0; h < headerCount; h++) {
        const hkLen = readVarint(copy, p, recordEnd);
        if (varintEnd < 0 || hkLen < 0 || hkLen > recordEnd - varintEnd)
          throw fail(first + p, 'bad header key length');
        p = varintEnd;
        const hk = copy.toString('utf8', p, (p += hkLen));
        const hvLen = readVarint(copy, p, recordEnd);
        if (varintEnd < 0 || hvLen < -1 || hvLen > recordEnd - varintEnd)
          throw fail(first + p, 'bad header value length');
        p = varintEnd;
        const hv = hvLen < 0 ? Buffer.alloc(0) : view(copy, p, hvLen);
        // Assigning to `__proto__` would replace the prototype instead of adding a header.
        if (hk === '__proto__')
          Object.defineProperty(headers, hk, { value: hv, enumerable: true, writable: true });
        else headers[hk] = hv;
        if (hvLen > 0) p += hvLen;
      }
    }
    if (p !== recordEnd) throw fail(first + p, 'record length does not match its fields');
    out.push({
      topic,
      partition,
      offset,
      timestamp: appendTime >= 0 ? appendTime : baseTimestamp + tsDelta,
      key,
      value,
      headers,
    });
    added++;
  }
  // Kafka's DefaultRecordBatch refuses this too: "Incorrect declared batch size, records still remaining".
  if (i === count && p !== limit)
    throw fail(first + p, `${limit - p} bytes after the last of ${count} records`);
  return added;
}

/** Encodes records as one standalone batch (tests and tools; the store writes in place). */
export function encodeBatch(baseOffset: number, records: readonly AppendRecord[], now = Date.now()): Buffer {
  const encoder = new BatchEncoder();
  const size = encoder.measure(records, null, now, Number.MAX_SAFE_INTEGER);
  const buf = Buffer.alloc(size);
  encoder.write(buf, 0, baseOffset);
  return buf;
}
