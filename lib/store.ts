/**
 * LogStore: the public entry, a thin facade over the pieces that do the work:
 *   topics.ts       topics, their partition logs, loading and recovery at open
 *   producer.ts     record checks, the partitioner, batches
 *   durability.ts   syncs, group commit, recovery points, the poisoned writer
 *   read/           readers, consumers and consumer groups
 *   storage/        segments, partition logs, the batch walker's users, cleaning
 *   catalog/        the SQLite catalog
 * It owns the directory's LOCK (writer only) and the catalog, and checks the store's state
 * (open, writable, not poisoned) before each call.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { CatalogDatabase } from './catalog/app-database.js';
import { Catalog } from './catalog/catalog.js';
import { Durability } from './durability.js';
import { ioError, LogStoreError } from './errors.js';
import {
  checkInteger,
  checkKeys,
  checkTopicName,
  invalidArgument,
  normalizeStoreOptions,
} from './options.js';
import { ProducerIds } from './producer-ids.js';
import { RawAppender, type AppendBatchesOptions } from './raw-append.js';
import type { ResolvedStoreOptions, StoreOptions, TopicConfig } from './options.js';
import { checkPartition, Producer, type AppendOptions } from './producer.js';
import type { ConsumerOptions, Consumer } from './read/consumer.js';
import { Groups, type GroupDescription } from './read/groups.js';
import { checkCopy, checkStartSpec, Reader, type ReaderOptions, type StartSpec } from './read/reader.js';
import type { AppendRecord, AppendResult } from './record.js';
import { Cleanup, type CleanupResult } from './cleanup.js';
import { AppendSignal } from './storage/append-signal.js';
import { catalogPath, checkIsDirectory, lockedError, takeLock } from './storage/layout.js';
import type { Truncation } from './storage/log-loader.js';
import type { CatalogProblem, FileAction } from './storage/open-report.js';
import type { KafkaServer } from './kafka/server.js';
import type { KafkaServerOptions } from './kafka/server-options.js';
import type { StoreInternals } from './kafka/store-backend.js';
import { Topics, type TopicDescription, type TopicInfo } from './topics.js';
import { startMirror, type Mirror, type MirrorOptions } from './mirror/mirror.js';
import { openPositions } from './mirror/local.js';

export type { TopicInfo, TopicDescription, PartitionDescription } from './topics.js';
export type { GroupDescription } from './read/groups.js';
export type { AppendOptions, Codec } from './producer.js';
export type { AppendBatchesOptions } from './raw-append.js';

/** Options of `store.serve()`: the listener's (see kafka/server-options.ts), without the backend. */
export type ServeOptions = Omit<KafkaServerOptions, 'backend'>;
export type { CleanupResult } from './cleanup.js';

/** What opening the store found and did. */
export interface RecoveryReport {
  /** Whether the previous writer closed the store cleanly (nothing had to be verified). */
  clean: boolean;
  /** Torn tails cut, one entry per partition that had one (and per adopted segment that had one). */
  truncated: Truncation[];
  /** Sum of `truncated[].bytesCut`. */
  bytesCut: number;
  /**
   * Files and directories the catalog does not list, and what the open did with each: `adopted`
   * (a segment continuing its log), `quarantined` (moved into `<dir>/quarantine/`, never
   * deleted) or `removed` (a leftover of the store's own crash-safe operations, holding nothing
   * the log still needs). Empty after a clean close.
   */
  files: FileAction[];
  /**
   * Where the catalog was older than the files (a lost SQLite commit, e.g. a damaged `-wal`) or
   * disagreed with them, each with its `code`; the open repaired each from the files (or set the
   * files aside) instead of acting on the catalog's view. Empty for a healthy store.
   */
  catalog: CatalogProblem[];
}

/** Directories of stores opened for writing in this process: a second open is refused at once. */
const openWriters = new Set<string>();

