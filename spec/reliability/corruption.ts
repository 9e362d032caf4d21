/**
 * Corruption (issue 7, item 3). Two base stores are built once: `clean` (closed cleanly: files are
 * trusted at open, damage must show when read) and `crashed` (copied while its writer was open,
 * with a recovery point halfway: the tail after it is verified at open, damage there is a torn
 * tail to cut). Each case copies a base, damages one file — a segment (closed or active), an
 * index, the catalog or its -wal — in one of the ways below, then opens the copy, reads every
 * partition from the start, seeks to random offsets and timestamps, closes, and does it all again.
 *
 * Every record returned must be the one written at its offset (records.ts) and the records of a
 * partition must be the expected ones in order: a read may stop early only with LOGSTORE_CORRUPT,
 * or because recovery cut a torn tail and said so. Anything else is an undetected corruption.
 * A thrown error that is not a LogStoreError, or the worker process dying, is a crash.
 *
 * SQLite keeps no checksums of its pages, and takes a damaged `-wal` frame for the end of its log
 * (the catalog silently goes back to an older commit). The open checks the catalog against the
 * files (catalog-rollback.ts): a damaged catalog must be detected (LOGSTORE_CORRUPT), or repaired
 * from the files and reported in `store.recovery` (`catalogRepaired`, or `catalogReported` when
 * records were set aside in quarantine/ rather than served). Records hidden with nothing said
 * are `catalogSilent`, which must not happen; nor may a catalog case delete a segment file or
 * leave a record of the base in no file (`catalogFilesDeleted`, `catalogRecordsLost`).
 *
 * The batch CRC does not cover the base offset. In a compacted segment, a base offset changed to
 * another value inside the gap compaction left around its batch (after the previous batch, before
 * the next) is a valid-looking batch at other offsets: nothing in Kafka's format can tell. Such
 * cases, when not detected, are counted apart (`formatLimit`); `damage` says when a case is one.
 */
import fs from 'node:fs';
import path from 'node:path';
import { LogStore, LogStoreError, type LogRecord } from '../../lib/index.js';
import { batchesIn, dataEnd } from '../helpers/segments.js';
import { CatalogCaseCheck } from './catalog-rollback.js';
import { readPartition } from './inspect.js';
import { recoveryPoints } from './power-loss.js';
import { spawnNode, SCRIPTS } from './proc.js';
import { between, expectedRecord, hash32, prng, recordProblem, TS0, tp } from './records.js';

export const OUTCOMES = [
  'intact',
  'detected',
  'cut',
  'unsyncedTail',
  'io',
  'catalogRepaired',
  'catalogReported',
  'catalogSilent',
  'formatLimit',
  'undetected',
  'crash',
] as const;
export type Outcome = (typeof OUTCOMES)[number];

export interface CaseResult {
  i: number;
  base: string;
  file: string;
  target: Target;
  kind: string;
  outcome: Outcome;
  detail?: string;
  /** Index cases: the damaged index file was valid again (rewritten) after the second close. */
  indexRepaired?: boolean;
  /** Catalog cases: segment files holding records that are gone, records of the base in no file. */
  filesDeleted?: number;
  recordsLost?: number;
}

export type Target = 'active-log' | 'closed-log' | 'index' | 'catalog' | 'catalog-wal';

/** Per base: the offsets each partition holds (read back from the base itself). */
export type Baseline = Record<string, number[]>;

export interface Bases {
  root: string;
  names: string[];
  baseline: Record<string, Baseline>;
  /**
   * Per base and partition, the offset of the catalog's recovery point when the base was left
   * uncleanly: records from there on were never synced, and a power cut may take them without a
   * trace (zeros where they were). Absent for a cleanly closed base.
   */
  unsyncedFrom: Record<string, Record<string, number>>;
}

const SEGMENT_BYTES = 4096;

function fill(store: LogStore, topic: string, partition: number, count: number, rand: () => number): void {
  let next = store.describeTopic(topic).partitions[partition]!.endOffset;
  const end = next + count;
  while (next < end) {
    const n = Math.min(end - next, between(rand, 1, 5));
    store.append(
      topic,
      Array.from({ length: n }, (_, k) => expectedRecord(topic, partition, next + k)),
      { partition },
    );
    next += n;
  }
}

