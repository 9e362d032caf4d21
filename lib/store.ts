/**
 * LogStore: the public entry, a thin facade. Each call checks the store's state (store-state.ts)
 * and its arguments, then hands the work to the part that owns it:
 *   store-parts.ts     opening and closing: the parts wired together, the LOCK (writer-lock.ts)
 *   topics.ts          topics and their partition logs; recovery.ts: what a writer's open recovers
 *   producer.ts        record checks, the partitioner, batches; raw-append.ts: Kafka's own batches
 *   durability.ts      syncs, group commit, recovery points, the poisoned writer
 *   cleanup.ts         retention and compaction runs
 *   readers.ts, read/  readers, consumers and consumer groups
 *   store-services.ts  the Kafka listener and mirrors
 *   catalog/           the SQLite catalog (app-transaction.ts: `store.transaction`)
 */
import type { CatalogDatabase } from './catalog/app-database.js';
import { applicationTransaction } from './catalog/app-transaction.js';
import type { CleanupResult } from './cleanup.js';
import type { KafkaServer } from './kafka/server.js';
import type { Mirror, MirrorOptions } from './mirror/mirror.js';
import { checkInteger, checkTopicName } from './options.js';
import type { ResolvedStoreOptions, StoreOptions, TopicConfig } from './options.js';
import { checkPartition, type AppendOptions } from './producer.js';
import type { ProducerIds } from './producer-ids.js';
import type { AppendBatchesOptions } from './raw-append.js';
import type { Consumer, ConsumerOptions } from './read/consumer.js';
import type { GroupDescription } from './read/groups.js';
import type { Reader, ReaderOptions, StartSpec } from './read/reader.js';
import type { AppendRecord, AppendResult } from './record.js';
import type { RecoveryReport } from './recovery.js';
import { StoreServices, type ServeOptions } from './store-services.js';
import { closeParts, openParts, type StoreParts } from './store-parts.js';
import type { StoreState } from './store-state.js';
import type { TopicDescription, TopicInfo, Topics } from './topics.js';

export class LogStore {
  readonly dir: string;
  readonly options: ResolvedStoreOptions;
  /** What opening the store found and did (a read-only open recovers nothing). */
  readonly recovery: RecoveryReport;
  /** @internal Idempotent producers' ids (Kafka's InitProducerId). */
  readonly producerIds: ProducerIds;
  private readonly state: StoreState;
  private readonly topicSet: Topics;
  private readonly services: StoreServices;

  private constructor(private readonly parts: StoreParts) {
    this.dir = parts.dir;
    this.options = parts.options;
    this.recovery = parts.recovery;
    this.producerIds = parts.producerIds;
    this.state = parts.state;
    this.topicSet = parts.topics;
    this.services = new StoreServices(this, parts.state, parts.catalog, parts.topics, parts.groups);
  }

  /**
   * Opens (creating if needed) the store in `dir`. A writer takes the LOCK and recovers after an
   * unclean stop (see `recovery`); `readOnly: true` takes no lock, writes nothing, and follows a
   * writer in another process.
   */
  static open(dir: string, options?: StoreOptions): LogStore {
    return new LogStore(openParts(dir, options, false));
  }

  /**
   * Verifies every batch of every partition (CRC, offsets) and cuts each log at its first damage,
   * dropping everything after it: what `logstore verify --repair` does when the user asks.
   * Takes the lock like any writer; returns what was cut.
   */
  static async repair(dir: string): Promise<RecoveryReport> {
    const store = new LogStore(openParts(dir, undefined, true));
    const report = store.recovery;
    await store.close();
    return report;
  }

  /** The last error of a timer-driven cleanup (the timer has nobody to throw to). */
  get lastCleanupError(): unknown {
    return this.parts.cleanups.lastError;
  }

  // ---- topics ---------------------------------------------------------------------------------

