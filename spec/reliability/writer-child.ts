/**
 * The one writer of the reliability suite, run as a child process by writer.ts:
 * `node writer-child.js '<WriterPlan as JSON>'`. It opens the store (creating the plan's topics),
 * does the plan's work — random steps chosen by a seeded PRNG, or a fixed script — then ends as
 * the plan says. Crash points come from the environment (LOGSTORE_CRASH_AT, LOGSTORE_FAIL_SYNC,
 * read by the library); `crashPatch` adds others by wrapping a library method in this process.
 *
 * It prints one line per fact the parent may rely on, *after* the fact is true:
 *
 *   open <ms> <clean 0|1> <bytesCut>  opened (recovered, if unclean)
 *   a <topic> <partition> <last>      append acknowledged: offsets up to <last> are in the log
 *   fs <ends>                         flush() called; <ends> as in records.ts (`t:0:12,c:0:7`)
 *   f <ends>                          flush() resolved: everything below <ends> is on stable storage
 *   snap <n> <ends>                   partition directories copied to <snapshotDir>/<n> (after a flush)
 *   ci <partition> <offset>           about to commit <offset> for group g on topic t
 *   cm <partition> <offset>           committed
 *   x <segments>                      compaction of a topic `c...` ran and rewrote <segments>
 *   dc / dd                           scratch topic d created (and appended to) / deleted
 *   cs <ends>                         close() called
 *   closed                            close() resolved: everything below the `cs` ends is durable
 *   err <step> <code> [<ms>]          a step failed (only with tolerateErrors, or at open; else exit 3);
 *                                     a failed open also gives the time it took
 *   bad <message>                     the store broke its contract (e.g. an unexpected offset); exit 4
 *   hs / hold <ms>                    holding a catalog write transaction (store.transaction) / done, after <ms>
 *   done                              the work is done (the record budget spent, or the script's end)
 *
 * Lines are written with fs.writeSync on fd 1, so a line the parent reads was printed before the
 * process died, never buffered past it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { LogStore, LogStoreError, type Consumer, type Durability } from '../../lib/index.js';
import { between, expectedRecord, formatEnds, isCompacted, prng, tp, type Ends } from './records.js';

/** Steps of the random work. */
export type Step =
  | 'append'
  | 'flush'
  | 'commit'
  | 'compact'
  | 'retention'
  | 'deleteTopic'
  | 'close'
  | 'yield'
  | 'sleep'
  | 'hold';

export interface TopicPlan {
  /** A name starting with `c` is a compacted topic (records.ts gives it repeating keys). */
  name: string;
  partitions: number;
  /** Relative weight of this topic among random appends. */
  weight: number;
  retentionBytes?: number;
  retentionMs?: number;
  segmentBytes?: number;
}

/** Random steps, weighted, until `maxRecords` records are appended (or forever). */
export interface RandomWork {
  kind: 'random';
  seed: number;
  weights: Partial<Record<Step, number>>;
  /** Records per append call: 1 to maxBatch. */
  maxBatch: number;
  maxRecords?: number;
  /** How long a `hold` step keeps its catalog transaction open: [min, max] ms. @default [100, 300] */
  holdMs?: [number, number];
}

/** One step of a script; appends write the content-derived records of records.ts. */
export type ScriptStep =
  /** `records` records to `topic` (partition 0 unless given), `perCall` per append call (default 1). */
  | { do: 'append'; topic: string; partition?: number; records: number; perCall?: number }
  | { do: 'flush' }
  /** cleanup() of every compacted topic; prints `x <segments rewritten>` for each. */
  | { do: 'compact' }
  /** cleanup() of every other topic. */
  | { do: 'retention' }
  /** close(), then open again. */
  | { do: 'close' }
  | { do: 'sleep'; ms: number };

export interface ScriptWork {
  kind: 'script';
  steps: ScriptStep[];
}

export interface WriterPlan {
  dir: string;
  durability: Durability;
  flushIntervalMs?: number;
  /** The store's segmentBytes (topics without their own use it). */
  segmentBytes: number;
  /** Topics to create if missing. */
  topics: TopicPlan[];
  work: RandomWork | ScriptWork;
  /**
   * After `done`: wait to be killed ('idle', the default), close the store and exit 0 ('close'),
   * or SIGKILL itself without closing ('kill': a crash right after the last acknowledgement).
   */
  end?: 'idle' | 'close' | 'kill';
  /** Copy the partition directories here (a numbered subdirectory) at open and after each flush. */
  snapshotDir?: string;
  /** With snapshotDir and durability 'always': also snapshot after every Nth append. */
  snapshotEveryAppends?: number;
  /** Print `err` and go on after a failed step, at most this many times (then `done`). */
  tolerateErrors?: number;
  /** Kill this process (SIGKILL) at the nth call of a library method, e.g. `Catalog.deleteSegments`. */
  crashPatch?: { target: string; nth: number };
}

