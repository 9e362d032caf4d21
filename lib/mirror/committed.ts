/**
 * What a mirror in keeps of a fetched partition (read_committed): Kafka's consumer rules for
 * transactions, applied to whole batches. Control batches (transaction markers) are dropped; a
 * transactional batch is dropped when its producer is in the fetch's aborted list (from that
 * transaction's first offset until the producer's ABORT marker), else kept without its
 * transactional flag. Kept batches are the fetched bytes, unless they start below the position or
 * have offset gaps (compaction): those are re-encoded densely (the store's offsets are dense).
 */
import {
  ABORT_MARKER,
  batchesOf,
  codecOf,
  controlType,
  encodeRecords,
  isControl,
  isDense,
  isTransactional,
  recordsOf,
  withoutTransaction,
} from './batches.js';

/** One fetched batch's fate: its bytes to append (null: dropped) and the cluster offset after it. */
export interface KeptBatch {
  bytes: Buffer | null;
  count: number;
  next: number;
}

export interface AbortedTransaction {
  producerId: number;
  firstOffset: number;
}

/** The batches of `records` from `position` on, each kept (as bytes to append) or dropped. */
export function committedBatches(
  records: Buffer,
  position: number,
  abortedTransactions: readonly AbortedTransaction[],
  where: string,
): KeptBatch[] {
  const aborted = [...abortedTransactions].sort((a, b) => a.firstOffset - b.firstOffset);
  const abortedProducers = new Set<number>();
  let nextAborted = 0;
  const out: KeptBatch[] = [];
  for (const b of batchesOf(records, where, true)) {
    if (b.lastOffset < position) continue;
    while (nextAborted < aborted.length && aborted[nextAborted]!.firstOffset <= b.lastOffset)
      abortedProducers.add(aborted[nextAborted++]!.producerId);
    const next = b.lastOffset + 1;
    if (isControl(b)) {
      if (controlType(b) === ABORT_MARKER) abortedProducers.delete(b.producerId);
      out.push({ bytes: null, count: 0, next });
      continue;
    }
    if (isTransactional(b) && abortedProducers.has(b.producerId)) {
      out.push({ bytes: null, count: 0, next });
      continue;
    }
    if (b.baseOffset < position || !isDense(b)) {
      const kept = recordsOf(b, position, where);
      out.push(
        kept.length === 0
          ? { bytes: null, count: 0, next }
          : { bytes: encodeRecords(kept, codecOf(b)), count: kept.length, next },
      );
      continue;
    }
    const bytes = isTransactional(b) ? withoutTransaction(b) : b.buf.subarray(b.pos, b.pos + b.size);
    out.push({ bytes, count: b.count, next });
  }
  return out;
}
