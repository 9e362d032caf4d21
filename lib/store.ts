/**
 * LogStore: the public entry. It owns the directory's LOCK (writer only), the catalog, and one
 * PartitionLog per partition; it spreads appends over partitions, runs syncs (one at a time,
 * shared by every `flush()` that arrives meanwhile), and hands out readers.
 *
 * Durability (SPEC section 4): `append` returns once the batch is in the page cache (written
 * through the mapping), so a crash of the process loses nothing appended. `always` syncs before
 * returning; `interval` every flushIntervalMs; `none` on flush()/close(). A failed sync poisons
 * the writer: nothing is acknowledged after it, until the store is reopened. `close()` records
 * a clean shutdown with exact recovery points, so the next open trusts the files.
 */
import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import fsExt from 'fs-ext';
import { Catalog, type RecoveryPoint, type TopicRow } from './catalog/catalog.js';
import { ioError, LogStoreError } from './errors.js';
import { partitionForKey } from './format/murmur2.js';
import { BatchEncoder } from './format/record-batch.js';
import {
  checkInteger,
  checkKeys,
  checkTopicName,
  invalidArgument,
  normalizeStoreOptions,
  normalizeTopicConfig,
  TOPIC_DEFAULTS,
  type ResolvedStoreOptions,
  type ResolvedTopicConfig,
  type StoreOptions,
  type TopicConfig,
} from './options.js';
import {
  checkConsumerOptions,
  Consumer,
  GroupMembers,
  type ConsumerHost,
  type ConsumerOptions,
} from './read/consumer.js';
import { checkStartSpec, Reader, resolveStart, type ReaderOptions, type StartSpec } from './read/reader.js';
import type { AppendRecord, AppendResult, Bytes } from './record.js';
import { crashPoint, injectedSyncFailure } from './storage/faults.js';
import { fsyncDir, PartitionLog, type Truncation } from './storage/partition-log.js';
import { Segment } from './storage/segment.js';

export interface TopicInfo {
  name: string;
  partitions: number;
  config: ResolvedTopicConfig;
  createdAt: number;
}

export interface PartitionDescription {
  partition: number;
  startOffset: number;
  endOffset: number;
  bytes: number;
  segments: number;
}

export interface TopicDescription extends TopicInfo {
  partitionDetails: PartitionDescription[];
}

/** A group's committed offsets on one topic, and its live members in this process. */
export interface GroupDescription {
  group: string;
  topic: string;
  members: number;
  partitions: { partition: number; offset: number; committedAt: number; endOffset: number; lag: number }[];
}

/** What a cleanup run did. */
export interface CleanupResult {
  deletedSegments: number;
  compactedSegments: number;
  bytesFreed: number;
}

/** What opening the store found and did. */
export interface RecoveryReport {
  /** Whether the previous writer closed the store cleanly (nothing had to be verified). */
  clean: boolean;
  /** Torn tails cut, one entry per partition that had one. */
  truncated: Truncation[];
  /** Sum of `truncated[].bytesCut`. */
  bytesCut: number;
}

interface TopicState {
  name: string;
  config: ResolvedTopicConfig;
  logs: PartitionLog[];
  /** Partition for the next keyless append (sticky per call, rotating between calls). */
  nextKeyless: number;
}

const CATALOG_FILE = 'catalog.sqlite';
const LOCK_FILE = 'LOCK';
const PARTITION_DIR = /^(.+)-(\d+)$/;
/** Directories of stores opened for writing in this process: a second open is refused at once. */
const openWriters = new Set<string>();

