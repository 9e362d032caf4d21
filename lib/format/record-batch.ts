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
 * 2^53). A compressed batch (attributes bits 0-2: 1 gzip, 2 snappy, 3 lz4, 4 zstd) holds its
 * records section as one compressed block after the same 61-byte header.
 *
 * This module is the layout: offsets, flags and field readers. The encoder is batch-encoder.ts,
 * the record decoder record-decoder.ts, and the one judge of a batch's validity batches.ts.
 */

export const BATCH_HEADER_BYTES = 61;
/** baseOffset + batchLength: the bytes before the part batchLength counts. */
export const LOG_OVERHEAD = 12;
export const MAGIC = 2;
/** The CRC covers the bytes from the attributes to the end of the batch. */
export const CRC_START = 21;
export const COMPRESSION_MASK = 0x07;
export const TRANSACTIONAL_FLAG = 0x10;
export const CONTROL_FLAG = 0x20;
/** Broker-stamped batches: every record's timestamp is the batch's maxTimestamp. */
export const LOG_APPEND_TIME_FLAG = 0x08;
const TWO_32 = 0x100000000;
/**
 * Timestamps up to 2^52 ms (year 144,683): the zigzag of any delta between two of them (down to
 * -2^52) stays below 2^53, so varints carry it exactly.
 */
export const MAX_TIMESTAMP = 2 ** 52;

export function readInt64(buf: Uint8Array, pos: number): number {
  const hi = (buf[pos]! << 24) | (buf[pos + 1]! << 16) | (buf[pos + 2]! << 8) | buf[pos + 3]!;
  const lo = ((buf[pos + 4]! << 24) | (buf[pos + 5]! << 16) | (buf[pos + 6]! << 8) | buf[pos + 7]!) >>> 0;
  return hi * TWO_32 + lo;
}

export function readInt32(buf: Uint8Array, pos: number): number {
  return (buf[pos]! << 24) | (buf[pos + 1]! << 16) | (buf[pos + 2]! << 8) | buf[pos + 3]!;
}

export function writeInt32(buf: Uint8Array, pos: number, n: number): void {
  buf[pos] = n >>> 24;
  buf[pos + 1] = n >>> 16;
  buf[pos + 2] = n >>> 8;
  buf[pos + 3] = n;
}

export function writeInt64(buf: Uint8Array, pos: number, n: number): void {
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
export const batchProducerId = (buf: Uint8Array, pos: number): number => readInt64(buf, pos + 43);
export const batchProducerEpoch = (buf: Uint8Array, pos: number): number =>
  (((buf[pos + 51]! << 8) | buf[pos + 52]!) << 16) >> 16;
export const batchBaseSequence = (buf: Uint8Array, pos: number): number => readInt32(buf, pos + 53);
export const batchAttributes = (buf: Uint8Array, pos: number): number =>
  (buf[pos + 21]! << 8) | buf[pos + 22]!;
