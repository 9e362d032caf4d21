/**
 * Decoding the records of a batch the batch walker accepted (layout in record-batch.ts). Every
 * length is checked against the bytes left before it is used, so damage behind a valid CRC (or
 * a hostile producer's batch) yields LOGSTORE_CORRUPT (kind `bad-records`) and never an
 * allocation larger than the batch or, for a compressed batch, than `maxBytes`.
 *
 * The records loop's checks run in the native addon (`scanRecords`, native/logstore_native.c):
 * it checks up to 1024 records a call and says where each one's key, value and headers are, and
 * the loop here builds the records from that. In C the checks cost ~20 ns a record of 100 bytes;
 * in JavaScript they were most of the loop, which V8 runs unoptimized for the first ~30 reads of
 * a process, at ~270 ns a record (docs/performance.md, "Reads").
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
import { scanRecords, scanTables } from '../storage/native.js';
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
class RecordBuffer extends Uint8Array {
  // Spelled out: Node 20's V8 runs a derived class's default constructor as `super(...args)`,
  // which spreads its arguments into an array at every call.
  constructor(memory: ArrayBuffer, byteOffset: number, length: number) {
    super(memory, byteOffset, length);
  }
}
Object.setPrototypeOf(RecordBuffer.prototype, Buffer.prototype);

/** A Buffer over `length` bytes at `at` of `out.copy` (its memory and byte offset read once per batch). */
function view(out: Output, at: number, length: number): Buffer {
  return new RecordBuffer(out.memory, out.byteOffset + at, length) as unknown as Buffer;
}

/** Where the records loop puts what it builds, and what their bytes are views of. */
interface Output {
  list: LogRecord[];
  topic: string;
  partition: number;
  /** The bytes the views are made of: `records` itself, or a copy of it from `base` on. */
  copy: Buffer;
  /** `copy.buffer` and `copy.byteOffset`: getters, read once rather than twice a record. */
  memory: ArrayBuffer;
  byteOffset: number;
  base: number;
}

/** The Output of `copy`, holding records from `base` of the records section on. */
function output(list: LogRecord[], topic: string, partition: number, copy: Buffer, base: number): Output {
  return {
    list,
    topic,
    partition,
    copy,
    memory: copy.buffer as ArrayBuffer,
    byteOffset: copy.byteOffset,
    base,
  };
}

/** What the records loop knows of the batch it walks. */
interface BatchContext {
  baseOffset: number;
  baseTimestamp: number;
  /** The batch's LogAppendTime, or -1 (CreateTime: each record's own). */
  appendTime: number;
  lastOffsetDelta: number;
  count: number;
  fail: (at: number, what: string) => LogStoreError;
  /** Position in the batch of a position in the records section (for errors). */
  at: (p: number) => number;
}

/** Where the records loop stopped: the record index and byte position, and what it saw. */
interface Walked {
  i: number;
  p: number;
  added: number;
  keyless: number;
}

/**
 * A record as reads return it. A class rather than an object literal: V8 tracks the survival of
 * an object literal's allocations and, after one young collection in which nearly all of them
 * were still alive (two collections during one `read(10000)`, which happens when a new mapping
 * of a segment is young), allocates every later one directly in the old generation. Records a
 * reader drops at once then fill the old generation, and the process ran three times the full
 * collections and ~90 MiB more memory for the rest of its life (the streaming-rss bench's "bad
 * runs"). Objects made by a constructor are never allocated that way.
 * Exported for bench/micro/read-path.ts only (the floor of the API's shape).
 */
export class DecodedRecord implements LogRecord {
  constructor(
    public topic: string,
    public partition: number,
    public offset: number,
    public timestamp: number,
    public key: Buffer | null,
    public value: Buffer | null,
    public headers: LogRecord['headers'],
    public headerList: HeaderList,
  ) {}
}

/** The native scanner's tables and their layout (native/logstore_native.c, scanRecords). */
const [scanned, stamps] = scanTables();
const SCAN_IN = 0;
const SCAN_OUT = 8;
const SCAN_RECORDS = 16;
const SCAN_FIELDS = 7;
const SCAN_ROOM = stamps.length;
const SCAN_TRAILING = 10;
const SCAN_ERRORS = [
  '',
  'bad record length',
  'bad timestamp delta',
  'bad offset delta',
  'bad key length',
  'bad value length',
  'bad header count',
  'bad header key length',
  'bad header value length',
  'record length does not match its fields',
];