export class LogStore {
  readonly dir: string;
  readonly options: ResolvedStoreOptions;
  readonly recovery: RecoveryReport = { clean: true, truncated: [], bytesCut: 0 };
  private readonly catalog: Catalog;
  private readonly topicStates = new Map<string, TopicState>();
  private readonly readers = new Set<Reader>();
  private readonly groupMembers = new Map<string, GroupMembers>();
  private readonly consumerHost: ConsumerHost = {
    logs: (topic) => this.topicState(topic).logs,
    committedOffsets: (group, topic) =>
      new Map(this.catalog.committedOffsets(group, topic).map((c) => [c.partition, c.offset])),
    commitOffsets: (group, topic, offsets) => {
      this.checkWritable();
      crashPoint('commit:before');
      const entries = [...offsets].map(([partition, offset]) => ({ group, topic, partition, offset }));
      this.catalog.commitOffsets(entries, Date.now());
    },
  };
  private readonly encoder = new BatchEncoder();
  private lockFd = -1;
  private closed = false;
  private poisoned: LogStoreError | null = null;
  /** Counts appends; a flush waits until a sync that began after its generation completes. */
  private writeGeneration = 0;
  private syncedGeneration = 0;
  private flushWaiters: { generation: number; resolve: () => void; reject: (err: unknown) => void }[] = [];
  private syncLoopRunning = false;
  /** The last sync loop (close waits for it). */
  private syncLoopDone: Promise<void> | null = null;
  private lastRecoveryWrite = 0;
  private flushTimer: NodeJS.Timeout | null = null;
  private cleanupTimer: NodeJS.Timeout | null = null;
  /** The last error of a timer-driven cleanup (the timer has nobody to throw to). */
  lastCleanupError: unknown = null;

  private constructor(dir: string, options: ResolvedStoreOptions, catalog: Catalog, lockFd: number) {
    this.dir = dir;
    this.options = options;
    this.catalog = catalog;
    this.lockFd = lockFd;
  }

  /**
   * Opens (creating if needed) the store in `dir`. A writer takes the LOCK and recovers after an
   * unclean stop (see `recovery`); `readOnly: true` takes no lock, writes nothing, and follows a
   * writer in another process.
   */
  static open(dir: string, options?: StoreOptions): LogStore {
    return LogStore.openWith(dir, options, false);
  }

