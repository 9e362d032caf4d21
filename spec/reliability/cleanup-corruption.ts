/**
 * Damage meets cleanup and followers (the corruption suite's second part). One base store, closed
 * cleanly: `t` (delete policy) and `c` (compacted, never compacted yet: dense, so any moved base
 * offset collides with a neighbour), 16 KiB segments, several closed ones each. Each case copies
 * the base, damages one closed segment in one of three ways, then lets one of these meet it:
 *
 *   compaction        cleanup() of `c` (it reads every batch of every segment)
 *   retention-time    alterTopic(retentionMs) + cleanup() of `t`, deleting 0..all closed segments
 *   retention-bytes   alterTopic(retentionBytes) + cleanup() of `t`
 *   follower          a writer child keeps the store open and appends; a read-only follower (this
 *                     process) reads the damaged partition
 *
 * and checks, with records.ts's content-derived records: no read ever returns a wrong record (a
 * damaged value with a fresh CRC is one); reads of the partition from its start end with
 * LOGSTORE_CORRUPT naming the damaged file and a position at the damaged batch (or the next one,
 * where a moved base offset shows); reads from the next segment on return everything there;
 * `logstore verify` exits 1 naming the file and position; compaction's cleanup() reports it too
 * (LOGSTORE_CORRUPT naming the file and position, or a result that names the file it skipped).
 * Retention decides from sizes and times without reading records, so its cleanup() is not asked to
 * notice damage. Where retention deleted the damaged segment whole, the damage is gone: the case is
 * harmless, and then reads and verify must find nothing wrong at all (a complaint is a false alarm).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LogStore, LogStoreError, type LogRecord } from '../../lib/index.js';
import {
  batchesIn,
  batchHolding,
  dataEnd,
  flipBit,
  patch,
  recordValues,
  type BatchAt,
} from '../helpers/segments.js';
import {
  between,
  COMPACT_KEYS,
  expectedRecord,
  hash32,
  isCompacted,
  prng,
  recordProblem,
  TS0,
} from './records.js';
import { runInWorkers } from './corruption.js';
import { startWriter } from './writer.js';

export const CLEANUPS = ['compaction', 'retention-time', 'retention-bytes', 'follower'] as const;
export const DAMAGES = ['value-bitflip', 'offset-bitflip', 'zero-page'] as const;
export type Cleanup = (typeof CLEANUPS)[number];
export type Damage = (typeof DAMAGES)[number];

/**
 * `unplaced`: every reporter noticed the damage, but one of them named the file without the
 * position of the damaged batch.
 */
export const CLEANUP_OUTCOMES = [
  'detected',
  'harmless',
  'undetected',
  'unplaced',
  'falseAlarm',
  'crash',
] as const;
export type CleanupOutcome = (typeof CLEANUP_OUTCOMES)[number];

export interface CleanupCaseResult {
  i: number;
  cleanup: Cleanup;
  damage: Damage;
  /** The damaged segment, relative to the store directory. */
  file: string;
  outcome: CleanupOutcome;
  /** Who reported the damage (LOGSTORE_CORRUPT or exit 1, naming the file and position). */
  reported: { read: boolean; cleanup: boolean; verify: boolean };
  detail?: string;
}

const SEGMENT_BYTES = 16384;
const RECORDS = 700;
const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/logstore.js');

/** The base store, closed cleanly, under `dir`. */
export async function buildCleanupBase(dir: string, seed = 1): Promise<void> {
  const rand = prng(seed);
  fs.rmSync(dir, { recursive: true, force: true });
  const store = LogStore.open(dir, { durability: 'none', cleanupIntervalMs: 0 });
  try {
    store.createTopic('t', { segmentBytes: SEGMENT_BYTES });
    store.createTopic('c', { segmentBytes: SEGMENT_BYTES, cleanupPolicy: 'compact' });
    for (const topic of ['t', 'c']) {
      let next = 0;
      const append = (n: number) => {
        store.append(
          topic,
          Array.from({ length: n }, (_, k) => expectedRecord(topic, 0, next + k)),
          { partition: 0 },
        );
        next += n;
      };
      while (next < RECORDS) append(Math.min(RECORDS - next, between(rand, 1, 5)));
      if (topic === 'c') {
        // End a few records after a roll: most keys then have their latest record in the last
        // closed segment, where compaction keeps it (and would rewrite it).
        const segments = () => store.describeTopic('c').partitionDetails[0]!.segments;
        const before = segments();
        while (segments() === before) append(1);
        append(5);
      }
    }
  } finally {
    await store.close();
  }
  for (const topic of ['t', 'c']) {
    if (segmentFiles(dir, topic).length < 4)
      throw new Error(`the base's ${topic}-0 has fewer than 4 segments`);
  }
}

