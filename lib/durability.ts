/**
 * When appended batches reach stable storage, and what is recorded once they have.
 *
 * `append` writes through the mapping, so a crash of the process loses nothing appended; a power
 * loss may lose what was not synced. `'always'` syncs before `append` returns; `'interval'`
 * every `flushIntervalMs` (and on `flush()`); `'none'` only on `flush()`/`close()`.
 *
 * Group commit: every `flush()` waits for the first sync that starts after it, and all calls
 * waiting then share that one sync (one promise). Syncs run one at a time, back to back while
 * calls wait. A sync is an msync of each segment written since the last one, or one syncfs of the
 * store's filesystem when there are many (storage/segment-sync.ts): no descriptor is needed
 * either way. A sync looks only at the partitions written since the last one (a store of
 * thousands of partitions pays for the ones it writes).
 *
 * After a sync, the recovery points (per partition: the segment, position, offset and max
 * timestamp that sync made durable) are recorded in the catalog, at most every
 * `flushIntervalMs`, for every partition a sync covered since the last record: an open after a
 * crash verifies only what follows them. That record is not synced itself (it reaches the disk
 * with the catalog's next synced write): losing it costs a longer verification, never data.
 *
 * A failed sync poisons the writer: nothing is acknowledged after it (every later write and
 * flush gets the same LOGSTORE_IO) until the store is reopened and recovers.
 */
import type { Catalog, RecoveryPoint } from './catalog/catalog.js';
import { ioError, LogStoreError } from './errors.js';
import type { ResolvedStoreOptions } from './options.js';
import { crashPoint, injectedSyncFailure } from './storage/faults.js';
import type { PartitionLog } from './storage/partition-log.js';
import type { Segment } from './storage/segment.js';
import { syncSegments, syncSegmentsNow } from './storage/segment-sync.js';
import type { TopicState } from './topics.js';