  private static openWith(dir: string, options: StoreOptions | undefined, repair: boolean): LogStore {
    if (typeof dir !== 'string' || dir.length === 0) {
      throw invalidArgument(`Expected \`dir\` to be a directory path, got ${JSON.stringify(dir)}.`);
    }
    const opts = normalizeStoreOptions(options);
    const absolute = path.resolve(dir);
    if (opts.readOnly) {
      if (!fs.existsSync(path.join(absolute, CATALOG_FILE))) {
        throw invalidArgument(
          `No logstore at ${absolute} (no ${CATALOG_FILE}). A read-only open needs an existing store.`,
        );
      }
      const catalog = Catalog.open(path.join(absolute, CATALOG_FILE), true);
      try {
        const store = new LogStore(absolute, opts, catalog, -1);
        for (const row of store.catalog.topics()) store.loadTopic(row, true);
        return store;
      } catch (err) {
        catalog.close();
        throw openError(err, absolute);
      }
    }
    if (openWriters.has(absolute)) throw lockedError(absolute);
    const lockFd = lockStore(absolute);
    let catalog: Catalog | undefined;
    try {
      catalog = Catalog.open(path.join(absolute, CATALOG_FILE), false);
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

  private recoverOnOpen(repair: boolean): void {
    const rows = this.catalog.topics();
    const clean = !repair && this.catalog.getMeta('clean_shutdown') !== '0';
    this.recovery.clean = clean;
    this.catalog.setMeta('clean_shutdown', '0');
    this.removeOrphans(rows);
    for (const row of rows) this.loadTopic(row, clean, repair);
    if (!clean) this.syncNow(true); // make the recovered state durable and move the recovery points
  }

  private loadTopic(row: TopicRow, clean: boolean, repair = false): TopicState {
    const state: TopicState = { name: row.name, config: row.config, logs: [], nextKeyless: 0 };
    const writable = !this.options.readOnly;
    try {
      for (let p = 0; p < row.partitions; p++) {
        const log = new PartitionLog(
          row.name,
          p,
          this.partitionDir(row.name, p),
          row.config,
          this.catalog,
          writable,
        );
        state.logs.push(log);
        if (writable) log.onRoll = () => this.retain(state, log);
        const cut = log.open(clean || !writable, repair);
        if (cut) {
          this.recovery.truncated.push(cut);
          this.recovery.bytesCut += cut.bytesCut;
        }
      }
    } catch (err) {
      for (const log of state.logs) log.close();
      throw err;
    }
    this.topicStates.set(row.name, state);
    return state;
  }

  /** Removes partition directories and segment files the catalog does not know: leftovers of a crash. */
  private removeOrphans(rows: TopicRow[]): void {
    const expected = new Map<string, Set<number>>();
    for (const row of rows) {
      for (let p = 0; p < row.partitions; p++) {
        expected.set(
          `${row.name}-${p}`,
          new Set(this.catalog.segments(row.name, p).map((s) => s.baseOffset)),
        );
      }
    }
    for (const entry of fs.readdirSync(this.dir, { withFileTypes: true })) {
      if (!entry.isDirectory() || !PARTITION_DIR.test(entry.name)) continue;
      const full = path.join(this.dir, entry.name);
      const bases = expected.get(entry.name);
      if (!bases) {
        fs.rmSync(full, { recursive: true, force: true });
        continue;
      }
      for (const file of fs.readdirSync(full)) {
        const m = /^(\d{20})\.(log|index|timeindex)$/.exec(file);
        if (m && !bases.has(Number(m[1]))) fs.rmSync(path.join(full, file), { force: true });
      }
    }
  }

  private partitionDir(topic: string, partition: number): string {
    return path.join(this.dir, `${topic}-${partition}`);
  }

  private startTimers(): void {
    if (this.options.durability !== 'none') {
      this.flushTimer = setInterval(() => {
        this.flush().catch(() => {
          // The failure poisons the writer; the next append or flush reports it.
        });
      }, this.options.flushIntervalMs);
      this.flushTimer.unref();
    }
    if (this.options.cleanupIntervalMs > 0) {
      this.cleanupTimer = setInterval(() => {
        try {
          this.cleanup();
        } catch (err) {
          this.lastCleanupError = err;
        }
      }, this.options.cleanupIntervalMs);
      this.cleanupTimer.unref();
    }
  }

  // ---- topics ---------------------------------------------------------------------------------

  createTopic(name: string, config?: TopicConfig): TopicInfo {
    this.checkWritable();
    checkTopicName(name);
    const resolved = normalizeTopicConfig(config, {
      ...TOPIC_DEFAULTS,
      segmentBytes: this.options.segmentBytes,
    });
    if (this.catalog.topic(name)) {
      throw new LogStoreError(
        'LOGSTORE_TOPIC_EXISTS',
        `Topic '${name}' already exists; use describeTopic or alterTopic.`,
      );
    }
    // Files first, then the catalog: a crash in between leaves orphans that the next open removes.
    const segments: Segment[] = [];
    try {
      for (let p = 0; p < resolved.partitions; p++) {
        const dir = this.partitionDir(name, p);
        fs.rmSync(dir, { recursive: true, force: true });
        fs.mkdirSync(dir, { recursive: true });
        segments.push(Segment.create(dir, 0, resolved.segmentBytes));
        fsyncDir(dir);
      }
      fsyncDir(this.dir);
      this.catalog.createTopic(name, resolved, Date.now());
    } catch (err) {
      for (const s of segments) s.release();
      for (let p = 0; p < resolved.partitions; p++)
        fs.rmSync(this.partitionDir(name, p), { recursive: true, force: true });
      throw ioError(err, `Cannot create topic '${name}'`);
    } finally {
      for (const s of segments) s.release();
    }
    const row = this.topicRow(name);
    this.loadTopic(row, true);
    return { name, partitions: row.partitions, config: row.config, createdAt: row.createdAt };
  }

  topics(): TopicInfo[] {
    this.checkOpen();
    return this.catalog
      .topics()
      .map((r) => ({ name: r.name, partitions: r.partitions, config: r.config, createdAt: r.createdAt }));
  }

  describeTopic(name: string): TopicDescription {
    const state = this.topicState(name);
    const row = this.topicRow(name);
    return {
      name,
      partitions: state.logs.length,
      config: state.config,
      createdAt: row.createdAt,
      partitionDetails: state.logs.map((log) => {
        if (this.options.readOnly) log.refresh();
        return log.describe();
      }),
    };
  }

  /**
   * Changes a topic's retention, compaction, segment size or record size limit. The partition
   * count cannot change (keys would move to other partitions).
   */
  alterTopic(name: string, config: Omit<TopicConfig, 'partitions'>): TopicInfo {
    this.checkWritable();
    const state = this.topicState(name);
    const keys = Object.keys(TOPIC_DEFAULTS)
      .filter((k) => k !== 'partitions')
      .concat('segmentBytes');
    const resolved = normalizeTopicConfig(config, state.config, keys);
    this.catalog.setTopicConfig(name, resolved);
    state.config = resolved;
    for (const log of state.logs) log.config = resolved;
    const row = this.topicRow(name);
    return { name, partitions: row.partitions, config: resolved, createdAt: row.createdAt };
  }

  /**
   * Runs retention (delete policy) or compaction (compact policy) now, on one topic or all.
   * Deleted segments' disk space is free when this returns.
   */
  cleanup(topic?: string): CleanupResult {
    this.checkWritable();
    const states = topic === undefined ? [...this.topicStates.values()] : [this.topicState(topic)];
    const total: CleanupResult = { deletedSegments: 0, compactedSegments: 0, bytesFreed: 0 };
    const now = Date.now();
    for (const state of states) {
      for (const log of state.logs) {
        if (state.config.cleanupPolicy === 'compact') {
          const r = log.compact(now);
          total.compactedSegments += r.compactedSegments;
          total.bytesFreed += r.bytesFreed;
        } else {
          const r = this.retain(state, log, now);
          total.deletedSegments += r.deletedSegments;
          total.bytesFreed += r.bytesFreed;
        }
      }
    }
    return total;
  }

  private retain(
    state: TopicState,
    log: PartitionLog,
    now = Date.now(),
  ): { deletedSegments: number; bytesFreed: number } {
    if (state.config.cleanupPolicy !== 'delete') return { deletedSegments: 0, bytesFreed: 0 };
    let floor: number | null = null;
    if (state.config.retainForGroups) {
      // Groups with live members here that never committed on this partition hold everything.
      const committed = new Map<string, number>();
      for (const c of this.catalog.allCommittedOffsets()) {
        if (c.topic === state.name && c.partition === log.partition) committed.set(c.group, c.offset);
      }
      for (const m of this.groupMembers.values()) {
        if (m.topic === state.name && m.members.length > 0 && !committed.has(m.group))
          committed.set(m.group, log.logStartOffset);
      }
      for (const offset of committed.values()) floor = floor === null ? offset : Math.min(floor, offset);
    }
    return log.applyRetention(now, floor);
  }

  /** Deletes a topic, its files and the offsets committed on it. */
  deleteTopic(name: string): void {
    this.checkWritable();
    const state = this.topicState(name);
    // Consumers leave first (their close is synchronous): no commit may land after the rows go.
    for (const members of this.groupMembers.values()) {
      if (members.topic === name) for (const c of [...members.members]) void c.close().catch(() => undefined);
    }
    for (const reader of [...this.readers]) if (reader.topic === name) reader.close();
    this.catalog.deleteTopic(name);
    crashPoint('delete-topic:after-catalog');
    this.topicStates.delete(name);
    for (const log of state.logs) {
      log.close();
      fs.rmSync(log.dir, { recursive: true, force: true });
    }
    fsyncDir(this.dir);
  }

  /** The catalog row of a topic known to exist: missing now means the catalog is damaged. */
  private topicRow(name: string): TopicRow {
    const row = this.catalog.topic(name);
    if (!row) {
      throw new LogStoreError(
        'LOGSTORE_CORRUPT',
        `The catalog lists topic '${name}' but cannot find its row: ${path.join(this.dir, CATALOG_FILE)} is damaged.`,
      );
    }
    return row;
  }

  private topicState(name: string): TopicState {
    this.checkOpen();
    let state = this.topicStates.get(name);
    if (!state && this.options.readOnly) {
      const row = this.catalog.topic(name);
      if (row) state = this.loadTopic(row, true);
    }
    if (!state) {
      if (typeof name !== 'string')
        throw invalidArgument(`Expected a topic name, got ${JSON.stringify(name)}.`);
      throw new LogStoreError(
        'LOGSTORE_TOPIC_NOT_FOUND',
        `Topic '${name}' does not exist; create it with createTopic.`,
      );
    }
    return state;
  }

  // ---- append ---------------------------------------------------------------------------------

  /** Appends one record; returns where it went. */
  append(topic: string, record: AppendRecord, options?: { partition?: number }): AppendResult;
  /** Appends records: each partition's share is one batch; one result per partition, in partition order. */
  append(topic: string, records: readonly AppendRecord[], options?: { partition?: number }): AppendResult[];
  append(
    topic: string,
    input: AppendRecord | readonly AppendRecord[],
    options?: { partition?: number },
  ): AppendResult | AppendResult[] {
    this.checkWritable();
    const state = this.topicState(topic);
    let explicit: number | undefined;
    if (options !== undefined) {
      checkKeys(options, ['partition'], 'append option');
      if (options.partition !== undefined) explicit = this.checkPartition(state, options.partition);
    }
    const now = Date.now();
    if (!Array.isArray(input)) {
      const records = [input as AppendRecord];
      checkRecord(records[0], 0, state.config);
      const partition = explicit ?? this.partitionOf(state, records[0]!, 0);
      if (explicit === undefined && records[0]!.key == null && records[0]!.partition === undefined)
        this.rotateKeyless(state);
      const result = this.writeBatch(state, partition, records, null, now);
      this.afterAppend([state.logs[partition]!]);
      return result;
    }
    const records = input as readonly AppendRecord[];
    if (records.length === 0) throw invalidArgument('append() needs at least one record.');
    for (let i = 0; i < records.length; i++) checkRecord(records[i], i, state.config);
    if (explicit !== undefined || state.logs.length === 1) {
      const result = this.writeBatch(state, explicit ?? 0, records, null, now);
      this.afterAppend([state.logs[result.partition]!]);
      return [result];
    }
    // Spread by partition; measure every share before writing any, so a bad record writes nothing.
    const shares = new Map<number, number[]>();
    let keyless = false;
    for (let i = 0; i < records.length; i++) {
      const rec = records[i]!;
      if (rec.key == null && rec.partition === undefined) keyless = true;
      const p = this.partitionOf(state, rec, i);
      let share = shares.get(p);
      if (!share) shares.set(p, (share = []));
      share.push(i);
    }
    if (keyless) this.rotateKeyless(state);
    const order = [...shares.keys()].sort((a, b) => a - b);
    for (const p of order) {
      const bytes = this.encoder.measure(records, shares.get(p)!, now, state.config.maxRecordBytes);
      state.logs[p]!.checkBatchFits(bytes);
    }
    const results = order.map((p) => this.writeBatch(state, p, records, shares.get(p)!, now));
    this.afterAppend(order.map((p) => state.logs[p]!));
    return results;
  }

  private writeBatch(
    state: TopicState,
    partition: number,
    records: readonly AppendRecord[],
    indices: number[] | null,
    now: number,
  ): AppendResult {
    const log = state.logs[partition]!;
    const bytes = this.encoder.measure(records, indices, now, state.config.maxRecordBytes);
    const count = indices ? indices.length : records.length;
    const baseOffset = log.append(this.encoder, bytes, count);
    this.writeGeneration++;
    return { partition, baseOffset, lastOffset: baseOffset + count - 1 };
  }

  private afterAppend(logs: PartitionLog[]): void {
    if (this.options.durability !== 'always') return;
    try {
      injectedSyncFailure();
      for (const log of logs) {
        for (const segment of log.unsynced) segment.syncSync();
        log.unsynced.clear();
      }
    } catch (err) {
      throw this.poison(err);
    }
  }

  private checkPartition(state: TopicState, partition: unknown): number {
    return checkInteger('partition', partition, 0, state.logs.length - 1);
  }

  private partitionOf(state: TopicState, rec: AppendRecord, index: number): number {
    if (rec.partition !== undefined) {
      if (!Number.isInteger(rec.partition) || rec.partition < 0 || rec.partition >= state.logs.length) {
        throw invalidArgument(
          `Record ${index}: partition must be an integer from 0 to ${state.logs.length - 1}, got ${String(rec.partition)}.`,
        );
      }
      return rec.partition;
    }
    if (rec.key != null) return partitionForKey(keyBytes(rec.key), state.logs.length);
    return state.nextKeyless;
  }

  private rotateKeyless(state: TopicState): void {
    state.nextKeyless = (state.nextKeyless + 1) % state.logs.length;
  }

  // ---- durability -----------------------------------------------------------------------------

  /**
   * Resolves once everything appended before the call is on stable storage. Every call waits for
   * the first sync that starts after it; all calls waiting then share that one sync (group commit).
   */
  flush(): Promise<void> {
    try {
      this.checkOpen();
      if (this.poisoned) throw this.poisoned;
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.options.readOnly) return Promise.resolve();
    const generation = this.writeGeneration;
    if (generation <= this.syncedGeneration) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.flushWaiters.push({ generation, resolve, reject });
      if (!this.syncLoopRunning) {
        // Start on a microtask: writers woken together by the last sync append before it begins.
        this.syncLoopRunning = true;
        this.syncLoopDone = new Promise<void>((r) => queueMicrotask(r)).then(() => this.syncLoop());
      }
    });
  }