  createTopic(name: string, config?: TopicConfig): TopicInfo {
    this.state.checkWritable();
    return this.topicSet.create(checkTopicName(name), config);
  }

  topics(): TopicInfo[] {
    this.state.checkOpen();
    return this.topicSet.list();
  }

  describeTopic(name: string): TopicDescription {
    this.state.checkOpen();
    return this.topicSet.describe(name);
  }

  /**
   * Changes a topic's retention, compaction, segment size or record size limit. The partition
   * count cannot change (keys would move to other partitions).
   */
  alterTopic(name: string, config: Omit<TopicConfig, 'partitions'>): TopicInfo {
    this.state.checkWritable();
    return this.topicSet.alter(name, config);
  }

  /** Deletes a topic, its files and the offsets committed on it. */
  deleteTopic(name: string): void {
    this.state.checkWritable();
    this.topicSet.get(name);
    // Consumers leave first (their close is synchronous): no commit may land after the rows go.
    this.parts.groups.closeTopic(name);
    this.parts.readers.closeTopic(name);
    this.topicSet.delete(name);
  }

  /**
   * Runs retention (delete policy) or compaction (compact policy) now, on one topic or all.
   * Deleted segments' disk space is free when this returns. A damaged segment stops its own
   * partition's cleanup (LOGSTORE_CORRUPT, thrown after the other partitions were cleaned).
   */
  cleanup(topic?: string): CleanupResult {
    this.state.checkWritable();
    return this.parts.cleanups.run(topic === undefined ? this.topicSet.all() : [this.topicSet.get(topic)]);
  }

  // ---- append and flush -----------------------------------------------------------------------

  /** Appends one record; returns where it went. */
  append(topic: string, record: AppendRecord, options?: AppendOptions): AppendResult;
  /** Appends records: each partition's share is one batch; one result per partition, in partition order. */
  append(topic: string, records: readonly AppendRecord[], options?: AppendOptions): AppendResult[];
  append(
    topic: string,
    input: AppendRecord | readonly AppendRecord[],
    options?: AppendOptions,
  ): AppendResult | AppendResult[] {
    this.state.checkWritable();
    const result = this.parts.producer.append(this.topicSet.get(topic), input, options);
    this.parts.lock.notify();
    return result;
  }

  /**
   * Appends Kafka RecordBatch v2 batches (back to back in `bytes`) to a partition as a producer
   * sent them: checked (CRC, structure, magic 2), offsets assigned, the producer's bytes and codec
   * kept (re-encoded only when the topic's compressionType names another codec); idempotent
   * producers' retries are acknowledged again and not stored twice. Returns the offsets of the
   * first and last record. Nothing is written when any batch is refused.
   */
  appendBatches(
    topic: string,
    partition: number,
    bytes: Uint8Array,
    options?: AppendBatchesOptions,
  ): AppendResult {
    this.state.checkWritable();
    const state = this.topicSet.get(topic);
    const result = this.parts.rawAppender.append(
      state,
      state.logs[checkPartition(state, partition)]!,
      bytes,
      options,
    );
    this.parts.lock.notify();
    return result;
  }

  /**
   * The stored bytes of whole batches of a partition, from the one holding `offset` (it may start
   * below it), up to `maxBytes` or the first batch alone if it is larger: what a Kafka broker
   * serves for a fetch. Empty at the end offset.
   */
  readBatches(topic: string, partition: number, offset: number, maxBytes: number): Buffer {
    this.state.checkOpen();
    const state = this.topicSet.get(topic);
    const log = state.logs[checkPartition(state, partition)]!;
    log.refresh();
    return log.readBatches(checkInteger('offset', offset, 0), checkInteger('maxBytes', maxBytes, 1));
  }

  /**
   * Resolves once everything appended before the call is on stable storage. Every call waits for
   * the first sync that starts after it; all calls waiting then share that one sync (group commit).
   */
  flush(): Promise<void> {
    try {
      this.state.checkOpen();
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.options.readOnly) return Promise.resolve();
    return this.parts.durability.flush();
  }

