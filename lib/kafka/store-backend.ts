/**
 * The Kafka listener's backend over a LogStore (backend.ts describes each call): produce goes to
 * `appendBatches`, fetch to `readBatches` (the stored bytes, never re-encoded), offsets and group
 * commits to the same catalog the library's consumers use, producer ids to the store's. Topic
 * configs are translated between Kafka's names and logstore's.
 */
import type { GroupOffsets } from '../catalog/group-offsets.js';
import { LogStoreError } from '../errors.js';
import type { TopicConfig, TopicSettings } from '../options.js';
import type { ProducerIds } from '../producer-ids.js';
import type { PartitionLog } from '../storage/partition-log.js';
import type { LogStore } from '../store.js';
import type { TopicInfo } from '../topics.js';
import {
  EARLIEST,
  LATEST,
  type AppendResult,
  type CommittedOffset,
  type KafkaBackend,
  type OffsetAtTime,
  type ProducerIdentity,
  type ReadResult,
  type TopicDescription,
} from './backend.js';

/** What the backend needs of the store beyond its public API. */
export interface StoreInternals {
  log(topic: string, partition: number): PartitionLog;
  /** One topic as `store.topics()` lists it, or undefined. */
  topic(name: string): TopicInfo | undefined;
  groups: GroupOffsets;
  producerIds: ProducerIds;
  checkWritable(): void;
}

/** Kafka config name -> logstore topic config key. */
const CONFIG_NAMES: Record<string, keyof TopicSettings> = {
  'retention.ms': 'retentionMs',
  'retention.bytes': 'retentionBytes',
  'segment.bytes': 'segmentBytes',
  'cleanup.policy': 'cleanupPolicy',
  'delete.retention.ms': 'deleteRetentionMs',
  'max.message.bytes': 'maxRecordBytes',
  'compression.type': 'compressionType',
};

/** Kafka configs a client may send that mean nothing for one broker with one replica. */
const IGNORED_CONFIGS = new Set([
  'min.insync.replicas',
  'unclean.leader.election.enable',
  'message.timestamp.type',
]);

function described(t: TopicInfo): TopicDescription {
  return { name: t.name, partitions: t.partitionCount, config: kafkaConfig(t.config) };
}

export function kafkaConfig(config: TopicSettings): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, key] of Object.entries(CONFIG_NAMES)) out[name] = String(config[key]);
  return out;
}

function topicConfig(entries: Record<string, string>): TopicConfig {
  const config: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(entries)) {
    if (IGNORED_CONFIGS.has(name)) {
      if (name === 'message.timestamp.type' && value !== 'CreateTime') {
        throw new LogStoreError(
          'LOGSTORE_INVALID_ARGUMENT',
          `message.timestamp.type ${value} is not supported (CreateTime only).`,
        );
      }
      continue;
    }
    const key = CONFIG_NAMES[name];
    if (!key) {
      throw new LogStoreError(
        'LOGSTORE_INVALID_ARGUMENT',
        `Topic config ${name} is not supported; supported: ${Object.keys(CONFIG_NAMES).join(', ')}.`,
      );
    }
    config[key] = key === 'cleanupPolicy' || key === 'compressionType' ? value : Number(value);
  }
  return config as TopicConfig;
}

export class StoreBackend implements KafkaBackend {
  constructor(
    private readonly store: LogStore,
    private readonly internals: StoreInternals,
  ) {}

  listTopics(): TopicDescription[] {
    return this.store.topics().map(described);
  }

  // Every OffsetCommit, Metadata and DescribeConfigs asks this: the one topic, never the list of all.
  describeTopic(name: string): TopicDescription | undefined {
    const topic = this.internals.topic(name);
    return topic && described(topic);
  }

  createTopic(name: string, partitions: number, config: Record<string, string>): void {
    this.store.createTopic(name, { ...topicConfig(config), partitions });
  }

  deleteTopic(name: string): void {
    this.store.deleteTopic(name);
  }

  appendBatches(topic: string, partition: number, batches: Buffer): AppendResult {
    const log = this.internals.log(topic, partition);
    const { baseOffset, lastOffset } = this.store.appendBatches(topic, partition, batches);
    return { baseOffset, lastOffset, logStartOffset: log.logStartOffset, logAppendTime: -1 };
  }

  readBatches(
    topic: string,
    partition: number,
    offset: number,
    maxBytes: number,
    copy: (view: Buffer) => Buffer = (view) => Buffer.from(view),
  ): ReadResult {
    const log = this.internals.log(topic, partition);
    return {
      bytes: copy(log.batchesView(offset, maxBytes)),
      highWatermark: log.endOffset,
      logStartOffset: log.logStartOffset,
    };
  }

  appendedBytes(topic: string, partition: number): number {
    return this.internals.log(topic, partition).appendedBytes;
  }

  offsets(topic: string, partition: number): { logStartOffset: number; highWatermark: number } {
    const log = this.internals.log(topic, partition);
    return { logStartOffset: log.logStartOffset, highWatermark: log.endOffset };
  }

  listOffset(topic: string, partition: number, query: number): OffsetAtTime {
    const log = this.internals.log(topic, partition);
    if (query === EARLIEST) return { offset: log.logStartOffset, timestamp: -1 };
    if (query === LATEST) return { offset: log.endOffset, timestamp: -1 };
    const reader = this.store.reader(topic, { partition, from: { timestamp: query } });
    try {
      const [record] = reader.read(1);
      return record ? { offset: record.offset, timestamp: record.timestamp } : { offset: -1, timestamp: -1 };
    } finally {
      reader.close();
    }
  }

  onAppend(topic: string, partition: number, wake: () => void): () => void {
    const log = this.internals.log(topic, partition);
    let cancel: () => void;
    const subscribe = () => {
      cancel = log.onNextAppend(() => {
        subscribe();
        wake();
      });
    };
    subscribe();
    return () => cancel();
  }

  /**
   * Kafka clients commit often (kafkajs after every fetched batch by default), and a synced SQLite
   * commit holds the event loop, every connection's requests with it, for a whole fsync. So unless
   * the store syncs every append (`durability: 'always'`), a client's commit is answered once it is
   * in the catalog's WAL, durable against a crash of this process, and reaches the disk with the
   * next synced catalog write: as Kafka, whose offsets topic is left to the OS's flush. The records
   * such a commit points past are not synced at once either under 'interval' or 'none'.
   */
  commitOffsets(group: string, offsets: CommittedOffset[]): void {
    this.internals.checkWritable();
    this.internals.groups.commit(
      offsets.map((o) => ({
        group,
        topic: o.topic,
        partition: o.partition,
        offset: o.offset,
        metadata: o.metadata,
      })),
      Date.now(),
      { sync: this.store.options.durability === 'always' },
    );
  }

  committedOffsets(group: string, topics?: string[]): CommittedOffset[] {
    return this.internals.groups
      .of(group)
      .filter((c) => topics === undefined || topics.includes(c.topic))
      .map((c) => ({ topic: c.topic, partition: c.partition, offset: c.offset, metadata: c.metadata }));
  }

  listGroups(): string[] {
    return [...new Set(this.internals.groups.all().map((c) => c.group))];
  }

  deleteGroup(group: string): boolean {
    this.internals.checkWritable();
    return this.internals.groups.deleteGroup(group) > 0;
  }

  initProducerId(current?: ProducerIdentity): ProducerIdentity {
    this.internals.checkWritable();
    return this.internals.producerIds.init(current);
  }
}
