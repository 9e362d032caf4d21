/**
 * A reader: an independent position in one partition. `read(max)` returns what is there now and
 * never blocks; sync iteration yields what is there now and ends; `for await` is live: it waits
 * for new records (woken by the in-process append, or by a short poll in a read-only follower)
 * until the reader is closed, the store closes, or the AbortSignal fires, and closes the reader
 * when the loop ends (as Node's fs.Dir and abstract-level iterators do).
 *
 * Records returned are copies: they stay valid after later appends, rolls and deletions.
 */
import { LogStoreError } from '../errors.js';
import { checkKeys, invalidArgument } from '../options.js';
import type { LogRecord } from '../record.js';
import { newCursor, type PartitionLog } from '../storage/partition-log.js';

export type StartSpec = 'earliest' | 'latest' | number | { timestamp: number };

export interface ReaderOptions {
  /** @default 0 */
  partition?: number;
  /** Where to start. @default 'earliest' */
  from?: StartSpec;
  /** Ends a live (`for await`) iteration when aborted. */
  signal?: AbortSignal;
}

/** How a reader reaches its partition log; throws when the topic or the store is gone. */
export interface LogSource {
  log(): PartitionLog;
  /** True in a read-only follower: new data is found by polling the files. */
  readonly follower: boolean;
}

/** How often a follower's live iteration looks for new batches. */
export const FOLLOW_POLL_MS = 5;
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

/** The offset a start spec names in `log` (throws OFFSET_OUT_OF_RANGE for an offset outside it). */
export function resolveStart(log: PartitionLog, spec: StartSpec): number {
  if (spec === 'earliest') return log.logStartOffset;
  if (spec === 'latest') return log.endOffset;
  if (typeof spec === 'number') return spec;
  return log.offsetForTimestamp(spec.timestamp);
}

export class Reader implements Iterable<LogRecord>, AsyncIterable<LogRecord> {
  private readonly cursor = newCursor();
  private closed = false;
  private wakeWaiter: (() => void) | null = null;
  private readonly signal: AbortSignal | undefined;

  /** @internal Created by `store.reader()`. */
  constructor(
    private readonly source: LogSource,
    readonly topic: string,
    readonly partition: number,
    from: StartSpec,
    signal: AbortSignal | undefined,
    private readonly onClose: (reader: Reader) => void,
  ) {
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

  /** Resolves when the log may have grown past the position, or on close/abort. */
  private waitForData(): Promise<void> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      let cancel: (() => void) | undefined;
      const done = () => {
        if (timer) clearInterval(timer);
        cancel?.();
        this.signal?.removeEventListener('abort', done);
        this.wakeWaiter = null;
        resolve();
      };
      this.wakeWaiter = done;
      this.signal?.addEventListener('abort', done, { once: true });
      let log: PartitionLog;
      try {
        log = this.source.log();
      } catch {
        done(); // the store or topic is gone: the next read reports it
        return;
      }
      if (this.source.follower) {
        timer = setInterval(() => {
          try {
            if (log.refresh() || this.cursor.offset < log.endOffset) done();
          } catch {
            done();
          }
        }, FOLLOW_POLL_MS);
      } else {
        cancel = log.onNextAppend(done);
      }
    });
  }

  /** Ends a live iteration; further calls give LOGSTORE_CLOSED. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.cursor.segment = null;
    this.cursor.walker = null;
    this.wakeWaiter?.();
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
