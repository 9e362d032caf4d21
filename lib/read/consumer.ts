/**
 * A consumer: a member of a group reading the partitions of one topic assigned to it. Members of
 * the same group and topic in this process split the partitions with Kafka's range assignor
 * (partitions in order, members in join order, the first `partitions % members` members get one
 * more) and rebalance when a member joins or closes; a partition is never assigned to two members
 * at once. Positions start at the group's committed offset, or at the reset policy `from`
 * ('earliest' | 'latest') when there is none or it fell below the log start (retention).
 * While the store serves Kafka clients (`store.serve()`), consumers are instead members of the
 * listener's group coordinator, in the same groups as Kafka clients elsewhere; their partitions
 * then arrive with each generation (lib/kafka/local-member.ts).
 *
 * Committed offsets live in the catalog (one SQLite transaction per commit, synchronous=FULL),
 * so they survive a reopen and a crash. With `autoCommit`, offsets are committed every
 * `autoCommitIntervalMs`, on rebalance and on close, but only for records the application moved
 * past (the previous `read()`'s records, or the previous record of a `for await` loop), which is
 * at-least-once as with Kafka's enable.auto.commit.
 */
import { LogStoreError } from '../errors.js';
import { checkInteger, checkKeys, invalidArgument } from '../options.js';
import type { LogRecord } from '../record.js';
import { newCursor, type Cursor } from '../storage/cursor-read.js';
import type { PartitionLog } from '../storage/partition-log.js';
import { checkSignal, keepProcessAlive, waitForData } from './data-wait.js';
import type { GroupMembers } from './groups.js';
import { checkCopy } from './reader.js';
import { ViewLease } from './view-lease.js';

export type ResetPolicy = 'earliest' | 'latest';

export interface ConsumerOptions {
  /** The consumer group; members of one group share the work and the committed offsets. */
  group: string;
  /** Where to start a partition with no committed offset (and after retention passed it). @default 'earliest' */
  from?: ResetPolicy;
  /** @default true */
  autoCommit?: boolean;
  /** @default 5000 */
  autoCommitIntervalMs?: number;
  /** Ends a live (`for await`) iteration when aborted. */
  signal?: AbortSignal;
  /**
   * `false`: records' key, value and header values are views into memory the consumer reuses, not
   * copies, valid until this consumer's next `read()` or `close()` (in a loop: until the loop
   * takes the next record). Copy what you keep longer. @default true
   */
  copy?: boolean;
}

export interface PartitionLag {
  partition: number;
  /** Next offset the group will read after a restart; null if never committed. */
  committed: number | null;
  /** Next offset this consumer returns. */
  position: number;
  endOffset: number;
  /** endOffset - position: records not yet returned. */
  lag: number;
}

/** @internal What a consumer needs from the store (implemented there). */
export interface ConsumerHost {
  /** LOGSTORE_CLOSED once the store is closed. */
  checkStoreOpen(): void;
  logs(topic: string): PartitionLog[];
  committedOffsets(group: string, topic: string): Map<number, number>;
  commitOffsets(group: string, topic: string, offsets: Map<number, number>): void;
}

interface Assigned {
  log: PartitionLog;
  cursor: Cursor;
  /** Next offset after the records returned so far. */
  returned: number;
  /** Next offset after the records the application moved past. */
  movedPast: number;
  committed: number | null;
}

