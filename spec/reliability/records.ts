/**
 * Content-derived records for the reliability suite: everything about the record at
 * (topic, partition, offset) — key, value bytes, headers, timestamp — is a pure function of those
 * three, so a checker needs no log of what was written. A record read back either equals
 * `expectedRecord(topic, partition, offset)` byte for byte, or it is garbage; a record at the
 * wrong offset is garbage too (its bytes belong to another offset).
 *
 * Topics whose name starts with `c` are compacted: their keys repeat (`k0` .. `k39`) and some
 * values are tombstones. Every other topic has a unique key per record.
 */
import type { LogRecord } from '../../lib/index.js';

/** Timestamp of offset 0; offset n has TS0 + n, so timestamps rise with offsets. */
export const TS0 = 1_600_000_000_000;
/** Distinct keys of a compacted topic. */
export const COMPACT_KEYS = 40;

export interface ExpectedRecord {
  key: string;
  value: Buffer | null;
  headers: Record<string, Buffer>;
  timestamp: number;
}

/** FNV-1a, 32 bits. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A small seeded PRNG (mulberry32): the same seed gives the same sequence, for reproducible runs. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in [lo, hi] from `rand`. */
export function between(rand: () => number, lo: number, hi: number): number {
  return lo + Math.floor(rand() * (hi - lo + 1));
}

export function isCompacted(topic: string): boolean {
  return topic.startsWith('c');
}

export function expectedRecord(topic: string, partition: number, offset: number): ExpectedRecord {
  const h = hash32(`${topic}/${partition}/${offset}`);
  const rand = prng(h);
  const compacted = isCompacted(topic);
  let value: Buffer | null = null;
  if (!compacted || h % 9 !== 0) {
    value = Buffer.allocUnsafe(h % 241);
    for (let i = 0; i < value.length; i++) value[i] = (rand() * 256) | 0;
  }
  const headers: Record<string, Buffer> = {};
  if (offset % 3 === 0) headers.n = Buffer.from(String(offset));
  return {
    key: compacted ? `k${offset % COMPACT_KEYS}` : `${topic}-${partition}-${offset}`,
    value,
    headers,
    timestamp: TS0 + offset,
  };
}

/** Why `rec` is not the record the suite wrote at its (topic, partition, offset), or null. */
export function recordProblem(
  rec: Omit<LogRecord, 'headerList'>,
  topic: string,
  partition: number,
): string | null {
  if (rec.topic !== topic || rec.partition !== partition) {
    return `record says ${rec.topic}-${rec.partition}, read from ${topic}-${partition}`;
  }
  if (!Number.isSafeInteger(rec.offset) || rec.offset < 0) return `impossible offset ${rec.offset}`;
  const want = expectedRecord(topic, partition, rec.offset);
  const where = `${topic}-${partition}@${rec.offset}`;
  if (rec.key === null || rec.key.toString('latin1') !== want.key) return `${where}: wrong key`;
  if ((rec.value === null) !== (want.value === null)) return `${where}: wrong null-ness of the value`;
  if (rec.value && !rec.value.equals(want.value!)) return `${where}: wrong value bytes`;
  if (rec.timestamp !== want.timestamp) return `${where}: wrong timestamp ${rec.timestamp}`;
  const keys = Object.keys(rec.headers);
  const wantKeys = Object.keys(want.headers);
  if (
    keys.length !== wantKeys.length ||
    wantKeys.some((k) => {
      const got = rec.headers[k];
      return !Buffer.isBuffer(got) || !got.equals(want.headers[k]!);
    })
  ) {
    return `${where}: wrong headers`;
  }
  return null;
}

/** What checking a partition's records in read order found. */
export interface PartitionCheck {
  /** Records read. */
  count: number;
  /** Records whose content is not the one written at their offset. */
  garbage: number;
  /** Records whose offset does not rise (or, in a non-compacted topic, skips one). */
  outOfOrder: number;
  /** First offset seen, and the one after the last (NaN when nothing was read). */
  first: number;
  end: number;
  /** The first few problems, for the report. */
  problems: string[];
}

/**
 * Checks records read in order from one partition: each must be the one written at its offset,
 * offsets must rise, and (outside compacted topics) be dense.
 */
export function checkRecords(
  records: readonly LogRecord[],
  topic: string,
  partition: number,
): PartitionCheck {
  const dense = !isCompacted(topic);
  const result: PartitionCheck = {
    count: records.length,
    garbage: 0,
    outOfOrder: 0,
    first: records[0]?.offset ?? Number.NaN,
    end: records.length > 0 ? records[records.length - 1]!.offset + 1 : Number.NaN,
    problems: [],
  };
  let previous = -1;
  for (const rec of records) {
    const problem = recordProblem(rec, topic, partition);
    if (problem) {
      result.garbage++;
      if (result.problems.length < 5) result.problems.push(problem);
    }
    if (previous >= 0 && (dense ? rec.offset !== previous + 1 : rec.offset <= previous)) {
      result.outOfOrder++;
      if (result.problems.length < 5)
        result.problems.push(`${topic}-${partition}: offset ${rec.offset} after ${previous}`);
    }
    previous = rec.offset;
  }
  return result;
}

/** Per (topic, partition) end offsets, as the writer child prints them: `t:0:120,c:0:57`. */
export type Ends = Map<string, number>;

export function formatEnds(ends: Ends): string {
  return [...ends].map(([tp, end]) => `${tp}:${end}`).join(',') || '-';
}

export function parseEnds(text: string): Ends {
  const ends: Ends = new Map();
  if (text === '-' || text === '') return ends;
  for (const part of text.split(',')) {
    const i = part.lastIndexOf(':');
    ends.set(part.slice(0, i), Number(part.slice(i + 1)));
  }
  return ends;
}

export const tp = (topic: string, partition: number): string => `${topic}:${partition}`;

/** The p-th percentile (0..100) of `values` (nearest rank); NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