/**
 * The one loop over a batch's records, from record `i` at byte `p` of `records`: the native
 * scanner checks every length, delta and count against the bytes left (LOGSTORE_CORRUPT
 * otherwise) and says where each record's fields are; with `out`, each record is then built as
 * views of `records` (at most `max`). Without `out` it only checks, and allocates nothing per
 * record.
 */
function walkRecords(
  records: Uint8Array,
  p: number,
  i: number,
  previousDelta: number,
  b: BatchContext,
  max: number,
  out: Output | null,
): Walked {
  let added = 0;
  let keyless = 0;
  for (;;) {
    const want = Math.min(max - added, SCAN_ROOM);
    scanned[SCAN_IN] = p;
    scanned[SCAN_IN + 1] = i;
    scanned[SCAN_IN + 2] = b.count;
    scanned[SCAN_IN + 3] = previousDelta;
    scanned[SCAN_IN + 4] = b.lastOffsetDelta;
    scanned[SCAN_IN + 5] = want;
    const n = scanRecords(records);
    if (out) buildRecords(n, b, out);
    added += n;
    p = scanned[SCAN_OUT + 2]!;
    i = scanned[SCAN_OUT + 3]!;
    previousDelta = scanned[SCAN_OUT + 4]!;
    keyless += scanned[SCAN_OUT + 5]!;
    const error = scanned[SCAN_OUT]!;
    if (error !== 0) {
      const at = scanned[SCAN_OUT + 1]!;
      // Kafka's DefaultRecordBatch refuses trailing bytes too: "Incorrect declared batch size, records still remaining".
      const what =
        error === SCAN_TRAILING
          ? `${records.length - at} bytes after the last of ${b.count} records`
          : SCAN_ERRORS[error]!;
      throw b.fail(b.at((out ? out.base : 0) + at), what);
    }
    if (n < want || added >= max || i >= b.count) return { i, p, added, keyless };
  }
}

/** Builds the `n` records scanRecords just described, as views of `out.copy`. */
function buildRecords(n: number, b: BatchContext, out: Output): void {
  for (let k = 0; k < n; k++) {
    const r = SCAN_RECORDS + k * SCAN_FIELDS;
    const keyLength = scanned[r + 2]!;
    const valueLength = scanned[r + 4]!;
    const headerCount = scanned[r + 6]!;
    const key = keyLength < 0 ? null : view(out, scanned[r + 1]!, keyLength);
    const value = valueLength < 0 ? null : view(out, scanned[r + 3]!, valueLength);
    let headerList = EMPTY_HEADER_LIST;
    let headers = EMPTY_HEADERS;
    if (headerCount > 0) {
      headerList = readHeaders(out, scanned[r + 5]!, headerCount);
      headers = headersObject(headerList);
    }
    const timestamp = b.appendTime >= 0 ? b.appendTime : b.baseTimestamp + stamps[k]!;
    out.list.push(
      new DecodedRecord(
        out.topic,
        out.partition,
        b.baseOffset + scanned[r]!,
        timestamp,
        key,
        value,
        headers,
        headerList,
      ),
    );
  }
}

/** The `count` headers from byte `p` of `out.copy` (scanRecords has checked their lengths). */
function readHeaders(out: Output, p: number, count: number): HeaderList {
  const bytes = out.copy;
  const list: HeaderList = [];
  for (let h = 0; h < count; h++) {
    const keyLength = readVarint(bytes, p, bytes.length);
    p = varintEnd;
    const key = bytes.toString('utf8', p, p + keyLength);
    p += keyLength;
    const valueLength = readVarint(bytes, p, bytes.length);
    p = varintEnd;
    list.push([key, valueLength < 0 ? null : view(out, p, valueLength)]);
    if (valueLength > 0) p += valueLength;
  }
  return list;
}

