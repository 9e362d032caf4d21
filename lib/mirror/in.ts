/**
 * The mirror in: a cluster's topics copied into the store, partition for partition, the fetched
 * batches appended as they are (`appendBatches` with `origin: 'replica'`: producer fields kept,
 * unchecked), reading committed records only (read_committed: aborted transactions and
 * transaction markers are left out; batches.ts says what else is rewritten).
 *
 * Exactly once across crashes: the appends go to the log, the positions to SQLite, so neither can
 * wait for the other. Before each append the mirror records, in one catalog transaction, one row
 * per batch: "when this partition's end offset is L, the next cluster offset is R" (write-ahead).
 * Whatever a crash leaves (nothing of the append, all of it, or a prefix: recovery cuts a torn
 * tail at a batch boundary), the partition's end offset at the next start equals one of those
 * rows' L, and that row's R is where fetching resumes. Rows older than the last flush are trimmed;
 * a partition end that matches no row means something else wrote to the topic, and the mirror
 * refuses to guess. With a consumer group, the same positions are committed to it afterwards
 * (for the cluster's own lag tools; the store's rows stay the ones that count).
 */
import { LogStoreError } from '../errors.js';
import type { Struct } from '../kafka/schema/types.js';
import { committedBatches } from './committed.js';
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
import { Waker, type LocalSide } from './local.js';
import type { ResolvedMirrorOptions } from './options.js';
import { check, isRetriable, KafkaCode, kafkaErrorName, remoteError } from './remote-errors.js';
import { fetchFrom, linkName, listOffset, type FetchedPartition, connectCluster } from './remote-log.js';

/** How long a follow mirror's fetches wait at the broker for new records. */
const FOLLOW_WAIT_MS = 500;
/** How often the store is flushed (then older position rows trimmed) and the group committed. */
const FLUSH_INTERVAL_MS = 1000;

class InPartition {
  readonly name: string;
  /** The next cluster offset to fetch. */
  remote = 0;
  /** The cluster's high watermark, as last seen. */
  highWatermark = 0;
  /** Without --follow: the cluster's last stable offset when the run started. */
  end = Number.POSITIVE_INFINITY;
  fetching = false;
  failingSince = 0;
  retryAt = 0;
  backoffMs = FIRST_BACKOFF_MS;
  /** The position last committed to the consumer group. */
  groupOffset = -1;

  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {
    this.name = `${topic}-${partition}`;
  }
}

interface Row {
  localOffset: number;
  remoteOffset: number;
}

export async function mirrorIn(
  local: LocalSide,
  options: ResolvedMirrorOptions,
  emit: (e: MirrorEvent) => void,
): Promise<MirrorProgressEvent> {
  const cluster = await connectCluster(options, emit);
  return new InMirror(local, options, emit, cluster).run();
}

class InMirror {
  private readonly link: string;
  private readonly meter: ProgressMeter;
  private partitions: InPartition[] = [];
  private readonly waker = new Waker();
  private failure: unknown = null;
  private finished = false;
  private refreshing = false;
  private flushing = false;
  private readonly warned = new Set<string>();

  constructor(
    private readonly local: LocalSide,
    private readonly options: ResolvedMirrorOptions,
    private readonly emit: (e: MirrorEvent) => void,
    private readonly cluster: KafkaCluster,
  ) {
    this.link = linkName('from', cluster);
    this.meter = new ProgressMeter('from', cluster.clusterId ?? cluster.bootstrap);
  }

