/**
 * A reader: an independent position in one partition. `read(max)` returns what is there now and
 * never blocks; sync iteration yields what is there now and ends; `for await` is live: it waits
 * for new records (woken by the in-process append, or in a read-only follower by file-system
 * events of the writer's process, see store-watch.ts) until the reader is closed, the store
 * closes, or the AbortSignal fires, and closes the reader when the loop ends (as Node's fs.Dir and
 * abstract-level iterators do). While it waits, it keeps the process alive.
 *
 * Records returned are copies: they stay valid after later appends, rolls and deletions. With
 * `copy: false` their bytes are views instead (no copy per batch) into the reader's own read
 * buffers, or near the end of a segment into its mapping, valid until the reader's next read, seek
 * or close (view-lease.ts); after that a view reads either the same bytes or nothing (detached: a
 * buffer about to be read into again, or a mapping unmapped), never another record's.
 */
import path from 'node:path';
import { LogStoreError } from '../errors.js';
import { monotonicMs } from '../monotonic-clock.js';
import { checkKeys, invalidArgument } from '../options.js';
import type { LogRecord } from '../record.js';
import { newCursor, type Cursor } from '../storage/cursor-read.js';
import type { PartitionLog } from '../storage/partition-log.js';
import { checkSignal, keepProcessAlive, waitForData, type OnDone } from './data-wait.js';
import { watchStore, type StoreChange } from './store-watch.js';
import { ViewLease } from './view-lease.js';

export type StartSpec = 'earliest' | 'latest' | number | { timestamp: number };

export interface ReaderOptions {
  /** @default 0 */
  partition?: number;
  /** Where to start. @default 'earliest' */
  from?: StartSpec;
  /** Ends a live (`for await`) iteration when aborted. */
  signal?: AbortSignal;
  /**
   * `false`: records' key, value and header values are views into memory the reader reuses, not
   * copies, valid until this reader's next `read()`, `seek()` or `close()` (in a loop: until the
   * loop takes the next record). Copy what you keep longer. @default true
   */
  copy?: boolean;
}

/** `copy` as given to a reader or consumer: a boolean, true when absent. */
export function checkCopy(copy: unknown): boolean {
  if (copy === undefined) return true;
  if (typeof copy === 'boolean') return copy;
  throw invalidArgument(`Expected \`copy\` to be a boolean, got ${JSON.stringify(copy)}.`);
}

/** @internal How a reader reaches its partition log; throws when the topic or the store is gone. */
export interface LogSource {
  log(): PartitionLog;
  /** True in a read-only follower: new data is found by polling the files. */
  readonly follower: boolean;
}

/**
 * A waiting follower re-reads the catalog at most this often: a writer committing offsets
 * thousands of times a second wakes it on every commit, and most commits change nothing it reads.
 */
const CATALOG_LOOK_MS = 10;
const ITERATION_CHUNK = 1000;

export function checkStartSpec(spec: unknown, name = 'from'): StartSpec {
  if (spec === 'earliest' || spec === 'latest') return spec;
  if (typeof spec === 'number' && Number.isSafeInteger(spec) && spec >= 0) return spec;
  if (spec !== null && typeof spec === 'object') {
    const ts = (spec as { timestamp?: unknown }).timestamp;
    checkKeys(spec, ['timestamp'], `key in \`${name}\``);
    if (typeof ts === 'number' && Number.isSafeInteger(ts)) return { timestamp: ts };
  }
  throw invalidArgument(
    `Expected \`${name}\` to be 'earliest', 'latest', an offset >= 0 or { timestamp: ms }, got ${JSON.stringify(spec)}.`,
  );
}

/** @internal The offset a start spec names in `log` (throws OFFSET_OUT_OF_RANGE for an offset outside it). */
export function resolveStart(log: PartitionLog, spec: StartSpec): number {
  if (spec === 'earliest') return log.logStartOffset;
  if (spec === 'latest') return log.endOffset;
  if (typeof spec === 'number') return spec;
  return log.offsetForTimestamp(spec.timestamp);
}

export class Reader implements Iterable<LogRecord>, AsyncIterable<LogRecord> {
  /** What a zero-copy reader has lent out since its last read; null for a copying reader. */
  private readonly lease: ViewLease | null;
  private readonly cursor: Cursor;
  private closed = false;
  /** Pending waits, resolved by close(). */
  private readonly waiters = new Set<() => void>();
  private readonly signal: AbortSignal | undefined;
  /** When a follower's wait last re-read the catalog (see CATALOG_LOOK_MS). */
  private lastCatalogLook = -Infinity;

  /** @internal Created by `store.reader()`. */
  constructor(
    private readonly source: LogSource,
    readonly topic: string,
    readonly partition: number,
    from: StartSpec,
    signal: AbortSignal | undefined,
    private readonly onClose: (reader: Reader) => void,
    copy = true,
  ) {
    this.lease = copy ? null : new ViewLease();
    this.cursor = newCursor(this.lease);
    this.signal = signal;
    this.seek(from);
  }

