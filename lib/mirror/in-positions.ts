/**
 * The position bookkeeping of a mirror in, exactly once across crashes. The appends go to the log
 * and the positions to SQLite, so neither can wait for the other. Before each append the mirror
 * records, in one catalog transaction, one row per batch: "when this partition's end offset is L,
 * the next cluster offset is R" (write-ahead). Whatever a crash leaves (nothing of the append, all
 * of it, or a prefix: recovery cuts a torn tail at a batch boundary), the partition's end offset at
 * the next start equals one of those rows' L, and that row's R is where fetching resumes. Rows older
 * than the last flush are trimmed; a partition end that matches no row means something else wrote
 * to the topic, and the mirror refuses to guess.
 */
import { LogStoreError } from '../errors.js';
import { committedBatches } from './committed.js';
import type { InPartition } from './in-partition.js';
import { listOffset, type FetchedPartition } from './remote-log.js';
import type { MirrorContext } from './run.js';

interface Row {
  localOffset: number;
  remoteOffset: number;
}

/**
 * Each partition's position: the row matching its end offset (rows above it are appends a crash
 * cut); a partition never mirrored starts at the group's `committed` offset or the earliest.
 * Without --follow, each partition's `end` is the cluster's last stable offset now.
 */
export async function loadPositions(
  ctx: MirrorContext,
  partitions: readonly InPartition[],
  committed: ReadonlyMap<string, number>,
): Promise<void> {
  const { cluster, local } = ctx;
  for (const p of partitions) {
    const log = local.log(p.topic, p.partition);
    const end = log.endOffset;
    const rows = local.positions.rows(ctx.link, p.topic, p.partition);
    const match = rows.find((r) => r.localOffset === end);
    if (match) {
      p.remote = match.remoteOffset;
      if (rows.length > 1) local.positions.trim(ctx.link, p.topic, p.partition, end, end);
    } else if (rows.length === 0 && end === log.logStartOffset) {
      const fromGroup = committed.get(p.name) ?? -1;
      p.remote =
        fromGroup >= 0
          ? fromGroup
          : await cluster.retry(
              `ListOffsets ${p.name}`,
              () => listOffset(cluster, p.topic, p.partition, -2),
              [p.topic],
            );
      local.positions.record([
        { link: ctx.link, topic: p.topic, partition: p.partition, localOffset: end, remoteOffset: p.remote },
      ]);
    } else {
      throw new LogStoreError(
        'LOGSTORE_INVALID_ARGUMENT',
        rows.length === 0
          ? `${p.name} already holds records (offsets ${log.logStartOffset} to ${end - 1}) that this mirror did not ` +
              `copy from ${ctx.meter.cluster}. Mirror into a new or empty topic.`
          : `${p.name} ends at offset ${end}, which matches none of the positions this mirror recorded ` +
              `(${rows.map((r) => r.localOffset).join(', ')}): something else wrote to the topic. Delete the topic ` +
              "from the store and mirror again, or run with --reset to continue from the start of the cluster's log.",
        { details: { kind: 'diverged' } },
      );
    }
    p.groupOffset = committed.get(p.name) ?? -1;
    if (!ctx.options.follow) {
      p.end = await cluster.retry(
        `ListOffsets ${p.name}`,
        () => listOffset(cluster, p.topic, p.partition, -1, true),
        [p.topic],
      );
    }
  }
}

/**
 * Appends the committed batches of a fetch's answer `r` for `p`, after recording the rows that
 * map them (write-ahead), and moves `p` past them.
 */
export function appendFetched(ctx: MirrorContext, p: InPartition, r: FetchedPartition): void {
  const log = ctx.local.log(p.topic, p.partition);
  const start = log.endOffset;
  let end = start;
  let remote = p.remote;
  const rows: Row[] = [];
  const chunks: Buffer[] = [];
  let records = 0;
  const advance = () => {
    const last = rows[rows.length - 1];
    if (last && last.localOffset === end) last.remoteOffset = remote;
    else rows.push({ localOffset: end, remoteOffset: remote });
  };
  for (const kept of committedBatches(
    r.records,
    p.remote,
    r.abortedTransactions,
    `${p.name} on the cluster`,
  )) {
    if (kept.bytes) {
      chunks.push(kept.bytes);
      end += kept.count;
      records += kept.count;
    }
    remote = kept.next;
    advance();
  }
  if (rows.length === 0) return;
  ctx.local.positions.record(
    rows.map((row) => ({ link: ctx.link, topic: p.topic, partition: p.partition, ...row })),
  );
  if (chunks.length > 0) {
    const data = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    const result = ctx.local.store.appendBatches(p.topic, p.partition, data, { origin: 'replica' });
    if (result.baseOffset !== start) {
      throw new LogStoreError(
        'LOGSTORE_INVALID_ARGUMENT',
        `${p.name}: the mirror's append landed at offset ${result.baseOffset}, not at ${start}: something else ` +
          'appends to this topic. A mirrored topic must be written by the mirror alone.',
        { details: { kind: 'diverged' } },
      );
    }
    ctx.meter.add(records, data.length);
  }
  p.remote = remote;
}

/** Flushes the store, then drops the position rows below what is now durable. */
export async function trimToDurable(ctx: MirrorContext, partitions: readonly InPartition[]): Promise<void> {
  const ends = partitions.map((p) => ctx.local.log(p.topic, p.partition).endOffset);
  await ctx.local.store.flush();
  for (const [i, p] of partitions.entries())
    ctx.local.positions.trim(ctx.link, p.topic, p.partition, ends[i]!, Number.MAX_SAFE_INTEGER);
}