export class LogStore {
  readonly dir: string;
  readonly options: ResolvedStoreOptions;
  readonly recovery: RecoveryReport = { clean: true, truncated: [], bytesCut: 0, files: [], catalog: [] };
  private readonly catalog: Catalog;
  private readonly topicSet: Topics;
  private readonly durability: Durability;
  private readonly producer: Producer;
  private readonly rawAppender: RawAppender;
  /** @internal Idempotent producers' ids (Kafka's InitProducerId). */
  readonly producerIds: ProducerIds;
  private readonly groupSet: Groups;
  private readonly readers = new Set<Reader>();
  /** Kafka listeners serving this store (closed with it). */
  private readonly servers = new Set<KafkaServer>();
  private serverStarting = false;
  /** Mirrors running on this store (stopped with it). */
  private readonly mirrors = new Set<Mirror>();
  private lockFd: number;
  /** Wakes followers in other processes after appends (see storage/append-signal.ts). */
  private readonly appendSignal: AppendSignal;
  private readonly cleanups: Cleanup;
  private closed = false;

  private constructor(dir: string, options: ResolvedStoreOptions, catalog: Catalog, lockFd: number) {
    this.dir = dir;
    this.options = options;
    this.catalog = catalog;
    this.lockFd = lockFd;
    this.appendSignal = new AppendSignal(lockFd);
    this.topicSet = new Topics(dir, catalog, options);
    this.topicSet.onRoll = (state, log) => this.cleanups.retain(state, log);
    this.durability = new Durability(options, catalog, () => this.topicSet.all());
    this.producer = new Producer(this.durability);
    this.producerIds = new ProducerIds(catalog.producers);
    this.rawAppender = new RawAppender(this.durability, this.producerIds);
    this.groupSet = new Groups(
      catalog,
      (name) => this.topicSet.get(name),
      () => this.checkWritable(),
      options.readOnly,
      () => this.checkOpen(),
    );
    this.cleanups = new Cleanup(this.groupSet);
  }

  /**
   * Opens (creating if needed) the store in `dir`. A writer takes the LOCK and recovers after an
   * unclean stop (see `recovery`); `readOnly: true` takes no lock, writes nothing, and follows a
   * writer in another process.
   */
  static open(dir: string, options?: StoreOptions): LogStore {
    return LogStore.openWith(dir, options, false);
  }

  /**
   * Verifies every batch of every partition (CRC, offsets) and cuts each log at its first damage,
   * dropping everything after it: what `logstore verify --repair` does when the user asks.
   * Takes the lock like any writer; returns what was cut.
   */
  static async repair(dir: string): Promise<RecoveryReport> {
    const store = LogStore.openWith(dir, undefined, true);
    const report = store.recovery;
    await store.close();
    return report;
  }

  private static openWith(dir: string, options: StoreOptions | undefined, repair: boolean): LogStore {
    if (typeof dir !== 'string' || dir.length === 0) {
      throw invalidArgument(`Expected \`dir\` to be a directory path, got ${JSON.stringify(dir)}.`);
    }
    const opts = normalizeStoreOptions(options);
    const absolute = path.resolve(dir);
    checkIsDirectory(absolute);
    if (opts.readOnly) {
      if (!fs.existsSync(catalogPath(absolute))) {
        throw invalidArgument(
          `No logstore at ${absolute} (no ${path.basename(catalogPath(absolute))}). A read-only open needs an existing store.`,
        );
      }
      const catalog = Catalog.open(catalogPath(absolute), true);
      try {
        const store = new LogStore(absolute, opts, catalog, -1);
        store.topicSet.loadAll(true, false);
        return store;
      } catch (err) {
        catalog.close();
        throw openError(err, absolute);
      }
    }
    if (openWriters.has(absolute)) throw lockedError(absolute);
    const lockFd = takeLock(absolute);
    let catalog: Catalog | undefined;
    try {
      catalog = Catalog.open(catalogPath(absolute), false);
      const store = new LogStore(absolute, opts, catalog, lockFd);
      store.recoverOnOpen(repair);
      openWriters.add(absolute);
      store.startTimers();
      return store;
    } catch (err) {
      catalog?.close();
      fs.closeSync(lockFd);
      throw openError(err, absolute);
    }
  }