async function baselineOf(dir: string, scratch: string): Promise<Baseline> {
  fs.rmSync(scratch, { recursive: true, force: true });
  fs.cpSync(dir, scratch, { recursive: true });
  const store = LogStore.open(scratch, { cleanupIntervalMs: 0 });
  const baseline: Baseline = {};
  try {
    for (const t of store.topics()) {
      for (let p = 0; p < t.partitionCount; p++) {
        const records = readPartition(store, t.name, p);
        for (const r of records) {
          const problem = recordProblem(r, t.name, p);
          if (problem) throw new Error(`the base store is wrong already: ${problem}`);
        }
        baseline[tp(t.name, p)] = records.map((r) => r.offset);
      }
    }
  } finally {
    await store.close();
  }
  fs.rmSync(scratch, { recursive: true, force: true });
  return baseline;
}

/** Builds the two base stores under `root`, in this process. */
export async function buildBases(root: string, seed = 1): Promise<Bases> {
  const rand = prng(seed);
  const write = async (dir: string, crashed: boolean): Promise<void> => {
    const store = LogStore.open(dir, { durability: 'none', cleanupIntervalMs: 0 });
    store.createTopic('t', { partitions: 2, segmentBytes: SEGMENT_BYTES });
    store.createTopic('c', { segmentBytes: SEGMENT_BYTES, cleanupPolicy: 'compact' });
    // Recovery points: t-0 and c-0 in a segment closed since, t-1 inside its active segment.
    fill(store, 't', 0, 150, rand);
    fill(store, 't', 1, 10, rand);
    fill(store, 'c', 0, 250, rand);
    store.cleanup('c');
    await store.flush();
    fill(store, 't', 0, 150, rand);
    fill(store, 't', 1, 8, rand);
    fill(store, 'c', 0, 50, rand);
    // Segments of 4 KiB hold no index entry (one per 4 KiB of log), so they have no index files:
    // a topic of 16 KiB segments gives the damage index files to hit (closed and active ones).
    store.createTopic('i', { segmentBytes: 4 * SEGMENT_BYTES });
    fill(store, 'i', 0, 300, rand);
    if (crashed) {
      // What a kill -9 leaves: the files as they are now, the catalog with its -wal.
      fs.cpSync(dir, `${dir}.copy`, { recursive: true });
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
      fs.renameSync(`${dir}.copy`, dir);
    } else {
      await store.close();
    }
  };
  fs.mkdirSync(root, { recursive: true });
  const bases: Bases = { root, names: ['clean', 'crashed'], baseline: {}, unsyncedFrom: {} };
  for (const name of bases.names) {
    const dir = path.join(root, name);
    fs.rmSync(dir, { recursive: true, force: true });
    await write(dir, name === 'crashed');
    bases.baseline[name] = await baselineOf(dir, path.join(root, 'scratch'));
    const { points, clean } = recoveryPoints(dir, path.join(root, 'scratch'));
    bases.unsyncedFrom[name] = {};
    if (!clean)
      for (const [key, p] of points) bases.unsyncedFrom[name]![key.replace(/-(\d+)$/, ':$1')] = p.offset;
  }
  if (!fs.existsSync(path.join(root, 'crashed', 'catalog.sqlite-wal'))) {
    throw new Error('the crashed base has no catalog.sqlite-wal');
  }
  fs.writeFileSync(path.join(root, 'bases.json'), JSON.stringify(bases));
  return bases;
}

// ---- damage -----------------------------------------------------------------------------------

/** Batch start positions in a segment file (walking the length fields until zeros). */
const batchStarts = (bytes: Buffer): number[] => batchesIn(bytes).map((b) => b.position);

const HEADER_FIELDS = [
  ['baseOffset', 0, 8],
  ['length', 8, 12],
  ['epoch', 12, 16],
  ['magic', 16, 17],
  ['crc', 17, 21],
] as const;

function randomBytes(rand: () => number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (rand() * 256) | 0;
  return b;
}

function flipBit(bytes: Buffer, pos: number, rand: () => number): void {
  bytes[pos] = bytes[pos]! ^ (1 << between(rand, 0, 7));
}

interface Files {
  active: string[];
  closed: string[];
  index: string[];
  catalog: string[];
  wal: string[];
}

