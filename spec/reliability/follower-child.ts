/**
 * The read-only follower of the reliability suite, run as a child process beside a writer.
 *
 * `node follower-child.js '{"dir","partitions":["t:0","c:0"],"deadlineMs"}'` (follower.ts): it
 * opens the store with readOnly: true and follows each partition with `for await` over a reader,
 * checking every record (content, order, no duplicates). When retention passes it by, it gets
 * LOGSTORE_OFFSET_OUT_OF_RANGE, seeks 'earliest' and goes on (counted). The parent writes
 * `end <ends>` to stdin once the writer is done; the follower stops when it has read up to
 * there (or at the deadline), compares what it saw with what the log finally holds, and prints
 * one JSON line: FollowerReport.
 *
 * `node follower-child.js '{"dir","once":true}'` (locking.ts): opens read-only, reads every
 * partition once and prints `follower <ms> <records>`, or `refused <code> <ms>`; <ms> is the time
 * the open and the reads took.
 */
import fs from 'node:fs';
import readline from 'node:readline';
import { LogStore, LogStoreError, type LogRecord } from '../../lib/index.js';
import { readPartition } from './inspect.js';
import { isCompacted, parseEnds, recordProblem, type Ends } from './records.js';

const args = JSON.parse(process.argv[2]!) as
  { dir: string; once: true } | { dir: string; once?: false; partitions: string[]; deadlineMs: number };

if (args.once) {
  const out = (line: string) => fs.writeSync(1, line + '\n');
  const t0 = performance.now();
  try {
    const store = LogStore.open(args.dir, { readOnly: true });
    let records = 0;
    for (const t of store.topics())
      for (let p = 0; p < t.partitions; p++) records += readPartition(store, t.name, p).length;
    out(`follower ${(performance.now() - t0).toFixed(3)} ${records}`);
    await store.close();
  } catch (err) {
    const code = err instanceof LogStoreError ? err.code : `NOT_A_LOGSTORE_ERROR:${(err as Error).name}`;
    out(`refused ${code} ${(performance.now() - t0).toFixed(3)}`);
  }
  process.exit(0);
}

export interface PartitionReport {
  read: number;
  garbage: number;
  duplicates: number;
  /** Records the log still holds (at the end) that the follower passed over without reading. */
  missed: number;
  /** LOGSTORE_OFFSET_OUT_OF_RANGE: retention deleted the follower's position; it went to 'earliest'. */
  resets: number;
  /** Other LogStoreErrors (the follower reopens its reader and goes on). */
  errors: string[];
  reachedEnd: boolean;
  last: number;
}

export interface FollowerReport {
  partitions: Record<string, PartitionReport>;
  /** Anything thrown that is not a LogStoreError. */
  crash: string | null;
}

const report: FollowerReport = { partitions: {}, crash: null };
let ends: Ends | null = null;
const controller = new AbortController();
const wakeups: (() => void)[] = [];

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.startsWith('end ')) {
    ends = parseEnds(line.slice(4));
    for (const w of wakeups.splice(0)) w();
  }
});
const deadline = setTimeout(() => controller.abort(), args.deadlineMs);

const store = LogStore.open(args.dir, { readOnly: true });

async function follow(key: string): Promise<void> {
  const [topic, p] = key.split(':') as [string, string];
  const partition = Number(p);
  const dense = !isCompacted(topic);
  const r: PartitionReport = {
    read: 0,
    garbage: 0,
    duplicates: 0,
    missed: 0,
    resets: 0,
    errors: [],
    reachedEnd: false,
    last: -1,
  };
  report.partitions[key] = r;
  /** Offsets read since the last reset (compacted topics: to find misses at the end). */
  const seen = new Set<number>();
  let sinceReset = -1; // first offset read after the last reset
  let mayJump = true; // the first record, or the first after a reset, may start anywhere
  const done = () => ends !== null && r.last >= (ends.get(key) ?? 0) - 1;
  while (!controller.signal.aborted && !done()) {
    const reader = store.reader(topic, {
      partition,
      from: r.last + 1 > 0 ? r.last + 1 : 'earliest',
      signal: controller.signal,
    });
    const stop = () => reader.close();
    wakeups.push(() => done() && stop());
    try {
      for await (const rec of reader as AsyncIterable<LogRecord>) {
        r.read++;
        if (recordProblem(rec, topic, partition)) r.garbage++;
        if (rec.offset <= r.last) r.duplicates++;
        else if (dense && !mayJump && rec.offset !== r.last + 1) r.missed += rec.offset - r.last - 1;
        if (mayJump || sinceReset < 0) sinceReset = rec.offset;
        mayJump = false;
        r.last = Math.max(r.last, rec.offset);
        if (!dense) seen.add(rec.offset);
        if (done()) break;
      }
    } catch (err) {
      if (!(err instanceof LogStoreError)) throw err;
      if (err.code === 'LOGSTORE_OFFSET_OUT_OF_RANGE') {
        r.resets++;
        mayJump = true;
        seen.clear();
        // Go on from the start of what is left.
        r.last = Math.max(r.last, store.describeTopic(topic).partitionDetails[partition]!.startOffset - 1);
        continue;
      }
      if (r.errors.length < 5) r.errors.push(`${err.code}: ${err.message}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    } finally {
      reader.close();
    }
    if (!done() && !controller.signal.aborted) await new Promise((resolve) => setTimeout(resolve, 1));
  }
  r.reachedEnd = done();
  // Compacted topics: every record the log still holds in the range followed must have been read.
  if (!dense && sinceReset >= 0) {
    const reader = store.reader(topic, { partition, from: 'earliest' });
    for (;;) {
      const batch = reader.read(1000);
      if (batch.length === 0) break;
      for (const rec of batch)
        if (rec.offset >= sinceReset && rec.offset <= r.last && !seen.has(rec.offset)) r.missed++;
    }
    reader.close();
  }
}

try {
  await Promise.all(args.partitions.map(follow));
} catch (err) {
  report.crash = (err as Error)?.stack ?? String(err);
}
clearTimeout(deadline);
fs.writeSync(1, JSON.stringify(report) + '\n');
await store.close();
process.exit(0);
