/**
 * What the Kafka listener needs from a store: a narrow, synchronous interface (appends and reads
 * are synchronous in logstore), so the protocol side can be tested against an in-memory double
 * and wired to LogStore by a thin adapter. Failures are thrown as errors with a `.code` string
 * (the LogStoreError codes; lib/kafka/errors.ts maps them onto Kafka's).
 *
 * Offsets and timestamps are JS numbers. "Batches" are Kafka RecordBatch v2 bytes exactly as a
 * producer sent them (the backend rewrites only baseOffset, outside the CRC) and exactly as they
 * are stored (the listener serves them to consumers without re-encoding).
 */

export interface TopicDescription {
  name: string;
  partitions: number;
  /** Kafka-named config entries (`cleanup.policy`, `retention.ms`, ...) as strings. */
  config: Record<string, string>;
}

export interface AppendResult {
  /** Offset of the first record of the first batch appended (or acknowledged again). */
  baseOffset: number;
  lastOffset: number;
  /** The partition's first offset after the append (Kafka's log start offset). */
  logStartOffset: number;
  /**
   * The broker timestamp if the topic stamps LogAppendTime, else -1 (CreateTime: the producer's
   * timestamps stand).
   */
  logAppendTime: number;
}

export interface ReadResult {
  /**
   * Whole stored batches, starting with the one that holds `offset` (so it may start below it;
   * clients skip the records before their fetch offset), at most `maxBytes` unless the first batch
   * alone is larger (then exactly that batch, as Kafka does). Empty when `offset` is the end.
   */
  bytes: Buffer;
  /** The next offset to be written (Kafka's high watermark; there is no replication lag). */
  highWatermark: number;
  logStartOffset: number;
}

export interface OffsetAtTime {
  /** -1 when no record has a timestamp at or after the one asked for. */
  offset: number;
  /** The record's timestamp, or -1 for the earliest/latest queries. */
  timestamp: number;
}

export interface CommittedOffset {
  topic: string;
  partition: number;
  offset: number;
  /** The client's metadata string (Kafka's OffsetCommit metadata), '' when none. */
  metadata: string;
}

export interface ProducerIdentity {
  producerId: number;
  producerEpoch: number;
}

/** Listing/queries used by ListOffsets: the earliest offset, the latest (end) offset, or by time. */
export const EARLIEST = -2;
export const LATEST = -1;

export interface KafkaBackend {
  /** All topics, in any order. */
  listTopics(): TopicDescription[];
  /** One topic, or undefined when it does not exist. */
  describeTopic(name: string): TopicDescription | undefined;
  /**
   * Creates a topic with `partitions` partitions and Kafka-named config entries; throws
   * LOGSTORE_TOPIC_EXISTS, or LOGSTORE_INVALID_ARGUMENT for a config it does not support.
   */
  createTopic(name: string, partitions: number, config: Record<string, string>): void;
  /** Deletes a topic and its data; throws LOGSTORE_TOPIC_NOT_FOUND. */
  deleteTopic(name: string): void;

  /**
   * Appends one or more RecordBatch v2 batches (a Produce request's records for one partition).
   * Checks them (CRC, structure, magic 2: else LOGSTORE_INVALID_ARGUMENT), assigns offsets by
   * rewriting each baseOffset, and handles idempotent producers: a batch already appended (same
   * producer id, epoch and sequence range) is acknowledged again with its original offsets and not
   * stored twice; a sequence gap (or a new epoch not starting at sequence 0) is
   * LOGSTORE_OUT_OF_ORDER_SEQUENCE; an epoch older than the producer's latest (from this partition
   * or from `initProducerId`) is LOGSTORE_INVALID_PRODUCER_EPOCH. Other errors: LOGSTORE_TOPIC_NOT_FOUND (also for a partition
   * out of range), LOGSTORE_RECORD_TOO_LARGE, LOGSTORE_DISK_FULL, LOGSTORE_IO, LOGSTORE_READ_ONLY,
   * LOGSTORE_CLOSED.
   */
  appendBatches(topic: string, partition: number, batches: Buffer): AppendResult;
  /**
   * Stored batches from the one holding `offset` (see ReadResult). `offset` below the log start or
   * beyond the end is LOGSTORE_OFFSET_OUT_OF_RANGE. With `copy`, a backend may hand the bytes to it
   * as a view valid only during the call and return what it returns (the listener copies them
   * into memory it reuses once the response is written); without it, or if it ignores it, the
   * bytes must stay valid.
   */
  readBatches(
    topic: string,
    partition: number,
    offset: number,
    maxBytes: number,
    copy?: (view: Buffer) => Buffer,
  ): ReadResult;
  /**
   * A count of the bytes of batches appended to the partition, from any start (the store's open):
   * it only grows, and a waiting Fetch tells from its change how much arrived without reading it.
   */
  appendedBytes(topic: string, partition: number): number;
  /** Log start and end (high watermark) of a partition, without reading. */
  offsets(topic: string, partition: number): { logStartOffset: number; highWatermark: number };
  /**
   * EARLIEST (-2): the log start; LATEST (-1): the end offset; a timestamp >= 0: the first offset
   * whose record timestamp is >= it (offset -1 when there is none).
   */
  listOffset(topic: string, partition: number, query: number): OffsetAtTime;
  /**
   * Calls `wake` (once or more) after batches are appended to the partition, by anyone (the
   * listener or the serving app). Returns the function that cancels the subscription.
   */
  onAppend(topic: string, partition: number, wake: () => void): () => void;

  /** Stores committed offsets of a group (one transaction). */
  commitOffsets(group: string, offsets: CommittedOffset[]): void;
  /** A group's committed offsets, for every partition it committed, or only the topics named. */
  committedOffsets(group: string, topics?: string[]): CommittedOffset[];
  /** Groups that have committed offsets. */
  listGroups(): string[];
  /** Forgets a group's committed offsets; false when it had none. */
  deleteGroup(group: string): boolean;

  /**
   * A new producer id (epoch 0) for an idempotent producer; with `current` (KIP-360: a producer
   * that lost track of its sequences), the same id with the next epoch, which resets its
   * sequences. An unknown `current` is LOGSTORE_INVALID_PRODUCER_EPOCH.
   */
  initProducerId(current?: ProducerIdentity): ProducerIdentity;
}