function listFiles(dir: string): Files {
  const files: Files = { active: [], closed: [], index: [], catalog: [], wal: [] };
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (!e.isDirectory()) {
      if (e.name === 'catalog.sqlite') files.catalog.push(e.name);
      if (e.name === 'catalog.sqlite-wal') files.wal.push(e.name);
      continue;
    }
    const logs = fs
      .readdirSync(path.join(dir, e.name))
      .filter((f) => f.endsWith('.log'))
      .sort();
    logs.forEach((f, k) => (k === logs.length - 1 ? files.active : files.closed).push(path.join(e.name, f)));
    for (const f of fs.readdirSync(path.join(dir, e.name))) {
      if (f.endsWith('.index') || f.endsWith('.timeindex')) files.index.push(path.join(e.name, f));
    }
  }
  return files;
}

/** Damages one file of the store copy in `dir`; returns what it did. */
export function damage(
  dir: string,
  rand: () => number,
  only?: string,
): { file: string; target: Target; kind: string; formatLimit?: boolean } {
  let formatLimit = false;
  const files = listFiles(dir);
  const pickTarget = (): Target => {
    const r = rand();
    if (r < 0.25) return 'active-log';
    if (r < 0.6) return 'closed-log';
    if (r < 0.75) return 'index';
    if (r < 0.9 || files.wal.length === 0) return 'catalog';
    return 'catalog-wal';
  };
  const target: Target =
    only === 'foreign-page' ? (rand() < 0.5 ? 'active-log' : 'closed-log') : pickTarget();
  const pool = {
    'active-log': files.active,
    'closed-log': files.closed,
    index: files.index,
    catalog: files.catalog,
    'catalog-wal': files.wal,
  }[target];
  const file = pool[between(rand, 0, pool.length - 1)]!;
  const full = path.join(dir, file);
  const bytes = fs.readFileSync(full);
  const isLog = file.endsWith('.log');
  const region = isLog ? Math.max(1, dataEnd(bytes)) : Math.max(1, bytes.length);
  const kinds = isLog
    ? [
        'bitflip',
        'bitflip',
        'header-bitflip',
        'header-bitflip',
        'zero-page',
        'random-sector',
        'misdirected-page',
        'truncate',
        'append-garbage',
        'zero-tail',
        'slack-garbage',
      ]
    : target === 'index'
      ? ['bitflip', 'truncate', 'append-garbage', 'zero-page', 'random-sector', 'other-index']
      : ['bitflip', 'bitflip', 'zero-page', 'random-sector', 'truncate', 'append-garbage'];
  let kind = only ?? kinds[between(rand, 0, kinds.length - 1)]!;
  const write = (b: Buffer) => fs.writeFileSync(full, b);
  switch (kind) {
    case 'bitflip': {
      const n = between(rand, 1, target.startsWith('catalog') ? 8 : 3);
      const anywhere = rand() < 0.1;
      for (let k = 0; k < n && bytes.length > 0; k++) {
        flipBit(
          bytes,
          between(rand, 0, (anywhere ? bytes.length : Math.min(region, bytes.length)) - 1),
          rand,
        );
      }
      write(bytes);
      break;
    }
    case 'header-bitflip': {
      const starts = batchStarts(bytes);
      if (starts.length === 0) {
        kind = 'header-bitflip(no batch)';
        break;
      }
      const start = starts[between(rand, 0, starts.length - 1)]!;
      const [name, from, to] = HEADER_FIELDS[between(rand, 0, HEADER_FIELDS.length - 1)]!;
      kind = `header-bitflip:${name}`;
      const before = bytes.readBigInt64BE(start);
      flipBit(bytes, start + between(rand, from, to - 1), rand);
      if (name === 'baseOffset' && path.basename(path.dirname(file)).startsWith('c')) {
        // Still inside the gap around its batch (see the header comment)?
        const k = starts.indexOf(start);
        const base = Number(bytes.readBigInt64BE(start));
        const last = base + bytes.readInt32BE(start + 23);
        const prev = starts[k - 1];
        const floor =
          prev === undefined
            ? Number(path.basename(file, '.log'))
            : Number(bytes.readBigInt64BE(prev)) + bytes.readInt32BE(prev + 23) + 1;
        const nextStart = starts[k + 1];
        const ceiling =
          nextStart === undefined
            ? Number(before) + bytes.readInt32BE(start + 23) + 1
            : Number(bytes.readBigInt64BE(nextStart));
        formatLimit = base >= floor && last < ceiling;
      }
      write(bytes);
      break;
    }
    case 'zero-page': {
      const page =
        Math.floor(between(rand, 0, Math.max(0, Math.min(region, bytes.length) - 1)) / 4096) * 4096;
      bytes.fill(0, page, Math.min(page + 4096, bytes.length));
      write(bytes);
      break;
    }
    case 'random-sector': {
      const at = Math.floor(between(rand, 0, Math.max(0, Math.min(region, bytes.length) - 1)) / 512) * 512;
      randomBytes(rand, 512).copy(bytes, at, 0, Math.min(512, bytes.length - at));
      write(bytes);
      break;
    }
    case 'misdirected-page':
    case 'foreign-page': {
      // A page of another segment of the partition (valid batches, other offsets) where this one's
      // should be; or, foreign, of another partition, same position (the same offsets, maybe).
      const dirOf = path.dirname(file);
      const page =
        Math.floor(between(rand, 0, Math.max(0, Math.min(region, bytes.length) - 1)) / 4096) * 4096;
      // A foreign page comes from the same place of the other file: only files that reach it (a
      // nearly empty partition's file is a few pages long).
      const others = [...files.active, ...files.closed].filter((f) =>
        kind === 'foreign-page'
          ? path.dirname(f) !== dirOf && fs.statSync(path.join(dir, f)).size > page
          : f !== file && path.dirname(f) === dirOf,
      );
      if (others.length === 0) {
        kind += '(none)';
        break;
      }
      const other = fs.readFileSync(path.join(dir, others[between(rand, 0, others.length - 1)]!));
      const from =
        kind === 'foreign-page'
          ? page
          : Math.floor(between(rand, 0, Math.max(0, other.length - 1)) / 4096) * 4096;
      other.copy(bytes, page, from, Math.min(from + 4096, other.length, from + bytes.length - page));
      write(bytes);
      break;
    }
    case 'truncate':
      fs.truncateSync(full, between(rand, 0, Math.max(0, bytes.length - 1)));
      break;
    case 'append-garbage':
      fs.appendFileSync(full, randomBytes(rand, between(rand, 1, 8192)));
      break;
    case 'zero-tail': {
      const from = between(rand, 0, Math.max(0, region - 1));
      bytes.fill(0, from, region);
      write(bytes);
      break;
    }
    case 'slack-garbage': {
      // Bytes after the last batch, inside the file: what a write past the end would leave.
      const end = dataEnd(bytes);
      if (end >= bytes.length) {
        kind = 'slack-garbage(no slack)';
        break;
      }
      const n = between(rand, 1, Math.min(200, bytes.length - end));
      randomBytes(rand, n).copy(bytes, end);
      write(bytes);
      break;
    }
    case 'other-index': {
      const others = files.index.filter((f) => f !== file && path.extname(f) === path.extname(file));
      if (others.length === 0) {
        kind = 'other-index(none)';
        break;
      }
      fs.copyFileSync(path.join(dir, others[between(rand, 0, others.length - 1)]!), full);
      break;
    }
  }
  return { file, target, kind, ...(formatLimit ? { formatLimit } : {}) };
}