export class Consumer implements AsyncIterable<LogRecord> {
  readonly group: string;
  private readonly from: ResetPolicy;
  private readonly autoCommit: boolean;
  private readonly signal: AbortSignal | undefined;
  /** What a zero-copy consumer has lent out since its last read; null for a copying one. */
  private readonly lease: ViewLease | null;
  private readonly assigned = new Map<number, Assigned>();
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Pending waits, woken by a rebalance and by close(). */
  private readonly waiters = new Set<() => void>();
  private nextPartition = 0;
  /**
   * The partition whose cursor keeps the decompressed records of a batch it stopped inside, if
   * any. One per consumer, not one per partition: a fetch stops inside a batch of at most one
   * partition (the one that filled it), but over many fetches every partition could keep one, a
   * batch's worth of memory each. The others keep their place in the batch without its records:
   * resuming there decompresses the batch again.
   */
  private blockHolder: Assigned | null = null;
  /**
   * Set at close: the partitions it held then and where it stopped, so that `committed()` and
   * `lag()` still answer once a `for await` loop has ended (and closed it).
   */
  private final: { partition: number; log: PartitionLog; position: number }[] | null = null;

  /** @internal Created by `store.consumer()`. */
  constructor(
    private readonly host: ConsumerHost,
    readonly topic: string,
    options: ConsumerOptions,
    private readonly members: GroupMembers,
  ) {
    this.group = options.group;
    this.from = options.from ?? 'earliest';
    this.autoCommit = options.autoCommit ?? true;
    this.signal = options.signal;
    this.lease = options.copy === false ? new ViewLease() : null;
    if (this.autoCommit) {
      this.timer = setInterval(() => this.commitMovedPast(), options.autoCommitIntervalMs ?? 5000);
      this.timer.unref();
    }
    members.join(this);
  }

  /** The partitions assigned to this member now, in order. */
  get assignment(): number[] {
    return [...this.assigned.keys()].sort((a, b) => a - b);
  }

  /** @internal */
  partitionCount(): number {
    return this.host.logs(this.topic).length;
  }

  /** @internal Gives up partitions not in `keep` (committing what was moved past, with autoCommit). */
  revokeAllBut(keep: number[]): void {
    const lost = [...this.assigned.keys()].filter((p) => !keep.includes(p));
    if (lost.length === 0) return;
    if (this.autoCommit && !this.closed) this.commitMovedPast(lost);
    for (const p of lost) this.assigned.delete(p);
    this.wake();
  }

  /** @internal Takes partitions, starting at the group's committed offsets. */
  assign(partitions: number[]): void {
    const fresh = partitions.filter((p) => !this.assigned.has(p));
    if (fresh.length === 0) return;
    const logs = this.host.logs(this.topic);
    const committed = this.host.committedOffsets(this.group, this.topic);
    for (const p of fresh) {
      const log = logs[p]!;
      const cursor = newCursor(this.lease);
      const c = committed.get(p) ?? null;
      log.seek(cursor, this.startOffset(log, c));
      this.assigned.set(p, { log, cursor, returned: cursor.offset, movedPast: cursor.offset, committed: c });
    }
    this.wake();
  }

  /** Where to read a partition from: the committed offset if it is still in the log, else `from`. */
  private startOffset(log: PartitionLog, committed: number | null): number {
    if (committed !== null && committed >= log.logStartOffset && committed <= log.endOffset) return committed;
    return this.from === 'earliest' ? log.logStartOffset : log.endOffset;
  }

  /** Up to `max` records from the assigned partitions (what is there now). Never blocks. */
  read(max = 1000): LogRecord[] {
    this.checkOpen();
    if (!Number.isSafeInteger(max) || max < 1) {
      throw invalidArgument(`Expected \`max\` to be an integer >= 1, got ${JSON.stringify(max)}.`);
    }
    for (const a of this.assigned.values()) a.movedPast = a.returned;
    const records = this.fetch(max);
    for (const a of this.assigned.values()) a.returned = a.cursor.offset;
    return records;
  }