  /** Runs syncs back to back while flush() calls wait; each resolves the calls made before it began. */
  private async syncLoop(): Promise<void> {
    while (this.flushWaiters.length > 0) {
      const generation = this.writeGeneration;
      try {
        await this.runSync();
      } catch (err) {
        for (const w of this.flushWaiters.splice(0)) w.reject(err);
        break;
      }
      this.syncedGeneration = generation;
      const waiting = this.flushWaiters;
      this.flushWaiters = waiting.filter((w) => w.generation > generation);
      for (const w of waiting) if (w.generation <= generation) w.resolve();
    }
    this.syncLoopRunning = false; // in the same tick as the last check: a later flush starts a new loop
  }

  private async runSync(): Promise<void> {
    const { segments, points } = this.takeUnsynced();
    try {
      injectedSyncFailure();
      await Promise.all(segments.map((s) => s.sync()));
    } catch (err) {
      throw this.poison(err);
    }
    crashPoint('flush:after-sync');
    if (Date.now() - this.lastRecoveryWrite >= this.options.flushIntervalMs && !this.closed) {
      this.writeRecoveryPoints(points);
    }
  }

  /** Synchronous sync of everything (open after recovery, close). */
  private syncNow(writeRecovery: boolean): void {
    const { segments, points } = this.takeUnsynced();
    try {
      injectedSyncFailure();
      for (const s of segments) s.syncSync();
    } catch (err) {
      throw this.poison(err);
    }
    if (writeRecovery) this.writeRecoveryPoints(points);
  }

