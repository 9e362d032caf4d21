/**
 * `store.appendBatches`: Kafka RecordBatch v2 bytes appended as a producer sent them (what the
 * Kafka listener's Produce and the mirror use). Every batch is checked first
 * (format/producer-batches.ts); then each is written with its offsets assigned (the base offset
 * rewritten, outside the CRC), keeping the producer's bytes and codec, unless the topic's
 * compressionType names another codec: then it is re-encoded with it, as Kafka does.
 *
 * Batches with a producer id go through the partition's producer state (producer-state.ts): a
 * retried batch is acknowledged again with its first offsets and not stored twice, a sequence gap
 * is LOGSTORE_OUT_OF_ORDER_SEQUENCE, a fenced epoch LOGSTORE_INVALID_PRODUCER_EPOCH. A replica
 * (`origin: 'replica'`, the mirror copying a cluster's log) keeps producer fields without these
 * checks, as a Kafka follower does.
 */
import { BatchEncoder } from './format/batch-encoder.js';
import { compressionId, type CompressionId } from './format/codecs.js';
import { checkProducerBatches, incomingRecords, type IncomingBatch } from './format/producer-batches.js';
import { COMPRESSION_MASK } from './format/record-batch.js';
import { checkKeys, checkOneOf } from './options.js';
import type { AppendRecord, AppendResult } from './record.js';
import type { Durability } from './durability.js';
import type { ProducerIds } from './producer-ids.js';
import type { PartitionLog } from './storage/partition-log.js';
import { lastSequence, type ProducerBatch } from './storage/producer-state.js';
import { LogStoreError } from './errors.js';
import type { TopicState } from './topics.js';

export interface AppendBatchesOptions {
  /**
   * 'producer' (default): idempotent producers' sequences are checked; 'replica': batches copied
   * from another log keep their producer fields unchecked.
   */
  origin?: 'producer' | 'replica';
}

function identityOf(batch: IncomingBatch): ProducerBatch {
  return {
    producerId: batch.producerId,
    epoch: batch.producerEpoch,
    firstSequence: batch.baseSequence,
    count: batch.lastOffsetDelta + 1,
  };
}

/** @internal */
export class RawAppender {
  private readonly encoder = new BatchEncoder();

  constructor(
    private readonly durability: Durability,
    private readonly producerIds: ProducerIds,
  ) {}

  append(
    state: TopicState,
    log: PartitionLog,
    bytes: Uint8Array,
    options: AppendBatchesOptions = {},
  ): AppendResult {
    checkKeys(options, ['origin'], 'appendBatches option');
    const origin = checkOneOf('origin', options.origin ?? 'producer', ['producer', 'replica'] as const);
    const batches = checkProducerBatches(bytes, {
      maxBatchBytes: state.config.maxRecordBytes,
      keysRequired: state.config.cleanupPolicy === 'compact',
      where: log.name,
    });
    const type = state.config.compressionType;
    const codec = type === 'producer' ? null : compressionId(type);
    // Every batch's producer state is checked before any is written: a request's later batch of a
    // producer must continue its earlier one.
    const duplicates = origin === 'producer' ? this.checkSequences(log, batches) : batches.map(() => null);
    let baseOffset = -1;
    let lastOffset = -1;
    const now = Date.now();
    for (const [i, batch] of batches.entries()) {
      const duplicate = duplicates[i]!;
      let first: number;
      let last: number;
      if (duplicate) {
        ({ baseOffset: first, lastOffset: last } = duplicate);
      } else {
        first =
          codec === null || codec === batch.codec
            ? log.appendRaw(bytes, batch.start, batch.size, batch.lastOffsetDelta, batch.maxTimestamp)
            : this.reencode(log, bytes, batch, codec, now);
        last = first + batch.lastOffsetDelta;
        if (batch.producerId >= 0) log.producers.record(identityOf(batch), first, last, now);
        this.durability.noteWrite(log);
      }
      if (baseOffset < 0) baseOffset = first;
      lastOffset = last;
    }
    this.durability.afterAppend([log]);
    return { partition: log.partition, baseOffset, lastOffset };
  }

  /** For each batch, the offsets it duplicates, or null; throws on a fenced epoch or a sequence gap. */
  private checkSequences(
    log: PartitionLog,
    batches: IncomingBatch[],
  ): ({ baseOffset: number; lastOffset: number } | null)[] {
    const seen = new Map<number, IncomingBatch>();
    return batches.map((batch) => {
      if (batch.producerId < 0) return null;
      const earlier = seen.get(batch.producerId);
      seen.set(batch.producerId, batch);
      if (!earlier) return log.producers.check(identityOf(batch), this.producerIds.epochOf(batch.producerId));
      const next = lastSequence(earlier.baseSequence, earlier.lastOffsetDelta + 1) + 1;
      if (
        batch.producerEpoch !== earlier.producerEpoch ||
        batch.baseSequence !== (next > 0x7fffffff ? 0 : next)
      ) {
        throw new LogStoreError(
          'LOGSTORE_OUT_OF_ORDER_SEQUENCE',
          `Producer ${batch.producerId}'s batches for ${log.name} in one append do not follow each other.`,
        );
      }
      return null;
    });
  }

  /** Writes `batch`'s records as one batch compressed with `codec`, keeping its producer fields. */
  private reencode(
    log: PartitionLog,
    bytes: Uint8Array,
    batch: IncomingBatch,
    codec: CompressionId,
    now: number,
  ): number {
    const decoded = incomingRecords(bytes, batch);
    const records: AppendRecord[] = decoded.map((r) => ({
      key: r.key,
      value: r.value,
      timestamp: r.timestamp,
      headers: r.headerList,
    }));
    const size = this.encoder.measure(records, null, now, Number.MAX_SAFE_INTEGER, {
      offsetDeltas: decoded.map((r) => r.offset),
      codec,
      meta: {
        partitionLeaderEpoch: 0,
        flags: batch.attributes & ~COMPRESSION_MASK,
        producerId: batch.producerId,
        producerEpoch: batch.producerEpoch,
        baseSequence: batch.baseSequence,
      },
    });
    return log.append(this.encoder, size, batch.lastOffsetDelta + 1);
  }
}
