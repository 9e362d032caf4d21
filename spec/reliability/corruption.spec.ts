import { expect } from 'chai';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { encodeBatch, LogStore, LogStoreError, type LogRecord } from '../../lib/index.js';
import { batchesIn, patch } from '../helpers/segments.js';
import { expectCode, removeTempDirs, tempDir } from '../helpers/temp.js';
import { runCatalogFuzz } from './catalog-fuzz.js';
import { CLEANUPS, DAMAGES, runCleanupCorruption } from './cleanup-corruption.js';
import { runCorruption } from './corruption.js';
import { readPartition } from './inspect.js';
import { recordProblem } from './records.js';
import { runScript } from './writer.js';

const Database = createRequire(import.meta.url)('better-sqlite3') as typeof import('better-sqlite3');

/** Reads a partition; a LOGSTORE_CORRUPT ends it (returned as `error`), anything else throws. */
function readUntilCorrupt(
  store: LogStore,
  topic: string,
  from: number | 'earliest' | { timestamp: number } = 'earliest',
) {
  const records: LogRecord[] = [];
  try {
    const reader = store.reader(topic, { from });
    for (let batch = reader.read(1); batch.length > 0; batch = reader.read(1)) records.push(...batch);
    return { records, error: null };
  } catch (err) {
    if (!(err instanceof LogStoreError) || err.code !== 'LOGSTORE_CORRUPT') throw err;
    return { records, error: err };
  }
}

/** Batch start positions of a segment file. */
const batchStarts = (file: string): number[] => batchesIn(fs.readFileSync(file)).map((b) => b.position);

/**
 * A writer child appends `before` records to `topic` (one batch each), flushes (the recovery
 * point), appends `after` more, and dies with SIGKILL.
 */
async function crashAfter(
  dir: string,
  topic: { name: string; segmentBytes?: number },
  before: number,
  after: number,
): Promise<void> {
  const { signal, stderr } = await runScript(
    dir,
    [{ partitions: 1, weight: 1, ...topic }],
    [
      { do: 'append', topic: topic.name, records: before },
      { do: 'flush' },
      { do: 'append', topic: topic.name, records: after },
    ],
  );
  expect(signal, stderr).to.equal('SIGKILL');
}

/** Every record is the one the writer child wrote at its offset. */
function expectWritten(records: readonly LogRecord[], topic: string): void {
  expect(records.map((r) => recordProblem(r, topic, 0)).filter((p) => p !== null)).to.deep.equal([]);
}

