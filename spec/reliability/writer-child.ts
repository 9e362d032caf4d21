/**
 * The writer of the reliability suite, run as a child process: `node writer-child.js '<json>'`
 * with a WriterConfig. It opens the store, then runs random steps (appends of content-derived
 * records, flushes, consumer commits, compaction, topic deletion, close and reopen) chosen by a
 * seeded PRNG, and prints one line per fact the parent may rely on, *after* the fact is true:
 *
 *   open <ms> <clean 0|1> <bytesCut>  opened (recovered, if unclean)
 *   a <topic> <partition> <last>      append acknowledged: offsets up to <last> are in the log
 *   fs <ends>                         flush() called; <ends> as in records.ts (`t:0:12,c:0:7`)
 *   f <ends>                          flush() resolved: everything below <ends> is on stable storage
 *   snap <n> <ends>                   partition directories copied to <snapshotDir>/<n> (after a flush)
 *   ci <partition> <offset>           about to commit <offset> for group g on topic t
 *   cm <partition> <offset>           committed
 *   x <segments>                      compaction of topic c ran
 *   dc / dd                           scratch topic d created (and appended to) / deleted
 *   cs <ends>                         close() called
 *   closed                            close() resolved: everything below the `cs` ends is durable
 *   err <step> <code>                 a step failed (only with tolerateErrors; else exit 3)
 *   bad <message>                     the store broke its contract (e.g. an unexpected offset); exit 4
 *   hs / hold <ms>                    holding a catalog write transaction (store.transaction) / done, after <ms>
 *   done                              the record budget is spent
 *
 * Lines are written with fs.writeSync on fd 1, so a line the parent reads was printed before the
 * process died, never buffered past it. Crash points (LOGSTORE_CRASH_AT) come from the
 * environment; `crashPatch` adds others by wrapping a method of a library class in this process.
 */
import fs from 'node:fs';
import path from 'node:path';
import { LogStore, LogStoreError, type Consumer, type Durability } from '../../lib/index.js';
import { between, expectedRecord, formatEnds, prng, tp, type Ends } from './records.js';

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
  name: string;
  partitions: number;
  /** Relative weight of this topic among appends. */
  weight: number;
  retentionBytes?: number;
  segmentBytes?: number;
}

export interface WriterConfig {
  dir: string;
  durability: Durability;
  flushIntervalMs?: number;
  /** The store's segmentBytes (topics without their own use it). */
  segmentBytes: number;
  seed: number;
  /** Topics to create if missing; a name starting with `c` is a compacted topic. */
  topics: TopicPlan[];
  /** Relative weights of the steps. */
  weights: Partial<Record<Step, number>>;
  /** Records per append call: 1 to maxBatch. */
  maxBatch: number;
  /** Stop stepping after this many records, print `done`, then idle (or close and exit). */
  maxRecords?: number;
  exitWhenDone?: boolean;
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
  const modules: Record<string, string> = {
    Catalog: '../../lib/catalog/catalog.js',
    Segment: '../../lib/storage/segment.js',
    PartitionLog: '../../lib/storage/partition-log.js',
  };
  const mod = (await import(modules[cls]!)) as Record<string, { prototype: Record<string, unknown> }>;
  const proto = mod[cls]!.prototype;
  const original = proto[method] as (...args: unknown[]) => unknown;
  let calls = 0;
  proto[method] = function (this: unknown, ...args: unknown[]) {
    if (++calls >= nth) process.kill(process.pid, 'SIGKILL');
    return original.apply(this, args);
  };
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

  constructor(private readonly cfg: WriterConfig) {
    this.rand = prng(cfg.seed);
  }

  open(): void {
    const cfg = this.cfg;
    const t0 = performance.now();
    this.store = LogStore.open(cfg.dir, {
      durability: cfg.durability,
      flushIntervalMs: cfg.flushIntervalMs ?? 1000,
      segmentBytes: cfg.segmentBytes,
      cleanupIntervalMs: 0,
    });
    const ms = performance.now() - t0;
    const r = this.store.recovery;
    out(`open ${ms.toFixed(3)} ${r.clean ? 1 : 0} ${r.bytesCut}`);
    const existing = new Set(this.store.topics().map((t) => t.name));
    for (const plan of cfg.topics) {
      if (existing.has(plan.name)) continue;
      this.store.createTopic(plan.name, {
        partitions: plan.partitions,
        cleanupPolicy: plan.name.startsWith('c') ? 'compact' : 'delete',
        ...(plan.retentionBytes !== undefined ? { retentionBytes: plan.retentionBytes } : {}),
        ...(plan.segmentBytes !== undefined ? { segmentBytes: plan.segmentBytes } : {}),
      });
    }
    this.syncNext();
    if ((cfg.weights.commit ?? 0) > 0) {
      this.consumer = this.store.consumer(cfg.topics[0]!.name, { group: 'g', autoCommit: false });
    }
    if (cfg.snapshotDir) this.snapshot();
  }