/** The batch's records section (decompressed when compressed) and what the loop needs to know. */
function openBatch(
  buf: Uint8Array,
  pos: number,
  where: string,
  maxBytes: number,
  origin: number,
  block: Uint8Array | null = null,
): { records: Uint8Array; compressed: boolean; context: BatchContext } {
  const end = pos + batchSize(buf, pos);
  const attributes = batchAttributes(buf, pos);
  const position = origin + pos; // the batch's position in the file, for errors
  const fail = (at: number, what: string) =>
    new LogStoreError('LOGSTORE_CORRUPT', `${where} at position ${at}: ${what} in the batch at ${position}`, {
      details: { file: where, position: at, kind: 'bad-records' },
    });
  // The records section: in place for a plain batch, the decompressed block for a compressed one
  // (positions in errors are then those of the batch).
  let records = block ?? buf.subarray(pos + BATCH_HEADER_BYTES, end);
  if (block === null && (attributes & COMPRESSION_MASK) !== 0) {
    try {
      records = decompressRecords(attributes, records, maxBytes);
    } catch (err) {
      throw new LogStoreError(
        'LOGSTORE_CORRUPT',
        `${where} at position ${position}: the compressed records of the batch cannot be read: ${(err as Error).message}`,
        { details: { file: where, position, kind: 'bad-compression' } },
      );
    }
  }
  const compressed = records.buffer !== buf.buffer;
  return {
    records,
    compressed,
    context: {
      baseOffset: readInt64(buf, pos),
      baseTimestamp: readInt64(buf, pos + 27),
      appendTime: (attributes & LOG_APPEND_TIME_FLAG) !== 0 ? readInt64(buf, pos + 35) : -1,
      lastOffsetDelta: readInt32(buf, pos + 23),
      count: readInt32(buf, pos + 57),
      fail,
      at: (p: number) => (compressed ? position + BATCH_HEADER_BYTES : position + BATCH_HEADER_BYTES + p),
    },
  };
}

/**
 * Where a reader stopped inside a batch: the next record's index and byte position in the
 * records section, the offset delta before it, and a compressed batch's decompressed records. A
 * read that resumes there starts at that record rather than walking the batch, and decompressing
 * it, from its start again: reads of 100 records from a batch of 10,000 each paid for the whole
 * batch. Its owner (a reader's cursor) clears it whenever it may be somewhere else: another
 * segment, a seek. Positions are the batch's in the file, so one segment's batches never mix up.
 */
export class BatchPlace {
  /** The file position of the batch, or -1: no place. */
  batch = -1;
  /** The offset a read resuming here asks for. */
  nextOffset = -1;
  index = 0;
  position = 0;
  previousDelta = -1;
  /** The decompressed records of a compressed batch (never written to: records view it). */
  block: Uint8Array | null = null;

  clear(): void {
    this.batch = -1;
    this.block = null;
  }
}

/**
 * Skips, in place, the records before `fromOffset` (a reader resuming inside a batch): where the
 * first record to decode starts, its index, and the offset delta before it. It reads only each
 * record's length and offset delta, and checks those.
 */
function skipRecords(
  records: Uint8Array,
  fromOffset: number,
  b: BatchContext,
): { first: number; i: number; previousDelta: number } {
  const limit = records.length;
  let first = 0;
  let i = 0;
  // Offset deltas increase (compaction leaves gaps) and never pass the header's lastOffsetDelta.
  let previousDelta = -1;
  for (; i < b.count; i++) {
    const length = readVarint(records, first, limit);
    if (varintEnd < 0 || length < 0 || length > limit - varintEnd)
      throw b.fail(b.at(first), 'bad record length');
    const next = varintEnd + length;
    readVarint(records, varintEnd + 1, limit);
    const offsetDelta = varintEnd < 0 ? -1 : readVarint(records, varintEnd, limit);
    if (varintEnd < 0 || offsetDelta <= previousDelta || offsetDelta > b.lastOffsetDelta) {
      throw b.fail(b.at(first), 'bad offset delta');
    }
    if (b.baseOffset + offsetDelta >= fromOffset) break;
    previousDelta = offsetDelta;
    first = next;
  }
  return { first, i, previousDelta };
}

/**
 * Checks the records of the valid batch at `buf[pos]` exactly as `decodeRecords` from its start
 * would (the same LOGSTORE_CORRUPT for the same damage) without building them: nothing is
 * allocated per record (a compressed batch is still decompressed). Returns how many records have
 * no key. The producer path calls it: the producer's bytes are stored as they are.
 */
