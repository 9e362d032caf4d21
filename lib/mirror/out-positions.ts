/**
 * The position bookkeeping of a mirror out. A partition's position (a `to` row of the catalog's
 * mirror positions) is the next local offset, the cluster partition's end after the last
 * acknowledgement, and the idempotent producer with its next sequence. It is saved every so often
 * (out.ts), so after a crash or a send whose outcome is unknown the saved position may lag behind
 * the cluster's log: reconciling reads that log from the saved end, finds this mirror's own
 * batches by producer id and sequence, and moves the position past the records that arrived. A
 * record is thus never sent twice, whether or not the cluster keeps idempotent producer state.
 */
import { LogStoreError } from '../errors.js';
import type { KafkaCluster } from './cluster.js';
import { batchesOf, isDense, recordsOf } from './batches.js';
import { READ_AHEAD_BYTES, type Anchor, type OutPartition } from './out-partition.js';
import { check, KafkaCode } from './remote-errors.js';
import { fetchOnce, listOffset } from './remote-log.js';
import type { MirrorContext } from './run.js';

export interface Producer {
  producerId: number;
  producerEpoch: number;
}

/** A new idempotent producer id and epoch from the cluster. */
export async function initProducer(cluster: KafkaCluster): Promise<Producer> {
  return cluster.retry('InitProducerId', async () => {
    const client = await cluster.connection('any');
    const r = await client.request('InitProducerId', client.version('InitProducerId', 0, 4), {
      transactionalId: null,
      transactionTimeoutMs: 60_000,
      producerId: -1,
      producerEpoch: -1,
    });
    check(r.errorCode as number, 'InitProducerId');
    return { producerId: r.producerId as number, producerEpoch: r.producerEpoch as number };
  });
}

/**
 * Each partition's saved position, moved past what reached the cluster after it; partitions
 * never mirrored start at the log start, with the cluster's current end as their anchor. All
 * are saved with `producer` (this run's) before anything is sent.
 */
export async function loadPositions(
  ctx: MirrorContext,
  partitions: readonly OutPartition[],
  producer: Producer,
): Promise<void> {
  const { cluster, local } = ctx;
  for (const p of partitions) {
    const row = local.positions.latest(ctx.link, p.topic, p.partition);
    const log = local.log(p.topic, p.partition);
    if (row) {
      await cluster.retry(`Reconciling ${p.name}`, () => reconcile(ctx, p, row), [p.topic]);
    } else {
      p.next = log.logStartOffset;
      p.remote = await cluster.retry(
        `ListOffsets ${p.name}`,
        () => listOffset(cluster, p.topic, p.partition, -1),
        [p.topic],
      );
    }
    if (p.next < log.logStartOffset) {
      throw new LogStoreError(
        'LOGSTORE_OFFSET_OUT_OF_RANGE',
        `${p.name}: records ${p.next} to ${log.logStartOffset - 1} were deleted by retention before the mirror ` +
          `copied them to ${ctx.meter.cluster}. Run with --reset to copy what is left from the start.`,
      );
    }
    p.producerId = producer.producerId;
    p.producerEpoch = producer.producerEpoch;
    p.sequence = 0;
    p.dirty = true;
    if (!ctx.options.follow) p.end = log.endOffset;
  }
  savePositions(ctx, partitions);
}

/**
 * Reads the cluster's partition from `from.remoteOffset` to its end, finds the batches of
 * `from`'s producer with sequences from `from.nextSequence` on (sent, but not known to be
 * acknowledged), and moves the partition's position past their records.
 */
