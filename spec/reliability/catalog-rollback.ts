/**
 * A catalog gone back in time (issue 16). SQLite checks every `-wal` frame's checksum and takes a
 * bad frame for the end of the log: a damaged byte silently drops that frame and every frame
 * after it, and the catalog opens as of an older commit. The log files are the truth for
 * records, so the open must notice and repair from them, and never delete a file that holds
 * them.
 *
 * The scenario: the suite's writer child in `durability: 'always'` appends records to a topic with 64 KiB
 * segments and is killed with SIGKILL; then, on copies of that store, one byte of
 * `catalog.sqlite-wal` is damaged at several distances from its end (the last frame, earlier
 * frames, the first frame, the header). Two kinds of store: the topic created in the killed
 * session (damage far enough back loses the topic itself), and the topic created in an earlier
 * session closed cleanly (the `-wal` then holds only the killed session: every damage must be
 * repaired from the files). Each copy is opened as a writer:
 *   - the open works: every acknowledged record reads back, exactly, and `store.recovery` names
 *     each segment file the damaged catalog did not list as adopted;
 *   - or the open is refused with LOGSTORE_CORRUPT naming the problem (`topic-lost`) and the
 *     repair (`logstore verify --repair`); the repair then moves the files to quarantine/.
 * Either way no segment file holding records is deleted, and every acknowledged record is still
 * in the files (in place or in quarantine/), checked by walking them.
 *
 * The corruption suite's catalog cases use the same file checks (CatalogCaseCheck).
 */
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { decodeBatch, LogStore, LogStoreError, type LogRecord } from '../../lib/index.js';
import { readPartition } from './inspect.js';
import { between, prng, recordProblem, tp } from './records.js';
import { runScript } from './writer.js';
import type { ScriptStep } from './writer-child.js';

const Database = createRequire(import.meta.url)('better-sqlite3') as typeof import('better-sqlite3');

const WAL_HEADER = 32;
const FRAME_HEADER = 24;

// ---- files: what holds records, and what is gone ----------------------------------------------

/** The `.log` files under `dir` with a non-zero byte, as paths relative to it (quarantine included). */
export function logFilesWithData(dir: string): Set<string> {
  const found = new Set<string>();
  for (const rel of fs.readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    if (!rel.endsWith('.log')) continue;
    const bytes = fs.readFileSync(path.join(dir, rel));
    if (bytes.some((b) => b !== 0)) found.add(rel);
  }
  return found;
}

/**
 * Of `before` (logFilesWithData of the same store earlier), the files no longer anywhere: neither
 * in place nor under quarantine/ (which keeps `<topic>-<partition>/<file>`).
 */
export function deletedLogFiles(dir: string, before: ReadonlySet<string>): string[] {
  const now = [...logFilesWithData(dir)];
  const tails = new Set(now.map((rel) => rel.split(path.sep).slice(-2).join(path.sep)));
  return [...before].filter((rel) => !tails.has(rel.split(path.sep).slice(-2).join(path.sep))).sort();
}

/**
 * The offsets of `topic`-`partition` whose records are in the files under `dir` (in place or in
 * quarantine/), each the record written there (records.ts): every batch of every `.log` file
 * walked from its start.
 */
export function offsetsInFiles(dir: string, topic: string, partition: number): Set<number> {
  const name = `${topic}-${partition}`;
  const found = new Set<number>();
  for (const rel of fs.readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    if (!rel.endsWith('.log') || path.basename(path.dirname(rel)) !== name) continue;
    const bytes = fs.readFileSync(path.join(dir, rel));
    for (let pos = 0; pos + 12 <= bytes.length && bytes.readInt32BE(pos + 8) > 0;) {
      let records: LogRecord[];
      let size: number;
      try {
        const batch = decodeBatch(bytes, pos);
        records = batch.records;
        size = batch.sizeInBytes;
      } catch {
        break;
      }
      for (const r of records)
        if (!recordProblem({ ...r, topic, partition }, topic, partition)) found.add(r.offset);
      pos += size;
    }
  }
  return found;
}

