/**
 * The batch work of a mirror, both directions. Batches travel as they are stored whenever they
 * can; a few header fields are rewritten (with the CRC recomputed) and, only where Kafka's rules
 * or the position require it, records are re-encoded into a new batch with the same codec:
 *
 * - out (store -> cluster): the producer id, epoch and base sequence of the mirror's idempotent
 *   producer are written into each batch, its base offset set to 0 and leader epoch to -1 (as a
 *   producer sends them). A batch is re-encoded when it starts below the position (only its tail
 *   is sent), has offset gaps (compaction: a broker refuses a produced batch whose record count
 *   does not fill its offset range), is larger than the cluster accepts, or is merged with small
 *   neighbours (a Produce request carries one batch per partition).
 * - in (cluster -> store): control batches (transaction markers) and aborted transactions' batches
 *   are dropped; a committed transactional batch loses its transactional flag (the store has no
 *   transactions); a batch with gaps or starting below the position is re-encoded densely.
 */
import { LogStoreError } from '../errors.js';
import { BatchWalker } from '../format/batches.js';
import { encodeBatch } from '../format/batch-encoder.js';
import { crc32c } from '../format/crc32c.js';
import {
  batchAttributes,
  batchBaseSequence,
  batchProducerEpoch,
  batchProducerId,
  BATCH_HEADER_BYTES,
  COMPRESSION_MASK,
  CONTROL_FLAG,
  CRC_START,
  LOG_APPEND_TIME_FLAG,
  TRANSACTIONAL_FLAG,
  writeInt32,
  writeInt64,
} from '../format/record-batch.js';
import { decodeRecords } from '../format/record-decoder.js';
import { readVarint, varintEnd } from '../format/varint.js';
import type { LogRecord } from '../record.js';

/** One whole, CRC-checked batch inside a buffer of batches. */
export interface BatchView {
  buf: Buffer;
  pos: number;
  size: number;
  baseOffset: number;
  lastOffset: number;
  count: number;
  attributes: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
}

export const isControl = (b: BatchView): boolean => (b.attributes & CONTROL_FLAG) !== 0;
export const isTransactional = (b: BatchView): boolean => (b.attributes & TRANSACTIONAL_FLAG) !== 0;
export const codecOf = (b: BatchView): number => b.attributes & COMPRESSION_MASK;
/** Whether the batch's records fill its offset range (no compaction gaps). */
export const isDense = (b: BatchView): boolean => b.count === b.lastOffset - b.baseOffset + 1;

/**
 * The whole batches of `buf` (a fetch response's records or the store's bytes), in order. A
 * partial batch at the very end (a broker cuts a response at its size limit) is left out; any
 * other damage is LOGSTORE_REMOTE or LOGSTORE_CORRUPT per `where` ('remote' data or 'local').
 */
export function batchesOf(buf: Buffer, where: string, remote: boolean): BatchView[] {
  const out: BatchView[] = [];
  const walker = new BatchWalker(buf, 0, { limit: buf.length, nextOffset: -1, gaps: true });
  while (walker.next()) {
    const pos = walker.position;
    out.push({
      buf,
      pos,
      size: walker.size,
      baseOffset: walker.baseOffset,
      lastOffset: walker.lastOffset,
      count: buf.readInt32BE(pos + 57),
      attributes: batchAttributes(buf, pos),
      producerId: batchProducerId(buf, pos),
      producerEpoch: batchProducerEpoch(buf, pos),
      baseSequence: batchBaseSequence(buf, pos),
    });
  }
  if (walker.stop === 'end' || walker.stop === 'truncated') return out;
  const message = `${where}: the batch at byte ${walker.stopPosition} is not a valid RecordBatch v2 (${walker.detail})`;
  if (remote) {
    throw new LogStoreError('LOGSTORE_REMOTE', `${message}; logstore copies RecordBatch v2 (magic 2) only.`, {
      details: { kind: walker.stop ?? 'bad-batch' },
    });
  }
  throw walker.corruptError(where);
}

/** The records of `b` at offsets >= `from` (keys, values and headers copied). */
export function recordsOf(b: BatchView, from: number, where: string): LogRecord[] {
  const out: LogRecord[] = [];
  decodeRecords(b.buf, b.pos, from, Number.POSITIVE_INFINITY, out, '', 0, where);
  return out;
}

export interface ProducerFields {
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
}

/** Recomputes the CRC of the batch at `buf[0]` after a change to its attributes..end. */
function seal(buf: Buffer): Buffer {
  writeInt32(buf, 17, crc32c(buf, CRC_START, buf.length));
  return buf;
}

/** A copy of `b` as a producer sends it: base offset 0, leader epoch -1, `producer` stamped. */
export function stamped(b: BatchView, producer: ProducerFields): Buffer {
  const out = Buffer.from(b.buf.subarray(b.pos, b.pos + b.size));
  writeInt64(out, 0, 0);
  writeInt32(out, 12, -1);
  out.writeUInt16BE(batchAttributes(out, 0) & ~(TRANSACTIONAL_FLAG | CONTROL_FLAG), 21);
  writeInt64(out, 43, producer.producerId);
  out.writeInt16BE(producer.producerEpoch, 51);
  writeInt32(out, 53, producer.baseSequence);
  return seal(out);
}

/** A copy of `b` without its transactional flag (a committed transaction's batch, kept). */
export function withoutTransaction(b: BatchView): Buffer {
  const out = Buffer.from(b.buf.subarray(b.pos, b.pos + b.size));
  out.writeUInt16BE(batchAttributes(out, 0) & ~TRANSACTIONAL_FLAG, 21);
  return seal(out);
}

/**
 * `records` as one dense batch (offsets 0..n-1, each record's own timestamp as CreateTime)
 * compressed with `codec`, with `producer`'s fields (none: -1).
 */
export function encodeRecords(
  records: readonly LogRecord[],
  codec: number,
  producer?: ProducerFields,
): Buffer {
  const out = encodeBatch(
    0,
    records.map((r) => ({ key: r.key, value: r.value, timestamp: r.timestamp, headers: r.headerList })),
    Date.now(),
    {
      codec: codec as 0,
      meta: {
        partitionLeaderEpoch: -1,
        flags: 0,
        producerId: producer?.producerId ?? -1,
        producerEpoch: producer?.producerEpoch ?? -1,
        baseSequence: producer?.baseSequence ?? -1,
      },
    },
  );
  return out;
}

/** Whether the records of `b` carry their own timestamps (CreateTime) rather than the broker's. */
export const isLogAppendTime = (b: BatchView): boolean => (b.attributes & LOG_APPEND_TIME_FLAG) !== 0;

/** Kafka's control record types (the key of a control batch's record). */
export const ABORT_MARKER = 0;
export const COMMIT_MARKER = 1;

/** A control batch's marker type (ABORT_MARKER, COMMIT_MARKER, or another type), -1 if unreadable. */
export function controlType(b: BatchView): number {
  const buf = b.buf;
  const end = b.pos + b.size;
  let pos = b.pos + BATCH_HEADER_BYTES;
  readVarint(buf, pos, end); // record length
  if (varintEnd < 0) return -1;
  pos = varintEnd + 1; // attributes
  readVarint(buf, pos, end); // timestamp delta
  if (varintEnd < 0) return -1;
  readVarint(buf, varintEnd, end); // offset delta
  if (varintEnd < 0) return -1;
  const keyLength = readVarint(buf, varintEnd, end);
  if (varintEnd < 0 || keyLength < 4 || varintEnd + 4 > end) return -1;
  return buf.readInt16BE(varintEnd + 2);
}