  /** The next offset of every partition, from the store (after open, or after a failed append). */
  private syncNext(): void {
    this.next.clear();
    for (const plan of this.cfg.topics) {
      for (const d of this.store.describeTopic(plan.name).partitions) {
        this.next.set(tp(plan.name, d.partition), d.endOffset);
      }
    }
  }

  private ends(): Ends {
    return new Map(this.next);
  }

  private snapshot(): void {
    const dest = path.join(this.cfg.snapshotDir!, String(++this.snapshots));
    fs.mkdirSync(dest, { recursive: true });
    for (const entry of fs.readdirSync(this.cfg.dir, { withFileTypes: true })) {
      if (entry.isDirectory()) {
        fs.cpSync(path.join(this.cfg.dir, entry.name), path.join(dest, entry.name), { recursive: true });
      }
    }
    out(`snap ${this.snapshots} ${formatEnds(this.ends())}`);
  }

  async run(): Promise<void> {
    const cfg = this.cfg;
    const steps = Object.entries(cfg.weights).filter(([, w]) => (w ?? 0) > 0) as [Step, number][];
    const total = steps.reduce((s, [, w]) => s + w, 0);
    while (cfg.maxRecords === undefined || this.appended < cfg.maxRecords) {
      let r = this.rand() * total;
      let step: Step = steps[0]![0];
      for (const [s, w] of steps) {
        if ((r -= w) < 0) {
          step = s;
          break;
        }
      }
      try {
        await this.step(step);
      } catch (err) {
        out(`err ${step} ${errorCode(err)}`);
        if (cfg.tolerateErrors === undefined) {
          process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
          process.exit(3);
        }
        if (++this.errors >= cfg.tolerateErrors) break;
        try {
          this.syncNext();
        } catch {
          // describeTopic failed too: keep the offsets we had
        }
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    }
    out('done');
    if (cfg.exitWhenDone) {
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

  private async step(step: Step): Promise<void> {
    switch (step) {
      case 'append':
        return this.append();
      case 'flush': {
        const ends = formatEnds(this.ends());
        out(`fs ${ends}`);
        await this.store.flush();
        out(`f ${ends}`);
        if (this.cfg.snapshotDir) this.snapshot();
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
      case 'compact':
        for (const plan of this.cfg.topics) {
          if (plan.name.startsWith('c')) out(`x ${this.store.cleanup(plan.name).compactedSegments}`);
        }
        return;
      case 'retention':
        for (const plan of this.cfg.topics) if (!plan.name.startsWith('c')) this.store.cleanup(plan.name);
        return;
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
      case 'close':
        out(`cs ${formatEnds(this.ends())}`);
        await this.consumer?.close();
        await this.store.close();
        out('closed');
        this.open();
        return;
      case 'yield':
        await new Promise((resolve) => setImmediate(resolve));
        return;
      case 'sleep':
        await new Promise((resolve) => setTimeout(resolve, between(this.rand, 1, 5)));
        return;
      case 'hold': {
        // An application transaction holding SQLite's write lock: followers must not wait for it.
        const ms = between(this.rand, 100, 300);
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
    }
  }

  private append(): void {
    const plans = this.cfg.topics;
    let r = this.rand() * plans.reduce((s, p) => s + p.weight, 0);
    let plan = plans[0]!;
    for (const p of plans) {
      if ((r -= p.weight) < 0) {
        plan = p;
        break;
      }
    }
    const partition = between(this.rand, 0, plan.partitions - 1);
    const key = tp(plan.name, partition);
    const first = this.next.get(key)!;
    const count = between(this.rand, 1, this.cfg.maxBatch);
    const records = Array.from({ length: count }, (_, i) => expectedRecord(plan.name, partition, first + i));
    const result =
      count === 1 && this.rand() < 0.5
        ? this.store.append(plan.name, records[0]!, { partition })
        : this.store.append(plan.name, records, { partition })[0]!;
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
    out(`a ${plan.name} ${partition} ${first + count - 1}`);
    if (this.cfg.snapshotEveryAppends && ++this.appends % this.cfg.snapshotEveryAppends === 0)
      this.snapshot();
  }
}

async function main(): Promise<void> {
  const cfg = JSON.parse(process.argv[2]!) as WriterConfig;
  if (cfg.crashPatch) await installCrashPatch(cfg.crashPatch.target, cfg.crashPatch.nth);
  const writer = new Writer(cfg);
  try {
    writer.open();
  } catch (err) {
    // Opening (or creating the topics) failed: with tolerateErrors that is an outcome to report
    // (a disk too full for the first segment), otherwise a failure of the run.
    out(`err open ${errorCode(err)}`);
    if (cfg.tolerateErrors === undefined) {
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
      process.exit(3);
    }
    out('done');
    if (cfg.exitWhenDone) process.exit(0);
    setInterval(() => undefined, 1000);
    return;
  }
  await writer.run();
}

await main();