/**
 * For one damaged-catalog case of the corruption suite: which segment files holding records
 * were deleted, how many of the base's records are in no file any more, and whether an open
 * reported what it found (`store.recovery.catalog`, or a file set aside).
 */
export class CatalogCaseCheck {
  private readonly before: Set<string>;
  reported = false;

  constructor(private readonly dir: string) {
    this.before = logFilesWithData(dir);
  }

  noteOpen(store: LogStore): void {
    const r = store.recovery;
    if (r.catalog.length > 0 || r.files.some((f) => f.action === 'quarantined')) this.reported = true;
  }

  /**
   * After the last close. `baseline`: per `topic:partition`, the offsets the base holds. `detail`
   * names the deleted files, if any.
   */
  finish(baseline: Record<string, number[]>): { filesDeleted: number; recordsLost: number; detail?: string } {
    let recordsLost = 0;
    for (const [key, offsets] of Object.entries(baseline)) {
      const [topic, p] = key.split(':') as [string, string];
      const found = offsetsInFiles(this.dir, topic, Number(p));
      recordsLost += offsets.filter((o) => !found.has(o)).length;
    }
    const deleted = deletedLogFiles(this.dir, this.before);
    return {
      filesDeleted: deleted.length,
      recordsLost,
      ...(deleted.length > 0 ? { detail: `deleted: ${deleted.join(', ')}` } : {}),
    };
  }
}

// ---- the kill -9 + damaged -wal scenario -------------------------------------------------------

export interface RollbackFigures {
  /** Stores written by a killed writer child. */
  stores: number;
  /** Damaged copies opened (stores x distances). */
  cases: number;
  recordsAcked: number;
  /** Acknowledged records neither read back (open worked) nor in the files (open refused). */
  ackedLost: number;
  /** Segment files holding records that are in no place (partition directory or quarantine/). */
  filesDeleted: number;
  /** Cases whose open worked and read back every acknowledged record. */
  readBack: number;
  /** Cases whose open was refused with LOGSTORE_CORRUPT (`topic-lost`), then repaired. */
  refused: number;
  /** Cases where records were missing (or wrong) after an open that worked. */
  silent: number;
  /** Segment files the damaged catalog did not list that the open adopted / did not name. */
  adopted: number;
  unnamed: number;
  /** Cases of the store whose topic predates the killed session that were refused. */
  refusedWithTopicKnown: number;
  /** Errors that are not the expected LOGSTORE_CORRUPT `topic-lost`, repairs that failed. */
  wrongErrors: number;
  failures: string[];
}

export function emptyRollbackFigures(): RollbackFigures {
  return {
    stores: 0,
    cases: 0,
    recordsAcked: 0,
    ackedLost: 0,
    filesDeleted: 0,
    readBack: 0,
    refused: 0,
    silent: 0,
    adopted: 0,
    unnamed: 0,
    refusedWithTopicKnown: 0,
    wrongErrors: 0,
    failures: [],
  };
}

/**
 * Writes a store in `dir` with the suite's writer child (writer.ts): `count` records appended one
 * by one in `durability: 'always'`, then SIGKILL. `topicFirst`: the topic is created in an
 * earlier session closed cleanly (a `close` step: close, then open again).
 */
async function writeKilled(
  dir: string,
  count: number,
  topicFirst: boolean,
  segmentBytes: number,
): Promise<void> {
  const steps: ScriptStep[] = [{ do: 'append', topic: 't', records: count }];
  if (topicFirst) steps.unshift({ do: 'close' });
  const exit = await runScript(dir, [{ name: 't', partitions: 1, weight: 1, segmentBytes }], steps, {
    durability: 'always',
  });
  if (exit.signal !== 'SIGKILL')
    throw new Error(`the writer child did not die by SIGKILL: ${exit.signal} ${exit.stderr}`);
  const acked = exit.ledger.acked.get(tp('t', 0)) ?? 0;
  if (acked !== count) throw new Error(`the writer child acknowledged ${acked} records of ${count}`);
}