  /** Segments to sync and, captured before the sync, the recovery points it will make true. */
  private takeUnsynced(): { segments: Segment[]; points: RecoveryPoint[] } {
    const segments: Segment[] = [];
    const points: (RecoveryPoint & { source?: Segment })[] = [];
    for (const state of this.topicStates.values()) {
      for (const log of state.logs) {
        for (const s of log.unsynced) if (!s.released) segments.push(s);
        log.unsynced.clear();
        const active = log.active;
        points.push({
          topic: state.name,
          partition: log.partition,
          segment: active.baseOffset,
          position: active.size,
          offset: active.nextOffset,
          maxTimestamp: active.maxTimestamp,
          source: active,
        });
      }
    }
    return { segments, points };
  }

  private writeRecoveryPoints(points: (RecoveryPoint & { source?: Segment })[]): void {
    // A point names a position in a segment as it was when the sync began. If the segment was
    // rewritten (compaction) or deleted meanwhile, the position means nothing now: keep the old point.
    this.catalog.setRecoveryPoints(
      points
        .filter((p) => this.topicStates.has(p.topic) && !p.source?.released)
        .map(({ source: _source, ...point }) => point),
    );
    this.lastRecoveryWrite = Date.now();
  }

  private poison(err: unknown): LogStoreError {
    const cause = ioError(err, 'A sync (fdatasync) failed');
    this.poisoned = new LogStoreError(
      'LOGSTORE_IO',
      `${cause.message}. Records appended since the last successful flush may not be durable; this store accepts ` +
        'no more writes. Close it and open it again to recover.',
      { cause: err },
    );
    return this.poisoned;
  }