  /** The offset of the next record this reader returns. */
  get position(): number {
    return this.cursor.offset;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Moves to 'earliest', 'latest', an offset (within the log) or the first record at or after a timestamp. */
  seek(spec: StartSpec): void {
    this.checkOpen();
    this.lease?.release();
    const log = this.source.log();
    if (this.source.follower) log.refresh();
    log.seek(this.cursor, resolveStart(log, checkStartSpec(spec)));
  }

  /** Up to `max` records from the position on; `[]` only when caught up. Never blocks. */
  read(max = ITERATION_CHUNK): LogRecord[] {
    this.checkOpen();
    if (!Number.isSafeInteger(max) || max < 1) {
      throw invalidArgument(`Expected \`max\` to be an integer >= 1, got ${JSON.stringify(max)}.`);
    }
    this.lease?.release(); // the previous read's views are no longer promised
    const log = this.source.log();
    const out: LogRecord[] = [];
    log.read(this.cursor, max, out);
    if (out.length === 0 && this.source.follower && log.refresh()) log.read(this.cursor, max, out);
    return out;
  }

  *[Symbol.iterator](): Iterator<LogRecord> {
    for (;;) {
      const records = this.read(ITERATION_CHUNK);
      if (records.length === 0) return;
      yield* records;
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<LogRecord> {
    this.checkOpen();
    try {
      while (!this.closed && !this.signal?.aborted) {
        const records = this.read(ITERATION_CHUNK);
        if (records.length > 0) {
          for (const record of records) {
            yield record;
            if (this.closed) return;
          }
          continue;
        }
        await this.waitForData();
      }
    } finally {
      this.close();
    }
  }

  /**
   * Resolves when `read()` may return records: at once if the log holds records past the
   * position, else at the next append (in a read-only follower: the next append or change of the
   * writer in the other process), or when the reader or the store closes, or `signal` aborts.
   * For reading several readers by hand, as `logstore tail` does; `for await` waits by itself.
   * While it waits, the process stays alive (as for a socket).
   */
  waitForRecords(signal?: AbortSignal): Promise<void> {
    this.checkOpen();
    return this.waitForData(checkSignal(signal));
  }

  /** Resolves when the log may have grown past the position, or on close/abort. */
  private waitForData(signal?: AbortSignal): Promise<void> {
    return waitForData(
      { waiters: this.waiters, closed: this.closed },
      [this.signal, signal],
      (done, onDone) => {
        let log: PartitionLog;
        try {
          log = this.source.log();
        } catch {
          return done(); // the store or topic is gone: the next read reports it
        }
        if (this.cursor.offset < log.endOffset) return done();
        if (this.source.follower) return this.followWriter(log, done, onDone);
        onDone(log.onNextAppend(done));
        keepProcessAlive(done, onDone);
      },
    );
  }

  /**
   * A follower's wait: woken by the store directory's file-system events and polls
   * (store-watch.ts). An append event costs a look at the active segment only; a catalog event
   * (a roll, retention, compaction, a poll) a catalog read, at most every CATALOG_LOOK_MS.
   */
  private followWriter(log: PartitionLog, done: () => void, onDone: OnDone): void {
    const watch = watchStore(path.dirname(log.dir));
    let deferred: NodeJS.Timeout | undefined;
    /** Looks for new records after `change`; true if it woke the waiter. */
    const look = (change: StoreChange): boolean => {
      if (change === 'catalog') {
        const wait = this.lastCatalogLook + CATALOG_LOOK_MS - monotonicMs();
        if (wait > 0) {
          deferred ??= setTimeout(() => {
            deferred = undefined;
            look('catalog');
          }, wait);
          return false;
        }
        this.lastCatalogLook = monotonicMs();
      }
      try {
        const grew = change === 'appended' ? log.catchUp() : log.refresh();
        if (!grew && this.cursor.offset >= log.endOffset) return false;
      } catch {
        // the next read reports it
      }
      done();
      return true;
    };
    onDone(() => {
      if (deferred) clearTimeout(deferred);
    });
    onDone(watch.subscribe(look));
    // What the writer did while nobody listened (since the read that found nothing; the events
    // of that time are gone): its appends to the active segment, else everything else, a roll
    // for one (a catalog look, at most every CATALOG_LOOK_MS).
    if (!look('appended')) look('catalog');
  }

  /** Ends a live iteration; further calls give LOGSTORE_CLOSED. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.cursor.segment = null;
    this.cursor.walker = null;
    this.cursor.window = null;
    this.lease?.close();
    for (const wake of [...this.waiters]) wake();
    this.onClose(this);
  }

  private checkOpen(): void {
    if (this.closed) {
      throw new LogStoreError(
        'LOGSTORE_CLOSED',
        `The reader of ${this.topic}-${this.partition} is closed; create a new one.`,
      );
    }
  }
}
