/**
 * The mirror out: the store's topics copied to a Kafka cluster, partition for partition, as the
 * stored batches (see batches.ts for when they are re-encoded), by an idempotent producer.
 *
 * Exactly once, without trusting the cluster to deduplicate: each partition has at most one batch
 * in flight, and the producer id, epoch and sequence travel in every batch and stay in the
 * cluster's log. The position saved in the catalog (the next local offset, the cluster's end after
 * the last acknowledgement, the producer and its next sequence) is committed every
 * COMMIT_INTERVAL_MS. Whenever the outcome of a send is unknown (the connection broke, the leader
 * moved, the process was killed before its last commit) the mirror reconciles its position with
 * the cluster's log (out-positions.ts) before sending anything else. So a record is never sent
 * twice, on brokers that keep idempotent producer state (Kafka) and on those that do not
 * (librdkafka's mock cluster) alike, and a killed mirror resumes where the cluster's log says.
 *
 * This file is the send loop: it forms each partition's next batch (out-partition.ts), groups the
 * partitions by leader into Produce requests, and handles the answers.
 *
 * Retriable failures (broker unreachable, NOT_LEADER_OR_FOLLOWER, ...) are retried with backoff
 * and metadata refreshes until `retryTimeoutMs`; then the mirror fails with LOGSTORE_IO, its
 * position saved. Other errors fail it at once with LOGSTORE_REMOTE.
 */
import type { KafkaClient } from '../kafka/client.js';
import type { Struct } from '../kafka/schema/types.js';
import { isTransient, MirrorStopped } from './cluster.js';
import type { PartitionProgress } from './events.js';
import { FOLLOW_POLL_MS, onAnyAppend } from './local.js';
import { OutPartition, type Sending } from './out-partition.js';
import { initProducer, loadPositions, reconcile, savePositions } from './out-positions.js';
import { isRetriable, KafkaCode, kafkaErrorName, remoteError } from './remote-errors.js';
import { MirrorRun, type TopicShape } from './run.js';
import { ensureClusterTopics, storeTopics } from './topics.js';

/** How often acknowledged positions are saved in the catalog. */
const COMMIT_INTERVAL_MS = 250;
/** Produce requests in flight per broker (each carries one batch of each of several partitions). */
const MAX_REQUESTS_PER_BROKER = 5;

export class OutMirror extends MirrorRun<OutPartition> {
  private readonly inFlight = new Map<number, number>();

  protected topicsToCopy(): Promise<TopicShape[]> {
    return Promise.resolve(storeTopics(this.local.store, this.options.topics));
  }

  protected ensureTopics(topics: TopicShape[]): Promise<Set<string>> {
    return ensureClusterTopics(this.cluster, topics, this.options.requestTimeoutMs);
  }

  protected newPartition(topic: string, partition: number): OutPartition {
    return new OutPartition(topic, partition);
  }

  protected async loadPositions(): Promise<void> {
    await loadPositions(this, this.partitions, await initProducer(this.cluster));
  }

  protected override saveOnExit(): void {
    this.commit();
  }

  /** Saves the positions acknowledged since the last commit. */
  private commit(): void {
    savePositions(this, this.partitions);
  }

  protected async loop(): Promise<void> {
    let lastCommit = Date.now();
    let lastProgress = Date.now();
    for (;;) {
      if (this.failure) return;
      const stopping = this.options.signal?.aborted === true;
      if (!stopping) {
        this.startRecoveries();
        this.sendReady();
      }
      const busy = this.partitions.some((p) => p.sending !== null || p.recovering);
      if (stopping && !busy) return;
      if (!this.options.follow && !busy && this.partitions.every((p) => !p.failing && p.next >= p.end))
        return;
      const now = Date.now();
      if (now - lastCommit >= COMMIT_INTERVAL_MS) {
        this.commit();
        lastCommit = now;
      }
      if (now - lastProgress >= this.options.progressIntervalMs) {
        this.emit(this.meter.snapshot('progress', this.progress()));
        lastProgress = now;
      }
      const idle = this.partitions.filter(
        (p) => !p.sending && !p.failing && p.next >= p.localEnd(this.local),
      );
      const cancel = this.local.readOnly
        ? () => undefined
        : onAnyAppend(
            idle.map((p) => this.local.log(p.topic, p.partition)),
            this.waker,
          );
      const untilTimer = Math.min(
        COMMIT_INTERVAL_MS - (Date.now() - lastCommit),
        this.options.progressIntervalMs - (Date.now() - lastProgress),
      );
      await this.waker.wait(
        Math.max(1, this.local.readOnly ? Math.min(FOLLOW_POLL_MS, untilTimer) : untilTimer),
      );
      cancel();
    }
  }

  /** Forms the next batch of every partition that can send, and sends them, one request per leader. */
  private sendReady(): void {
    const byLeader = new Map<number, OutPartition[]>();
    for (const p of this.partitions) {
      if (p.sending || p.failing || p.recovering || p.next >= p.end) continue;
      const leader = this.cluster.leader(p.topic, p.partition);
      if (leader < 0) {
        this.fail(p, 'no leader known');
        continue;
      }
      if ((this.inFlight.get(leader) ?? 0) >= MAX_REQUESTS_PER_BROKER) continue;
      let batch: Sending | null;
      try {
        batch = p.nextBatch(this.local);
      } catch (err) {
        this.fatal(err);
        return;
      }
      if (!batch) continue;
      p.sending = batch;
      const group = byLeader.get(leader) ?? [];
      group.push(p);
      byLeader.set(leader, group);
    }
    for (const [leader, group] of byLeader) void this.produce(leader, group);
  }