  private recoverOnOpen(repair: boolean): void {
    const clean = !repair && this.catalog.getMeta('clean_shutdown') !== '0';
    this.recovery.clean = clean;
    this.catalog.setMeta('clean_shutdown', '0');
    const report = this.topicSet.loadAll(clean, repair);
    for (const cut of report.truncated) {
      this.recovery.truncated.push(cut);
      this.recovery.bytesCut += cut.bytesCut;
    }
    this.recovery.files.push(...report.files);
    this.recovery.catalog.push(...report.catalog);
    // Make the recovered state durable and move the recovery points.
    if (!clean || report.files.length > 0 || report.catalog.length > 0) this.durability.syncNow(true);
  }

  private startTimers(): void {
    this.durability.start();
    this.cleanups.start(this.options.cleanupIntervalMs, () => this.cleanup());
  }

  /** The last error of a timer-driven cleanup (the timer has nobody to throw to). */
  get lastCleanupError(): unknown {
    return this.cleanups.lastError;
  }

  // ---- topics ---------------------------------------------------------------------------------

  createTopic(name: string, config?: TopicConfig): TopicInfo {
    this.checkWritable();
    return this.topicSet.create(checkTopicName(name), config);
  }

  topics(): TopicInfo[] {
    this.checkOpen();
    return this.topicSet.list();
  }

  describeTopic(name: string): TopicDescription {
    this.checkOpen();
    return this.topicSet.describe(name);
  }

  /**
   * Changes a topic's retention, compaction, segment size or record size limit. The partition
   * count cannot change (keys would move to other partitions).
   */
  alterTopic(name: string, config: Omit<TopicConfig, 'partitions'>): TopicInfo {
    this.checkWritable();
    return this.topicSet.alter(name, config);
  }

  /** Deletes a topic, its files and the offsets committed on it. */
  deleteTopic(name: string): void {
    this.checkWritable();
    this.topicSet.get(name);
    // Consumers leave first (their close is synchronous): no commit may land after the rows go.
    this.groupSet.closeTopic(name);
    for (const reader of [...this.readers]) if (reader.topic === name) reader.close();
    this.topicSet.delete(name);
  }

  /**
   * Runs retention (delete policy) or compaction (compact policy) now, on one topic or all.
   * Deleted segments' disk space is free when this returns. A damaged segment stops its own
   * partition's cleanup (LOGSTORE_CORRUPT, thrown after the other partitions were cleaned).
   */
  cleanup(topic?: string): CleanupResult {
    this.checkWritable();
    return this.cleanups.run(topic === undefined ? this.topicSet.all() : [this.topicSet.get(topic)]);
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
    this.checkWritable();
    const result = this.producer.append(this.topicSet.get(topic), input, options);
    this.appendSignal.notify();
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
    this.checkWritable();
    const state = this.topicSet.get(topic);
    const result = this.rawAppender.append(
      state,
      state.logs[checkPartition(state, partition)]!,
      bytes,
      options,
    );
    this.appendSignal.notify();
    return result;
  }