// ---- checking ---------------------------------------------------------------------------------

class Findings {
  undetected: string | null = null;
  silent: string | null = null;
  detected = false;
  io = false;
  /** Partitions whose torn tail an open cut (and reported), in any round. */
  readonly cut = new Set<string>();
  /** Partitions that lost records after the recovery point without anything to cut. */
  unsyncedTail = false;

  /** A problem: undetected corruption, or (for catalog damage) a silent change of the catalog. */
  wrong(what: string, catalog: boolean, contentWrong: boolean): void {
    if (catalog && !contentWrong) this.silent ??= what;
    else this.undetected ??= what;
  }

  /** Classifies an error thrown by the library: LogStoreError codes are outcomes, anything else rethrows. */
  caught(err: unknown): void {
    if (!(err instanceof LogStoreError)) throw err;
    if (err.code === 'LOGSTORE_CORRUPT') this.detected = true;
    else if (err.code === 'LOGSTORE_IO') this.io = true;
    else this.undetected ??= `unexpected ${err.code}: ${err.message}`;
  }
}

/** Reads everything and probes seeks; records what it finds in `f`. */
function probe(
  store: LogStore,
  baseline: Baseline,
  unsyncedFrom: Record<string, number>,
  f: Findings,
  catalog: boolean,
  rand: () => number,
): void {
  const topics = new Map(store.topics().map((t) => [t.name, t.partitionCount]));
  for (const [key, offsets] of Object.entries(baseline)) {
    const [topic, p] = key.split(':') as [string, string];
    const partition = Number(p);
    if (!topics.has(topic)) {
      f.wrong(`${topic} is gone`, catalog, false);
      continue;
    }
    if (partition >= topics.get(topic)!) {
      f.wrong(`${key} is gone`, catalog, false);
      continue;
    }
    if (store.recovery.truncated.some((t) => t.topic === topic && t.partition === partition)) f.cut.add(key);
    const cut = f.cut.has(key);
    let start: number;
    let end: number;
    try {
      const d = store.describeTopic(topic).partitions[partition]!;
      start = d.startOffset;
      end = d.endOffset;
    } catch (err) {
      f.caught(err);
      continue;
    }
    const expected = offsets.filter((o) => o >= start);
    if (expected.length < offsets.length)
      f.wrong(`${key} starts at ${start} instead of ${offsets[0]}`, catalog, false);
    // Everything, from the start, in odd-sized reads (so batches are resumed in the middle).
    const got: LogRecord[] = [];
    let stopped = false;
    try {
      const reader = store.reader(topic, { partition, from: 'earliest' });
      for (;;) {
        const batch = reader.read(between(rand, 1, 300));
        if (batch.length === 0) break;
        got.push(...batch);
      }
      reader.close();
    } catch (err) {
      f.caught(err);
      stopped = true;
    }
    // Records after the recovery point of an unclean base were never synced: zeros in their place
    // (a power cut before writeback) are indistinguishable from never written, so they may go.
    const unsynced = unsyncedFrom[key] ?? Number.POSITIVE_INFINITY;
    const firstMissing = expected[got.length] ?? Number.POSITIVE_INFINITY;
    const tailOnly = !stopped && !cut && got.length < expected.length && firstMissing >= unsynced;
    if (tailOnly) f.unsyncedTail = true;
    compare(got, expected, key, topic, partition, f, catalog, stopped || cut || tailOnly);
    // Seeks into the middle go through the sparse index: it must not lead anywhere wrong.
    for (let k = 0; k < 4 && expected.length > 0; k++) {
      const at = between(rand, 0, expected.length - 1);
      const offset = expected[at]!;
      if (offset >= end || (f.unsyncedTail && offset >= unsynced)) continue;
      const byTime = rand() < 0.3;
      try {
        const reader = store.reader(topic, {
          partition,
          from: byTime ? { timestamp: TS0 + offset } : offset,
        });
        const some = reader.read(between(rand, 1, 5));
        reader.close();
        compare(
          some,
          expected.slice(at),
          `${key} from ${byTime ? 'timestamp of ' : ''}${offset}`,
          topic,
          partition,
          f,
          catalog,
          true,
          offset,
        );
      } catch (err) {
        const gone = cut || catalog || offset >= unsynced;
        if (err instanceof LogStoreError && err.code === 'LOGSTORE_OFFSET_OUT_OF_RANGE' && gone) continue;
        f.caught(err);
      }
    }
  }
}

