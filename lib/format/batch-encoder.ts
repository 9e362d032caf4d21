/**
 * Encoding appends as one RecordBatch v2 (layout in record-batch.ts). One encoder is reused: it
 * measures records (validating each) and then writes the batch straight into the destination (a
 * memory-mapped segment), with no per-record allocation for records without headers.
 *
 * A compressed batch is measured by encoding its records into a scratch buffer and compressing
 * them: the size of a compressed batch is only known after compression.
 */
import { LogStoreError } from '../errors.js';
import type { AppendRecord, Bytes } from '../record.js';
import { compressRecords, type CompressionId } from './codecs.js';
import { crc32c } from './crc32c.js';
import { headerPairs, type HeaderValue } from './headers.js';
import {
  BATCH_HEADER_BYTES,
  CRC_START,
  LOG_OVERHEAD,
  MAGIC,
  MAX_TIMESTAMP,
  writeInt32,
  writeInt64,
} from './record-batch.js';
import { varintSize, writeVarint, zigzag } from './varint.js';

/** The batch-level fields a rewrite keeps from the batch it rewrites (compaction). */
export interface BatchMeta {
  partitionLeaderEpoch: number;
  /** Attributes other than the codec (timestamp type, transactional). */
  flags: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
}

const OWN_BATCH: BatchMeta = {
  partitionLeaderEpoch: 0,
  flags: 0,
  producerId: -1,
  producerEpoch: -1,
  baseSequence: -1,
};

export interface MeasureOptions {
  /** Each record's offset relative to the batch base (compaction); default dense 0, 1, 2, ... */
  offsetDeltas?: readonly number[] | null;
  /** @default 0 (none) */
  codec?: CompressionId;
  meta?: BatchMeta;
}

export class BatchEncoder {
  private sizes = new Int32Array(1024);
  /**
   * Each record's timestamp minus the batch's base timestamp, mostly 0: a plain array, whose small
   * integers V8 stores untagged (a delta beyond 2^31 turns it into an array of doubles, still
   * exact). Until V8 has optimized the record loops (the first few dozen appends of 1000
   * records), every operation on a double there allocates a heap number: deltas computed from
   * the timestamps (ms since the epoch, doubles) when measured and again when written took four
   * a record; the first 120 appends of 1000 records allocated 1.2 MB, now 0.4 MB.
   */
  private timestampDeltas: number[] = new Array<number>(1024).fill(0);
  private baseTimestamp = 0;
  /** Per record, its header pairs (null: none). */
  private headers: ([string, HeaderValue][] | null)[] = [];
  private records: readonly AppendRecord[] = [];
  private count = 0;
  private indices: readonly number[] | null = null;
  private offsetDeltas: readonly number[] | null = null;
  private maxTimestamp = 0;
  private bytes = 0;
  private codec: CompressionId = 0;
  private meta: BatchMeta = OWN_BATCH;
  /** The compressed records section of the batch last measured (codec != 0). */
  private block: Uint8Array | null = null;
  private scratch = Buffer.alloc(0);