  /**
   * The stored bytes of whole batches of a partition, from the one holding `offset` (it may start
   * below it), up to `maxBytes` or the first batch alone if it is larger: what a Kafka broker
   * serves for a fetch. Empty at the end offset.
   */
  readBatches(topic: string, partition: number, offset: number, maxBytes: number): Buffer {
    this.checkOpen();
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
      this.checkOpen();
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.options.readOnly) return Promise.resolve();
    return this.durability.flush();
  }

  // ---- reading --------------------------------------------------------------------------------

  reader(topic: string, options?: ReaderOptions): Reader {
    this.checkOpen();
    const state = this.topicSet.get(topic);
    const o = options ?? {};
    checkKeys(o, ['partition', 'from', 'signal', 'copy'], 'reader option');
    const partition = o.partition === undefined ? 0 : checkPartition(state, o.partition);
    const from = checkStartSpec(o.from ?? 'earliest');
    if (o.signal !== undefined && !(o.signal instanceof AbortSignal))
      throw invalidArgument('`signal` must be an AbortSignal.');
    const source = {
      follower: this.options.readOnly,
      log: () => {
        this.checkOpen();
        if (!this.topicSet.isCurrent(state)) {
          throw new LogStoreError('LOGSTORE_TOPIC_NOT_FOUND', `Topic '${topic}' was deleted.`);
        }
        return state.logs[partition]!;
      },
    };
    const copy = checkCopy(o.copy);
    const reader = new Reader(source, topic, partition, from, o.signal, (r) => this.readers.delete(r), copy);
    this.readers.add(reader);
    return reader;
  }

  /**
   * Serves this store to Kafka clients (kafkajs, librdkafka, kafka-python, Java...) over Kafka's
   * wire protocol, beside this process's own appends, readers and consumers; the store stays the
   * only writer of its directory. Binds loopback by default (`port: 0` picks a free port). The
   * listener closes with the store. While it serves, this process's consumers are members of the
   * listener's groups, with the Kafka clients (see Consumer). One listener at a time.
   */
  async serve(options: ServeOptions = {}): Promise<KafkaServer> {
    this.checkWritable();
    if (options !== null && typeof options === 'object' && 'backend' in options)
      throw invalidArgument('serve() serves this store: it takes no `backend` option.');
    if (this.servers.size > 0 || this.serverStarting) {
      throw invalidArgument(
        'This store is already served; close that listener first (one listener keeps one group coordinator).',
      );
    }
    this.serverStarting = true;
    let server: KafkaServer;
    const { StoreBackend } = await import('./kafka/store-backend.js');
    const { CoordinatorBridge } = await import('./kafka/local-member.js');
    const backend = new StoreBackend(this, this.internals());
    try {
      const { KafkaServer } = await import('./kafka/server.js');
      server = await KafkaServer.start({ clusterId: this.clusterId(), ...options, backend });
    } finally {
      this.serverStarting = false;
    }
    if (this.closed) {
      await server.close(); // the store closed while the listener started
      this.checkOpen();
    }
    this.servers.add(server);
    const bridge = new CoordinatorBridge(server.coordinator, backend, server.log);
    this.groupSet.attachBridge(bridge);
    server.beforeClose(() => {
      this.servers.delete(server);
      this.groupSet.detachBridge(bridge);
    });
    return server;
  }

  /**
   * Copies topics to a Kafka cluster (`to`) or from one into this store (`from`), keeping its
   * position per partition in the catalog so that a stopped or killed mirror resumes with
   * nothing lost and nothing copied twice; with `follow` it keeps copying new records until its
   * `signal` aborts. Returns a handle that is an async iterable of progress events (see
   * mirror/mirror.ts). A read-only store can mirror `to` a cluster beside its writer process.
   */
  mirror(options: MirrorOptions): Mirror {
    this.checkOpen();
    const m = startMirror(options, () => {
      this.checkOpen();
      const own = this.options.readOnly ? openPositions(catalogPath(this.dir)) : null;
      return {
        store: this,
        positions: own ? own.positions : this.catalog.mirrors,
        readOnly: this.options.readOnly,
        log: (topic, partition) => this.internals().log(topic, partition),
        release: () => own?.close(),
      };
    });
    this.mirrors.add(m);
    void m.done.then(
      () => this.mirrors.delete(m),
      () => this.mirrors.delete(m),
    );
    return m;
  }

  /**
   * The Kafka cluster id this store's listeners give (random, made once and kept in the catalog):
   * clients and mirrors tell two served stores apart by it, as they tell Kafka clusters apart.
   */
  private clusterId(): string {
    let id = this.catalog.getMeta('cluster_id');
    if (id === undefined) {
      id = randomBytes(16).toString('base64url');
      this.catalog.setMeta('cluster_id', id);
    }
    return id;
  }

  /** @internal What the Kafka listener's backend needs beyond the public API. */
  private internals(): StoreInternals {
    return {
      log: (topic, partition) => {
        this.checkOpen();
        const state = this.topicSet.get(topic);
        const log = state.logs[partition];
        if (!log)
          throw new LogStoreError(
            'LOGSTORE_TOPIC_NOT_FOUND',
            `Topic '${topic}' has no partition ${partition}.`,
          );
        return log;
      },
      groups: this.catalog.groups,
      producerIds: this.producerIds,
      checkWritable: () => this.checkWritable(),
    };
  }

  /** Joins `group` on `topic`; see Consumer for assignment and commit semantics. */
  consumer(topic: string, options: ConsumerOptions): Consumer {
    this.checkWritable();
    return this.groupSet.consumer(this.topicSet.get(topic), options);
  }

  /** Every group with committed offsets (or live members here), per topic. */
  groups(): GroupDescription[] {
    this.checkOpen();
    return this.groupSet.describe((topic, partition) => {
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
    this.checkWritable();
    this.groupSet.reset(group, this.topicSet.get(topic), to);
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
    this.checkWritable();
    checkTransactionFunction(fn);
    const db = this.catalog.db as unknown as CatalogDatabase;
    return this.catalog.applicationTransaction(() => {
      const result = fn(db);
      if (isThenable(result)) {
        throw invalidArgument(
          'The function given to store.transaction returned a promise, so the transaction was rolled ' +
            'back: SQLite transactions here are synchronous, and the code after an await would run ' +
            'outside it. Await first, then call store.transaction with a synchronous function.',
        );
      }
      return result;
    });
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  /** Syncs, records a clean shutdown and releases everything. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.cleanups.stop();
    await Promise.allSettled([...this.mirrors].map((m) => m.stop()));
    for (const server of [...this.servers]) await server.close();
    for (const reader of [...this.readers]) reader.close();
    let failure = await this.groupSet.closeAll();
    this.closed = true; // no append or flush from here on
    if (this.options.readOnly) this.durability.stop();
    else {
      try {
        await this.durability.closeCleanly();
      } catch (err) {
        failure = err;
      }
    }
    this.topicSet.close();
    this.catalog.close();
    if (this.lockFd >= 0) {
      this.appendSignal.close();
      fs.closeSync(this.lockFd); // releases the flock
      this.lockFd = -1;
      openWriters.delete(this.dir);
    }
    if (failure) throw ioError(failure, 'Closing the store');
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private checkOpen(): void {
    if (this.closed)
      throw new LogStoreError('LOGSTORE_CLOSED', `The store at ${this.dir} is closed; open it again.`);
  }

  private checkWritable(): void {
    this.checkOpen();
    if (this.options.readOnly) {
      throw new LogStoreError(
        'LOGSTORE_READ_ONLY',
        `The store at ${this.dir} was opened with readOnly: true.`,
      );
    }
    if (this.durability.poisoned) throw this.durability.poisoned;
  }
}

/** An async function cannot run inside a synchronous SQLite transaction: refused up front. */
function checkTransactionFunction(fn: unknown): void {
  if (typeof fn !== 'function') {
    throw invalidArgument(`store.transaction(fn) takes a function (db) => result, got ${typeof fn}.`);
  }
  const kind = (fn as { constructor?: { name?: string } }).constructor?.name;
  if (kind === 'AsyncFunction' || kind === 'AsyncGeneratorFunction') {
    throw invalidArgument(
      'store.transaction(fn) needs a synchronous fn: its SQLite transaction commits when fn returns, ' +
        'so an async fn would commit at its first await and run the rest outside the transaction. ' +
        'Await what you need first, then call store.transaction with a synchronous function.',
    );
  }
}

function isThenable(value: unknown): boolean {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * What an open that failed below the library's own checks means for the user: an unreadable
 * catalog config or a file the catalog lists but the disk lacks is LOGSTORE_CORRUPT; anything
 * else LOGSTORE_IO. Never a bare SyntaxError or ENOENT.
 */
function openError(err: unknown, dir: string): LogStoreError {
  if (err instanceof LogStoreError) return err;
  const code = (err as { code?: unknown }).code;
  if (!(err instanceof SyntaxError) && code !== 'ENOENT')
    return ioError(err, `Cannot open the store at ${dir}`);
  return new LogStoreError(
    'LOGSTORE_CORRUPT',
    `The store at ${dir} is damaged: ${err instanceof Error ? err.message : String(err)}. Run \`logstore verify\` ` +
      'to see where; restore the catalog or the missing files from a backup.',
    { cause: err },
  );
}