describe('Reliability: corruption', function () {
  this.timeout(120_000);
  after(removeTempDirs);

  it('should never crash and never return a wrong record over random damage to segments, indexes and the catalog', async () => {
    const figures = await runCorruption({ cases: 400, root: tempDir(), seed: 5, workers: 2 });
    expect(figures.examples).to.deep.equal([]);
    expect(figures.cases).to.equal(400);
    expect(figures.outcomes.crash).to.equal(0);
    expect(figures.outcomes.undetected).to.equal(0);
    // A damaged catalog is detected, or repaired from the files and reported; never silent.
    expect(figures.outcomes.catalogSilent).to.equal(0);
    expect(figures.catalogFilesDeleted).to.equal(0);
    expect(figures.catalogRecordsLost).to.equal(0);
    expect(figures.workerDeaths).to.equal(0);
    expect(figures.outcomes.detected).to.be.greaterThan(50);
  });

  it('should report damage in a closed segment that retention keeps or a follower reads, never return it, and count it harmless only when retention deleted it', async () => {
    const cleanups = CLEANUPS.filter((c) => c !== 'compaction');
    const cases = cleanups.length * DAMAGES.length * 2;
    const f = await runCleanupCorruption({ cases, root: tempDir(), seed: 5, workers: 2, cleanups });
    expect(f.examples).to.deep.equal([]);
    expect(f.cases).to.equal(cases);
    expect(f.workerDeaths).to.equal(0);
    const retention = { detected: 0, harmless: 0 };
    for (const [combination, n] of Object.entries(f.combinations)) {
      if (combination.startsWith('compaction/')) continue;
      expect({ combination, ...n }).to.deep.include({ undetected: 0, unplaced: 0, falseAlarm: 0, crash: 0 });
      expect(n.detected + n.harmless, combination).to.equal(2);
      if (combination.startsWith('follower/')) expect(n.detected, combination).to.equal(2);
      else {
        retention.detected += n.detected;
        retention.harmless += n.harmless;
      }
    }
    // Retention met the damaged segment both ways: kept (reported) and deleted (harmless).
    expect(retention.detected, 'retention kept the damaged segment').to.be.greaterThan(0);
    expect(retention.harmless, 'retention deleted the damaged segment').to.be.greaterThan(0);
  });

  // Compaction reads every batch of the closed segments and writes the records it keeps into new
  // batches with fresh CRCs: a damaged record must stop it (or be left where it is and named),
  // never come out the other side as a valid one.
  it('should report damage in a closed segment that compaction meets, and never rewrite it into a valid batch', async () => {
    const cases = DAMAGES.length * 3;
    const f = await runCleanupCorruption({
      cases,
      root: tempDir(),
      seed: 5,
      workers: 2,
      cleanups: ['compaction'],
      caseTimeoutMs: 60_000,
    });
    expect(f.examples).to.deep.equal([]);
    expect(f.cases).to.equal(cases);
    expect(f.workerDeaths).to.equal(0);
    for (const d of DAMAGES) {
      expect({ combination: `compaction/${d}`, ...f.combinations[`compaction/${d}`] }).to.deep.include({
        detected: 3,
        undetected: 0,
      });
    }
  });

  it('should give only LogStoreErrors (CORRUPT or IO) for any catalog file (fast-check)', async () => {
    const figures = await runCatalogFuzz({ runs: 120, root: tempDir(), seed: 3 });
    expect(figures.counterexample).to.equal(null);
    expect(figures.foreign).to.equal(0);
    expect(figures.otherCodes).to.equal(0);
  });

  // Found by the corruption suite: SQLite has no page checksums, so a damaged catalog fails in
  // whichever statement reads the page, long after Catalog.open; the SqliteError escaped.
  it('should report a damaged catalog page as LOGSTORE_CORRUPT, not a SqliteError', async () => {
    const dir = tempDir();
    const store = LogStore.open(dir);
    store.createTopic('t', { partitions: 3 });
    await store.close();
    const file = path.join(dir, 'catalog.sqlite');
    const bytes = fs.readFileSync(file);
    bytes.fill(0, 4096); // every page but the first (header and schema)
    fs.writeFileSync(file, bytes);
    expectCode(() => LogStore.open(dir), 'LOGSTORE_CORRUPT');
    expectCode(() => LogStore.open(dir, { readOnly: true }).topics(), 'LOGSTORE_CORRUPT');
  });

  it('should report an unreadable topic config as LOGSTORE_CORRUPT, not a SyntaxError', async () => {
    const dir = tempDir();
    const store = LogStore.open(dir);
    store.createTopic('t');
    await store.close();
    const db = new Database(path.join(dir, 'catalog.sqlite'));
    db.prepare("UPDATE topics SET config = '{\"partitions\":1,' WHERE name = 't'").run();
    db.close();
    expectCode(() => LogStore.open(dir), 'LOGSTORE_CORRUPT');
  });

  // Found by the catalog fuzzing: a damaged topic name (or a lost directory) made the open throw
  // a plain ENOENT from scandir.
  it('should report a partition directory the catalog lists but the disk lacks as LOGSTORE_CORRUPT', async () => {
    const dir = tempDir();
    const store = LogStore.open(dir);
    store.createTopic('t', { partitions: 2 });
    await store.close();
    fs.renameSync(path.join(dir, 't-1'), path.join(dir, 'elsewhere'));
    expectCode(() => LogStore.open(dir), 'LOGSTORE_CORRUPT');
  });

  // Found by the corruption suite: the search by timestamp checked each batch's CRC but not its
  // offsets (not covered by the CRC), so a misplaced batch sent the reader past records silently.
  it('should never start a timestamp seek at a batch whose offsets are wrong', async () => {
    const dir = tempDir();
    let store = LogStore.open(dir, { cleanupIntervalMs: 0 });
    store.createTopic('t', { segmentBytes: 1 << 20 });
    for (let i = 0; i < 100; i++) store.append('t', { value: Buffer.alloc(100, i), timestamp: 1000 + i });
    await store.close();
    // Batch 50's place holds a copy of batch 60: a valid batch (CRC and all) at the wrong offsets.
    const file = path.join(dir, 't-0', '00000000000000000000.log');
    const starts = batchStarts(file);
    const bytes = fs.readFileSync(file);
    patch(file, starts[50]!, bytes.subarray(starts[60]!, starts[61]!));
    store = LogStore.open(dir, { cleanupIntervalMs: 0 });
    let first: number | undefined;
    try {
      first = store.reader('t', { from: { timestamp: 1050 } }).read(1)[0]?.offset;
    } catch (err) {
      if (!(err instanceof LogStoreError) || err.code !== 'LOGSTORE_CORRUPT') throw err;
    }
    expect(first, 'records 50..59 skipped without an error').to.equal(undefined);
    await store.close();
  });

  // Found by the corruption suite: recovery took zeros for the end of the data even before the
  // recovery point, so synced records vanished without LOGSTORE_CORRUPT.
  it('should refuse to open when synced batches before the recovery point read as zeros', async () => {
    const dir = tempDir();
    await crashAfter(dir, { name: 't' }, 10, 5);
    patch(path.join(dir, 't-0', '00000000000000000000.log'), 0, Buffer.alloc(4096));
    const err = expectCode(() => LogStore.open(dir), 'LOGSTORE_CORRUPT');
    expect(err.message).to.contain('00000000000000000000.log');
  });

  // Found by the corruption suite: a closed segment of a compacted topic after the recovery point
  // that reads as zeros was taken as empty (gaps are normal there) and recovery went on with the
  // segments after it: its records vanished from the middle of the log without a word.
  it('should cut, and report, a compacted log at a closed segment whose batches are gone', async () => {
    const dir = tempDir();
    await crashAfter(dir, { name: 'c', segmentBytes: 4096 }, 1, 200); // recovery point in segment 0
    const logs = fs
      .readdirSync(path.join(dir, 'c-0'))
      .filter((f) => f.endsWith('.log'))
      .sort();
    expect(logs.length).to.be.at.least(4);
    const zeroed = logs[2]!;
    patch(path.join(dir, 'c-0', zeroed), 0, Buffer.alloc(4096));
    const store = LogStore.open(dir);
    const records = readPartition(store, 'c', 0);
    expectWritten(records, 'c');
    const offsets = records.map((r) => r.offset);
    const base = Number(zeroed.slice(0, 20));
    expect(
      offsets.filter((o) => o >= base),
      'records after the zeroed segment kept across the hole',
    ).to.deep.equal([]);
    expect(store.recovery.truncated.map((t) => path.basename(t.file))).to.deep.equal([zeroed]);
    await store.close();
  });

  // Found by the corruption suite: the CRC does not cover base offsets, and in a compacted topic
  // recovery accepted any increase; a flipped bit gave records at made-up offsets (and a log end
  // far away), or a RangeError from saving an index with a relative offset past 2^31.
  for (const bit of [4, 40]) {
    it(`should not accept a base offset that jumps (bit ${bit} flipped) in a compacted topic's active segment`, async () => {
      const dir = tempDir();
      await crashAfter(dir, { name: 'c' }, 10, 10);
      const file = path.join(dir, 'c-0', '00000000000000000000.log');
      const at = batchStarts(file)[15]!;
      const base = fs.readFileSync(file).subarray(at, at + 8);
      base[7 - Math.floor(bit / 8)]! ^= 1 << (bit % 8);
      patch(file, at, base);
      const store = LogStore.open(dir);
      const records = readPartition(store, 'c', 0);
      expect(records.map((r) => r.offset)).to.deep.equal(Array.from({ length: 15 }, (_, i) => i));
      expectWritten(records, 'c');
      expect(store.recovery.truncated).to.have.length(1);
      expect(store.append('c', { key: 'x', value: 'next' }).baseOffset).to.equal(15);
      await store.close();
    });
  }

  // Found by the corruption suite: index files are a cache, but a damaged entry that still looked
  // plausible (a position moved by 16 bytes) made intact batches unreadable (LOGSTORE_CORRUPT).
  it('should read intact batches through a damaged index entry', async () => {
    const dir = tempDir();
    let store = LogStore.open(dir, { cleanupIntervalMs: 0 });
    store.createTopic('t', { segmentBytes: 64 << 10 });
    for (let i = 0; i < 300; i++) store.append('t', { value: Buffer.alloc(100, i), timestamp: 1000 + i });
    await store.close();
    const index = path.join(dir, 't-0', '00000000000000000000.index');
    const entries = fs.readFileSync(index);
    expect(entries.length).to.be.at.least(16);
    entries.writeInt32BE(entries.readInt32BE(12) + 16, 12); // entry 1's position
    fs.writeFileSync(index, entries);
    store = LogStore.open(dir, { cleanupIntervalMs: 0 });
    const offset = entries.readInt32BE(8);
    const { records, error } = readUntilCorrupt(store, 't', offset);
    expect(error?.message).to.equal(undefined);
    expect(records.map((r) => r.offset)).to.deep.equal(
      Array.from({ length: 300 - offset }, (_, i) => offset + i),
    );
    await store.close();
  });

  // Found by the stress run: the CRC does not cover the base offset, and a read starting at a
  // segment's first batch only checked it against the segment's range: a flipped bit (0 -> 2)
  // returned records 0.. as offsets 2.. before the next batch showed the mismatch.
  it("should check the first batch of a segment against the segment's base offset", async () => {
    const dir = tempDir();
    let store = LogStore.open(dir, { cleanupIntervalMs: 0 });
    store.createTopic('t');
    store.append(
      't',
      [0, 1, 2].map((i) => ({ value: `v${i}` })),
    );
    store.append(
      't',
      [3, 4, 5].map((i) => ({ value: `v${i}` })),
    );
    await store.close();
    patch(path.join(dir, 't-0', '00000000000000000000.log'), 7, Buffer.from([2]));
    store = LogStore.open(dir, { cleanupIntervalMs: 0 });
    for (const from of [0, 2] as const) {
      const { records, error } = readUntilCorrupt(store, 't', from);
      expect(records.map((r) => `${r.offset}=${r.value}`)).to.deep.equal([]);
      expect(error?.message).to.contain('position 0');
    }
    await store.close();
  });

  it('should tell a wrong batch in a trusted segment by its offsets, even when its CRC is right', async () => {
    const dir = tempDir();
    let store = LogStore.open(dir, { cleanupIntervalMs: 0 });
    store.createTopic('t');
    for (let i = 0; i < 20; i++) store.append('t', { value: Buffer.alloc(50, i), timestamp: 1 });
    await store.close();
    const file = path.join(dir, 't-0', '00000000000000000000.log');
    const starts = batchStarts(file);
    const batch = encodeBatch(7, [{ value: Buffer.alloc(50, 7), timestamp: 1 }], 1);
    patch(file, starts[5]!, batch); // offset 7's batch where offset 5's should be
    store = LogStore.open(dir, { cleanupIntervalMs: 0 });
    const { records, error } = readUntilCorrupt(store, 't');
    expect(records.map((r) => r.offset)).to.deep.equal([0, 1, 2, 3, 4]);
    expect(error!.message).to.contain(`position ${starts[5]}`);
    await store.close();
  });
});