  // ---- reading --------------------------------------------------------------------------------

  reader(topic: string, options?: ReaderOptions): Reader {
    const state = this.topicState(topic);
    const o = options ?? {};
    checkKeys(o, ['partition', 'from', 'signal'], 'reader option');
    const partition = o.partition === undefined ? 0 : this.checkPartition(state, o.partition);
    const from = checkStartSpec(o.from ?? 'earliest');
    if (o.signal !== undefined && !(o.signal instanceof AbortSignal))
      throw invalidArgument('`signal` must be an AbortSignal.');
    const source = {
      follower: this.options.readOnly,
      log: () => {
        this.checkOpen();
        const current = this.topicStates.get(topic);
        if (current !== state) {
          throw new LogStoreError('LOGSTORE_TOPIC_NOT_FOUND', `Topic '${topic}' was deleted.`);
        }
        return state.logs[partition]!;
      },
    };
    const reader = new Reader(source, topic, partition, from, o.signal, (r) => this.readers.delete(r));
    this.readers.add(reader);
    return reader;
  }

  // ---- consumer groups ------------------------------------------------------------------------

  /** Joins `group` on `topic`; see Consumer for assignment and commit semantics. */
  consumer(topic: string, options: ConsumerOptions): Consumer {
    this.checkWritable();
    const o = checkConsumerOptions(options);
    this.topicState(topic);
    const key = `${o.group}\u0000${topic}`;
    let members = this.groupMembers.get(key);
    if (!members) this.groupMembers.set(key, (members = new GroupMembers(o.group, topic)));
    return new Consumer(this.consumerHost, topic, o, members);
  }

