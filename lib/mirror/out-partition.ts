/**
 * One partition of a mirror out: where its copy stands (the next local offset, the cluster's end,
 * the producer and its next sequence), its one batch in flight, and how the next batch is formed
 * from the stored ones (batches.ts says when a batch goes as stored and when it is re-encoded).
 * The send loop (out.ts) owns the state changes on acknowledgements and failures; position
 * bookkeeping (out-positions.ts) loads, reconciles and saves the fields named in its Anchor.
 */
import {
  batchesOf,
  codecOf,
  encodeRecords,
  isDense,
  recordsOf,
  stamped,
  type BatchView,
  type ProducerFields,
} from './batches.js';
import type { LocalSide } from './local.js';
import { MirrorPartition } from './run.js';

/** The largest batch sent (Kafka's default max.message.bytes is 1048588); halved on MESSAGE_TOO_LARGE. */
const MAX_BATCH_BYTES = 1_000_000;
/** Stored batches smaller than this are merged with their small neighbours into one batch. */
const MERGE_BELOW_BYTES = 16 * 1024;
/** Bytes read from the store at a time per partition. */
export const READ_AHEAD_BYTES = 4 * 1024 * 1024;

/** A batch sent and not answered yet. */
export interface Sending {
  bytes: Buffer;
  count: number;
  /** The local offset after the batch's last record. */
  to: number;
  firstSequence: number;
}

/** Where the cluster's log was known to match the store: what reconciling starts from. */
export interface Anchor {
  localOffset: number;
  remoteOffset: number;
  producerId: number;
  producerEpoch: number;
  nextSequence: number;
}

export class OutPartition extends MirrorPartition {
  /** The next local offset to send: everything below it is acknowledged by the cluster. */
  next = 0;
  /** The cluster partition's end offset after the last acknowledgement. */
  remote = 0;
  producerId = -1;
  producerEpoch = -1;
  /** The sequence of the next record. */
  sequence = 0;
  sending: Sending | null = null;
  /** The outcome of a send is unknown or it failed: reconcile before sending again. */
  failing = false;
  recovering = false;
  /** The cluster lost track of the producer: a new one after reconciling. */
  newProducer = false;
  maxBatchBytes = MAX_BATCH_BYTES;
  /** The cluster refused the batches' codec: send them uncompressed. */
  plainOnly = false;
  /** Acknowledged since the last commit. */
  dirty = false;
  private ahead: BatchView[] = [];
  private aheadIndex = 0;

  anchor(): Anchor {
    return {
      localOffset: this.next,
      remoteOffset: this.remote,
      producerId: this.producerId,
      producerEpoch: this.producerEpoch,
      nextSequence: this.sequence,
    };
  }

  /** The local end offset (a read-only store looks at the writer's files again first). */
  localEnd(local: LocalSide): number {
    const log = local.log(this.topic, this.partition);
    if (local.readOnly) log.refresh();
    return log.endOffset;
  }

  /** The next batch, starting at `next`, or null when there is nothing to send. */
  nextBatch(local: LocalSide): Sending | null {
    if (this.next >= this.localEnd(local)) return null;
    const { batches, index } = this.batches(local);
    const first = batches[index];
    if (!first || first.baseOffset >= this.end) return null;
    const producer: ProducerFields = {
      producerId: this.producerId,
      producerEpoch: this.producerEpoch,
      baseSequence: this.sequence,
    };
    const codec = this.plainOnly ? 0 : codecOf(first);
    const following = batches[index + 1];
    const mergeable =
      following !== undefined &&
      following.baseOffset < this.end &&
      following.size < MERGE_BELOW_BYTES &&
      codecOf(following) === codecOf(first);
    const asStored =
      first.baseOffset >= this.next &&
      isDense(first) &&
      codec === codecOf(first) &&
      first.size <= this.maxBatchBytes &&
      (first.size >= MERGE_BELOW_BYTES || !mergeable);
    if (asStored) {
      return {
        bytes: stamped(first, producer),
        count: first.count,
        to: first.lastOffset + 1,
        firstSequence: this.sequence,
      };
    }
    // Re-encoded: the tail of a batch, a batch with gaps, one too large, or small ones merged.
    const records = [];
    let to = this.next;
    let used = 0;
    for (let i = index; i < batches.length; i++) {
      const b = batches[i]!;
      if (b.baseOffset >= this.end) break;
      if (
        i > index &&
        (codecOf(b) !== codecOf(first) ||
          b.size >= MERGE_BELOW_BYTES ||
          used + b.size > this.maxBatchBytes / 2)
      )
        break;
      const recs = recordsOf(b, this.next, this.name);
      if (b.size > this.maxBatchBytes) {
        const take = Math.max(1, Math.floor((recs.length * this.maxBatchBytes) / b.size));
        if (take < recs.length) {
          records.push(...recs.slice(0, take));
          to = recs[take - 1]!.offset + 1;
          break;
        }
      }
      records.push(...recs);
      to = b.lastOffset + 1;
      used += b.size;
    }
    if (records.length === 0) return null;
    return {
      bytes: encodeRecords(records, codec, producer),
      count: records.length,
      to,
      firstSequence: this.sequence,
    };
  }

  /** Stored batches from the one holding `next` on (read ahead), or [] at the end of the log. */
  private batches(local: LocalSide): { batches: BatchView[]; index: number } {
    this.skipBelowNext();
    if (this.aheadIndex >= this.ahead.length) {
      const buf = local.store.readBatches(this.topic, this.partition, this.next, READ_AHEAD_BYTES);
      this.ahead = buf.length === 0 ? [] : batchesOf(buf, this.name, false);
      this.aheadIndex = 0;
      this.skipBelowNext();
    }
    return { batches: this.ahead, index: this.aheadIndex };
  }

  private skipBelowNext(): void {
    while (this.aheadIndex < this.ahead.length && this.ahead[this.aheadIndex]!.lastOffset < this.next)
      this.aheadIndex++;
  }
}