export function checkRecords(
  buf: Uint8Array,
  pos: number,
  where: string,
  maxBytes = MAX_DECOMPRESSED_BYTES,
): number {
  if ((batchAttributes(buf, pos) & CONTROL_FLAG) !== 0) return 0;
  const { records, context } = openBatch(buf, pos, where, maxBytes, 0);
  // Every record is checked (none skipped), the way decodeRecords reads from the batch's start.
  const { first, i, previousDelta } = skipRecords(records, Number.NEGATIVE_INFINITY, context);
  return walkRecords(records, first, i, previousDelta, context, Number.POSITIVE_INFINITY, null).keyless;
}

/**
 * Decodes the records of the valid batch at `buf[pos]` whose offsets are >= `fromOffset`, at
 * most `max`, onto `out`. Returns how many records were added. Control batches (transaction
 * markers) hold no user records.
 *
 * With `copy` (the default), keys, values and header values are views into one copy of the
 * bytes of the records returned (or into the decompressed block), so they stay valid after the
 * segment is unmapped. Without it they are views into `buf` itself (a compressed batch's records
 * are still views into its decompressed block): the caller keeps `buf` (a reader's read buffer,
 * or a mapping) from being overwritten or unmapped for as long as it promised
 * (lib/read/view-lease.ts). `origin` is the file position of `buf[0]` when `buf` holds a window of
 * the file rather than all of it (errors name positions in the file). With `place`, a read that
 * resumes where the last one stopped in this batch starts there (BatchPlace), and the place is
 * moved on.
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
  copy = true,
  origin = 0,
  place: BatchPlace | null = null,
): number {
  if ((batchAttributes(buf, pos) & CONTROL_FLAG) !== 0) return 0;
  const batch = origin + pos;
  const resume = place !== null && place.batch === batch && place.nextOffset === fromOffset;
  const {
    records,
    compressed,
    context: b,
  } = openBatch(buf, pos, where, maxBytes, origin, resume ? place.block : null);
  const { first, i, previousDelta } = resume
    ? { first: place.position, i: place.index, previousDelta: place.previousDelta }
    : skipRecords(records, fromOffset, b);
  const before = out.length;
  let walked: Walked;
  if (!copy || compressed) {
    // In place: the mapping's bytes, or the decompressed block (already a copy of its own).
    const bytes = asBuffer(records);
    walked = walkRecords(bytes, first, i, previousDelta, b, max, output(out, topic, partition, bytes, 0));
  } else {
    walked = copyAndWalk(records, first, i, previousDelta, b, max, out, topic, partition);
  }
  if (place !== null) {
    if (walked.i < b.count && walked.added > 0) {
      const last = out[before + walked.added - 1]!.offset;
      place.batch = batch;
      place.nextOffset = last + 1;
      place.index = walked.i;
      place.position = walked.p;
      place.previousDelta = last - b.baseOffset;
      place.block = compressed ? records : null;
    } else if (walked.i === b.count) place.clear();
  }
  return walked.added;
}

/**
 * The copying read's walk: the returned buffers are views into one copy of the bytes of the
 * records returned, so they stay valid after the segment is unmapped. Not the rest of the batch:
 * reads of 100 from a batch of 10,000 would copy it again at every call, and their records would
 * keep all of it alive. The position returned is in `records`, as an in-place walk's.
 */
function copyAndWalk(
  records: Uint8Array,
  first: number,
  i: number,
  previousDelta: number,
  b: BatchContext,
  max: number,
  list: LogRecord[],
  topic: string,
  partition: number,
): Walked {
  const end = b.count - i > max ? recordsEnd(records, first, max) : records.length;
  const bytes = Buffer.allocUnsafeSlow(end - first);
  bytes.set(records.subarray(first, end));
  const walked = walkRecords(
    bytes,
    0,
    i,
    previousDelta,
    b,
    max,
    output(list, topic, partition, bytes, first),
  );
  walked.p += first;
  return walked;
}

/**
 * Where the `count` records from byte `first` of `records` end, from their lengths alone; the
 * section's end when a length does not fit (walkRecords, over the whole section, then reports it).
 */
function recordsEnd(records: Uint8Array, first: number, count: number): number {
  const limit = records.length;
  let p = first;
  for (let n = 0; n < count; n++) {
    const length = readVarint(records, p, limit);
    if (varintEnd < 0 || length < 0 || length > limit - varintEnd) return limit;
    p = varintEnd + length;
  }
  return p;
}

/** `bytes` as a Buffer over the same memory (header keys are decoded with Buffer's toString). */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}