  private fetch(max: number): LogRecord[] {
    this.lease?.release(); // the previous fetch's views are no longer promised
    const out: LogRecord[] = [];
    const partitions = this.assignment;
    let last: Assigned | null = null;
    for (let k = 0; k < partitions.length && out.length < max; k++) {
      const p = partitions[(this.nextPartition + k) % partitions.length]!;
      const a = this.assigned.get(p)!;
      last = a;
      try {
        a.log.read(a.cursor, max - out.length, out);
      } catch (err) {
        if (!(err instanceof LogStoreError) || err.code !== 'LOGSTORE_OFFSET_OUT_OF_RANGE') throw err;
        // Retention passed our position: follow the reset policy, as Kafka's auto.offset.reset.
        a.log.seek(a.cursor, this.from === 'earliest' ? a.log.logStartOffset : a.log.endOffset);
        a.log.read(a.cursor, max - out.length, out);
      }
    }
    this.nextPartition++;
    this.keepOneBlock(last);
    return out;
  }

  /** `last` (the partition the fetch ended on) may keep its batch's records; the holder before it not. */
  private keepOneBlock(last: Assigned | null): void {
    const held = this.blockHolder;
    if (held !== null && held !== last) held.cursor.place.block = null;
    this.blockHolder = last !== null && last.cursor.place.block !== null ? last : null;
  }

  /**
   * Live: yields records as they are appended, until the consumer or the store closes or the
   * signal aborts. The loop's end closes the consumer (with autoCommit, committing what the loop
   * moved past) and leaves the group, as kafkajs's `consumer.stop()` does; `committed()` and
   * `lag()` still answer afterwards. To read again, create a new consumer.
   */
  async *[Symbol.asyncIterator](): AsyncIterator<LogRecord> {
    this.checkOpen();
    try {
      while (!this.closed && !this.signal?.aborted) {
        const records = this.fetch(1000);
        if (records.length === 0) {
          await this.waitForData();
          continue;
        }
        for (const rec of records) {
          const a = this.assigned.get(rec.partition);
          if (!a) continue; // revoked meanwhile: another member reads it from the committed offset
          a.returned = rec.offset + 1;
          yield rec;
          if (this.closed) return;
          a.movedPast = Math.max(a.movedPast, rec.offset + 1);
        }
      }
    } finally {
      await this.close();
    }
  }

  /**
   * Resolves when `read()` may return records: at once if an assigned partition holds records
   * past this consumer's position, else at the next append to one, at a rebalance, when the
   * consumer or the store closes, or when `signal` aborts. For a `read()` loop that waits between
   * calls; `for await` waits by itself. While it waits, the process stays alive.
   */
  waitForRecords(signal?: AbortSignal): Promise<void> {
    this.checkOpen();
    return this.waitForData(checkSignal(signal));
  }

  private waitForData(signal?: AbortSignal): Promise<void> {
    return waitForData(
      { waiters: this.waiters, closed: this.closed },
      [this.signal, signal],
      (done, onDone) => {
        for (const a of this.assigned.values()) {
          if (a.cursor.offset < a.log.endOffset) return done();
          onDone(a.log.onNextAppend(done));
        }
        keepProcessAlive(done, onDone);
      },
    );
  }

  private wake(): void {
    for (const wake of [...this.waiters]) wake();
  }

  /**
   * Commits offsets now: `commit(rec)` stores `rec.offset + 1` for its partition; `commit()`
   * stores the position after everything returned so far, for every assigned partition.
   */
  commit(record?: LogRecord): void {
    this.checkOpen();
    const offsets = new Map<number, number>();
    if (record !== undefined) {
      if (record === null || typeof record !== 'object' || record.topic !== this.topic) {
        throw invalidArgument(
          `commit(record) takes a record of topic '${this.topic}' returned by this consumer.`,
        );
      }
      checkInteger('record.offset', record.offset, 0);
      offsets.set(record.partition, record.offset + 1);
    } else {
      for (const [p, a] of this.assigned) offsets.set(p, a.returned);
    }
    this.store(offsets);
  }

  private commitMovedPast(only?: number[]): void {
    const offsets = new Map<number, number>();
    for (const [p, a] of this.assigned) {
      if (only && !only.includes(p)) continue;
      if (a.committed === null || a.movedPast > a.committed) offsets.set(p, a.movedPast);
    }
    if (offsets.size > 0) this.store(offsets);
  }