const SCRATCH = 'd';

function out(line: string): void {
  const buf = Buffer.from(line + '\n');
  let done = 0;
  while (done < buf.length) {
    try {
      done += fs.writeSync(1, buf, done);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
    }
  }
}

function errorCode(err: unknown): string {
  if (err instanceof LogStoreError) return err.code;
  const e = err as Error | undefined;
  return `NOT_A_LOGSTORE_ERROR:${e?.name ?? typeof err}:${String(e?.message ?? err)
    .replace(/\s+/g, '_')
    .slice(0, 120)}`;
}

async function installCrashPatch(target: string, nth: number): Promise<void> {
  const [cls, method] = target.split('.') as [string, string];
  let calls = 0;
  const crashing = (original: (...args: unknown[]) => unknown) =>
    function (this: unknown, ...args: unknown[]) {
      if (++calls >= nth) process.kill(process.pid, 'SIGKILL');
      return original.apply(this, args);
    };
  if (cls === 'PartitionCatalog') {
    // The storage layer's view of the catalog is made per partition by PartitionTables.forPartition.
    const { PartitionTables } = await import('../../lib/catalog/partitions.js');
    const forPartition = PartitionTables.prototype.forPartition;
    PartitionTables.prototype.forPartition = function (
      this: unknown,
      ...args: Parameters<typeof forPartition>
    ) {
      const view = forPartition.apply(this, args) as unknown as Record<string, (...a: unknown[]) => unknown>;
      view[method] = crashing(view[method]!);
      return view as unknown as ReturnType<typeof forPartition>;
    };
    return;
  }
  const modules: Record<string, string> = {
    Catalog: '../../lib/catalog/catalog.js',
    Segment: '../../lib/storage/segment.js',
    PartitionLog: '../../lib/storage/partition-log.js',
  };
  const mod = (await import(modules[cls]!)) as Record<string, { prototype: Record<string, unknown> }>;
  const proto = mod[cls]!.prototype;
  proto[method] = crashing(proto[method] as (...args: unknown[]) => unknown);
}

/** Thrown by `open()`, carrying how long the failed LogStore.open took. */
class OpenFailed extends Error {
  constructor(
    readonly reason: unknown,
    readonly ms: number,
  ) {
    super('open failed');
  }
}

class Writer {
  private store!: LogStore;
  private consumer: Consumer | null = null;
  private readonly next: Ends = new Map();
  private readonly rand: () => number;
  private snapshots = 0;
  private appends = 0;
  appended = 0;
  errors = 0;

  constructor(private readonly plan: WriterPlan) {
    this.rand = prng(plan.work.kind === 'random' ? plan.work.seed : 1);
  }

  open(): void {
    const plan = this.plan;
    const t0 = performance.now();
    try {
      this.store = LogStore.open(plan.dir, {
        durability: plan.durability,
        flushIntervalMs: plan.flushIntervalMs ?? 1000,
        segmentBytes: plan.segmentBytes,
        cleanupIntervalMs: 0,
      });
    } catch (err) {
      throw new OpenFailed(err, performance.now() - t0);
    }
    const ms = performance.now() - t0;
    const r = this.store.recovery;
    out(`open ${ms.toFixed(3)} ${r.clean ? 1 : 0} ${r.bytesCut}`);
    const existing = new Set(this.store.topics().map((t) => t.name));
    for (const topic of plan.topics) {
      if (existing.has(topic.name)) continue;
      this.store.createTopic(topic.name, {
        partitions: topic.partitions,
        cleanupPolicy: isCompacted(topic.name) ? 'compact' : 'delete',
        ...(topic.retentionBytes !== undefined ? { retentionBytes: topic.retentionBytes } : {}),
        ...(topic.retentionMs !== undefined ? { retentionMs: topic.retentionMs } : {}),
        ...(topic.segmentBytes !== undefined ? { segmentBytes: topic.segmentBytes } : {}),
      });
    }
    this.syncNext();
    if (plan.work.kind === 'random' && (plan.work.weights.commit ?? 0) > 0) {
      this.consumer = this.store.consumer(plan.topics[0]!.name, { group: 'g', autoCommit: false });
    }
    if (plan.snapshotDir) this.snapshot();
  }

