/**
 * Decoding the records of a batch the batch walker accepted (layout in record-batch.ts). Every
 * length is checked against the bytes left before it is used, so damage behind a valid CRC (or
 * a hostile producer's batch) yields LOGSTORE_CORRUPT (kind `bad-records`) and never an
 * allocation larger than the batch or, for a compressed batch, than `maxBytes`.
 */
import { LogStoreError } from '../errors.js';
import type { LogRecord } from '../record.js';
import { decompressRecords } from './codecs.js';
import { EMPTY_HEADER_LIST, EMPTY_HEADERS, headersObject, type HeaderList } from './headers.js';
import {
  BATCH_HEADER_BYTES,
  batchAttributes,
  batchSize,
  COMPRESSION_MASK,
  CONTROL_FLAG,
  LOG_APPEND_TIME_FLAG,
  readInt32,
  readInt64,
} from './record-batch.js';
import { readVarint, varintEnd } from './varint.js';

/**
 * The most a compressed batch's records may expand to: beyond it the batch is LOGSTORE_CORRUPT
 * (a decompression bomb), not an out-of-memory crash.
 */
export const MAX_DECOMPRESSED_BYTES = 256 * 1024 * 1024;

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
 * Decodes the records of the valid batch at `buf[pos]` whose offsets are >= `fromOffset`, at
 * most `max`, onto `out`. Keys, values and headers are copies (one copy of the batch's record
 * bytes, or the decompressed block), so they stay valid after the segment is unmapped. Returns
 * how many records were added. Control batches (transaction markers) hold no user records.
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
  maxBytes = MAX_DECOMPRESSED_BYTES,
): number {
  const end = pos + batchSize(buf, pos);
  const attributes = batchAttributes(buf, pos);
  if ((attributes & CONTROL_FLAG) !== 0) return 0;
  const baseOffset = readInt64(buf, pos);
  const baseTimestamp = readInt64(buf, pos + 27);
  const appendTime = (attributes & LOG_APPEND_TIME_FLAG) !== 0 ? readInt64(buf, pos + 35) : -1;
  const count = readInt32(buf, pos + 57);
  const lastOffsetDelta = readInt32(buf, pos + 23);
  const fail = (at: number, what: string) =>
    new LogStoreError('LOGSTORE_CORRUPT', `${where} at position ${at}: ${what} in the batch at ${pos}`, {
      details: { file: where, position: at, kind: 'bad-records' },
    });
  // The records section: in place for a plain batch, the decompressed block for a compressed one
  // (positions in errors are then those of the batch).
  let records = buf.subarray(pos + BATCH_HEADER_BYTES, end);
  if ((attributes & COMPRESSION_MASK) !== 0) {
    try {
      records = decompressRecords(attributes, records, maxBytes);
    } catch (err) {
      throw new LogStoreError(
        'LOGSTORE_CORRUPT',
        `${where} at position ${pos}: the compressed records of the batch cannot be read: ${(err as Error).message}`,
        { details: { file: where, position: pos, kind: 'bad-compression' } },
      );
    }
  }
  const compressed = records.buffer !== buf.buffer;
  const at = (p: number) => (compressed ? pos + BATCH_HEADER_BYTES : pos + BATCH_HEADER_BYTES + p);
  const limit = records.length;
  // Skip, in place, the records before `fromOffset` (a reader resuming inside a batch).
  let first = 0;
  let i = 0;
  // Offset deltas increase (compaction leaves gaps) and never pass the header's lastOffsetDelta.
  let previousDelta = -1;
  for (; i < count; i++) {
    const length = readVarint(records, first, limit);
    if (varintEnd < 0 || length < 0 || length > limit - varintEnd) throw fail(at(first), 'bad record length');
    const next = varintEnd + length;
    readVarint(records, varintEnd + 1, limit);
    const offsetDelta = varintEnd < 0 ? -1 : readVarint(records, varintEnd, limit);
    if (varintEnd < 0 || offsetDelta <= previousDelta || offsetDelta > lastOffsetDelta) {
      throw fail(at(first), 'bad offset delta');
    }
    if (baseOffset + offsetDelta >= fromOffset) break;
    previousDelta = offsetDelta;
    first = next;
  }
  // The returned buffers are views into one copy of the rest of the records, so they stay valid
  // after the segment is unmapped; a decompressed block is already a copy.
  let copy: Buffer;
  if (compressed) copy = Buffer.from(records.buffer, records.byteOffset + first, limit - first);
  else {
    copy = Buffer.allocUnsafeSlow(limit - first);
    copy.set(records.subarray(first, limit));
  }
  const base = first;
  let p = 0;
  const size = copy.length;
  let added = 0;
  for (; i < count && added < max; i++) {
    const length = readVarint(copy, p, size);
    if (varintEnd < 0 || length < 0 || length > size - varintEnd)
      throw fail(at(base + p), 'bad record length');
    const recordEnd = varintEnd + length;
    p = varintEnd + 1; // attributes
    const tsDelta = readVarint(copy, p, recordEnd);
    if (varintEnd < 0) throw fail(at(base + p), 'bad timestamp delta');
    const offsetDelta = readVarint(copy, varintEnd, recordEnd);
    if (varintEnd < 0 || offsetDelta <= previousDelta || offsetDelta > lastOffsetDelta) {
      throw fail(at(base + p), 'bad offset delta');
    }
    previousDelta = offsetDelta;
    p = varintEnd;
    const keyLen = readVarint(copy, p, recordEnd);
    if (varintEnd < 0 || keyLen < -1 || keyLen > recordEnd - varintEnd)
      throw fail(at(base + p), 'bad key length');
    p = varintEnd;
    const key = keyLen < 0 ? null : view(copy, p, keyLen);
    if (keyLen > 0) p += keyLen;
    const valueLen = readVarint(copy, p, recordEnd);
    if (varintEnd < 0 || valueLen < -1 || valueLen > recordEnd - varintEnd)
      throw fail(at(base + p), 'bad value length');
    p = varintEnd;
    const value = valueLen < 0 ? null : view(copy, p, valueLen);
    if (valueLen > 0) p += valueLen;
    const headerCount = readVarint(copy, p, recordEnd);
    if (varintEnd < 0 || headerCount < 0 || headerCount > recordEnd - varintEnd)
      throw fail(at(base + p), 'bad header count');
    p = varintEnd;
    let headerList = EMPTY_HEADER_LIST;
    if (headerCount > 0) {
      headerList = [];
      for (let h = 0; h < headerCount; h++) {
        const keyLength = readVarint(copy, p, recordEnd);
        if (varintEnd < 0 || keyLength < 0 || keyLength > recordEnd - varintEnd)
          throw fail(at(base + p), 'bad header key length');
        p = varintEnd;
        const headerKey = copy.toString('utf8', p, (p += keyLength));
        const valueLength = readVarint(copy, p, recordEnd);
        if (varintEnd < 0 || valueLength < -1 || valueLength > recordEnd - varintEnd)
          throw fail(at(base + p), 'bad header value length');
        p = varintEnd;
        (headerList as HeaderList).push([headerKey, valueLength < 0 ? null : view(copy, p, valueLength)]);
        if (valueLength > 0) p += valueLength;
      }
    }
    if (p !== recordEnd) throw fail(at(base + p), 'record length does not match its fields');
    out.push({
      topic,
      partition,
      offset: baseOffset + offsetDelta,
      timestamp: appendTime >= 0 ? appendTime : baseTimestamp + tsDelta,
      key,
      value,
      headers: headerCount > 0 ? headersObject(headerList) : EMPTY_HEADERS,
      headerList,
    });
    added++;
  }
  // Kafka's DefaultRecordBatch refuses this too: "Incorrect declared batch size, records still remaining".
  if (i === count && p !== size)
    throw fail(at(base + p), `${size - p} bytes after the last of ${count} records`);
  return added;
}