export async function reconcile(ctx: MirrorContext, p: OutPartition, from: Anchor): Promise<void> {
  const where = ctx.meter.cluster;
  let offset = from.remoteOffset;
  let expected = from.nextSequence;
  let remoteAfter = from.remoteOffset;
  for (;;) {
    const r = await fetchOnce(ctx.cluster, p.topic, p.partition, offset, 0);
    if (r.errorCode === KafkaCode.OFFSET_OUT_OF_RANGE) {
      if (r.logStartOffset > offset) {
        offset = r.logStartOffset; // retention on the cluster: what we look for is newer
        continue;
      }
      throw new LogStoreError(
        'LOGSTORE_REMOTE',
        `${p.name} on ${where} ends before offset ${offset}, where this mirror's copy was known to ` +
          'reach: the topic was deleted or truncated on the cluster. Run with --reset to copy the topic again.',
        { details: { kind: 'remote-truncated' } },
      );
    }
    check(r.errorCode, `Reading ${p.name} on the cluster`);
    if (offset >= r.highWatermark) break;
    const batches = batchesOf(r.records, `${p.name} on the cluster`, true);
    if (batches.length === 0) break;
    for (const b of batches) {
      if (b.lastOffset < offset || b.producerId !== from.producerId || b.producerEpoch !== from.producerEpoch)
        continue;
      const last = b.baseSequence + (b.lastOffset - b.baseOffset);
      if (last < expected) continue;
      if (b.baseSequence !== expected) {
        throw new LogStoreError(
          'LOGSTORE_REMOTE',
          `${p.name} on ${where} holds this mirror's records from sequence ${b.baseSequence}, but ` +
            `${expected} was the next one expected: records are missing on the cluster.`,
          { details: { kind: 'sequence-gap' } },
        );
      }
      expected = last + 1;
      remoteAfter = b.lastOffset + 1;
    }
    offset = batches[batches.length - 1]!.lastOffset + 1;
  }
  const arrived = expected - from.nextSequence;
  p.next = arrived > 0 ? skipRecords(ctx, p, from.localOffset, arrived) : from.localOffset;
  p.remote = remoteAfter;
  p.sequence = expected;
  p.producerId = from.producerId;
  p.producerEpoch = from.producerEpoch;
  if (arrived > 0) {
    p.dirty = true;
    ctx.meter.add(arrived, 0);
  }
}

/** The local offset after the `count` records from `from` on (they reached the cluster). */
function skipRecords(ctx: MirrorContext, p: OutPartition, from: number, count: number): number {
  let offset = from;
  while (count > 0) {
    const buf = ctx.local.store.readBatches(p.topic, p.partition, offset, READ_AHEAD_BYTES);
    const batches = buf.length === 0 ? [] : batchesOf(buf, p.name, false);
    if (batches.length === 0) {
      throw new LogStoreError(
        'LOGSTORE_REMOTE',
        `${p.name}: the cluster holds ${count} more of this mirror's records than the store has after offset ${offset}.`,
        { details: { kind: 'remote-ahead' } },
      );
    }
    for (const b of batches) {
      if (b.lastOffset < offset || count === 0) continue;
      if (isDense(b)) {
        const n = b.lastOffset - Math.max(offset, b.baseOffset) + 1;
        if (n <= count) {
          count -= n;
          offset = b.lastOffset + 1;
        } else {
          offset = Math.max(offset, b.baseOffset) + count;
          count = 0;
        }
      } else {
        const records = recordsOf(b, offset, p.name);
        if (records.length <= count) {
          count -= records.length;
          offset = b.lastOffset + 1;
        } else {
          offset = records[count - 1]!.offset + 1;
          count = 0;
        }
      }
    }
  }
  return offset;
}

/** Saves the positions acknowledged since the last save (the partitions marked dirty). */
export function savePositions(ctx: MirrorContext, partitions: readonly OutPartition[]): void {
  const dirty = partitions.filter((p) => p.dirty);
  if (dirty.length === 0) return;
  ctx.local.positions.set(
    dirty.map((p) => ({
      link: ctx.link,
      topic: p.topic,
      partition: p.partition,
      localOffset: p.next,
      remoteOffset: p.remote,
      producerId: p.producerId,
      producerEpoch: p.producerEpoch,
      nextSequence: p.sequence,
    })),
  );
  for (const p of dirty) p.dirty = false;
}
