/**
 * Shared tools of the format specs: byte-level surgery on RecordBatch v2 (CRC and length fix-ups,
 * a map of every varint in the records area, raw varints of any length), the record arbitraries of
 * the property tests, and the LogRecords a batch of appends must decode to.
 *
 * The field map and the varint writer here are written independently of lib/format/varint.ts so
 * that a bug there cannot hide itself in the tests.
 */
import fc from 'fast-check';

import { LogStoreError } from '../../lib/errors.js';
import { crc32c } from '../../lib/format/crc32c.js';
import { decodeBatch, type DecodedBatch } from '../../lib/format/batches.js';
import type { AppendRecord, Bytes, LogRecord } from '../../lib/record.js';

/** Positions in a batch (see the header comment of lib/format/record-batch.ts). */
export const LENGTH_AT = 8;
export const LEADER_EPOCH_AT = 12;
export const MAGIC_AT = 16;
export const CRC_AT = 17;
export const CRC_START = 21;
export const ATTRIBUTES_AT = 21;
export const LAST_OFFSET_DELTA_AT = 23;
export const BASE_TIMESTAMP_AT = 27;
export const PRODUCER_ID_AT = 43;
export const PRODUCER_EPOCH_AT = 51;
export const BASE_SEQUENCE_AT = 53;
export const RECORD_COUNT_AT = 57;
export const HEADER_BYTES = 61;
/** The smallest record: length, attributes, timestamp delta, offset delta, key, value, header count. */
export const MIN_RECORD_BYTES = 7;

/** Rewrites the CRC of the batch at `pos` (bytes 21..end) so that the checks behind it are reached. */
export function fixCrc(buf: Buffer, pos = 0): Buffer {
  const declared = pos + 12 + buf.readInt32BE(pos + LENGTH_AT);
  const end = Math.max(pos + CRC_START, Math.min(declared, buf.length)); // a damaged length stays damaged
  buf.writeUInt32BE(crc32c(buf, pos + CRC_START, end), pos + CRC_AT);
  return buf;
}

/** Makes the batch that starts at `pos` run exactly to the end of `buf`, then fixes its CRC. */
export function fitBatch(buf: Buffer, pos = 0): Buffer {
  buf.writeInt32BE(buf.length - pos - 12, pos + LENGTH_AT);
  return fixCrc(buf, pos);
}

/** Zigzag varint of any 64-bit value, as Kafka's ByteUtils.writeVarlong writes it. */
export function varint(n: number | bigint): Buffer {
  const v = BigInt(n);
  let z = BigInt.asUintN(64, (v << 1n) ^ (v >> 63n));
  const out: number[] = [];
  while (z >= 0x80n) {
    out.push(Number(z & 0x7fn) | 0x80);
    z >>= 7n;
  }
  out.push(Number(z));
  return Buffer.from(out);
}

/** Reads the varint at `pos` without any limit (the buffer is known to be a valid batch). */
function rawVarint(buf: Uint8Array, pos: number): { value: number; size: number } {
  let z = 0n;
  let shift = 0n;
  let size = 0;
  for (;;) {
    const b = buf[pos + size++];
    if (b === undefined)
      throw new Error(`recordFields: varint at ${pos} runs past the end (not a valid batch)`);
    z |= BigInt(b & 0x7f) << shift;
    shift += 7n;
    if (b < 0x80) break;
  }
  return { value: Number((z >> 1n) ^ -(z & 1n)), size };
}

export type FieldKind =
  | 'recordLength'
  | 'timestampDelta'
  | 'offsetDelta'
  | 'keyLength'
  | 'valueLength'
  | 'headerCount'
  | 'headerKeyLength'
  | 'headerValueLength';

export interface Field {
  kind: FieldKind;
  /** Position of the varint in the buffer. */
  pos: number;
  /** Bytes the varint takes. */
  size: number;
  value: number;
  /** Index of the record it belongs to. */
  record: number;
}

/** Every varint in the records area of the valid batch at `buf[pos]`, in order. */
export function recordFields(buf: Uint8Array, pos = 0): Field[] {
  const fields: Field[] = [];
  const view = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  const count = view.readInt32BE(pos + RECORD_COUNT_AT);
  let p = pos + HEADER_BYTES;
  let record = 0;
  const take = (kind: FieldKind): number => {
    const { value, size } = rawVarint(buf, p);
    fields.push({ kind, pos: p, size, value, record });
    p += size;
    return value;
  };
  for (; record < count; record++) {
    take('recordLength');
    p += 1; // attributes
    take('timestampDelta');
    take('offsetDelta');
    // `p += take()` would add to the value p had before take() moved it: skip in two steps.
    const keyLength = take('keyLength');
    p += Math.max(0, keyLength);
    const valueLength = take('valueLength');
    p += Math.max(0, valueLength);
    const headers = take('headerCount');
    for (let h = 0; h < headers; h++) {
      const headerKeyLength = take('headerKeyLength');
      p += headerKeyLength;
      const headerValueLength = take('headerValueLength');
      p += Math.max(0, headerValueLength);
    }
  }
  if (p !== pos + 12 + view.readInt32BE(pos + LENGTH_AT)) {
    throw new Error(`recordFields: the records end at ${p}, not where the batch does`);
  }
  return fields;
}