/** One sync that flush() calls wait for, shared by all of them. */
interface SharedSync {
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

function sharedSync(): SharedSync {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A recovery point, its partition, the segment it names, and the partition's producer state as of it. */
type PendingPoint = RecoveryPoint & {
  log: PartitionLog;
  source: Segment;
  producerState: ReturnType<PartitionLog['producers']['unsaved']>;
};

export class Durability {
  /** Set when a sync failed: the error every later write gets. */
  poisoned: LogStoreError | null = null;
  /** Counts appends; a flush waits until a sync that began after its generation completes. */
  private writeGeneration = 0;
  private syncedGeneration = 0;
  /** The sync running now and the generation it began at (what it makes durable). */
  private running: SharedSync | null = null;
  private runningGeneration = 0;
  /** The sync that starts after the running one, if any flush() waits for it. */
  private next: SharedSync | null = null;
  private syncLoopRunning = false;
  /** Partitions written since the last sync began. */
  private dirty = new Set<PartitionLog>();
  /** Per partition, the latest recovery point a completed sync made true, not yet recorded. */
  private durablePoints = new Map<PartitionLog, PendingPoint>();
  /** The last sync loop (close waits for it). */
  private syncLoopDone: Promise<void> | null = null;
  private lastRecoveryWrite = 0;
  private timer: NodeJS.Timeout | null = null;
  private closing = false;

  constructor(
    private readonly options: ResolvedStoreOptions,
    private readonly catalog: Catalog,
    private readonly topics: () => TopicState[],
  ) {}

  /** Starts the interval flush (never keeps the process alive). */
  start(): void {
    if (this.options.durability === 'none') return;
    this.timer = setInterval(() => {
      this.flush().catch(() => {
        // The failure poisons the writer; the next append or flush reports it.
      });
    }, this.options.flushIntervalMs);
    this.timer.unref();
  }

  /** Counts an append to `log` (for group commit, and so that the next sync looks at `log`). */
  noteWrite(log: PartitionLog): void {
    this.writeGeneration++;
    this.dirty.add(log);
  }

  /** afterAppend of one partition (no array: it runs for every single-record append). */
  afterAppendTo(log: PartitionLog): void {
    if (this.options.durability === 'always') this.afterAppend([log]);
  }

  /** In `'always'` mode, syncs what `logs` just got before the append returns. */
  afterAppend(logs: readonly PartitionLog[]): void {
    if (this.options.durability !== 'always') return;
    try {
      injectedSyncFailure();
      const segments: Segment[] = [];
      for (const log of logs) {
        for (const segment of log.unsynced) segments.push(segment);
        log.unsynced.clear();
      }
      syncSegmentsNow(segments);
    } catch (err) {
      throw this.poison(err);
    }
  }

  /**
   * Resolves once everything appended before the call is on stable storage. Every call waits for
   * the first sync that starts after it; all calls waiting then share that one sync.
   */
  flush(): Promise<void> {
    if (this.poisoned) return Promise.reject(this.poisoned);
    const generation = this.writeGeneration;
    if (generation <= this.syncedGeneration) return Promise.resolve();
    // Nothing appended since the running sync began: that sync covers this call.
    if (this.running && generation <= this.runningGeneration) return this.running.promise;
    this.next ??= sharedSync();
    if (!this.syncLoopRunning) {
      // Start on a microtask: writers woken together by the last sync append before it begins.
      this.syncLoopRunning = true;
      this.syncLoopDone = new Promise<void>((r) => queueMicrotask(r)).then(() => this.syncLoop());
    }
    return this.next.promise;
  }

  /** Runs syncs back to back while flush() calls wait; each resolves the calls made before it began. */
  private async syncLoop(): Promise<void> {
    while (this.next) {
      const sync = (this.running = this.next);
      this.next = null;
      const generation = (this.runningGeneration = this.writeGeneration);
      try {
        await this.runSync();
      } catch (err) {
        // Calls made during the failed sync get its error too (the writer is poisoned).
        const later = this.takeNext();
        this.running = null;
        sync.reject(err);
        later?.reject(err);
        break;
      }
      this.running = null;
      this.syncedGeneration = generation;
      sync.resolve();
    }
    this.syncLoopRunning = false; // in the same tick as the last check: a later flush starts a new loop
  }

  private takeNext(): SharedSync | null {
    const next = this.next;
    this.next = null;
    return next;
  }

  private async runSync(): Promise<void> {
    const { segments, points } = this.takeDirty();
    try {
      injectedSyncFailure();
      await syncSegments(segments);
    } catch (err) {
      throw this.poison(err);
    }
    crashPoint('flush:after-sync');
    for (const p of points) this.durablePoints.set(p.log, p);
    if (Date.now() - this.lastRecoveryWrite >= this.options.flushIntervalMs && !this.closing) {
      const durable = [...this.durablePoints.values()];
      this.durablePoints.clear();
      this.writeRecoveryPoints(durable);
    }
  }

  /** Synchronous sync of everything; records the recovery points if asked (open after recovery). */
  syncNow(writeRecovery: boolean): void {
    const { segments, points } = this.takeUnsynced(this.allLogs());
    this.dirty.clear();
    try {
      injectedSyncFailure();
      syncSegmentsNow(segments);
    } catch (err) {
      throw this.poison(err);
    }
    if (writeRecovery) {
      this.durablePoints.clear(); // older than these
      this.writeRecoveryPoints(points);
    }
  }

  /** Every partition of every open topic. */
  private allLogs(): PartitionLog[] {
    const logs: PartitionLog[] = [];
    for (const state of this.topics()) logs.push(...state.logs);
    return logs;
  }

  /** takeUnsynced of the partitions written since the last sync began. */
  private takeDirty(): { segments: Segment[]; points: PendingPoint[] } {
    const dirty = this.dirty;
    this.dirty = new Set();
    return this.takeUnsynced(dirty);
  }

  /**
   * Segments of `logs` to sync and, captured before the sync, the recovery points it will make
   * true. The partitions `logs` leaves out are none of the sync's business.
   */
  private takeUnsynced(logs: Iterable<PartitionLog>): { segments: Segment[]; points: PendingPoint[] } {
    const segments: Segment[] = [];
    const points: PendingPoint[] = [];
    const now = Date.now();
    for (const log of logs) {
      for (const s of log.unsynced) if (!s.released) segments.push(s);
      log.unsynced.clear();
      const active = log.active;
      points.push({
        topic: log.topic,
        partition: log.partition,
        segment: active.baseOffset,
        position: active.size,
        offset: active.nextOffset,
        maxTimestamp: active.maxTimestamp,
        log,
        source: active,
        producerState: log.producers.unsaved(now),
      });
    }
    return { segments, points };
  }

  private writeRecoveryPoints(points: PendingPoint[]): void {
    // A point names a position in a segment as it was when the sync began. If the segment was
    // rewritten (compaction) or deleted meanwhile, the position means nothing now: keep the old point.
    const open = new Set(this.topics().map((t) => t.name));
    const valid = points.filter((p) => open.has(p.topic) && !p.source.released);
    // Not synced: the data they point past is, and a point lost to a power loss only means an open
    // verifies from the one before it.
    this.catalog.unsyncedTransaction(() => {
      this.catalog.setRecoveryPoints(
        valid.map(({ topic, partition, segment, position, offset, maxTimestamp }) => ({
          topic,
          partition,
          segment,
          position,
          offset,
          maxTimestamp,
        })),
      );
      // Producer state as of each point: an open replays the batches after the point onto it.
      for (const p of valid) {
        if (p.producerState) this.catalog.producers.saveStates(p.topic, p.partition, p.producerState.rows);
      }
    });
    for (const p of valid) if (p.producerState) p.log.producers.saved(p.producerState.version);
    this.lastRecoveryWrite = Date.now();
  }

  /**
   * The end of a clean close: waits for a running sync, syncs the rest, and records exact
   * recovery points together with the clean-shutdown mark (one transaction).
   */
  async closeCleanly(): Promise<void> {
    this.closing = true;
    if (this.timer) clearInterval(this.timer);
    await this.syncLoopDone;
    if (this.poisoned) return;
    for (const state of this.topics()) for (const log of state.logs) log.saveIndexes();
    this.syncNow(false);
    crashPoint('close:after-sync');
    this.durablePoints.clear();
    const { points } = this.takeUnsynced(this.allLogs());
    this.catalog.transaction(() => {
      this.writeRecoveryPoints(points);
      this.catalog.setMeta('clean_shutdown', '1');
    });
  }

  /** Stops the timer without syncing (a read-only store, or a close after a failure). */
  stop(): void {
    this.closing = true;
    if (this.timer) clearInterval(this.timer);
  }

  private poison(err: unknown): LogStoreError {
    const cause = ioError(err, 'A sync (msync, fdatasync or syncfs) failed');
    this.poisoned = new LogStoreError(
      'LOGSTORE_IO',
      `${cause.message}. Records appended since the last successful flush may not be durable; this store accepts ` +
        'no more writes. Close it and open it again to recover.',
      { cause: err },
    );
    return this.poisoned;
  }
}