/**
 * `got` must be `expected` (or, when `mayStop`, a prefix of it): same offsets, right content.
 * With `from`, the first record returned must be the one at `from`.
 */
function compare(
  got: readonly LogRecord[],
  expected: readonly number[],
  what: string,
  topic: string,
  partition: number,
  f: Findings,
  catalog: boolean,
  mayStop: boolean,
  from?: number,
): void {
  for (let k = 0; k < got.length; k++) {
    const rec = got[k]!;
    const problem = recordProblem(rec, topic, partition);
    if (problem) return f.wrong(`${what}: ${problem}`, catalog, true);
    if (rec.offset !== expected[k]) {
      const expectedOne = expected.includes(rec.offset);
      return f.wrong(
        `${what}: record ${k} has offset ${rec.offset}, expected ${expected[k]} (${expectedOne ? 'records skipped' : 'not a stored offset'})`,
        catalog,
        !expectedOne,
      );
    }
  }
  if (from !== undefined && got.length === 0) return f.wrong(`${what}: nothing returned`, catalog, false);
  if (!mayStop && got.length < expected.length) {
    f.wrong(
      `${what}: read ended at ${got.length} of ${expected.length} records without an error`,
      catalog,
      false,
    );
  }
}

/** Runs one case on a fresh copy of a base; `work` is scratch space. */
export async function runCase(
  bases: Bases,
  i: number,
  seed: number,
  work: string,
  only?: string,
): Promise<CaseResult> {
  const rand = prng(hash32(`${seed}/${i}`));
  const base = bases.names[rand() < 0.55 ? 0 : 1]!;
  fs.rmSync(work, { recursive: true, force: true });
  fs.cpSync(path.join(bases.root, base), work, { recursive: true });
  const { file, target, kind, formatLimit } = damage(work, rand, only);
  const catalog = target === 'catalog' || target === 'catalog-wal';
  const baseline = bases.baseline[base]!;
  const f = new Findings();
  const result: CaseResult = { i, base, file, target, kind, outcome: 'intact' };
  const check = catalog ? new CatalogCaseCheck(work) : null;
  try {
    for (let round = 0; round < 2; round++) {
      let store: LogStore;
      try {
        store = LogStore.open(work, { cleanupIntervalMs: 0 });
      } catch (err) {
        f.caught(err);
        break;
      }
      check?.noteOpen(store);
      try {
        probe(store, baseline, bases.unsyncedFrom[base]!, f, catalog, rand);
      } finally {
        try {
          await store.close();
        } catch (err) {
          f.caught(err);
        }
      }
    }
  } catch (err) {
    result.outcome = 'crash';
    result.detail = (err as Error)?.stack ?? String(err);
    return result;
  }
  if (target === 'index') {
    const original = fs.readFileSync(path.join(bases.root, base, file));
    const now = fs.existsSync(path.join(work, file)) ? fs.readFileSync(path.join(work, file)) : null;
    result.indexRepaired = now !== null && now.equals(original);
  }
  if (check) {
    const { filesDeleted, recordsLost, detail } = check.finish(baseline);
    Object.assign(result, { filesDeleted, recordsLost }, detail ? { detail } : {});
  }
  if (f.undetected) {
    result.outcome = formatLimit ? 'formatLimit' : 'undetected';
    result.detail = f.undetected;
  } else if (f.silent) {
    result.outcome = check?.reported ? 'catalogReported' : 'catalogSilent';
    result.detail = f.silent;
  } else if (f.detected) result.outcome = 'detected';
  else if (check?.reported) result.outcome = 'catalogRepaired';
  else if (f.io) result.outcome = 'io';
  else if (f.cut.size > 0) result.outcome = 'cut';
  else if (f.unsyncedTail) result.outcome = 'unsyncedTail';
  return result;
}

