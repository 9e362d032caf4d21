/**
 * The mirror out: the store's topics copied to a Kafka cluster, partition for partition, as the
 * stored batches (see batches.ts for when they are re-encoded), by an idempotent producer.
 *
 * Exactly once, without trusting the cluster to deduplicate: each partition has at most one batch
 * in flight, and the producer id, epoch and sequence travel in every batch and stay in the
 * cluster's log. The position saved in the catalog (positions.ts `to` rows: the next local offset,
 * the cluster's end after the last acknowledgement, the producer and its next sequence) is
 * committed every COMMIT_INTERVAL_MS. Whenever the outcome of a send is unknown (the connection
 * broke, the leader moved, the process was killed before its last commit) the mirror reads the
 * cluster's partition from the saved end, finds its own batches by producer id and sequence, and
 * moves its position past what arrived, before sending anything else. So a record is never sent
 * twice, on brokers that keep idempotent producer state (Kafka) and on those that do not
 * (librdkafka's mock cluster) alike, and a killed mirror resumes where the cluster's log says.
 *
 * Retriable failures (broker unreachable, NOT_LEADER_OR_FOLLOWER, ...) are retried with backoff
 * and metadata refreshes until `retryTimeoutMs`; then the mirror fails with LOGSTORE_IO, its
 * position saved. Other errors fail it at once with LOGSTORE_REMOTE.
 */
import { LogStoreError } from '../errors.js';
import type { KafkaClient } from '../kafka/client.js';
import type { Struct } from '../kafka/schema/types.js';
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
import {
  FIRST_BACKOFF_MS,
  isTransient,
  MAX_BACKOFF_MS,
  MirrorStopped,
  type KafkaCluster,
} from './cluster.js';
import {
  ProgressMeter,
  type MirrorEvent,
  type MirrorProgressEvent,
  type PartitionProgress,
} from './events.js';
import { FOLLOW_POLL_MS, onAnyAppend, Waker, type LocalSide } from './local.js';
import type { ResolvedMirrorOptions } from './options.js';
import { check, isRetriable, KafkaCode, kafkaErrorName, remoteError } from './remote-errors.js';
import { fetchOnce, listOffset, linkName, connectCluster } from './remote-log.js';

/** The largest batch sent (Kafka's default max.message.bytes is 1048588); halved on MESSAGE_TOO_LARGE. */
const MAX_BATCH_BYTES = 1_000_000;
/** Stored batches smaller than this are merged with their small neighbours into one batch. */
const MERGE_BELOW_BYTES = 16 * 1024;
/** Bytes read from the store at a time per partition. */
const READ_AHEAD_BYTES = 4 * 1024 * 1024;
/** How often acknowledged positions are saved in the catalog. */
const COMMIT_INTERVAL_MS = 250;
/** Produce requests in flight per broker (each carries one batch of each of several partitions). */
const MAX_REQUESTS_PER_BROKER = 5;

interface Sending {
  bytes: Buffer;
  count: number;
  /** The local offset after the batch's last record. */
  to: number;
  firstSequence: number;
}

/** Where the cluster's log was known to match the store: what `reconcile` starts from. */
interface Anchor {
  localOffset: number;
  remoteOffset: number;
  producerId: number;
  producerEpoch: number;
  nextSequence: number;
}

class OutPartition {
  readonly name: string;
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
  failingSince = 0;
  recovering = false;
  /** The cluster lost track of the producer: a new one after reconciling. */
  newProducer = false;
  backoffMs = FIRST_BACKOFF_MS;
  maxBatchBytes = MAX_BATCH_BYTES;
  /** The cluster refused the batches' codec: send them uncompressed. */
  plainOnly = false;
  /** Acknowledged since the last commit. */
  dirty = false;
  /** Without --follow: the local end offset when the run started (copied up to there). */
  end = Number.POSITIVE_INFINITY;
  private ahead: BatchView[] = [];
  private aheadIndex = 0;

  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {
    this.name = `${topic}-${partition}`;
  }

  anchor(): Anchor {
    return {
      localOffset: this.next,
      remoteOffset: this.remote,
      producerId: this.producerId,
      producerEpoch: this.producerEpoch,
      nextSequence: this.sequence,
    };
  }

  /** Stored batches from the one holding `next` on (read ahead), or [] at the end of the log. */
  batches(local: LocalSide): { batches: BatchView[]; index: number } {
    while (this.aheadIndex < this.ahead.length && this.ahead[this.aheadIndex]!.lastOffset < this.next)
      this.aheadIndex++;
    if (this.aheadIndex >= this.ahead.length) {
      const buf = local.store.readBatches(this.topic, this.partition, this.next, READ_AHEAD_BYTES);
      this.ahead = buf.length === 0 ? [] : batchesOf(buf, this.name, false);
      this.aheadIndex = 0;
      while (this.aheadIndex < this.ahead.length && this.ahead[this.aheadIndex]!.lastOffset < this.next)
        this.aheadIndex++;
    }
    return { batches: this.ahead, index: this.aheadIndex };
  }
}