  /** Every group with committed offsets (or live members here), per topic. */
  groups(): GroupDescription[] {
    this.checkOpen();
    const byKey = new Map<string, GroupDescription>();
    const entry = (group: string, topic: string) => {
      const key = `${group}\u0000${topic}`;
      let d = byKey.get(key);
      if (!d) {
        d = { group, topic, members: this.groupMembers.get(key)?.members.length ?? 0, partitions: [] };
        byKey.set(key, d);
      }
      return d;
    };
    for (const c of this.catalog.allCommittedOffsets()) {
      const log = this.topicStates.get(c.topic)?.logs[c.partition];
      const endOffset = log
        ? this.options.readOnly
          ? (log.refresh(), log.endOffset)
          : log.endOffset
        : c.offset;
      entry(c.group, c.topic).partitions.push({
        partition: c.partition,
        offset: c.offset,
        committedAt: c.committedAt,
        endOffset,
        lag: Math.max(0, endOffset - c.offset),
      });
    }
    for (const m of this.groupMembers.values()) if (m.members.length > 0) entry(m.group, m.topic);
    return [...byKey.values()].sort((a, b) => (a.group + a.topic < b.group + b.topic ? -1 : 1));
  }

  /**
   * Sets `group`'s committed offsets on every partition of `topic` to 'earliest', 'latest', an
   * offset, or the first offset at a timestamp. Refused while the group has live members here.
   */
  resetGroup(group: string, topic: string, to: StartSpec): void {
    this.checkWritable();
    if (typeof group !== 'string' || group.length === 0)
      throw invalidArgument('resetGroup needs a group name.');
    const state = this.topicState(topic);
    const spec = checkStartSpec(to, 'to');
    if ((this.groupMembers.get(`${group}\u0000${topic}`)?.members.length ?? 0) > 0) {
      throw invalidArgument(
        `Group '${group}' has live consumers on '${topic}'; close them before resetting its offsets.`,
      );
    }
    const offsets = new Map<number, number>();
    for (const log of state.logs) {
      const offset = resolveStart(log, spec);
      if (offset < log.logStartOffset || offset > log.endOffset) {
        throw new LogStoreError(
          'LOGSTORE_OFFSET_OUT_OF_RANGE',
          `Offset ${offset} is outside ${topic}-${log.partition} (${log.logStartOffset} to ${log.endOffset}).`,
        );
      }
      offsets.set(log.partition, offset);
    }
    this.consumerHost.commitOffsets(group, topic, offsets);
  }