  /** The next offset of every partition, from the store (after open, or after a failed append). */
  private syncNext(): void {
    this.next.clear();
    for (const topic of this.plan.topics) {
      for (const d of this.store.describeTopic(topic.name).partitions) {
        this.next.set(tp(topic.name, d.partition), d.endOffset);
      }
    }
  }

  private ends(): Ends {
    return new Map(this.next);
  }

  private snapshot(): void {
    const dest = path.join(this.plan.snapshotDir!, String(++this.snapshots));
    fs.mkdirSync(dest, { recursive: true });
    for (const entry of fs.readdirSync(this.plan.dir, { withFileTypes: true })) {
      if (entry.isDirectory()) {
        fs.cpSync(path.join(this.plan.dir, entry.name), path.join(dest, entry.name), { recursive: true });
      }
    }
    out(`snap ${this.snapshots} ${formatEnds(this.ends())}`);
  }

  async run(): Promise<void> {
    const work = this.plan.work;
    if (work.kind === 'script') {
      for (const step of work.steps) if (!(await this.attempt(step.do, () => this.scripted(step)))) break;
    } else {
      const steps = Object.entries(work.weights).filter(([, w]) => (w ?? 0) > 0) as [Step, number][];
      const total = steps.reduce((s, [, w]) => s + w, 0);
      while (work.maxRecords === undefined || this.appended < work.maxRecords) {
        let r = this.rand() * total;
        let step: Step = steps[0]![0];
        for (const [s, w] of steps) {
          if ((r -= w) < 0) {
            step = s;
            break;
          }
        }
        if (!(await this.attempt(step, () => this.random(step, work.maxBatch)))) break;
      }
    }
    out('done');
    await this.end();
  }