export async function mirrorOut(
  local: LocalSide,
  options: ResolvedMirrorOptions,
  emit: (e: MirrorEvent) => void,
): Promise<MirrorProgressEvent> {
  const cluster = await connectCluster(options, emit);
  return new OutMirror(local, options, emit, cluster).run();
}

class OutMirror {
  private readonly link: string;
  private readonly meter: ProgressMeter;
  private partitions: OutPartition[] = [];
  private readonly waker = new Waker();
  private failure: unknown = null;
  private finished = false;
  private readonly inFlight = new Map<number, number>();

  constructor(
    private readonly local: LocalSide,
    private readonly options: ResolvedMirrorOptions,
    private readonly emit: (e: MirrorEvent) => void,
    private readonly cluster: KafkaCluster,
  ) {
    this.link = linkName('to', cluster);
    this.meter = new ProgressMeter('to', cluster.clusterId ?? cluster.bootstrap);
  }

  async run(): Promise<MirrorProgressEvent> {
    const stop = () => this.waker.kick();
    this.options.signal?.addEventListener('abort', stop);
    let loaded = false;
    try {
      const topics = this.localTopics();
      if (this.options.reset)
        this.local.positions.forget(
          this.link,
          topics.map((t) => t.name),
        );
      const created = await this.ensureTopics(topics);
      const producer = await this.initProducer();
      this.partitions = topics.flatMap((t) =>
        Array.from({ length: t.partitions }, (_, p) => new OutPartition(t.name, p)),
      );
      await this.loadPositions(producer);
      loaded = true;
      this.emit({
        type: 'start',
        direction: 'to',
        cluster: this.meter.cluster,
        topics: topics.map((t) => ({
          topic: t.name,
          partitions: t.partitions,
          created: created.has(t.name),
        })),
        partitions: this.progress(),
      });
      await this.loop();
      if (this.failure) throw this.failure;
      return this.meter.snapshot('done', this.progress());
    } catch (err) {
      if (err instanceof MirrorStopped && this.options.signal?.aborted)
        return this.meter.snapshot('done', this.progress());
      throw err;
    } finally {
      this.finished = true;
      this.options.signal?.removeEventListener('abort', stop);
      try {
        if (loaded) this.commit();
      } finally {
        this.cluster.close();
      }
    }
  }

  private localTopics(): { name: string; partitions: number }[] {
    const all = this.local.store.topics().map((t) => ({ name: t.name, partitions: t.partitionCount }));
    if (this.options.topics === null) {
      if (all.length === 0)
        throw new LogStoreError(
          'LOGSTORE_TOPIC_NOT_FOUND',
          `The store at ${this.local.store.dir} has no topics to mirror.`,
        );
      return all;
    }
    return this.options.topics.map((name) => {
      const t = all.find((x) => x.name === name);
      if (!t)
        throw new LogStoreError(
          'LOGSTORE_TOPIC_NOT_FOUND',
          `Topic '${name}' does not exist in the store at ${this.local.store.dir}.`,
        );
      return t;
    });
  }

  /**
   * Creates the topics the cluster lacks, with the store's partition counts (CreateTopics; a
   * cluster without it, as librdkafka's mock, creates them on Metadata with its default count),
   * and refuses a topic whose partition count differs: keys would land on other partitions.
   */
  private async ensureTopics(topics: { name: string; partitions: number }[]): Promise<Set<string>> {
    // Every topic: naming them would make a broker that auto-creates (Metadata before v4) create them.
    await this.cluster.retry('Metadata', () => this.cluster.refresh(null));
    const missing = topics.filter((t) => {
      const meta = this.cluster.topics.get(t.name);
      return !meta || meta.errorCode === KafkaCode.UNKNOWN_TOPIC_OR_PARTITION;
    });
    let autoCreate = false;
    if (missing.length > 0) {
      autoCreate = !(await this.createTopics(missing));
    }
    for (const t of topics) {
      const meta = await this.cluster.topic(t.name, autoCreate);
      if (meta.partitions.length !== t.partitions) {
        throw new LogStoreError(
          'LOGSTORE_INVALID_ARGUMENT',
          `Topic '${t.name}' has ${t.partitions} partition(s) in the store and ${meta.partitions.length} on the cluster ` +
            `at ${this.cluster.bootstrap}: keys would land on other partitions. Create it there with ${t.partitions} ` +
            'partition(s) (or delete it there so that the mirror creates it), or leave it out with --topics.',
          { details: { kind: 'partition-count' } },
        );
      }
    }
    return new Set(missing.map((t) => t.name));
  }