function segmentFiles(dir: string, topic: string): string[] {
  return fs
    .readdirSync(path.join(dir, `${topic}-0`))
    .filter((f) => f.endsWith('.log'))
    .sort()
    .map((f) => path.join(`${topic}-0`, f));
}

/**
 * Damages `file` in place; returns the bytes changed, [from, to). A value bit flip goes into a
 * record whose offset `prefer` accepts, when the segment has one.
 */
function damageSegment(
  file: string,
  kind: Damage,
  rand: () => number,
  prefer: (offset: number) => boolean = () => true,
): { from: number; to: number } {
  const bytes = fs.readFileSync(file);
  const batches = batchesIn(bytes);
  const pick = <T>(items: readonly T[]): T => items[between(rand, 0, items.length - 1)]!;
  switch (kind) {
    case 'value-bitflip': {
      // The segments of the base are dense: record k of a batch has offset baseOffset + k.
      const values = batches.flatMap((b) =>
        recordValues(bytes, b)
          .map((v, k) => (v !== null && v.length > 0 ? { ...v, offset: b.baseOffset + k } : null))
          .filter((v) => v !== null),
      );
      const preferred = values.filter((v) => prefer(v.offset));
      const v = pick(preferred.length > 0 ? preferred : values);
      const at = v.position + between(rand, 0, v.length - 1);
      flipBit(file, at, between(rand, 0, 7));
      return { from: at, to: at + 1 };
    }
    case 'offset-bitflip': {
      // One of the low three bytes of a batch's base offset (outside the CRC).
      const at = pick(batches).position + between(rand, 5, 7);
      flipBit(file, at, between(rand, 0, 7));
      return { from: at, to: at + 1 };
    }
    case 'zero-page': {
      const page = Math.floor(between(rand, 0, dataEnd(bytes) - 1) / 4096) * 4096;
      const to = Math.min(page + 4096, bytes.length);
      patch(file, page, Buffer.alloc(to - page));
      return { from: page, to };
    }
  }
}

/** Whether a report names `file` at a position in [lo, hi] ('place'), only the file, or neither. */
function named(text: string, file: string, lo: number, hi: number): 'place' | 'file' | null {
  const name = path.basename(file).replace('.', '\\.');
  for (const m of text.matchAll(new RegExp(`${name}\\b[^\\n]*?position (\\d+)`, 'g'))) {
    const p = Number(m[1]);
    if (p >= lo && p <= hi) return 'place';
  }
  return new RegExp(name).test(text) ? 'file' : null;
}

/** What reading a partition found. */
interface ReadFindings {
  /** A record returned that is not the one written at its offset, or out of order. */
  wrong: string | null;
  /** The LOGSTORE_CORRUPT that ended the read from the start, if any. */
  error: LogStoreError | null;
  /** Offsets read from the start, up to the error. */
  head: number[];
  /** Offsets read from `tailFrom` to the end, and a LogStoreError there (there should be none). */
  tail: number[];
  tailError: string | null;
}

function readAll(store: LogStore, topic: string, from: number | 'earliest', rand: () => number) {
  const records: LogRecord[] = [];
  const reader = store.reader(topic, { partition: 0, from });
  try {
    for (;;) {
      const batch = reader.read(between(rand, 1, 300));
      if (batch.length === 0) return { records, error: null };
      records.push(...batch);
    }
  } catch (err) {
    if (!(err instanceof LogStoreError)) throw err;
    return { records, error: err };
  } finally {
    reader.close();
  }
}

function check(records: readonly LogRecord[], topic: string): string | null {
  let previous = -1;
  for (const r of records) {
    const problem = recordProblem(r, topic, 0);
    if (problem) return problem;
    if (r.offset <= previous) return `${topic}-0: offset ${r.offset} after ${previous}`;
    previous = r.offset;
  }
  return null;
}