  /** Runs one step; false when the errors tolerated are used up. */
  private async attempt(name: string, step: () => Promise<void> | void): Promise<boolean> {
    try {
      await step();
      return true;
    } catch (err) {
      out(`err ${name} ${errorCode(err)}`);
      if (this.plan.tolerateErrors === undefined) {
        process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
        process.exit(3);
      }
      if (++this.errors >= this.plan.tolerateErrors) return false;
      try {
        this.syncNext();
      } catch {
        // describeTopic failed too: keep the offsets we had
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
      return true;
    }
  }

  private async end(): Promise<void> {
    const end = this.plan.end ?? 'idle';
    if (end === 'kill') process.kill(process.pid, 'SIGKILL');
    if (end === 'close') {
      try {
        out(`cs ${formatEnds(this.ends())}`);
        await this.store.close();
        out('closed');
      } catch (err) {
        out(`err close ${errorCode(err)}`);
      }
      process.exit(0);
    }
    setInterval(() => undefined, 1000); // wait to be killed
  }

  private async scripted(step: ScriptStep): Promise<void> {
    switch (step.do) {
      case 'append': {
        const perCall = step.perCall ?? 1;
        for (let left = step.records; left > 0; left -= perCall) {
          this.append(step.topic, step.partition ?? 0, Math.min(perCall, left), false);
        }
        return;
      }
      case 'sleep':
        await new Promise((resolve) => setTimeout(resolve, step.ms));
        return;
      default:
        return this.common(step.do);
    }
  }

  private async random(step: Step, maxBatch: number): Promise<void> {
    switch (step) {
      case 'append': {
        const topic = this.pickTopic();
        const partition = between(this.rand, 0, topic.partitions - 1);
        const count = between(this.rand, 1, maxBatch);
        this.append(topic.name, partition, count, count === 1 && this.rand() < 0.5);
        return;
      }
      case 'commit': {
        const records = this.consumer!.read(between(this.rand, 1, 100));
        const last = records[records.length - 1];
        if (!last) return;
        out(`ci ${last.partition} ${last.offset + 1}`);
        this.consumer!.commit(last);
        out(`cm ${last.partition} ${last.offset + 1}`);
        return;
      }
      case 'deleteTopic':
        if (this.store.topics().some((t) => t.name === SCRATCH)) {
          this.store.deleteTopic(SCRATCH);
          out('dd');
        } else {
          this.store.createTopic(SCRATCH, { partitions: 1 });
          for (let i = 0; i < 20; i++) this.store.append(SCRATCH, expectedRecord(SCRATCH, 0, i));
          out('dc');
        }
        return;
      case 'yield':
        await new Promise((resolve) => setImmediate(resolve));
        return;
      case 'sleep':
        await new Promise((resolve) => setTimeout(resolve, between(this.rand, 1, 5)));
        return;
      case 'hold': {
        // An application transaction holding SQLite's write lock: followers must not wait for it.
        const [min, max] =
          this.plan.work.kind === 'random' ? (this.plan.work.holdMs ?? [100, 300]) : [100, 300];
        const ms = between(this.rand, min, max);
        out('hs');
        this.store.transaction((db) => {
          db.exec('CREATE TABLE IF NOT EXISTS app_hold (at INTEGER)');
          db.prepare('INSERT INTO app_hold VALUES (?)').run(Date.now());
          const until = Date.now() + ms;
          while (Date.now() < until) {
            // busy: the transaction stays open
          }
        });
        out(`hold ${ms}`);
        return;
      }
      default:
        return this.common(step);
    }
  }

  /** The steps a script and the random work share. */
  private async common(step: 'flush' | 'compact' | 'retention' | 'close'): Promise<void> {
    switch (step) {
      case 'flush': {
        const ends = formatEnds(this.ends());
        out(`fs ${ends}`);
        await this.store.flush();
        out(`f ${ends}`);
        if (this.plan.snapshotDir) this.snapshot();
        return;
      }
      case 'compact':
        for (const topic of this.plan.topics) {
          if (isCompacted(topic.name)) out(`x ${this.store.cleanup(topic.name).compactedSegments}`);
        }
        return;
      case 'retention':
        for (const topic of this.plan.topics) if (!isCompacted(topic.name)) this.store.cleanup(topic.name);
        return;
      case 'close':
        out(`cs ${formatEnds(this.ends())}`);
        await this.consumer?.close();
        await this.store.close();
        out('closed');
        this.open();
        return;
    }
  }

  private pickTopic(): TopicPlan {
    const topics = this.plan.topics;
    let r = this.rand() * topics.reduce((s, p) => s + p.weight, 0);
    for (const p of topics) if ((r -= p.weight) < 0) return p;
    return topics[0]!;
  }

  /** Appends the next `count` records of a partition in one call (`single`: as one record, not a list). */
  private append(topic: string, partition: number, count: number, single: boolean): void {
    const key = tp(topic, partition);
    const first = this.next.get(key)!;
    const records = Array.from({ length: count }, (_, i) => expectedRecord(topic, partition, first + i));
    const result = single
      ? this.store.append(topic, records[0]!, { partition })
      : this.store.append(topic, records, { partition })[0]!;
    if (
      result.partition !== partition ||
      result.baseOffset !== first ||
      result.lastOffset !== first + count - 1
    ) {
      out(`bad append to ${key} expected ${first}..${first + count - 1}, got ${JSON.stringify(result)}`);
      process.exit(4);
    }
    this.next.set(key, first + count);
    this.appended += count;
    out(`a ${topic} ${partition} ${first + count - 1}`);
    if (this.plan.snapshotEveryAppends && ++this.appends % this.plan.snapshotEveryAppends === 0)
      this.snapshot();
  }
}

async function main(): Promise<void> {
  const plan = JSON.parse(process.argv[2]!) as WriterPlan;
  if (plan.crashPatch) await installCrashPatch(plan.crashPatch.target, plan.crashPatch.nth);
  const writer = new Writer(plan);
  try {
    writer.open();
  } catch (err) {
    // Opening (or creating the topics) failed: with tolerateErrors that is an outcome to report
    // (a disk too full for the first segment, a store locked by another writer), otherwise a
    // failure of the run.
    const failed = err instanceof OpenFailed ? err : null;
    const cause = failed ? failed.reason : err;
    out(`err open ${errorCode(cause)}${failed ? ` ${failed.ms.toFixed(3)}` : ''}`);
    if (plan.tolerateErrors === undefined) {
      process.stderr.write(`${(cause as Error).stack ?? String(cause)}\n`);
      process.exit(3);
    }
    out('done');
    if (plan.end === 'close' || plan.end === 'kill') process.exit(0);
    setInterval(() => undefined, 1000);
    return;
  }
  await writer.run();
}

await main();