  /**
   * Runs `fn` in one SQLite transaction on the catalog database, so that an application's own
   * writes (to its own tables) and `consumer.commit()` calls made inside commit together or not
   * at all: an exactly-once local pipeline. Keep `fn` short and synchronous; do not touch the
   * tables logstore owns (meta, topics, partitions, segments, group_offsets).
   */
  transaction<T>(fn: (db: Database.Database) => T): T {
    this.checkWritable();
    return this.catalog.transaction(() => fn(this.catalog.db));
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  /** Syncs, records a clean shutdown and releases everything. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.flushTimer) clearInterval(this.flushTimer);
    if (this.cleanupTimer) clearInterval(this.cleanupTimer);
    for (const reader of [...this.readers]) reader.close();
    let failure: unknown;
    for (const members of this.groupMembers.values()) {
      for (const consumer of [...members.members]) await consumer.close().catch((err) => (failure ??= err));
    }
    this.closed = true; // no append or flush from here on
    if (!this.options.readOnly) {
      try {
        await this.syncLoopDone;
        if (!this.poisoned) {
          for (const state of this.topicStates.values()) for (const log of state.logs) log.saveIndexes();
          this.syncNow(false);
          crashPoint('close:after-sync');
          const { points } = this.takeUnsynced();
          this.catalog.transaction(() => {
            this.writeRecoveryPoints(points);
            this.catalog.setMeta('clean_shutdown', '1');
          });
        }
      } catch (err) {
        failure = err;
      }
    }
    for (const state of this.topicStates.values()) for (const log of state.logs) log.close();
    this.topicStates.clear();
    this.catalog.close();
    if (this.lockFd >= 0) {
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
    if (this.poisoned) throw this.poisoned;
  }
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

function lockedError(dir: string): LogStoreError {
  return new LogStoreError(
    'LOGSTORE_LOCKED',
    `Another writer (a process, or an open LogStore in this one) holds ${path.join(dir, LOCK_FILE)}. ` +
      'Close it first, or open with readOnly: true to follow it.',
  );
}

/** Creates the directory if needed and takes its LOCK (flock, non-blocking). */
function lockStore(dir: string): number {
  let fd: number;
  try {
    fs.mkdirSync(dir, { recursive: true });
    fd = fs.openSync(path.join(dir, LOCK_FILE), 'a');
  } catch (err) {
    throw ioError(err, `Cannot open ${path.join(dir, LOCK_FILE)}`);
  }
  try {
    fsExt.flockSync(fd, 'exnb');
  } catch (err) {
    fs.closeSync(fd);
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EAGAIN' || code === 'EWOULDBLOCK') throw lockedError(dir);
    throw ioError(err, `Cannot lock ${path.join(dir, LOCK_FILE)}`);
  }
  return fd;
}

function checkRecord(rec: unknown, index: number, config: ResolvedTopicConfig): void {
  if (rec === null || typeof rec !== 'object') {
    throw invalidArgument(
      `Record ${index} must be an object like { key, value, headers, timestamp }, got ${String(rec)}.`,
    );
  }
  if (config.cleanupPolicy === 'compact' && (rec as AppendRecord).key == null) {
    throw invalidArgument(
      `Record ${index} has no key; a compacted topic keeps the latest record per key, so every record needs one.`,
    );
  }
}

function keyBytes(key: Bytes): Uint8Array {
  if (typeof key === 'string') return Buffer.from(key, 'utf8');
  if (key instanceof Uint8Array) return key;
  throw invalidArgument(`A key must be a Buffer, Uint8Array, string or null, got ${typeof key}.`);
}