/** `buf` with `size` bytes at `pos` replaced by `bytes` (a new buffer). */
export function splice(buf: Uint8Array, pos: number, size: number, bytes: Uint8Array): Buffer {
  return Buffer.concat([buf.subarray(0, pos), bytes, buf.subarray(pos + size)]);
}

/**
 * Decodes `buf` as one batch at `pos`. Returns the batch, or `undefined` when the decoder refused it
 * with LOGSTORE_CORRUPT; anything else it throws (a TypeError, a RangeError from an allocation, a
 * LogStoreError of another code) propagates and fails the test.
 */
export function decodeOrCorrupt(buf: Uint8Array, pos = 0): DecodedBatch | undefined {
  try {
    return decodeBatch(buf, pos, 'fuzz');
  } catch (err) {
    if (err instanceof LogStoreError && err.code === 'LOGSTORE_CORRUPT') return undefined;
    throw err;
  }
}

/** Bytes of user data a decoded batch hands out: keys, values, header keys and header values. */
export function payloadBytes(batch: DecodedBatch): number {
  let total = 0;
  for (const r of batch.records) {
    total += (r.key?.length ?? 0) + (r.value?.length ?? 0);
    for (const [k, v] of r.headerList) total += Buffer.byteLength(k) + (v?.length ?? 0);
  }
  return total;
}

// ---- records and what they decode to ----

/** What logstore stores for a key, value or header value given as `b`. */
export function bytesOf(b: Bytes | null | undefined): Buffer | null {
  if (b === null || b === undefined) return null;
  return typeof b === 'string' ? Buffer.from(b, 'utf8') : Buffer.from(b);
}

/** The LogRecords `decodeBatch` must return for `records` encoded at `baseOffset` with `now`. */
export function expectedRecords(
  records: readonly AppendRecord[],
  baseOffset: number,
  now: number,
): LogRecord[] {
  return records.map((r, i) => ({
    topic: '',
    partition: 0,
    offset: baseOffset + i,
    timestamp: r.timestamp ?? now,
    key: bytesOf(r.key),
    value: bytesOf(r.value),
    headers: Object.fromEntries(Object.entries(r.headers ?? {}).map(([k, v]) => [k, bytesOf(v as Bytes)])),
    headerList: Object.entries(r.headers ?? {}).map(
      ([k, v]) => [k, bytesOf(v as Bytes)] as [string, Buffer | null],
    ),
  }));
}

/** A Uint8Array view that does not start at the beginning of its ArrayBuffer. */
const viewArb = fc
  .uint8Array({ maxLength: 40 })
  .map((u) =>
    new Uint8Array(Buffer.concat([Buffer.from([0xee, 0xee, 0xee]), u, Buffer.from([0xee])])).subarray(
      3,
      3 + u.length,
    ),
  );

/** Non-null bytes in every form `append` accepts, with the edge cases weighted in. */
export const bytesArb: fc.Arbitrary<Bytes> = fc.oneof(
  fc.constant(''),
  fc.string({ unit: 'binary', maxLength: 30 }), // any code point (no lone surrogates: not UTF-8)
  fc.string({ unit: 'grapheme-ascii', minLength: 50, maxLength: 140 }), // both sides of the 64-char ASCII fast path
  fc.uint8Array({ maxLength: 300 }).map((u) => Buffer.from(u)),
  fc.uint8Array({ maxLength: 40 }),
  viewArb,
);

/** Header keys; `__proto__` is left to its own test (see batch round-trip specs). */
export const headerKeyArb = fc.string({ unit: 'binary', maxLength: 20 }).filter((k) => k !== '__proto__');

/** 0 .. 2^45, the edges included. */
export const timestampArb = fc.oneof(
  fc.constantFrom(0, 1, 2 ** 31, 2 ** 45),
  fc.integer({ min: 0, max: 2 ** 30 - 1 }),
  fc
    .tuple(fc.integer({ min: 0, max: 2 ** 15 - 1 }), fc.integer({ min: 0, max: 2 ** 30 - 1 }))
    .map(([hi, lo]) => hi * 2 ** 30 + lo),
);

export const recordArb: fc.Arbitrary<AppendRecord> = fc
  .record({
    key: fc.option(fc.option(bytesArb, { nil: null }), { nil: undefined, freq: 4 }),
    value: fc.option(bytesArb, { nil: null, freq: 6 }),
    headers: fc.option(fc.array(fc.tuple(headerKeyArb, bytesArb), { maxLength: 4 }), { nil: undefined }),
    timestamp: fc.option(timestampArb, { nil: undefined, freq: 8 }),
  })
  .map(({ key, value, headers, timestamp }) => {
    const rec: AppendRecord = { value };
    if (key !== undefined) rec.key = key;
    if (headers !== undefined) rec.headers = Object.fromEntries(headers);
    if (timestamp !== undefined) rec.timestamp = timestamp;
    return rec;
  });

/** Base offsets: 0, small, and large enough that the high 32-bit word is used. */
export const baseOffsetArb = fc.oneof(
  fc.constant(0),
  fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  fc.integer({ min: 0, max: 2 ** 21 - 1 }).map((hi) => hi * 2 ** 31 + 1234567),
);