function readPartition(store: LogStore, topic: string, tailFrom: number | null, rand: () => number) {
  const head = readAll(store, topic, 'earliest', rand);
  const findings: ReadFindings = {
    wrong: check(head.records, topic),
    error: head.error,
    head: head.records.map((r) => r.offset),
    tail: [],
    tailError: null,
  };
  if (tailFrom !== null) {
    const tail = readAll(store, topic, tailFrom, rand);
    findings.wrong ??= check(tail.records, topic);
    findings.tail = tail.records.map((r) => r.offset);
    if (tail.error) findings.tailError = `${tail.error.code}: ${tail.error.message}`;
  }
  return findings;
}

const range = (from: number, to: number): number[] =>
  Array.from({ length: Math.max(0, to - from) }, (_, k) => from + k);

/** Offsets a compacted partition must still hold from `from` to `end`: the latest of each key. */
function latestPerKey(from: number, end: number): number[] {
  const latest: number[] = [];
  for (let k = 0; k < COMPACT_KEYS; k++) {
    const last = end - 1 - ((((end - 1 - k) % COMPACT_KEYS) + COMPACT_KEYS) % COMPACT_KEYS);
    if (last >= from && expectedRecord('c', 0, last).value !== null) latest.push(last);
  }
  return latest.sort((a, b) => a - b);
}

/** The combination case `i` runs: cleanups in turn, each with the damages in turn. */
export function combinationOf(i: number, cleanups: readonly Cleanup[] = CLEANUPS): [Cleanup, Damage] {
  return [cleanups[i % cleanups.length]!, DAMAGES[Math.floor(i / cleanups.length) % DAMAGES.length]!];
}