  /**
   * Validates and measures the records `records[i]` for i in `indices` (or all of them) as one
   * batch; returns its size in bytes. Throws LOGSTORE_INVALID_ARGUMENT / LOGSTORE_RECORD_TOO_LARGE.
   */
  measure(
    records: readonly AppendRecord[],
    indices: readonly number[] | null,
    now: number,
    maxRecordBytes: number,
    options: MeasureOptions = {},
  ): number {
    const count = indices ? indices.length : records.length;
    if (count === 0)
      throw new LogStoreError('LOGSTORE_INVALID_ARGUMENT', 'A batch needs at least one record.');
    if (this.sizes.length < count) {
      this.sizes = new Int32Array(count * 2);
      this.timestampDeltas = new Array<number>(count * 2).fill(0);
    }
    const offsetDeltas = options.offsetDeltas ?? null;
    let total = 0;
    let baseTimestamp = 0;
    let maxTimestamp = -1;
    let anyHeaders = false;
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
      // Records without a timestamp of their own share the base: no subtraction of doubles.
      const timestampDelta = ts === baseTimestamp ? 0 : ts - baseTimestamp;
      const keyLen = byteLength(rec.key, index, 'key');
      const valueLen = byteLength(rec.value, index, 'value');
      let body =
        1 +
        varintSize(zigzag(timestampDelta)) +
        varintSize((offsetDeltas ? offsetDeltas[i]! : i) * 2) +
        varintSize(zigzag(keyLen)) +
        (keyLen > 0 ? keyLen : 0) +
        varintSize(zigzag(valueLen)) +
        (valueLen > 0 ? valueLen : 0);
      const given = rec.headers;
      if (given === undefined || given === null) {
        body += 1;
        if (anyHeaders) this.headers[i] = null;
      } else {
        if (!anyHeaders) {
          anyHeaders = true;
          this.headers.length = 0;
          for (let k = 0; k < i; k++) this.headers.push(null);
        }
        const pairs = headerPairs(given, index);
        this.headers[i] = pairs;
        body += headersSize(pairs, index);
      }
      const recordBytes = varintSize(body * 2) + body;
      if (recordBytes > maxRecordBytes) {
        throw new LogStoreError(
          'LOGSTORE_RECORD_TOO_LARGE',
          `Record ${index} is ${recordBytes} bytes encoded, over the topic's maxRecordBytes of ${maxRecordBytes}. ` +
            'Send a smaller record or raise maxRecordBytes with alterTopic.',
        );
      }
      this.sizes[i] = body;
      this.timestampDeltas[i] = timestampDelta;
      total += recordBytes;
    }
    if (!anyHeaders && this.headers.length > 0) this.headers.length = 0;
    this.records = records;
    this.indices = indices;
    this.offsetDeltas = offsetDeltas;
    this.count = count;
    this.baseTimestamp = baseTimestamp;
    this.maxTimestamp = maxTimestamp;
    this.codec = options.codec ?? 0;
    this.meta = options.meta ?? OWN_BATCH;
    this.block = null;
    if (this.codec !== 0) {
      if (this.scratch.length < total)
        this.scratch = Buffer.allocUnsafe(Math.max(total, 2 * this.scratch.length));
      this.writeRecords(this.scratch, 0);
      this.block = compressRecords(this.codec, this.scratch.subarray(0, total));
      total = this.block.length;
    }
    this.bytes = BATCH_HEADER_BYTES + total;
    return this.bytes;
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
    const meta = this.meta;
    writeInt64(buf, pos, baseOffset);
    writeInt32(buf, pos + 8, this.bytes - LOG_OVERHEAD);
    writeInt32(buf, pos + 12, meta.partitionLeaderEpoch);
    buf[pos + 16] = MAGIC;
    const attributes = meta.flags | this.codec;
    buf[pos + 21] = attributes >>> 8;
    buf[pos + 22] = attributes & 0xff;
    writeInt32(buf, pos + 23, lastOffsetDelta);
    writeInt64(buf, pos + 27, this.baseTimestamp);
    writeInt64(buf, pos + 35, this.maxTimestamp);
    writeInt64(buf, pos + 43, meta.producerId);
    buf[pos + 51] = (meta.producerEpoch >>> 8) & 0xff;
    buf[pos + 52] = meta.producerEpoch & 0xff;
    writeInt32(buf, pos + 53, meta.baseSequence);
    writeInt32(buf, pos + 57, this.count);
    const end = pos + this.bytes;
    if (this.block) buf.set(this.block, pos + BATCH_HEADER_BYTES);
    else this.writeRecords(buf, pos + BATCH_HEADER_BYTES);
    writeInt32(buf, pos + 17, crc32c(buf, pos + CRC_START, end));
  }

  /** The records section, uncompressed, at `buf[p]`. */
  private writeRecords(buf: Buffer, p: number): void {
    const { count, records, indices, sizes, timestampDeltas, offsetDeltas, headers } = this;
    for (let i = 0; i < count; i++) {
      const rec = records[indices ? indices[i]! : i]!;
      p = writeVarint(buf, p, sizes[i]!);
      buf[p++] = 0;
      p = writeVarint(buf, p, timestampDeltas[i]!);
      p = writeVarint(buf, p, offsetDeltas ? offsetDeltas[i]! : i);
      p = writeBytes(buf, p, rec.key);
      p = writeBytes(buf, p, rec.value);
      const pairs = headers.length > 0 ? headers[i] : null;
      if (!pairs) buf[p++] = 0;
      else {
        p = writeVarint(buf, p, pairs.length);
        for (const [key, value] of pairs) {
          p = writeBytes(buf, p, key);
          p = writeBytes(buf, p, value);
        }
      }
    }
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

/**
 * Uint8Array's `set`, called directly: `buf.set(...)` on a Buffer compiled to a generic property
 * load at every call (`Builtins_LoadIC` in a `perf` profile), ~4 ns of the ~30 a record of 100
 * bytes takes to write.
 */
const typedArraySet = Uint8Array.prototype.set;

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
  const length = b.length;
  p = writeVarint(buf, p, length);
  typedArraySet.call(buf, b, p);
  return p + length;
}

function headersSize(pairs: readonly [string, HeaderValue][], index: number): number {
  let size = varintSize(pairs.length * 2);
  for (const [key, value] of pairs) {
    const keyLen = Buffer.byteLength(key, 'utf8');
    const valueLen = byteLength(value, index, `header ${JSON.stringify(key)}`);
    size += varintSize(keyLen * 2) + keyLen + varintSize(zigzag(valueLen)) + (valueLen > 0 ? valueLen : 0);
  }
  return size;
}

/** Encodes records as one standalone batch (tests and tools; the store writes in place). */
export function encodeBatch(
  baseOffset: number,
  records: readonly AppendRecord[],
  now = Date.now(),
  options: MeasureOptions = {},
): Buffer {
  const encoder = new BatchEncoder();
  const size = encoder.measure(records, null, now, Number.MAX_SAFE_INTEGER, options);
  const buf = Buffer.alloc(size);
  encoder.write(buf, 0, baseOffset);
  return buf;
}