  // ---- reading --------------------------------------------------------------------------------

  reader(topic: string, options?: ReaderOptions): Reader {
    this.state.checkOpen();
    return this.parts.readers.create(topic, options);
  }

  /**
   * Serves this store to Kafka clients (kafkajs, librdkafka, kafka-python, Java...) over Kafka's
   * wire protocol, beside this process's own appends, readers and consumers; the store stays the
   * only writer of its directory. Binds loopback by default (`port: 0` picks a free port). The
   * listener closes with the store. While it serves, this process's consumers are members of the
   * listener's groups, with the Kafka clients (see Consumer). One listener at a time.
   */
  async serve(options: ServeOptions = {}): Promise<KafkaServer> {
    this.state.checkWritable();
    return this.services.serve(options);
  }

  /**
   * Copies topics to a Kafka cluster (`to`) or from one into this store (`from`), keeping its
   * position per partition in the catalog so that a stopped or killed mirror resumes with
   * nothing lost and nothing copied twice; with `follow` it keeps copying new records until its
   * `signal` aborts. Returns a handle that is an async iterable of progress events (see
   * mirror/mirror.ts). A read-only store can mirror `to` a cluster beside its writer process.
   */
  mirror(options: MirrorOptions): Mirror {
    this.state.checkOpen();
    return this.services.mirror(options);
  }

  /** Joins `group` on `topic`; see Consumer for assignment and commit semantics. */
  consumer(topic: string, options: ConsumerOptions): Consumer {
    this.state.checkWritable();
    return this.parts.groups.consumer(this.topicSet.get(topic), options);
  }

  /** Every group with committed offsets (or live members here), per topic. */
  groups(): GroupDescription[] {
    this.state.checkOpen();
    return this.parts.groups.describe((topic, partition) => {
      try {
        return this.topicSet.get(topic).logs[partition];
      } catch {
        return undefined; // offsets of a topic deleted meanwhile
      }
    });
  }

  /**
   * Sets `group`'s committed offsets on every partition of `topic` to 'earliest', 'latest', an
   * offset, or the first offset at a timestamp. Refused while the group has live members here.
   */
  resetGroup(group: string, topic: string, to: StartSpec): void {
    this.state.checkWritable();
    this.parts.groups.reset(group, this.topicSet.get(topic), to);
  }

  /**
   * Deletes `group`: its committed offsets on every topic (the retention they held back with
   * `retainForGroups` is released). Refused while the group has live consumers here or members
   * through the Kafka listener, as Kafka refuses to delete a group that is not empty. Returns
   * whether the group had anything to delete.
   */
  deleteGroup(group: string): boolean {
    this.state.checkWritable();
    return this.parts.groups.delete(group);
  }

  /**
   * Runs `fn` in one SQLite transaction on the catalog database, so that an application's own
   * writes (to its own tables) and `consumer.commit()` calls made inside commit together or not
   * at all: an exactly-once local pipeline. Keep `fn` short and synchronous; do not touch the
   * tables logstore owns (meta, topics, partitions, segments, group_offsets, pending_swaps).
   *
   * What `fn` throws (its own errors, its statements' SQLite errors) comes out unchanged after the
   * rollback. An async `fn` is refused before it runs: it would commit at its first `await` and
   * run the rest outside the transaction.
   */
  transaction<T>(fn: (db: CatalogDatabase) => T): T {
    this.state.checkWritable();
    return applicationTransaction(this.parts.catalog.db, fn);
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  /** Syncs, records a clean shutdown and releases everything. Safe to call twice. */
  async close(): Promise<void> {
    if (this.state.closed) return;
    this.parts.cleanups.stop();
    await this.services.close();
    await closeParts(this.parts);
  }

  get isClosed(): boolean {
    return this.state.closed;
  }
}