/** Runs case `i` on a copy of the base in `work`. */
export async function runCleanupCase(
  base: string,
  i: number,
  seed: number,
  work: string,
  cleanups: readonly Cleanup[] = CLEANUPS,
): Promise<CleanupCaseResult> {
  const rand = prng(hash32(`${seed}/cleanup/${i}`));
  const [cleanup, damage] = combinationOf(i, cleanups);
  const topic = cleanup === 'compaction' ? 'c' : cleanup === 'follower' ? (rand() < 0.5 ? 't' : 'c') : 't';
  fs.rmSync(work, { recursive: true, force: true });
  fs.cpSync(base, work, { recursive: true });
  const segments = segmentFiles(work, topic);
  // A closed segment; for compaction, half the time the last one, which holds records it keeps.
  const k =
    cleanup === 'compaction' && rand() < 0.5 ? segments.length - 2 : between(rand, 0, segments.length - 2);
  const file = segments[k]!;
  const full = path.join(work, file);
  const original = fs.readFileSync(full);
  const batches = batchesIn(original);
  const segmentEnd = batches.at(-1)!.lastOffset + 1;
  const nextBase = Number(path.basename(segments[k + 1]!, '.log'));
  // For compaction, a value bit flip in a record it keeps (the latest of its key) when there is one.
  let kept: Set<number> | undefined;
  if (cleanup === 'compaction') {
    const last = Number(path.basename(segments.at(-1)!, '.log'));
    const end =
      last +
      batchesIn(fs.readFileSync(path.join(work, segments.at(-1)!))).reduce((n, b) => n + b.recordCount, 0);
    kept = new Set(latestPerKey(0, end));
  }
  const { from, to } = damageSegment(full, damage, rand, kept && ((o) => kept.has(o)));
  // A report is at the batch holding the first damaged byte, or (a moved base offset shows when
  // the next batch collides with it) at the batch after the last damaged byte.
  const first: BatchAt = batchHolding(batches, from)!;
  const last: BatchAt = batchHolding(batches, to - 1) ?? batches.at(-1)!;
  const lo = first.position;
  const hi = last.position + last.size;
  const result: CleanupCaseResult = {
    i,
    cleanup,
    damage,
    file,
    outcome: 'detected',
    reported: { read: false, cleanup: false, verify: false },
  };
  const problems: string[] = [];
  const alarms: string[] = [];
  /** Reports that named the file but not the place. */
  const unplaced: string[] = [];
  let deleted = false;
  try {
    let found: ReadFindings;
    let start: number;
    let end: number;
    if (cleanup === 'follower') {
      const writer = startWriter({
        dir: work,
        durability: 'none',
        segmentBytes: SEGMENT_BYTES,
        topics: [
          { name: 't', partitions: 1, weight: 1 },
          { name: 'c', partitions: 1, weight: 1 },
        ],
        work: {
          kind: 'script',
          steps: [
            { do: 'append', topic: 't', records: 30, perCall: 3 },
            { do: 'append', topic: 'c', records: 30, perCall: 3 },
          ],
        },
      });
      try {
        if (!(await writer.until('done', 60_000))) {
          throw new Error(`the writer child did not get going: ${writer.ledger.lastLine}`);
        }
        const follower = LogStore.open(work, { readOnly: true });
        try {
          ({ startOffset: start, endOffset: end } = follower.describeTopic(topic).partitionDetails[0]!);
          found = readPartition(follower, topic, nextBase, rand);
        } finally {
          await follower.close();
        }
      } finally {
        await writer.kill();
      }
    } else if (cleanup === 'compaction') {
      const store = LogStore.open(work, { cleanupIntervalMs: 0 });
      try {
        try {
          const done = store.cleanup(topic);
          // A cleanup that skips the damaged segment says so in what it returns.
          if (JSON.stringify(done).includes(path.basename(file))) result.reported.cleanup = true;
          else problems.push(`cleanup() returned ${JSON.stringify(done)} without a word about the damage`);
        } catch (err) {
          if (!(err instanceof LogStoreError)) throw err;
          const where = err.code === 'LOGSTORE_CORRUPT' ? named(err.message, file, lo, hi) : null;
          if (where) result.reported.cleanup = true;
          if (where === 'file') unplaced.push(`cleanup: ${err.message}`);
          else if (!where) problems.push(`cleanup() threw ${err.code}: ${err.message}`);
        }
        ({ startOffset: start, endOffset: end } = store.describeTopic(topic).partitionDetails[0]!);
        found = readPartition(store, topic, nextBase, rand);
      } finally {
        await store.close();
      }
    } else {
      const store = LogStore.open(work, { cleanupIntervalMs: 0 });
      try {
        const total = store.describeTopic(topic).partitionDetails[0]!;
        if (cleanup === 'retention-time') {
          const cutoff = between(rand, 0, total.endOffset);
          store.alterTopic(topic, { retentionMs: Date.now() - (TS0 + cutoff) });
        } else {
          store.alterTopic(topic, { retentionBytes: between(rand, 0, total.bytes) });
        }
        try {
          store.cleanup(topic);
        } catch (err) {
          if (!(err instanceof LogStoreError)) throw err;
          if (err.code === 'LOGSTORE_CORRUPT' && named(err.message, file, lo, hi) === 'place')
            result.reported.cleanup = true;
          else alarms.push(`cleanup: ${err.code}: ${err.message}`);
        }
        ({ startOffset: start, endOffset: end } = store.describeTopic(topic).partitionDetails[0]!);
        deleted = start >= segmentEnd;
        found = readPartition(store, topic, deleted ? null : nextBase, rand);
      } finally {
        await store.close();
      }
    }
    if (found.wrong) problems.push(`read returned a wrong record: ${found.wrong}`);
    const dense = !isCompacted(topic);
    if (deleted) {
      // Harmless: nothing may be missing, nothing may complain.
      if (found.error) alarms.push(`read: ${found.error.code}: ${found.error.message}`);
      else if (found.head.join() !== range(start, end).join())
        problems.push(`read ${found.head.length} records, ${end - start} expected, without an error`);
    } else {
      const read = found.error?.code === 'LOGSTORE_CORRUPT' ? named(found.error.message, file, lo, hi) : null;
      if (read) result.reported.read = true;
      if (read === 'file') unplaced.push(`read: ${found.error!.message}`);
      else if (!read && found.error)
        problems.push(`read reported ${found.error.code}: ${found.error.message}`);
      else if (!found.error) problems.push('read from the start passed the damage without an error');
      // Up to the damage, nothing skipped; from the next segment on, everything there.
      const head = found.head.filter((o) => o < first.baseOffset);
      if (dense && head.join() !== range(start, head.length > 0 ? head.at(-1)! + 1 : start).join())
        problems.push(
          `the read from the start skipped records before the damage: ${head.slice(0, 5).join()}...`,
        );
      if (found.tailError) alarms.push(`read from ${nextBase}: ${found.tailError}`);
      const want = dense ? range(nextBase, end) : latestPerKey(nextBase, end);
      const missing = want.filter((o) => !found.tail.includes(o));
      if (dense && found.tail.join() !== want.join())
        problems.push(`read from ${nextBase}: ${found.tail.length} records, ${want.length} expected`);
      else if (missing.length > 0)
        problems.push(`read from ${nextBase}: latest of keys at ${missing.join()} missing`);
    }
    const verify = spawnSync(process.execPath, [CLI, 'verify', work], { encoding: 'utf8', timeout: 120_000 });
    const damageLines = verify.stdout
      .split('\n')
      .filter((l) => l.startsWith('DAMAGE'))
      .join('\n');
    if (deleted) {
      if (verify.status !== 0) alarms.push(`verify exited ${verify.status}: ${damageLines || verify.stderr}`);
    } else {
      const where = verify.status === 1 ? named(damageLines, file, lo, hi) : null;
      if (where) result.reported.verify = true;
      if (where === 'file') unplaced.push(`verify: ${damageLines}`);
      else if (!where)
        problems.push(
          `verify exited ${verify.status ?? verify.signal}${damageLines ? `: ${damageLines}` : ''}`,
        );
    }
  } catch (err) {
    result.outcome = 'crash';
    result.detail = (err as Error)?.stack ?? String(err);
    return result;
  }
  if (problems.length > 0) {
    result.outcome = 'undetected';
    result.detail = problems.join('; ');
  } else if (alarms.length > 0) {
    result.outcome = 'falseAlarm';
    result.detail = alarms.join('; ');
  } else if (unplaced.length > 0) {
    result.outcome = 'unplaced';
    result.detail = `reported without the position (${lo}..${hi}): ${unplaced.join('; ')}`;
  } else if (deleted) result.outcome = 'harmless';
  return result;
}

