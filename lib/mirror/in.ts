/**
 * The mirror in: a cluster's topics copied into the store, partition for partition, the fetched
 * batches appended as they are (`appendBatches` with `origin: 'replica'`: producer fields kept,
 * unchecked), reading committed records only (read_committed: aborted transactions and
 * transaction markers are left out; committed.ts says what else is rewritten).
 *
 * Exactly once across crashes: each append is preceded by catalog rows that map the store's end
 * offsets to the cluster's (write-ahead, in-positions.ts), so a restart resumes from the row that
 * matches what the log holds. With a consumer group (in-group.ts), the same positions are
 * committed to it afterwards.
 *
 * This file is the fetch loop: one Fetch per leader for the partitions it leads, the answers
 * appended in order; a retriable error puts the partition's next fetch off (backoff, metadata
 * refresh) until `retryTimeoutMs`, then the mirror fails with LOGSTORE_IO.
 */
import { LogStoreError } from '../errors.js';
import { isTransient, MirrorStopped } from './cluster.js';
import type { PartitionProgress } from './events.js';
import { SourceGroup } from './in-group.js';
import { InPartition } from './in-partition.js';
import { appendFetched, loadPositions, trimToDurable } from './in-positions.js';
import { isRetriable, KafkaCode, kafkaErrorName, remoteError } from './remote-errors.js';
import { fetchFrom, type FetchedPartition } from './remote-log.js';
import { MirrorRun, type TopicShape } from './run.js';
import { clusterTopics, ensureStoreTopics } from './topics.js';

/** How long a follow mirror's fetches wait at the broker for new records. */
const FOLLOW_WAIT_MS = 500;
/** How often the store is flushed (then older position rows trimmed) and the group committed. */
const FLUSH_INTERVAL_MS = 1000;

export class InMirror extends MirrorRun<InPartition> {
  private refreshing = false;
  private flushing = false;
  private readonly group = this.options.group === null ? null : new SourceGroup(this, this.options.group);

  protected topicsToCopy(): Promise<TopicShape[]> {
    return clusterTopics(this.cluster, this.options.topics);
  }

  protected ensureTopics(topics: TopicShape[]): Promise<Set<string>> {
    return Promise.resolve(ensureStoreTopics(this.local.store, topics, this.cluster));
  }

  protected newPartition(topic: string, partition: number): InPartition {
    return new InPartition(topic, partition);
  }

  protected async loadPositions(): Promise<void> {
    const committed =
      this.group === null ? new Map<string, number>() : await this.group.offsets(this.partitions);
    await loadPositions(this, this.partitions, committed);
  }

  protected override async settle(): Promise<void> {
    await this.flushAndTrim();
    await this.group?.commit(this.partitions);
  }

  protected async loop(): Promise<void> {
    let lastFlush = Date.now();
    let lastProgress = Date.now();
    const fetches = new Set<Promise<void>>();
    for (;;) {
      if (this.failure) break;
      const stopping = this.options.signal?.aborted === true;
      if (stopping) break;
      if (!this.options.follow && this.partitions.every((p) => p.remote >= p.end)) break;
      const now = Date.now();
      const byLeader = new Map<number, InPartition[]>();
      for (const p of this.partitions) {
        if (p.fetching || p.remote >= p.end || now < p.retryAt) continue;
        const leader = this.cluster.leader(p.topic, p.partition);
        if (leader < 0) {
          this.failed(p, 'no leader known');
          continue;
        }
        byLeader.set(leader, [...(byLeader.get(leader) ?? []), p]);
      }
      for (const [leader, group] of byLeader) {
        for (const p of group) p.fetching = true;
        const f = this.fetchRound(leader, group).finally(() => {
          for (const p of group) p.fetching = false;
          fetches.delete(f);
          this.waker.kick();
        });
        fetches.add(f);
      }
      if (now - lastFlush >= FLUSH_INTERVAL_MS && !this.flushing) {
        lastFlush = now;
        void this.flushAndTrim()
          .then(() => this.group?.commit(this.partitions))
          .catch((err: unknown) => this.fatal(err));
      }
      if (now - lastProgress >= this.options.progressIntervalMs) {
        this.emit(this.meter.snapshot('progress', this.progress()));
        lastProgress = now;
      }
      const nextRetry = Math.min(
        ...this.partitions.map((p) => (p.retryAt > now ? p.retryAt - now : Infinity)),
      );
      await this.waker.wait(
        Math.max(1, Math.min(nextRetry, FLUSH_INTERVAL_MS, this.options.progressIntervalMs)),
      );
    }
    // Settle the fetches in flight: their answers are appended (with their rows) or dropped whole.
    this.finished = true;
    await Promise.allSettled([...fetches]);
  }

  private async fetchRound(leader: number, group: InPartition[]): Promise<void> {
    let answers: FetchedPartition[];
    try {
      answers = await fetchFrom(
        this.cluster,
        leader,
        group.map((p) => ({ topic: p.topic, partition: p.partition, offset: p.remote })),
        this.options.follow ? FOLLOW_WAIT_MS : 100,
        true,
      );
    } catch (err) {
      if (!isTransient(err) && !(err instanceof MirrorStopped)) return this.fatal(err);
      for (const p of group) this.failed(p, (err as Error).message);
      return;
    }
    if (this.finished && this.failure) return;
    for (const [i, p] of group.entries()) {
      try {
        this.received(p, answers[i]!);
      } catch (err) {
        return this.fatal(err);
      }
    }
  }

  /** What a fetch brought for `p`: its records appended, or its error judged. */
  private received(p: InPartition, r: FetchedPartition): void {
    if (r.errorCode !== KafkaCode.NONE) {
      if (r.errorCode === KafkaCode.OFFSET_OUT_OF_RANGE) {
        throw new LogStoreError(
          'LOGSTORE_REMOTE',
          `${p.name}: the cluster no longer has offset ${p.remote} (its log starts at ${r.logStartOffset}): retention ` +
            'deleted records before the mirror copied them. Run with --reset to copy what is left from the start.',
          { details: { kind: 'OFFSET_OUT_OF_RANGE' } },
        );
      }
      if (isRetriable(r.errorCode)) return this.failed(p, kafkaErrorName(r.errorCode));
      throw remoteError(r.errorCode, `Fetching ${p.name}`);
    }
    p.succeeded();
    p.highWatermark = r.highWatermark;
    appendFetched(this, p, r);
  }

  /** Puts the partition's next fetch off (with a metadata refresh), or fails the run when it is time. */
  private failed(p: InPartition, reason: string): void {
    const now = Date.now();
    if (!this.retryLater(p, 'Fetching', reason)) return;
    p.retryAt = now + p.takeBackoff();
    if (!this.refreshing) {
      this.refreshing = true;
      void this.cluster
        .refresh([...new Set(this.partitions.map((x) => x.topic))])
        .catch(() => undefined) // the next fetch fails again if the cluster is still away
        .finally(() => (this.refreshing = false));
    }
  }

  /** Flushes the store, then drops the position rows below what is now durable (one at a time). */
  private async flushAndTrim(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      await trimToDurable(this, this.partitions);
    } finally {
      this.flushing = false;
    }
  }

  protected progress(): PartitionProgress[] {
    return this.partitions.map((p) => {
      const end = Math.max(p.highWatermark, p.remote);
      return { topic: p.topic, partition: p.partition, position: p.remote, end, lag: end - p.remote };
    });
  }
}
