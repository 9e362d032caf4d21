/**
 * A second, independent reading of an uncompressed batch's records, for the decoder's specs: the
 * checks lib/format/record-decoder.ts documents, in the order it makes them, written one field at a
 * time with no fast path and no native code. What a damaged batch decodes to, or which
 * LOGSTORE_CORRUPT message it gets, must be what this says.
 *
 * The order is part of the contract, because the first check to fail names the error: a read
 * first checks the first record's length and offset delta against the end of the section (where
 * to start), then each record in turn, field by field against the end of that record, and then
 * that no bytes follow the last record.
 */
import {
  ATTRIBUTES_AT,
  BASE_TIMESTAMP_AT,
  HEADER_BYTES,
  LAST_OFFSET_DELTA_AT,
  LENGTH_AT,
  RECORD_COUNT_AT,
} from './tools.js';

const MAX_TIMESTAMP_AT = 35;
const LOG_APPEND_TIME = 0x08;
const CONTROL = 0x20;
const COMPRESSION = 0x07;

export interface ReferenceRecord {
  offset: number;
  timestamp: number;
  key: string | null;
  value: string | null;
  headers: [string, string | null][];
}

/** The records (bytes as hex), or the message decodeBatch(buf, pos, where) must throw. */
export type ReferenceOutcome = { records: ReferenceRecord[] } | { error: string };

/**
 * Kafka's zigzag varint at `pos`, as lib/format/varint.ts reads it: at most 8 bytes, accumulated
 * in doubles (values beyond 2^53 round the same way). Null when it runs past `end` or is longer.
 */
function varintAt(b: Uint8Array, pos: number, end: number): { value: number; next: number } | null {
  let z = 0;
  let scale = 1;
  for (let k = 0; k < 8 && pos < end; k++) {
    const byte = b[pos++]!;
    z += (byte & 0x7f) * scale;
    if (byte < 0x80) return { value: z % 2 === 0 ? z / 2 : -(z + 1) / 2, next: pos };
    scale *= 0x80;
  }
  return null;
}

class Refused extends Error {
  constructor(
    readonly what: string,
    readonly at: number,
  ) {
    super(what);
  }
}

/** A length-prefixed field from `p` (null for -1), checked against the record's `end`. */
function bytesField(
  s: Uint8Array,
  p: number,
  end: number,
  what: string,
  nullable: boolean,
): { bytes: Uint8Array | null; next: number } {
  const length = varintAt(s, p, end);
  if (!length || length.value < (nullable ? -1 : 0) || length.value > end - length.next)
    throw new Refused(what, p);
  if (length.value < 0) return { bytes: null, next: length.next };
  return { bytes: s.subarray(length.next, length.next + length.value), next: length.next + length.value };
}

const hex = (b: Uint8Array | null): string | null => (b === null ? null : Buffer.from(b).toString('hex'));

/**
 * What decodeBatch(buf, pos, where) returns or throws for the batch at `pos`, once the batch
 * walker has accepted its header and CRC. Undefined for a compressed batch (not read here).
 */
export function referenceRecords(buf: Buffer, pos: number, where: string): ReferenceOutcome | undefined {
  const attributes = buf.readInt16BE(pos + ATTRIBUTES_AT);
  if ((attributes & COMPRESSION) !== 0) return undefined;
  if ((attributes & CONTROL) !== 0) return { records: [] };
  const section = buf.subarray(pos + HEADER_BYTES, pos + LENGTH_AT + 4 + buf.readInt32BE(pos + LENGTH_AT));
  const count = buf.readInt32BE(pos + RECORD_COUNT_AT);
  const lastOffsetDelta = buf.readInt32BE(pos + LAST_OFFSET_DELTA_AT);
  const baseOffset = Number(buf.readBigInt64BE(pos));
  const baseTimestamp = Number(buf.readBigInt64BE(pos + BASE_TIMESTAMP_AT));
  const appendTime =
    (attributes & LOG_APPEND_TIME) !== 0 ? Number(buf.readBigInt64BE(pos + MAX_TIMESTAMP_AT)) : null;
  const size = section.length;
  try {
    if (count > 0) {
      // Where to start: the first record's length and offset delta, bounded by the section's end.
      const length = varintAt(section, 0, size);
      if (!length || length.value < 0 || length.value > size - length.next)
        throw new Refused('bad record length', 0);
      const timestampDelta = varintAt(section, length.next + 1, size);
      const offsetDelta = timestampDelta && varintAt(section, timestampDelta.next, size);
      if (!offsetDelta || offsetDelta.value < 0 || offsetDelta.value > lastOffsetDelta) {
        throw new Refused('bad offset delta', 0);
      }
    }
    const records: ReferenceRecord[] = [];
    let p = 0;
    let previousDelta = -1;
    for (let i = 0; i < count; i++) {
      const length = varintAt(section, p, size);
      if (!length || length.value < 0 || length.value > size - length.next)
        throw new Refused('bad record length', p);
      const end = length.next + length.value;
      p = length.next + 1; // after the attributes byte
      const timestampDelta = varintAt(section, p, end);
      if (!timestampDelta) throw new Refused('bad timestamp delta', p);
      const offsetDelta = varintAt(section, timestampDelta.next, end);
      if (!offsetDelta || offsetDelta.value <= previousDelta || offsetDelta.value > lastOffsetDelta) {
        throw new Refused('bad offset delta', p);
      }
      previousDelta = offsetDelta.value;
      const key = bytesField(section, offsetDelta.next, end, 'bad key length', true);
      const value = bytesField(section, key.next, end, 'bad value length', true);
      p = value.next;
      const headerCount = varintAt(section, p, end);
      if (!headerCount || headerCount.value < 0 || headerCount.value > end - headerCount.next) {
        throw new Refused('bad header count', p);
      }
      p = headerCount.next;
      const headers: [string, string | null][] = [];
      for (let h = 0; h < headerCount.value; h++) {
        const headerKey = bytesField(section, p, end, 'bad header key length', false);
        const headerValue = bytesField(section, headerKey.next, end, 'bad header value length', true);
        headers.push([Buffer.from(headerKey.bytes!).toString('utf8'), hex(headerValue.bytes)]);
        p = headerValue.next;
      }
      if (p !== end) throw new Refused('record length does not match its fields', p);
      records.push({
        offset: baseOffset + offsetDelta.value,
        timestamp: appendTime ?? baseTimestamp + timestampDelta.value,
        key: hex(key.bytes),
        value: hex(value.bytes),
        headers,
      });
    }
    if (p !== size) throw new Refused(`${size - p} bytes after the last of ${count} records`, p);
    return { records };
  } catch (err) {
    if (!(err instanceof Refused)) throw err;
    return {
      error: `${where} at position ${pos + HEADER_BYTES + err.at}: ${err.what} in the batch at ${pos}`,
    };
  }
}