/**
 * Byte positions to damage in a `-wal` of `size` bytes with `pageSize` pages: in the last frame,
 * the 2nd and 4th from the end, the middle one, the first one, and the header.
 */
export function walDamagePositions(
  size: number,
  pageSize: number,
  rand: () => number,
): { name: string; at: number }[] {
  const frame = FRAME_HEADER + pageSize;
  const frames = Math.floor((size - WAL_HEADER) / frame);
  const inFrame = (k: number) => WAL_HEADER + k * frame + between(rand, 0, frame - 1);
  const picks: { name: string; at: number }[] = [];
  for (const [name, k] of [
    ['last frame', frames - 1],
    ['2nd frame from the end', frames - 2],
    ['4th frame from the end', frames - 4],
    ['middle frame', Math.floor(frames / 2)],
    ['first frame', 0],
  ] as const) {
    if (k >= 0 && k < frames && !picks.some((p) => p.name.endsWith(`#${k}`)))
      picks.push({ name: `${name} #${k}`, at: inFrame(k) });
  }
  picks.push({ name: 'header', at: between(rand, 0, WAL_HEADER - 1) });
  return picks;
}

/** The segment base offsets the catalog in `dir` lists for t-0, as SQLite recovers it (read on a copy). */
function listedSegments(dir: string, scratch: string): number[] {
  fs.rmSync(scratch, { recursive: true, force: true });
  fs.mkdirSync(scratch, { recursive: true });
  for (const f of ['catalog.sqlite', 'catalog.sqlite-wal']) {
    if (fs.existsSync(path.join(dir, f))) fs.copyFileSync(path.join(dir, f), path.join(scratch, f));
  }
  const db = new Database(path.join(scratch, 'catalog.sqlite'));
  try {
    const rows = db
      .prepare("SELECT base_offset FROM segments WHERE topic = 't' AND partition = 0 ORDER BY base_offset")
      .all() as { base_offset: number }[];
    return rows.map((r) => r.base_offset);
  } catch {
    return []; // no segments table: the damage lost the schema itself
  } finally {
    db.close();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/** One damaged copy: opens it, checks it, adds to `figures`. */
async function runCase(
  work: string,
  acked: number,
  topicFirst: boolean,
  what: string,
  figures: RollbackFigures,
): Promise<void> {
  figures.cases++;
  figures.recordsAcked += acked;
  const before = logFilesWithData(work);
  const partitionDir = path.join(work, 't-0');
  const onDisk = fs
    .readdirSync(partitionDir)
    .filter((f) => f.endsWith('.log'))
    .map((f) => Number(f.slice(0, 20)));
  const listed = new Set(listedSegments(work, `${work}.catalog`));
  const fail = (message: string) => {
    if (figures.failures.length < 20) figures.failures.push(`${what}: ${message}`);
  };
  let store: LogStore | null = null;
  try {
    store = LogStore.open(work, { cleanupIntervalMs: 0 });
  } catch (err) {
    if (
      !(err instanceof LogStoreError) ||
      err.code !== 'LOGSTORE_CORRUPT' ||
      err.details.kind !== 'topic-lost'
    ) {
      figures.wrongErrors++;
      fail(`open failed: ${(err as Error).message}`);
    } else if (!err.message.includes('logstore verify --repair')) {
      figures.wrongErrors++;
      fail(`the refusal does not name the repair: ${err.message}`);
    } else {
      figures.refused++;
      if (topicFirst) figures.refusedWithTopicKnown++;
      try {
        const report = await LogStore.repair(work);
        if (!report.files.some((f) => f.action === 'quarantined' && f.file === partitionDir)) {
          figures.wrongErrors++;
          fail('the repair did not set t-0 aside');
        }
      } catch (repairErr) {
        figures.wrongErrors++;
        fail(`the repair failed: ${(repairErr as Error).message}`);
      }
    }
  }
  if (store) {
    let read: LogRecord[] = [];
    try {
      read = readPartition(store, 't', 0);
    } catch (err) {
      fail(`read failed: ${(err as Error).message}`);
    }
    const wrong = read.findIndex((r, i) => r.offset !== i || recordProblem(r, 't', 0) !== null);
    if (wrong >= 0 || read.length !== acked) {
      figures.silent++;
      fail(`read ${read.length} of ${acked} records${wrong >= 0 ? `, the one at ${wrong} wrong` : ''}`);
    } else figures.readBack++;
    const adopted = new Set(
      store.recovery.files
        .filter((f) => f.action === 'adopted')
        .map((f) => Number(path.basename(f.file).slice(0, 20))),
    );
    // Every segment file holding records that the damaged catalog did not list must be named.
    for (const base of onDisk) {
      if (listed.size === 0 || listed.has(base)) continue;
      const file = path.join(partitionDir, `${String(base).padStart(20, '0')}.log`);
      if (!before.has(path.relative(work, file))) continue;
      if (adopted.has(base)) figures.adopted++;
      else {
        figures.unnamed++;
        fail(`segment ${base}, not in the damaged catalog, is not reported as adopted`);
      }
    }
    await store.close();
  }
  const deleted = deletedLogFiles(work, before);
  figures.filesDeleted += deleted.length;
  if (deleted.length > 0) fail(`segment files deleted: ${deleted.join(', ')}`);
  const inFiles = offsetsInFiles(work, 't', 0);
  let lost = 0;
  for (let o = 0; o < acked; o++) if (!inFiles.has(o)) lost++;
  figures.ackedLost += lost;
  if (lost > 0) fail(`${lost} acknowledged records in no file`);
}

/**
 * Runs the scenario `stores` times (alternating the two kinds of store), each store damaged at
 * every distance of walDamagePositions. `records`: the most records a writer appends (it appends
 * between half of that and all of it).
 */
export async function runCatalogRollback(options: {
  root: string;
  stores: number;
  records?: number;
  segmentBytes?: number;
  seed?: number;
  onProgress?: (done: number, figures: RollbackFigures) => void;
}): Promise<RollbackFigures> {
  const figures = emptyRollbackFigures();
  const rand = prng(options.seed ?? 1);
  const most = options.records ?? 5000;
  fs.mkdirSync(options.root, { recursive: true });
  for (let s = 0; s < options.stores; s++) {
    const topicFirst = s % 2 === 1;
    const count = s < 2 ? most : between(rand, Math.ceil(most / 2), most);
    const base = path.join(options.root, `store-${s}`);
    fs.rmSync(base, { recursive: true, force: true });
    await writeKilled(base, count, topicFirst, options.segmentBytes ?? 64 * 1024);
    figures.stores++;
    const wal = fs.readFileSync(path.join(base, 'catalog.sqlite-wal'));
    const pageSize = wal.readUInt32BE(8);
    for (const { name, at } of walDamagePositions(wal.length, pageSize, rand)) {
      const work = path.join(options.root, 'work');
      fs.rmSync(work, { recursive: true, force: true });
      fs.cpSync(base, work, { recursive: true });
      const damaged = Buffer.from(wal);
      damaged[at] = damaged[at]! ^ (1 << between(rand, 0, 7));
      fs.writeFileSync(path.join(work, 'catalog.sqlite-wal'), damaged);
      fs.rmSync(path.join(work, 'catalog.sqlite-shm'), { force: true });
      const what = `store ${s} (${count} records, topic created ${topicFirst ? 'before' : 'in'} the killed session), ${name} (byte ${wal.length - at} from the end)`;
      await runCase(work, count, topicFirst, what, figures);
      options.onProgress?.(figures.cases, figures);
    }
    fs.rmSync(base, { recursive: true, force: true });
  }
  fs.rmSync(options.root, { recursive: true, force: true });
  return figures;
}