  private store(offsets: Map<number, number>): void {
    this.host.commitOffsets(this.group, this.topic, offsets);
    for (const [p, offset] of offsets) {
      const a = this.assigned.get(p);
      if (a) a.committed = offset;
    }
  }

  /**
   * The group's committed offset for each assigned partition (null if none). After close (and
   * so after a `for await` loop ended): for the partitions it held when it closed.
   */
  committed(): { partition: number; offset: number | null }[] {
    this.host.checkStoreOpen();
    const stored = this.host.committedOffsets(this.group, this.topic);
    return this.positions().map(({ partition }) => ({ partition, offset: stored.get(partition) ?? null }));
  }

  /**
   * Per assigned partition: committed, position, end offset and lag (end - position). After
   * close (and so after a `for await` loop ended): for the partitions it held when it closed,
   * `position` being where it stopped.
   */
  lag(): PartitionLag[] {
    this.host.checkStoreOpen();
    const stored = this.host.committedOffsets(this.group, this.topic);
    return this.positions().map(({ partition, log, position }) => {
      const endOffset = log.endOffset;
      return {
        partition,
        committed: stored.get(partition) ?? null,
        position,
        endOffset,
        lag: endOffset - position,
      };
    });
  }

  /** The partitions held (now, or when it closed) with their logs and positions, in order. */
  private positions(): { partition: number; log: PartitionLog; position: number }[] {
    if (this.final !== null) return this.final;
    return this.assignment.map((partition) => {
      const a = this.assigned.get(partition)!;
      // What was returned, not the cursor: a `for await` loop reads ahead of what it yielded.
      return { partition, log: a.log, position: a.returned };
    });
  }

  /** Commits what was moved past (with autoCommit), leaves the group, and ends live iteration. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.timer) clearInterval(this.timer);
    let failure: unknown;
    if (this.autoCommit) {
      try {
        this.commitMovedPast();
      } catch (err) {
        failure = err; // still leave the group, then report
      }
    }
    this.final = this.positions();
    this.closed = true;
    this.assigned.clear();
    this.lease?.close();
    this.members.leave(this);
    this.wake();
    if (failure) throw failure;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private checkOpen(): void {
    if (this.closed) {
      throw new LogStoreError(
        'LOGSTORE_CLOSED',
        `The consumer of group '${this.group}' on '${this.topic}' is closed (by close(), the store's ` +
          'close, or the end of its for await loop); create a new consumer to read again.',
      );
    }
  }
}

export function checkConsumerOptions(options: unknown): ConsumerOptions {
  if (options === null || typeof options !== 'object') {
    throw invalidArgument('store.consumer(topic, options) needs options with at least { group }.');
  }
  const o = options as Record<string, unknown>;
  checkKeys(o, ['group', 'from', 'autoCommit', 'autoCommitIntervalMs', 'signal', 'copy'], 'consumer option');
  checkCopy(o.copy);
  if (typeof o.group !== 'string' || o.group.length === 0 || o.group.length > 255) {
    throw invalidArgument(
      `Expected \`group\` to be a non-empty string of at most 255 characters, got ${JSON.stringify(o.group)}.`,
    );
  }
  if (o.from !== undefined && o.from !== 'earliest' && o.from !== 'latest') {
    throw invalidArgument(
      `Expected \`from\` (the reset policy) to be 'earliest' or 'latest', got ${JSON.stringify(o.from)}.`,
    );
  }
  if (o.autoCommit !== undefined && typeof o.autoCommit !== 'boolean') {
    throw invalidArgument(`Expected \`autoCommit\` to be a boolean, got ${JSON.stringify(o.autoCommit)}.`);
  }
  if (o.autoCommitIntervalMs !== undefined) checkInteger('autoCommitIntervalMs', o.autoCommitIntervalMs, 1);
  checkSignal(o.signal);
  return o as unknown as ConsumerOptions;
}