// ---- the driver (parent side) -------------------------------------------------------------------

export interface CorruptionFigures {
  cases: number;
  outcomes: Record<Outcome, number>;
  /** Cases by target file and by kind of damage. */
  byTarget: Record<string, Partial<Record<Outcome, number>>>;
  byKind: Record<string, Partial<Record<Outcome, number>>>;
  indexCases: number;
  indexFilesRewritten: number;
  catalogFilesDeleted: number;
  catalogRecordsLost: number;
  /** Worker processes that died (signal) or threw outside a case. */
  workerDeaths: number;
  /** The first few undetected corruptions and crashes, for the report. */
  examples: string[];
}

export function emptyCorruptionFigures(): CorruptionFigures {
  return {
    cases: 0,
    outcomes: Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>,
    byTarget: {},
    byKind: {},
    indexCases: 0,
    indexFilesRewritten: 0,
    catalogFilesDeleted: 0,
    catalogRecordsLost: 0,
    workerDeaths: 0,
    examples: [],
  };
}

const seen = new Set<string>();

export function addCase(figures: CorruptionFigures, r: CaseResult, seed: number): void {
  figures.cases++;
  figures.outcomes[r.outcome]++;
  const kind = r.kind.split('(')[0]!;
  const t = (figures.byTarget[r.target] ??= {});
  t[r.outcome] = (t[r.outcome] ?? 0) + 1;
  const k = (figures.byKind[`${r.target.endsWith('log') ? 'log' : r.target}/${kind}`] ??= {});
  k[r.outcome] = (k[r.outcome] ?? 0) + 1;
  if (r.target === 'index') {
    figures.indexCases++;
    if (r.indexRepaired) figures.indexFilesRewritten++;
  }
  figures.catalogFilesDeleted += r.filesDeleted ?? 0;
  figures.catalogRecordsLost += r.recordsLost ?? 0;
  const signature = `${r.outcome} ${r.target} ${r.detail
    ?.split('\n')[0]
    ?.replace(/[0-9]+/g, 'N')
    .slice(0, 60)}`;
  if (
    (r.outcome === 'undetected' ||
      r.outcome === 'crash' ||
      r.outcome === 'catalogSilent' ||
      r.filesDeleted ||
      r.recordsLost) &&
    figures.examples.length < 30 &&
    !seen.has(signature)
  ) {
    seen.add(signature);
    figures.examples.push(
      `case ${r.i} (seed ${seed}, base ${r.base}): ${r.kind} in ${r.file}: ${r.outcome}` +
        `${r.filesDeleted ? ` (segment files deleted: ${r.filesDeleted})` : ''}${r.recordsLost ? ` (records in no file: ${r.recordsLost})` : ''}` +
        `: ${r.detail?.split('\n').slice(0, 3).join(' | ')}`,
    );
  }
}