  /** CreateTopics for `topics`; false when the cluster does not serve it. */
  private async createTopics(topics: { name: string; partitions: number }[]): Promise<boolean> {
    return this.cluster.retry('CreateTopics', async () => {
      const client = await this.cluster.connection('any');
      const version = client.pick('CreateTopics', 2, 5);
      if (version === undefined) return false;
      const r = await client.request('CreateTopics', version, {
        topics: topics.map((t) => ({
          name: t.name,
          numPartitions: t.partitions,
          // -1: the cluster's default replication factor (version 4+); before, as many as it has, up to 3.
          replicationFactor: version >= 4 ? -1 : Math.min(3, Math.max(1, this.cluster.brokerCount)),
          assignments: [],
          configs: [],
        })),
        timeoutMs: Math.min(this.options.requestTimeoutMs, 30_000),
        validateOnly: false,
      });
      for (const t of r.topics as Struct[]) {
        const code = t.errorCode as number;
        if (code !== KafkaCode.TOPIC_ALREADY_EXISTS)
          check(code, `Creating topic ${String(t.name)}`, t.errorMessage as string | null);
      }
      return true;
    });
  }

  private async initProducer(): Promise<{ producerId: number; producerEpoch: number }> {
    return this.cluster.retry('InitProducerId', async () => {
      const client = await this.cluster.connection('any');
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
   * are saved with this run's producer before anything is sent.
   */
  private async loadPositions(producer: { producerId: number; producerEpoch: number }): Promise<void> {
    for (const p of this.partitions) {
      const row = this.local.positions.latest(this.link, p.topic, p.partition);
      const log = this.local.log(p.topic, p.partition);
      if (row) {
        await this.cluster.retry(`Reconciling ${p.name}`, () => this.reconcile(p, row), [p.topic]);
      } else {
        p.next = log.logStartOffset;
        p.remote = await this.cluster.retry(
          `ListOffsets ${p.name}`,
          () => listOffset(this.cluster, p.topic, p.partition, -1),
          [p.topic],
        );
      }
      if (p.next < log.logStartOffset) {
        throw new LogStoreError(
          'LOGSTORE_OFFSET_OUT_OF_RANGE',
          `${p.name}: records ${p.next} to ${log.logStartOffset - 1} were deleted by retention before the mirror ` +
            `copied them to ${this.meter.cluster}. Run with --reset to copy what is left from the start.`,
        );
      }
      p.producerId = producer.producerId;
      p.producerEpoch = producer.producerEpoch;
      p.sequence = 0;
      p.dirty = true;
      if (!this.options.follow) p.end = log.endOffset;
    }
    this.commit();
  }

  /**
   * Reads the cluster's partition from `from.remoteOffset` to its end, finds the batches of
   * `from`'s producer with sequences from `from.nextSequence` on (sent, but not known to be
   * acknowledged), and moves the partition's position past their records.
   */
  private async reconcile(p: OutPartition, from: Anchor): Promise<void> {
    let offset = from.remoteOffset;
    let expected = from.nextSequence;
    let remoteAfter = from.remoteOffset;
    for (;;) {
      const r = await fetchOnce(this.cluster, p.topic, p.partition, offset, 0);
      if (r.errorCode === KafkaCode.OFFSET_OUT_OF_RANGE) {
        if (r.logStartOffset > offset) {
          offset = r.logStartOffset; // retention on the cluster: what we look for is newer
          continue;
        }
        throw new LogStoreError(
          'LOGSTORE_REMOTE',
          `${p.name} on ${this.meter.cluster} ends before offset ${offset}, where this mirror's copy was known to ` +
            'reach: the topic was deleted or truncated on the cluster. Run with --reset to copy the topic again.',
          { details: { kind: 'remote-truncated' } },
        );
      }
      check(r.errorCode, `Reading ${p.name} on the cluster`);
      if (offset >= r.highWatermark) break;
      const batches = batchesOf(r.records, `${p.name} on the cluster`, true);
      if (batches.length === 0) break;
      for (const b of batches) {
        if (
          b.lastOffset < offset ||
          b.producerId !== from.producerId ||
          b.producerEpoch !== from.producerEpoch
        )
          continue;
        const last = b.baseSequence + (b.lastOffset - b.baseOffset);
        if (last < expected) continue;
        if (b.baseSequence !== expected) {
          throw new LogStoreError(
            'LOGSTORE_REMOTE',
            `${p.name} on ${this.meter.cluster} holds this mirror's records from sequence ${b.baseSequence}, but ` +
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
    p.next = arrived > 0 ? this.skipRecords(p, from.localOffset, arrived) : from.localOffset;
    p.remote = remoteAfter;
    p.sequence = expected;
    p.producerId = from.producerId;
    p.producerEpoch = from.producerEpoch;
    if (arrived > 0) {
      p.dirty = true;
      this.meter.add(arrived, 0);
    }
  }

  /** The local offset after the `count` records from `from` on (they reached the cluster). */
  private skipRecords(p: OutPartition, from: number, count: number): number {
    let offset = from;
    while (count > 0) {
      const buf = this.local.store.readBatches(p.topic, p.partition, offset, READ_AHEAD_BYTES);
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

  private async loop(): Promise<void> {
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
      const idle = this.partitions.filter((p) => !p.sending && !p.failing && p.next >= this.endOf(p));
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

  /** The local end offset (a read-only store looks at the writer's files again first). */
  private endOf(p: OutPartition): number {
    const log = this.local.log(p.topic, p.partition);
    if (this.local.readOnly) log.refresh();
    return log.endOffset;
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
        batch = this.nextBatch(p);
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

  /** The partition's next batch, starting at `next`, or null when there is nothing to send. */
  private nextBatch(p: OutPartition): Sending | null {
    if (p.next >= this.endOf(p)) return null;
    const { batches, index } = p.batches(this.local);
    const first = batches[index];
    if (!first || first.baseOffset >= p.end) return null;
    const producer: ProducerFields = {
      producerId: p.producerId,
      producerEpoch: p.producerEpoch,
      baseSequence: p.sequence,
    };
    const codec = p.plainOnly ? 0 : codecOf(first);
    const next = batches[index + 1];
    const mergeable =
      next !== undefined &&
      next.baseOffset < p.end &&
      next.size < MERGE_BELOW_BYTES &&
      codecOf(next) === codecOf(first);
    const asStored =
      first.baseOffset >= p.next &&
      isDense(first) &&
      codec === codecOf(first) &&
      first.size <= p.maxBatchBytes &&
      (first.size >= MERGE_BELOW_BYTES || !mergeable);
    if (asStored) {
      return {
        bytes: stamped(first, producer),
        count: first.count,
        to: first.lastOffset + 1,
        firstSequence: p.sequence,
      };
    }
    // Re-encoded: the tail of a batch, a batch with gaps, one too large, or small ones merged.
    const records = [];
    let to = p.next;
    let used = 0;
    for (let i = index; i < batches.length; i++) {
      const b = batches[i]!;
      if (b.baseOffset >= p.end) break;
      if (
        i > index &&
        (codecOf(b) !== codecOf(first) || b.size >= MERGE_BELOW_BYTES || used + b.size > p.maxBatchBytes / 2)
      )
        break;
      const recs = recordsOf(b, p.next, p.name);
      if (b.size > p.maxBatchBytes) {
        const take = Math.max(1, Math.floor((recs.length * p.maxBatchBytes) / b.size));
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
      firstSequence: p.sequence,
    };
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
      p.failingSince = 0;
      p.backoffMs = FIRST_BACKOFF_MS;
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
    const now = Date.now();
    p.failing = true;
    if (p.failingSince === 0) p.failingSince = now;
    else if (now - p.failingSince > this.options.retryTimeoutMs) {
      return this.fatal(this.cluster.unreachable(`Sending to ${p.name}`, reason, now - p.failingSince));
    }
    this.emit({ type: 'retry', reason: `${p.name}: ${reason}`, delayMs: p.backoffMs });
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
      await new Promise((resolve) => setTimeout(resolve, p.backoffMs));
      p.backoffMs = Math.min(p.backoffMs * 2, MAX_BACKOFF_MS);
      await this.cluster.retry(
        `Reconciling ${p.name}`,
        async () => {
          await this.cluster.refresh([p.topic]);
          await this.reconcile(p, p.anchor());
        },
        [p.topic],
      );
      if (p.newProducer) {
        const producer = await this.initProducer();
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

  private fatal(err: unknown): void {
    this.failure ??= err;
    this.waker.kick();
  }

  /** Saves the positions acknowledged since the last commit. */
  private commit(): void {
    const dirty = this.partitions.filter((p) => p.dirty);
    if (dirty.length === 0) return;
    this.local.positions.set(
      dirty.map((p) => ({
        link: this.link,
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

  private progress(): PartitionProgress[] {
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