  async run(): Promise<MirrorProgressEvent> {
    const stop = () => this.waker.kick();
    this.options.signal?.addEventListener('abort', stop);
    let started = false;
    try {
      const topics = await this.remoteTopics();
      if (this.options.reset)
        this.local.positions.forget(
          this.link,
          topics.map((t) => t.name),
        );
      const created = this.ensureLocalTopics(topics);
      this.partitions = topics.flatMap((t) =>
        Array.from({ length: t.partitions }, (_, p) => new InPartition(t.name, p)),
      );
      await this.loadPositions();
      started = true;
      this.emit({
        type: 'start',
        direction: 'from',
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
      await this.flushAndTrim();
      await this.commitGroup();
      return this.meter.snapshot('done', this.progress());
    } catch (err) {
      if (err instanceof MirrorStopped && this.options.signal?.aborted)
        return this.meter.snapshot('done', started ? this.progress() : []);
      throw err;
    } finally {
      this.finished = true;
      this.options.signal?.removeEventListener('abort', stop);
      this.cluster.close();
    }
  }

  /** The topics to copy, as the cluster has them (internal ones left out unless named). */
  private async remoteTopics(): Promise<{ name: string; partitions: number }[]> {
    const named = this.options.topics;
    await this.cluster.retry('Metadata', () => this.cluster.refresh(named));
    const names = named ?? [...this.cluster.topics.values()].filter((t) => !t.internal).map((t) => t.name);
    if (names.length === 0)
      throw new LogStoreError(
        'LOGSTORE_TOPIC_NOT_FOUND',
        `The cluster at ${this.cluster.bootstrap} has no topics to mirror.`,
      );
    const out = [];
    for (const name of names) {
      const meta = this.cluster.topics.get(name);
      if (!meta || meta.errorCode === KafkaCode.UNKNOWN_TOPIC_OR_PARTITION)
        throw new LogStoreError(
          'LOGSTORE_TOPIC_NOT_FOUND',
          `Topic '${name}' does not exist on the cluster at ${this.cluster.bootstrap}.`,
        );
      out.push({ name, partitions: (await this.cluster.topic(name, false)).partitions.length });
    }
    return out;
  }

  /** Creates missing local topics with the cluster's partition counts; refuses a different count. */
  private ensureLocalTopics(topics: { name: string; partitions: number }[]): Set<string> {
    const created = new Set<string>();
    const existing = new Map(this.local.store.topics().map((t) => [t.name, t.partitionCount]));
    for (const t of topics) {
      const count = existing.get(t.name);
      if (count === undefined) {
        this.local.store.createTopic(t.name, { partitions: t.partitions });
        created.add(t.name);
      } else if (count !== t.partitions) {
        throw new LogStoreError(
          'LOGSTORE_INVALID_ARGUMENT',
          `Topic '${t.name}' has ${t.partitions} partition(s) on the cluster at ${this.cluster.bootstrap} and ${count} ` +
            'in the store: keys would land on other partitions. Delete it from the store (the mirror creates it), ' +
            'or leave it out with --topics.',
          { details: { kind: 'partition-count' } },
        );
      }
    }
    return created;
  }

  /**
   * Each partition's position: the row matching its end offset (rows above it are appends a crash
   * cut); a partition never mirrored starts at the group's committed offset or the earliest.
   */
  private async loadPositions(): Promise<void> {
    const committed = this.options.group === null ? new Map<string, number>() : await this.groupOffsets();
    for (const p of this.partitions) {
      const log = this.local.log(p.topic, p.partition);
      const end = log.endOffset;
      const rows = this.local.positions.rows(this.link, p.topic, p.partition);
      const match = rows.find((r) => r.localOffset === end);
      if (match) {
        p.remote = match.remoteOffset;
        if (rows.length > 1) this.local.positions.trim(this.link, p.topic, p.partition, end, end);
      } else if (rows.length === 0 && end === log.logStartOffset) {
        const fromGroup = committed.get(p.name) ?? -1;
        p.remote =
          fromGroup >= 0
            ? fromGroup
            : await this.cluster.retry(
                `ListOffsets ${p.name}`,
                () => listOffset(this.cluster, p.topic, p.partition, -2),
                [p.topic],
              );
        this.local.positions.record([
          {
            link: this.link,
            topic: p.topic,
            partition: p.partition,
            localOffset: end,
            remoteOffset: p.remote,
          },
        ]);
      } else {
        throw new LogStoreError(
          'LOGSTORE_INVALID_ARGUMENT',
          rows.length === 0
            ? `${p.name} already holds records (offsets ${log.logStartOffset} to ${end - 1}) that this mirror did not ` +
                `copy from ${this.meter.cluster}. Mirror into a new or empty topic.`
            : `${p.name} ends at offset ${end}, which matches none of the positions this mirror recorded ` +
                `(${rows.map((r) => r.localOffset).join(', ')}): something else wrote to the topic. Delete the topic ` +
                "from the store and mirror again, or run with --reset to continue from the start of the cluster's log.",
          { details: { kind: 'diverged' } },
        );
      }
      p.groupOffset = committed.get(p.name) ?? -1;
      if (!this.options.follow) {
        p.end = await this.cluster.retry(
          `ListOffsets ${p.name}`,
          () => listOffset(this.cluster, p.topic, p.partition, -1, true),
          [p.topic],
        );
      }
    }
  }

  private async loop(): Promise<void> {
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
          .then(() => this.commitGroup())
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

  /** Appends what a fetch brought for `p`, after recording the rows that map it (write-ahead). */
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
    p.failingSince = 0;
    p.backoffMs = FIRST_BACKOFF_MS;
    p.highWatermark = r.highWatermark;
    const log = this.local.log(p.topic, p.partition);
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
    this.local.positions.record(
      rows.map((row) => ({ link: this.link, topic: p.topic, partition: p.partition, ...row })),
    );
    if (chunks.length > 0) {
      const data = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      const result = this.local.store.appendBatches(p.topic, p.partition, data, { origin: 'replica' });
      if (result.baseOffset !== start) {
        throw new LogStoreError(
          'LOGSTORE_INVALID_ARGUMENT',
          `${p.name}: the mirror's append landed at offset ${result.baseOffset}, not at ${start}: something else ` +
            'appends to this topic. A mirrored topic must be written by the mirror alone.',
          { details: { kind: 'diverged' } },
        );
      }
      this.meter.add(records, data.length);
    }
    p.remote = remote;
  }

  private failed(p: InPartition, reason: string): void {
    const now = Date.now();
    if (p.failingSince === 0) p.failingSince = now;
    else if (now - p.failingSince > this.options.retryTimeoutMs) {
      return this.fatal(this.cluster.unreachable(`Fetching ${p.name}`, reason, now - p.failingSince));
    }
    p.retryAt = now + p.backoffMs;
    this.emit({ type: 'retry', reason: `${p.name}: ${reason}`, delayMs: p.backoffMs });
    p.backoffMs = Math.min(p.backoffMs * 2, MAX_BACKOFF_MS);
    if (!this.refreshing) {
      this.refreshing = true;
      void this.cluster
        .refresh([...new Set(this.partitions.map((x) => x.topic))])
        .catch(() => undefined) // the next fetch fails again if the cluster is still away
        .finally(() => (this.refreshing = false));
    }
  }

  private fatal(err: unknown): void {
    this.failure ??= err;
    this.waker.kick();
  }

  /** Flushes the store, then drops the position rows below what is now durable. */
  private async flushAndTrim(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      const ends = this.partitions.map((p) => this.local.log(p.topic, p.partition).endOffset);
      await this.local.store.flush();
      for (const [i, p] of this.partitions.entries())
        this.local.positions.trim(this.link, p.topic, p.partition, ends[i]!, Number.MAX_SAFE_INTEGER);
    } finally {
      this.flushing = false;
    }
  }

  /** The group's committed offsets on the mirrored partitions (`topic-partition` -> offset). */
  private async groupOffsets(): Promise<Map<string, number>> {
    const group = this.options.group!;
    return this.cluster.retry(`OffsetFetch for group ${group}`, async () => {
      const client = await this.coordinator();
      const topics = [...new Set(this.partitions.map((p) => p.topic))];
      const r = await client.request('OffsetFetch', client.version('OffsetFetch', 1, 7), {
        groupId: group,
        topics: topics.map((name) => ({
          name,
          partitionIndexes: this.partitions.filter((p) => p.topic === name).map((p) => p.partition),
        })),
        requireStable: false,
      });
      check((r.errorCode as number | undefined) ?? 0, `OffsetFetch for group ${group}`);
      const out = new Map<string, number>();
      for (const t of r.topics as Struct[]) {
        for (const p of t.partitions as Struct[]) {
          check(p.errorCode as number, `OffsetFetch for group ${group}`);
          out.set(`${String(t.name)}-${String(p.partitionIndex)}`, p.committedOffset as number);
        }
      }
      return out;
    });
  }

  /** Commits the positions to the group (a warning, not a failure, when the cluster refuses). */
  private async commitGroup(): Promise<void> {
    const group = this.options.group;
    if (group === null) return;
    const changed = this.partitions.filter((p) => p.remote !== p.groupOffset);
    if (changed.length === 0) return;
    const offsets = changed.map((p) => [p, p.remote] as const);
    try {
      const client = await this.coordinator();
      const r = await client.request('OffsetCommit', client.version('OffsetCommit', 2, 8), {
        groupId: group,
        generationIdOrMemberEpoch: -1,
        memberId: '',
        groupInstanceId: null,
        retentionTimeMs: -1,
        topics: [...new Set(changed.map((p) => p.topic))].map((name) => ({
          name,
          partitions: offsets
            .filter(([p]) => p.topic === name)
            .map(([p, offset]) => ({
              partitionIndex: p.partition,
              committedOffset: offset,
              committedLeaderEpoch: -1,
              committedMetadata: '',
            })),
        })),
      });
      for (const t of r.topics as Struct[]) {
        for (const pr of t.partitions as Struct[]) {
          const code = pr.errorCode as number;
          const p = changed.find((x) => x.topic === t.name && x.partition === pr.partitionIndex);
          if (code === 0 && p) p.groupOffset = offsets.find(([x]) => x === p)![1];
          else if (code !== 0)
            this.warnOnce(
              `group ${group}: committing ${String(t.name)}-${String(pr.partitionIndex)} failed: ${kafkaErrorName(code)}`,
            );
        }
      }
    } catch (err) {
      if (err instanceof MirrorStopped) return;
      this.warnOnce(`group ${group}: committing offsets failed: ${(err as Error).message}`);
    }
  }

  private coordinatorNode: number | null = null;

  private async coordinator() {
    if (this.coordinatorNode === null) {
      const client = await this.cluster.connection('any');
      const r = await client.request('FindCoordinator', client.version('FindCoordinator', 1, 3), {
        key: this.options.group!,
        keyType: 0,
      });
      check(
        r.errorCode as number,
        `FindCoordinator for group ${this.options.group!}`,
        r.errorMessage as string | null,
      );
      this.coordinatorNode = r.nodeId as number;
    }
    try {
      return await this.cluster.connection(this.coordinatorNode);
    } catch (err) {
      this.coordinatorNode = null;
      throw err;
    }
  }

  private warnOnce(message: string): void {
    if (this.warned.has(message)) return;
    this.warned.add(message);
    this.emit({ type: 'warning', message });
  }

  private progress(): PartitionProgress[] {
    return this.partitions.map((p) => {
      const end = Math.max(p.highWatermark, p.remote);
      return { topic: p.topic, partition: p.partition, position: p.remote, end, lag: end - p.remote };
    });
  }
}