/**
 * Runs cases [0, cases) in `workers` worker processes (corruption-child.ts), each a lane of
 * consecutive cases, and hands each result line to `onResult`. A case that kills its worker (a
 * signal), or has no result after `caseTimeoutMs` (a hang: the worker is killed), goes to
 * `onDeath`; a new worker goes on after it. Returns the number of workers that died.
 */
export async function runInWorkers<R extends { i: number }>(options: {
  cases: number;
  workers: number;
  root: string;
  /** Passed to every worker, beside `work`, `from` and `to`. */
  args: {
    suite: 'random' | 'cleanup';
    bases: string;
    seed: number;
    only?: string;
    cleanups?: readonly string[];
  };
  onResult: (r: R) => void;
  onDeath: (i: number, detail: string) => void;
  caseTimeoutMs?: number;
}): Promise<number> {
  const timeoutMs = options.caseTimeoutMs ?? 180_000;
  const per = Math.ceil(options.cases / options.workers);
  let deaths = 0;
  const lanes = Array.from({ length: options.workers }, async (_, w) => {
    let from = w * per;
    const to = Math.min(options.cases, from + per);
    while (from < to) {
      let current = -1;
      let lastDone = from - 1;
      let hung = false;
      let timer: NodeJS.Timeout | undefined;
      const proc = spawnNode(
        SCRIPTS.corruption,
        [JSON.stringify({ ...options.args, work: path.join(options.root, `work-${w}`), from, to })],
        {
          onLine: (line) => {
            if (line.startsWith('start ')) {
              current = Number(line.slice(6));
              clearTimeout(timer);
              timer = setTimeout(() => {
                hung = true;
                proc.kill('SIGKILL');
              }, timeoutMs);
            } else if (line.startsWith('{')) {
              const r = JSON.parse(line) as R;
              lastDone = r.i;
              options.onResult(r);
            }
          },
        },
      );
      const exit = await proc.exited;
      clearTimeout(timer);
      if (exit.code === 0 && lastDone >= to - 1) break;
      deaths++;
      const dead = current > lastDone ? current : lastDone + 1;
      if (dead < to) {
        options.onDeath(
          dead,
          hung
            ? `no result after ${timeoutMs} ms (a hang): the worker was killed`
            : `worker exited with ${exit.signal ?? exit.code}: ${exit.stderr.slice(0, 400)}`,
        );
      }
      from = dead + 1;
    }
  });
  await Promise.all(lanes);
  return deaths;
}

/** Runs the random damage cases [0, cases) in worker processes (see runInWorkers). */
export async function runCorruption(options: {
  cases: number;
  root: string;
  seed?: number;
  workers?: number;
  /** Only this kind of damage (e.g. 'foreign-page'). */
  only?: string;
  onProgress?: (done: number, figures: CorruptionFigures) => void;
}): Promise<CorruptionFigures> {
  const seed = options.seed ?? 1;
  const figures = emptyCorruptionFigures();
  const bases = path.join(options.root, 'bases');
  await buildBases(bases, seed);
  figures.workerDeaths = await runInWorkers<CaseResult>({
    cases: options.cases,
    workers: Math.max(1, options.workers ?? 2),
    root: options.root,
    args: { suite: 'random', bases, seed, ...(options.only ? { only: options.only } : {}) },
    onResult: (r) => {
      addCase(figures, r, seed);
      options.onProgress?.(figures.cases, figures);
    },
    onDeath: (i, detail) =>
      addCase(
        figures,
        {
          i,
          base: '?',
          file: '?',
          target: 'closed-log',
          kind: 'unknown (the worker died)',
          outcome: 'crash',
          detail,
        },
        seed,
      ),
  });
  fs.rmSync(options.root, { recursive: true, force: true });
  return figures;
}
