/**
 * When appended batches reach stable storage, and what is recorded once they have.
 *
 * `append` writes through the mapping, so a crash of the process loses nothing appended; a power
 * loss may lose what was not synced. `'always'` syncs before `append` returns; `'interval'`
 * every `flushIntervalMs` (and on `flush()`); `'none'` only on `flush()`/`close()`.
 *
 * Group commit: every `flush()` waits for the first sync that starts after it, and all calls
 * waiting then share that one sync. Syncs run one at a time, back to back while calls wait. A
 * sync is an msync of each segment written since the last one, or one syncfs of the store's
 * filesystem when there are many (storage/segment-sync.ts): no descriptor is needed either way.
 *
 * After a sync, the recovery points (per partition: the segment, position, offset and max
 * timestamp that sync made durable) are recorded in the catalog, at most every
 * `flushIntervalMs`: an open after a crash verifies only what follows them.
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

interface Waiter {
  generation: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** A recovery point, the segment it names, and the partition's producer state as of it. */
type PendingPoint = RecoveryPoint & {
  source: Segment;
  producers: PartitionLog['producers'];
  producerState: ReturnType<PartitionLog['producers']['unsaved']>;
};

export class Durability {
  /** Set when a sync failed: the error every later write gets. */
  poisoned: LogStoreError | null = null;
  /** Counts appends; a flush waits until a sync that began after its generation completes. */
  private writeGeneration = 0;
  private syncedGeneration = 0;
  private waiters: Waiter[] = [];
  private syncLoopRunning = false;
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

  /** Counts an append (for group commit). */
  noteWrite(): void {
    this.writeGeneration++;
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
    return new Promise((resolve, reject) => {
      this.waiters.push({ generation, resolve, reject });
      if (!this.syncLoopRunning) {
        // Start on a microtask: writers woken together by the last sync append before it begins.
        this.syncLoopRunning = true;
        this.syncLoopDone = new Promise<void>((r) => queueMicrotask(r)).then(() => this.syncLoop());
      }
    });
  }

  /** Runs syncs back to back while flush() calls wait; each resolves the calls made before it began. */
  private async syncLoop(): Promise<void> {
    while (this.waiters.length > 0) {
      const generation = this.writeGeneration;
      try {
        await this.runSync();
      } catch (err) {
        for (const w of this.waiters.splice(0)) w.reject(err);
        break;
      }
      this.syncedGeneration = generation;
      const waiting = this.waiters;
      this.waiters = waiting.filter((w) => w.generation > generation);
      for (const w of waiting) if (w.generation <= generation) w.resolve();
    }
    this.syncLoopRunning = false; // in the same tick as the last check: a later flush starts a new loop
  }

  private async runSync(): Promise<void> {
    const { segments, points } = this.takeUnsynced();
    try {
      injectedSyncFailure();
      await syncSegments(segments);
    } catch (err) {
      throw this.poison(err);
    }
    crashPoint('flush:after-sync');
    if (Date.now() - this.lastRecoveryWrite >= this.options.flushIntervalMs && !this.closing) {
      this.writeRecoveryPoints(points);
    }
  }

  /** Synchronous sync of everything; records the recovery points if asked (open after recovery). */
  syncNow(writeRecovery: boolean): void {
    const { segments, points } = this.takeUnsynced();
    try {
      injectedSyncFailure();
      syncSegmentsNow(segments);
    } catch (err) {
      throw this.poison(err);
    }
    if (writeRecovery) this.writeRecoveryPoints(points);
  }

  /** Segments to sync and, captured before the sync, the recovery points it will make true. */
  private takeUnsynced(): { segments: Segment[]; points: PendingPoint[] } {
    const segments: Segment[] = [];
    const points: PendingPoint[] = [];
    const now = Date.now();
    for (const state of this.topics()) {
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
          producers: log.producers,
          producerState: log.producers.unsaved(now),
        });
      }
    }
    return { segments, points };
  }

  private writeRecoveryPoints(points: PendingPoint[]): void {
    // A point names a position in a segment as it was when the sync began. If the segment was
    // rewritten (compaction) or deleted meanwhile, the position means nothing now: keep the old point.
    const open = new Set(this.topics().map((t) => t.name));
    const valid = points.filter((p) => open.has(p.topic) && !p.source.released);
    this.catalog.transaction(() => {
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
    for (const p of valid) if (p.producerState) p.producers.saved(p.producerState.version);
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
    const { points } = this.takeUnsynced();
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