  private async produce(leader: number, group: OutPartition[]): Promise<void> {
    this.inFlight.set(leader, (this.inFlight.get(leader) ?? 0) + 1);
    try {
      let client: KafkaClient;
      try {
        client = await this.cluster.connection(leader);
      } catch (err) {
        return this.failAll(group, err);
      }
      const topics = new Map<string, OutPartition[]>();
      for (const p of group) topics.set(p.topic, [...(topics.get(p.topic) ?? []), p]);
      let r: Struct;
      try {
        r = await client.request('Produce', client.version('Produce', 3, 9), {
          transactionalId: null,
          acks: -1,
          timeoutMs: Math.min(this.options.requestTimeoutMs, 30_000),
          topicData: [...topics].map(([name, ps]) => ({
            name,
            partitionData: ps.map((p) => ({ index: p.partition, records: p.sending!.bytes })),
          })),
        });
      } catch (err) {
        return this.failAll(group, err);
      }
      if (this.finished) return;
      const answered = new Set<OutPartition>();
      for (const t of r.responses as Struct[]) {
        for (const pr of t.partitionResponses as Struct[]) {
          const p = group.find((x) => x.topic === t.name && x.partition === pr.index);
          if (!p || answered.has(p)) continue;
          answered.add(p);
          this.acknowledged(p, pr);
        }
      }
      for (const p of group) if (!answered.has(p)) this.fail(p, 'no answer for the partition');
    } finally {
      this.inFlight.set(leader, (this.inFlight.get(leader) ?? 1) - 1);
      this.waker.kick();
    }
  }

  private acknowledged(p: OutPartition, pr: Struct): void {
    const sent = p.sending!;
    p.sending = null;
    const code = pr.errorCode as number;
    if (code === KafkaCode.NONE) {
      p.next = sent.to;
      const base = pr.baseOffset as number;
      if (base >= 0) p.remote = base + sent.count;
      p.sequence = sent.firstSequence + sent.count;
      p.dirty = true;
      p.succeeded();
      this.meter.add(sent.count, sent.bytes.length);
      return;
    }
    if (code === KafkaCode.MESSAGE_TOO_LARGE || code === KafkaCode.RECORD_LIST_TOO_LARGE) {
      if (sent.count > 1) {
        p.maxBatchBytes = Math.max(1024, Math.floor(sent.bytes.length / 2));
        return;
      }
      return this.fatal(
        remoteError(
          code,
          `${p.name}: the record at offset ${p.next} (a ${sent.bytes.length}-byte batch) is larger than the topic's max.message.bytes on the cluster`,
        ),
      );
    }
    if (code === KafkaCode.UNSUPPORTED_COMPRESSION_TYPE) {
      p.plainOnly = true;
      this.emit({
        type: 'warning',
        message: `${p.name}: the cluster refuses the batches' codec; sending them uncompressed.`,
      });
      return;
    }
    if (
      code === KafkaCode.OUT_OF_ORDER_SEQUENCE_NUMBER ||
      code === KafkaCode.UNKNOWN_PRODUCER_ID ||
      code === KafkaCode.INVALID_PRODUCER_EPOCH
    ) {
      p.newProducer = true;
      return this.fail(p, kafkaErrorName(code));
    }
    if (code === KafkaCode.DUPLICATE_SEQUENCE_NUMBER || isRetriable(code))
      return this.fail(p, kafkaErrorName(code));
    this.fatal(remoteError(code, `Producing to ${p.name}`, pr.errorMessage as string | null));
  }

  private failAll(group: OutPartition[], err: unknown): void {
    if (this.finished) return;
    const retriable = isTransient(err) || err instanceof MirrorStopped;
    for (const p of group) {
      p.sending = null;
      if (retriable) this.fail(p, (err as Error).message);
    }
    if (!retriable) this.fatal(err);
  }

  /** The partition's last send failed or its outcome is unknown: reconcile before the next. */
  private fail(p: OutPartition, reason: string): void {
    p.failing = true;
    this.retryLater(p, 'Sending to', reason);
  }

  private startRecoveries(): void {
    for (const p of this.partitions) {
      if (!p.failing || p.recovering || p.sending) continue;
      p.recovering = true;
      void this.recover(p).finally(() => {
        p.recovering = false;
        this.waker.kick();
      });
    }
  }

  /** After a backoff: refresh the leader, reconcile with the cluster's log, then send again. */
  private async recover(p: OutPartition): Promise<void> {
    try {
      await new Promise((resolve) => setTimeout(resolve, p.takeBackoff()));
      await this.cluster.retry(
        `Reconciling ${p.name}`,
        async () => {
          await this.cluster.refresh([p.topic]);
          await reconcile(this, p, p.anchor());
        },
        [p.topic],
      );
      if (p.newProducer) {
        const producer = await initProducer(this.cluster);
        p.producerId = producer.producerId;
        p.producerEpoch = producer.producerEpoch;
        p.sequence = 0;
        p.newProducer = false;
        p.dirty = true;
        this.commit(); // the new producer's batches must be findable after a crash
      }
      p.failing = false;
    } catch (err) {
      if (!(err instanceof MirrorStopped)) this.fatal(err);
    }
  }

  protected progress(): PartitionProgress[] {
    return this.partitions.map((p) => {
      const end = this.local.log(p.topic, p.partition).endOffset;
      return {
        topic: p.topic,
        partition: p.partition,
        position: p.next,
        end,
        lag: Math.max(0, end - p.next),
      };
    });
  }
}
