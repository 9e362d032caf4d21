/**
 * Checking RecordBatch v2 bytes as a Kafka producer sent them, before any is stored (what Kafka's
 * LogValidator does for a Produce request): every batch must be valid by the batch walker's
 * rules, magic 2 (older message formats are refused), not transactional or a control batch
 * (logstore has no transactions), within the topic's size limit, and its records must decode
 * (with keys, on a compacted topic): they are checked in place, without building them, since the
 * producer's bytes are stored as they are. The producer's base offsets are ignored: the store assigns
 * offsets. Anything wrong is LOGSTORE_INVALID_ARGUMENT (or LOGSTORE_RECORD_TOO_LARGE) naming the
 * batch and the problem; nothing is written.
 */
import { LogStoreError } from '../errors.js';
import type { LogRecord } from '../record.js';
import { BatchWalker } from './batches.js';
import {
  batchAttributes,
  batchBaseSequence,
  batchProducerEpoch,
  batchProducerId,
  COMPRESSION_MASK,
  CONTROL_FLAG,
  MAGIC,
  readInt32,
  readInt64,
  TRANSACTIONAL_FLAG,
} from './record-batch.js';
import { checkRecords, decodeRecords } from './record-decoder.js';

/** One checked batch of a producer's request. */
export interface IncomingBatch {
  /** Where it is in the input, and how long. */
  start: number;
  size: number;
  count: number;
  lastOffsetDelta: number;
  maxTimestamp: number;
  attributes: number;
  codec: number;
  partitionLeaderEpoch: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
}

export interface IncomingLimits {
  /** The topic's maxRecordBytes: the largest batch accepted (Kafka's max.message.bytes). */
  maxBatchBytes: number;
  /** A compacted topic: every record needs a key. */
  keysRequired: boolean;
  /** For messages: `topic-partition`. */
  where: string;
}

function invalid(message: string, kind: string, position: number): LogStoreError {
  return new LogStoreError('LOGSTORE_INVALID_ARGUMENT', message, { details: { position, kind } });
}

/** Checks every batch of `bytes` (batches back to back); returns them, or throws without writing. */
export function checkProducerBatches(bytes: Uint8Array, limits: IncomingLimits): IncomingBatch[] {
  if (!(bytes instanceof Uint8Array) || bytes.length === 0) {
    throw new LogStoreError(
      'LOGSTORE_INVALID_ARGUMENT',
      'appendBatches needs the bytes of at least one record batch.',
    );
  }
  const batches: IncomingBatch[] = [];
  for (let pos = 0; pos < bytes.length;) {
    const n = batches.length;
    if (bytes.length - pos > 16 && bytes[pos + 16] !== MAGIC) {
      throw invalid(
        `Batch ${n} for ${limits.where} has magic ${bytes[pos + 16]}: only RecordBatch v2 (magic 2, Kafka 0.11 and later) is accepted.`,
        'bad-magic',
        pos,
      );
    }
    const walker = new BatchWalker(bytes, pos, { limit: bytes.length, nextOffset: -1, gaps: false });
    if (!walker.next()) {
      throw invalid(
        `Batch ${n} for ${limits.where} at byte ${pos} is not a valid record batch: ${walker.detail}.`,
        walker.stop!,
        pos,
      );
    }
    if (walker.size > limits.maxBatchBytes) {
      throw new LogStoreError(
        'LOGSTORE_RECORD_TOO_LARGE',
        `Batch ${n} for ${limits.where} is ${walker.size} bytes, over the topic's maxRecordBytes of ${limits.maxBatchBytes}.`,
      );
    }
    const attributes = batchAttributes(bytes, pos);
    if ((attributes & (TRANSACTIONAL_FLAG | CONTROL_FLAG)) !== 0) {
      throw invalid(
        `Batch ${n} for ${limits.where} is ${attributes & CONTROL_FLAG ? 'a control batch' : 'transactional'}: logstore has no transactions.`,
        'transactional',
        pos,
      );
    }
    if (walker.lastOffset - walker.baseOffset + 1 === 0)
      throw invalid(`Batch ${n} for ${limits.where} is empty.`, 'bad-count', pos);
    let keyless: number;
    try {
      keyless = checkRecords(bytes, pos, `batch ${n}`);
    } catch (err) {
      throw invalid(`Batch ${n} for ${limits.where}: ${(err as Error).message}.`, 'bad-records', pos);
    }
    if (limits.keysRequired && keyless > 0) {
      throw invalid(
        `Batch ${n} for ${limits.where} has a record without a key; a compacted topic needs a key on every record.`,
        'no-key',
        pos,
      );
    }
    const base = walker.baseOffset;
    batches.push({
      start: pos,
      size: walker.size,
      count: readInt32(bytes, pos + 57),
      lastOffsetDelta: walker.lastOffset - base,
      maxTimestamp: walker.batchMaxTimestamp,
      attributes,
      codec: attributes & COMPRESSION_MASK,
      partitionLeaderEpoch: readInt32(bytes, pos + 12),
      producerId: batchProducerId(bytes, pos),
      producerEpoch: batchProducerEpoch(bytes, pos),
      baseSequence: batchBaseSequence(bytes, pos),
    });
    pos = walker.end;
  }
  return batches;
}

/** A checked batch's records, decoded (offsets relative to 0): for re-encoding it. */
export function incomingRecords(bytes: Uint8Array, batch: IncomingBatch): LogRecord[] {
  const records: LogRecord[] = [];
  decodeRecords(bytes, batch.start, 0, Number.POSITIVE_INFINITY, records, '', 0, 'batch');
  const base = readInt64(bytes, batch.start);
  for (const r of records) r.offset -= base;
  return records;
}