// ---- figures (parent side) ----------------------------------------------------------------------

export interface CleanupFigures {
  cases: number;
  /** Per `cleanup/damage`: cases by outcome. */
  combinations: Record<string, Record<CleanupOutcome, number>>;
  workerDeaths: number;
  examples: string[];
}

export function emptyCleanupFigures(): CleanupFigures {
  const combinations: CleanupFigures['combinations'] = {};
  for (const c of CLEANUPS)
    for (const d of DAMAGES)
      combinations[`${c}/${d}`] = Object.fromEntries(CLEANUP_OUTCOMES.map((o) => [o, 0])) as Record<
        CleanupOutcome,
        number
      >;
  return { cases: 0, combinations, workerDeaths: 0, examples: [] };
}

export function addCleanupCase(figures: CleanupFigures, r: CleanupCaseResult, seed: number): void {
  figures.cases++;
  figures.combinations[`${r.cleanup}/${r.damage}`]![r.outcome]++;
  if (r.outcome !== 'detected' && r.outcome !== 'harmless' && figures.examples.length < 20) {
    figures.examples.push(
      `case ${r.i} (seed ${seed}): ${r.damage} in ${r.file} meets ${r.cleanup}: ${r.outcome}: ${r.detail?.split('\n').slice(0, 3).join(' | ')}`,
    );
  }
}

/** Runs cleanup cases [0, cases) in worker processes (see runInWorkers in corruption.ts). */
export async function runCleanupCorruption(options: {
  cases: number;
  root: string;
  seed?: number;
  workers?: number;
  /** Only these (cases take them in turn). @default CLEANUPS */
  cleanups?: readonly Cleanup[];
  /** A case with no result after this long is a hang (a crash). */
  caseTimeoutMs?: number;
  onProgress?: (done: number, figures: CleanupFigures) => void;
}): Promise<CleanupFigures> {
  const seed = options.seed ?? 1;
  const figures = emptyCleanupFigures();
  const base = path.join(options.root, 'base');
  await buildCleanupBase(base, seed);
  figures.workerDeaths = await runInWorkers<CleanupCaseResult>({
    cases: options.cases,
    workers: Math.max(1, options.workers ?? 2),
    root: options.root,
    args: {
      suite: 'cleanup',
      bases: base,
      seed,
      ...(options.cleanups ? { cleanups: options.cleanups } : {}),
    },
    ...(options.caseTimeoutMs ? { caseTimeoutMs: options.caseTimeoutMs } : {}),
    onResult: (r) => {
      addCleanupCase(figures, r, seed);
      options.onProgress?.(figures.cases, figures);
    },
    onDeath: (i, detail) =>
      addCleanupCase(
        figures,
        {
          i,
          cleanup: combinationOf(i, options.cleanups)[0],
          damage: combinationOf(i, options.cleanups)[1],
          file: '?',
          outcome: 'crash',
          reported: { read: false, cleanup: false, verify: false },
          detail,
        },
        seed,
      ),
  });
  fs.rmSync(options.root, { recursive: true, force: true });
  return figures;
}
