/**
 * Opens a store the way an application would after a crash and reads everything back: every
 * partition from its start to its end, each record checked against the content it was written
 * with (records.ts). Also lists what should not be there after an open: partition directories or
 * segment files the catalog does not know, half-done compaction files.
 */
import fs from 'node:fs';
import path from 'node:path';
import { LogStore, LogStoreError, type LogRecord, type RecoveryReport } from '../../lib/index.js';
import {
  checkRecords,
  hash32,
  isCompacted,
  prng,
  recordProblem,
  TS0,
  tp,
  type PartitionCheck,
} from './records.js';

export interface PartitionState {
  topic: string;
  partition: number;
  startOffset: number;
  endOffset: number;
  check: PartitionCheck;
  /** Compacted topics: the highest offset read per key. */
  keyLast: Map<string, number>;
}

export interface Inspection {
  openMs: number;
  recovery: RecoveryReport | null;
  /** A LogStoreError at open or read: its code and message. */
  error: { code: string; message: string } | null;
  /** Anything thrown that is not a LogStoreError (a bug in itself). */
  foreign: string | null;
  topics: string[];
  partitions: Map<string, PartitionState>;
  /** Group `g`'s committed offsets on the first topic, by partition. */
  committed: Map<number, number>;
  /** Files and directories left behind that the catalog does not account for. */
  leftovers: string[];
  /**
   * Seeks (to an offset, or a timestamp) into the middle of a partition, through the sparse
   * index, that did not land on the record there: an error, or another record.
   */
  seekProblems: string[];
}

export function readPartition(store: LogStore, topic: string, partition: number): LogRecord[] {
  const reader = store.reader(topic, { partition, from: 'earliest' });
  const records: LogRecord[] = [];
  try {
    for (;;) {
      const batch = reader.read(1000);
      if (batch.length === 0) return records;
      for (const r of batch) records.push(r);
    }
  } finally {
    reader.close();
  }
}

/** Opens `dir` as a writer, reads every partition, closes (cleanly) unless `keepOpen`. */
export async function inspectStore(
  dir: string,
  options: { groupTopic?: string; keepOpen?: (store: LogStore) => Promise<void> } = {},
): Promise<Inspection> {
  const result: Inspection = {
    openMs: Number.NaN,
    recovery: null,
    error: null,
    foreign: null,
    topics: [],
    partitions: new Map(),
    committed: new Map(),
    leftovers: [],
    seekProblems: [],
  };
  let store: LogStore | null = null;
  try {
    const t0 = performance.now();
    store = LogStore.open(dir, { cleanupIntervalMs: 0 });
    result.openMs = performance.now() - t0;
    result.recovery = store.recovery;
    for (const info of store.topics()) {
      result.topics.push(info.name);
      for (const d of store.describeTopic(info.name).partitions) {
        const records = readPartition(store, info.name, d.partition);
        const keyLast = new Map<string, number>();
        if (isCompacted(info.name)) {
          for (const r of records) keyLast.set(r.key?.toString('latin1') ?? '', r.offset);
        }
        result.partitions.set(tp(info.name, d.partition), {
          topic: info.name,
          partition: d.partition,
          startOffset: d.startOffset,
          endOffset: d.endOffset,
          check: checkRecords(records, info.name, d.partition),
          keyLast,
        });
        seekInto(store, info.name, d.partition, records, result.seekProblems, dir);
      }
    }
    const groupTopic = options.groupTopic ?? (result.topics.includes('t') ? 't' : result.topics[0]);
    for (const g of store.groups()) {
      if (g.group !== 'g' || g.topic !== groupTopic) continue;
      for (const p of g.partitions) result.committed.set(p.partition, p.offset);
    }
    result.leftovers = leftovers(dir, store);
    if (options.keepOpen) await options.keepOpen(store);
  } catch (err) {
    if (err instanceof LogStoreError) result.error = { code: err.code, message: err.message };
    else result.foreign = (err as Error)?.stack ?? String(err);
  } finally {
    try {
      await store?.close();
    } catch (err) {
      if (!result.error && !result.foreign) {
        if (err instanceof LogStoreError) result.error = { code: err.code, message: err.message };
        else result.foreign = (err as Error)?.stack ?? String(err);
      }
    }
  }
  return result;
}

/** A few seeks by offset and by timestamp to records just read: each must land on that record. */
function seekInto(
  store: LogStore,
  topic: string,
  partition: number,
  records: readonly LogRecord[],
  problems: string[],
  seed: string,
): void {
  const rand = prng(hash32(`${seed}/${topic}/${partition}`));
  for (let k = 0; k < 3 && records.length > 0; k++) {
    const want = records[Math.floor(rand() * records.length)]!.offset;
    const byTime = k === 2;
    const what = `${topic}-${partition} seek to ${byTime ? 'the timestamp of ' : ''}${want}`;
    try {
      const reader = store.reader(topic, { partition, from: byTime ? { timestamp: TS0 + want } : want });
      const got = reader.read(2);
      reader.close();
      const problem = got[0] ? recordProblem(got[0], topic, partition) : null;
      if (got[0]?.offset !== want || problem)
        problems.push(`${what}: got ${got[0]?.offset ?? 'nothing'} ${problem ?? ''}`);
    } catch (err) {
      problems.push(`${what}: ${(err as Error).message}`);
    }
  }
}

/** Directories and segment files of `dir` that the open store does not account for. */
function leftovers(dir: string, store: LogStore): string[] {
  const found: string[] = [];
  const expected = new Map<string, number>();
  for (const t of store.topics()) {
    for (const d of store.describeTopic(t.name).partitions)
      expected.set(`${t.name}-${d.partition}`, d.segments);
  }
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const segments = expected.get(entry.name);
    if (segments === undefined) {
      found.push(`${entry.name}/ (no such topic partition)`);
      continue;
    }
    const files = fs.readdirSync(path.join(dir, entry.name));
    const logs = files.filter((f) => f.endsWith('.log')).length;
    if (logs !== segments) found.push(`${entry.name}/: ${logs} .log files for ${segments} segments`);
    for (const f of files) if (!/^\d{20}\.(log|index|timeindex)$/.test(f)) found.push(`${entry.name}/${f}`);
  }
  return found;
}
