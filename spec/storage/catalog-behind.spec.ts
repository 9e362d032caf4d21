/**
 * The log files are the truth: what an open does when the catalog is older than the files (a
 * lost SQLite commit takes it back in time) or disagrees with them, and with files the catalog
 * does not list. Each case asserts `store.recovery` (the files adopted, set aside or removed, and
 * the catalog problem codes), the records read back, and that no file holding records is deleted.
 *
 * A catalog "gone back in time" is made exactly: its files are copied aside while the writer is
 * open (what a crash would leave, a consistent commit), the store goes on, and the copy is put
 * back.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { LogStore, type LogStoreError, type RecoveryReport } from '../../lib/index.js';
import { encodeBatch } from '../../lib/format/batch-encoder.js';
import { verifyStore } from '../../lib/inspect/index.js';
import { LIB, runChild } from '../helpers/child.js';
import { expectCode, removeTempDirs, tempDir } from '../helpers/temp.js';

const SEGMENT_BYTES = 4096;
const value = (i: number) => Buffer.alloc(100, i % 251);
/** Every record `append` writes below is one batch of this size (a 2-byte key, a 100-byte value). */
const BATCH = encodeBatch(0, [{ key: 'k0', value: value(0), timestamp: 1000 }], 1).length;
const PER_SEGMENT = Math.floor(SEGMENT_BYTES / BATCH);
const CATALOG_FILES = ['catalog.sqlite', 'catalog.sqlite-wal'];

const name = (base: number, kind = 'log') => `${String(base).padStart(20, '0')}.${kind}`;
const segmentFile = (dir: string, base: number, topic = 't') => path.join(dir, `${topic}-0`, name(base));

function append(s: LogStore, from: number, count: number, topic = 't'): void {
  for (let i = from; i < from + count; i++) {
    const at = s.append(topic, { key: `k${i % 7}`, value: value(i), timestamp: 1000 + i }, { partition: 0 });
    expect(at.baseOffset).to.equal(i);
  }
}

function offsets(s: LogStore, topic = 't'): number[] {
  return [...s.reader(topic)].map((r) => r.offset);
}

/** Offsets 0..n-1, each record with the value it was written with. */
function expectAll(s: LogStore, n: number, topic = 't'): void {
  const records = [...s.reader(topic)];
  expect(records.map((r) => r.offset)).to.deep.equal(Array.from({ length: n }, (_, i) => i));
  for (const r of records) expect(r.value!.equals(value(r.offset)), `record ${r.offset}`).to.equal(true);
}

/** The catalog's files as they are now, to be put back later. */
function snapshotCatalog(dir: string): Map<string, Buffer> {
  const copy = new Map<string, Buffer>();
  for (const f of CATALOG_FILES) {
    const file = path.join(dir, f);
    if (fs.existsSync(file)) copy.set(f, fs.readFileSync(file));
  }
  return copy;
}

/** Puts back a catalog copied earlier: the catalog as a lost commit leaves it. */
function restoreCatalog(dir: string, copy: Map<string, Buffer>): void {
  for (const f of [...CATALOG_FILES, 'catalog.sqlite-shm']) fs.rmSync(path.join(dir, f), { force: true });
  for (const [f, bytes] of copy) fs.writeFileSync(path.join(dir, f), bytes);
}

function sql(dir: string, statement: string, ...params: unknown[]): void {
  const db = new Database(path.join(dir, 'catalog.sqlite'));
  db.prepare(statement).run(...params);
  db.close();
}

function logFiles(dir: string, topic = 't'): string[] {
  return fs
    .readdirSync(path.join(dir, `${topic}-0`))
    .filter((f) => f.endsWith('.log'))
    .sort();
}

const codes = (r: RecoveryReport) => r.catalog.map((c) => c.code);
const actions = (r: RecoveryReport) => r.files.map((f) => [f.action, path.basename(f.file)]);

describe('Log loader: the files are the truth', () => {
  after(removeTempDirs);

  it('should adopt the segments that continue the log when the catalog lost their rolls, and report each', async () => {
    const dir = tempDir();
    let s = LogStore.open(dir, { cleanupIntervalMs: 0 });
    s.createTopic('t', { segmentBytes: SEGMENT_BYTES });
    append(s, 0, PER_SEGMENT - 2);
    const old = snapshotCatalog(dir); // the catalog lists segment 0 only, as the active one
    append(s, PER_SEGMENT - 2, 3 * PER_SEGMENT + 5);
    await s.close();
    const total = 4 * PER_SEGMENT + 3;
    const files = logFiles(dir);
    expect(files).to.have.length(5);
    restoreCatalog(dir, old);

    s = LogStore.open(dir, { cleanupIntervalMs: 0 });
    expect(actions(s.recovery)).to.deep.equal(files.slice(1).map((f) => ['adopted', f]));
    expect(s.recovery.files.map((f) => [f.firstOffset, f.nextOffset])).to.deep.equal(
      [1, 2, 3, 4].map((k) => [k * PER_SEGMENT, k === 4 ? total : (k + 1) * PER_SEGMENT]),
    );
    expect(codes(s.recovery)).to.deep.equal([
      'segments-behind',
      'segments-behind',
      'segments-behind',
      'segments-behind',
    ]);
    expect(s.recovery.truncated).to.deep.equal([]);
    expectAll(s, total);
    append(s, total, 1);
    await s.close();
    s = LogStore.open(dir, { cleanupIntervalMs: 0 });
    expect(s.recovery).to.deep.equal({ clean: true, truncated: [], bytesCut: 0, files: [], catalog: [] });
    expect(s.describeTopic('t').partitions[0]!.segments).to.equal(5);
    expectAll(s, total + 1);
    await s.close();
  });

  it('should recover from the files, not append over them, when a clean close recorded an end the log has passed since', async () => {
    const dir = tempDir();
    let s = LogStore.open(dir);
    s.createTopic('t');
    append(s, 0, 5);
    await s.close();
    const old = snapshotCatalog(dir); // clean close, end recorded after 5 records
    s = LogStore.open(dir);
    append(s, 5, 5);
    await s.close();
    restoreCatalog(dir, old);

    s = LogStore.open(dir);
    expect(s.recovery.clean).to.equal(true);
    expect(codes(s.recovery)).to.deep.equal(['recovery-point-behind']);
    expect(s.recovery.catalog[0]!.file).to.equal(segmentFile(dir, 0));
    expect(s.recovery.files).to.deep.equal([]);
    expectAll(s, 10);
    append(s, 10, 1); // at offset 10: nothing written over
    await s.close();
    s = LogStore.open(dir);
    expect(codes(s.recovery)).to.deep.equal([]);
    expectAll(s, 11);
    await s.close();
  });

  it('should recover when the recorded end of a clean close is inside a batch (recovery-point-wrong)', async () => {
    const dir = tempDir();
    let s = LogStore.open(dir);
    s.createTopic('t');
    append(s, 0, 6);
    await s.close();
    sql(dir, 'UPDATE partitions SET recovery_position = ?, recovery_offset = 4', 3 * BATCH + 40);
    s = LogStore.open(dir);
    expect(codes(s.recovery)).to.deep.equal(['recovery-point-wrong']);
    expectAll(s, 6);
    append(s, 6, 1);
    await s.close();
  });

  it('should keep the catalog’s view when the batches up to a clean close’s end name other offsets (damage, not an older catalog)', async () => {
    const dir = tempDir();
    let s = LogStore.open(dir);
    s.createTopic('t', { cleanupPolicy: 'compact' });
    append(s, 0, 6);
    await s.close();
    // The last batch's base offset 5 becomes 9: a compacted segment allows the gap, so the walk
    // ends at the recorded position with offset 10 where the catalog says 6.
    const offset = Buffer.alloc(8);
    offset.writeBigInt64BE(9n);
    const fd = fs.openSync(segmentFile(dir, 0), 'r+');
    fs.writeSync(fd, offset, 0, 8, 5 * BATCH);
    fs.closeSync(fd);
    s = LogStore.open(dir);
    expect(codes(s.recovery)).to.deep.equal(['recovery-point-wrong']);
    expect(s.recovery.catalog[0]!.message).to.contain("the catalog's view is kept");
    expect(s.describeTopic('t').partitions[0]!.endOffset).to.equal(6);
    const err = expectCode(() => [...s.reader('t')], 'LOGSTORE_CORRUPT');
    expect(err.message).to.contain(segmentFile(dir, 0));
    await s.close();
  });

  it('should move back a log start offset past the first segment, hiding nothing (log-start-ahead)', async () => {
    const dir = tempDir();
    let s = LogStore.open(dir);
    s.createTopic('t', { segmentBytes: SEGMENT_BYTES });
    append(s, 0, PER_SEGMENT + 3);
    await s.close();
    sql(dir, 'UPDATE partitions SET log_start_offset = 5');
    s = LogStore.open(dir);
    expect(codes(s.recovery)).to.deep.equal(['log-start-ahead']);
    expectAll(s, PER_SEGMENT + 3);
    await s.close();
  });

  it('should keep a closed segment whose recorded size disagrees with its whole batches, cutting nothing (extent-wrong)', async () => {
    const dir = tempDir();
    let s = LogStore.open(dir, { cleanupIntervalMs: 0 });
    s.createTopic('t', { segmentBytes: SEGMENT_BYTES });
    append(s, 0, 3 * PER_SEGMENT + 2);
    await s.close();
    const files = logFiles(dir);
    // A size one batch short, on a batch boundary: read as recorded, the segment would end early
    // and recovery would cut the log there, dropping the later segments.
    sql(dir, `UPDATE segments SET size = size - ${BATCH} WHERE base_offset = 0`);
    sql(dir, "UPDATE meta SET value = '0' WHERE key = 'clean_shutdown'");
    sql(dir, 'UPDATE partitions SET recovery_segment = 0, recovery_position = 0, recovery_offset = 0');
    s = LogStore.open(dir, { cleanupIntervalMs: 0 });
    expect(codes(s.recovery)).to.deep.equal(['extent-wrong']);
    expect(s.recovery.truncated).to.deep.equal([]);
    expectAll(s, 3 * PER_SEGMENT + 2);
    await s.close();
    expect(logFiles(dir)).to.deep.equal(files);
    s = LogStore.open(dir, { cleanupIntervalMs: 0 });
    expect(codes(s.recovery)).to.deep.equal([]);
    expectAll(s, 3 * PER_SEGMENT + 2);
    await s.close();
  });

  it('should drop the rows of segments that retention removed after the catalog’s last commit (segments-missing)', async () => {
    const dir = tempDir();
    let s = LogStore.open(dir, { cleanupIntervalMs: 0 });
    s.createTopic('t', { segmentBytes: SEGMENT_BYTES });
    append(s, 0, 4 * PER_SEGMENT + 1);
    const old = snapshotCatalog(dir);
    s.alterTopic('t', { retentionBytes: 2 * PER_SEGMENT * BATCH }); // keeps two full segments' bytes
    expect(s.cleanup('t').deletedSegments).to.equal(2);
    await s.close();
    restoreCatalog(dir, old);
    s = LogStore.open(dir, { cleanupIntervalMs: 0 });
    expect(codes(s.recovery)).to.deep.equal(['segments-missing']);
    expect(s.recovery.catalog[0]!.message).to.contain(`log now starts at offset ${2 * PER_SEGMENT}`);
    expect(offsets(s)).to.deep.equal(
      Array.from({ length: 2 * PER_SEGMENT + 1 }, (_, i) => 2 * PER_SEGMENT + i),
    );
    await s.close();
  });

  it('should remove a roll’s new segment file that holds nothing (created before its catalog row)', async () => {
    const dir = tempDir();
    let s = LogStore.open(dir, { cleanupIntervalMs: 0 });
    s.createTopic('t', { segmentBytes: SEGMENT_BYTES });
    append(s, 0, 5);
    await s.close();
    fs.writeFileSync(segmentFile(dir, 5), Buffer.alloc(SEGMENT_BYTES));
    s = LogStore.open(dir, { cleanupIntervalMs: 0 });
    expect(actions(s.recovery)).to.deep.equal([['removed', name(5)]]);
    expect(s.recovery.files[0]!.reason).to.contain('holds no data');
    expect(codes(s.recovery)).to.deep.equal([]);
    expect(logFiles(dir)).to.deep.equal([name(0)]);
    expectAll(s, 5);
    await s.close();
  });

  it('should set aside, never delete, a segment file that does not continue the log', async () => {
    const dir = tempDir();
    let s = LogStore.open(dir, { cleanupIntervalMs: 0 });
    s.createTopic('t', { segmentBytes: SEGMENT_BYTES });
    append(s, 0, 5);
    await s.close();
    const stray = encodeBatch(1000, [{ value: value(1), timestamp: 1 }], 1);
    fs.writeFileSync(segmentFile(dir, 1000), stray);
    s = LogStore.open(dir, { cleanupIntervalMs: 0 });
    const [moved] = s.recovery.files;
    expect([moved!.action, moved!.file, moved!.firstOffset, moved!.nextOffset]).to.deep.equal([
      'quarantined',
      segmentFile(dir, 1000),
      1000,
      1001,
    ]);
    expect(path.relative(dir, moved!.movedTo!)).to.match(
      /^quarantine\/[^/]+\/t-0\/00000000000000001000\.log$/,
    );
    expect(fs.readFileSync(moved!.movedTo!).equals(stray)).to.equal(true);
    expectAll(s, 5);
    await s.close();
    const notes = (await verifyStore(dir)).findings.map((f) => [f.severity, f.kind]);
    expect(notes).to.deep.equal([['note', 'quarantined']]);
  });

  it('should remove a segment file whose records all lie below the log start (retention’s leftover)', async () => {
    const dir = tempDir();
    let s = LogStore.open(dir, { cleanupIntervalMs: 0 });
    s.createTopic('t', { segmentBytes: SEGMENT_BYTES });
    append(s, 0, 3 * PER_SEGMENT);
    const first = fs.readFileSync(segmentFile(dir, 0));
    s.alterTopic('t', { retentionBytes: 2 * PER_SEGMENT * BATCH }); // keeps two full segments' bytes
    expect(s.cleanup('t').deletedSegments).to.equal(1);
    await s.close();
    fs.writeFileSync(segmentFile(dir, 0), first); // as a crash between the row and the file leaves it
    s = LogStore.open(dir, { cleanupIntervalMs: 0 });
    expect(actions(s.recovery)).to.deep.equal([['removed', name(0)]]);
    expect(s.recovery.files[0]!.reason).to.contain(`below the log start offset ${PER_SEGMENT}`);
    expect(codes(s.recovery)).to.deep.equal([]);
    await s.close();
  });

  it('should remove a compaction’s rewrite left before its commit, keeping the segment it rewrote', async () => {
    const dir = tempDir();
    let s = LogStore.open(dir, { cleanupIntervalMs: 0 });
    s.createTopic('t', { segmentBytes: SEGMENT_BYTES, cleanupPolicy: 'compact' });
    append(s, 0, PER_SEGMENT + 2);
    await s.close();
    const log = fs.readFileSync(segmentFile(dir, 0));
    fs.writeFileSync(segmentFile(dir, 0).replace(/log$/, 'cleaned'), log.subarray(0, 3 * BATCH));
    s = LogStore.open(dir, { cleanupIntervalMs: 0 });
    expect(actions(s.recovery)).to.deep.equal([['removed', name(0, 'cleaned')]]);
    expect(fs.readFileSync(segmentFile(dir, 0)).equals(log)).to.equal(true);
    expectAll(s, PER_SEGMENT + 2);
    await s.close();
  });

  it('should release every file an open mapped before it refused the store (a listed segment missing)', async () => {
    const dir = tempDir();
    let s = LogStore.open(dir);
    s.createTopic('a', { partitions: 3 });
    append(s, 0, 30, 'a');
    s.createTopic('z');
    append(s, 0, 3, 'z');
    await s.flush();
    const unclean = snapshotCatalog(dir); // taken while open: the next open recovers, mapping 'a'
    await s.close();
    restoreCatalog(dir, unclean);
    const missing = path.join(dir, 'z-0', logFiles(dir, 'z')[0]!);
    const kept = fs.readFileSync(missing);
    fs.rmSync(missing);
    const err = expectCode(() => LogStore.open(dir), 'LOGSTORE_CORRUPT') as LogStoreError;
    expect(err.message).to.contain(missing);
    // A mapping left behind would keep the files' blocks (and their file system) busy.
    const mapped = fs
      .readFileSync('/proc/self/maps', 'utf8')
      .split('\n')
      .filter((l) => l.includes(dir));
    expect(mapped).to.deep.equal([]);
    fs.writeFileSync(missing, kept);
    s = LogStore.open(dir);
    expect(offsets(s, 'a')).to.have.length(30);
    await s.close();
  });

  it('should refuse a store holding a topic the catalog lost, naming the repair, which sets it aside', async () => {
    const dir = tempDir();
    let s = LogStore.open(dir);
    const old = snapshotCatalog(dir); // before the topic existed
    s.createTopic('t', { partitions: 2 });
    append(s, 0, 3);
    await s.close();
    restoreCatalog(dir, old);
    const err = expectCode(() => LogStore.open(dir), 'LOGSTORE_CORRUPT') as LogStoreError;
    expect(err.details).to.deep.equal({ file: path.join(dir, 't-0'), kind: 'topic-lost' });
    expect(err.message).to.contain('t-0').and.to.contain('logstore verify --repair');
    expect(fs.existsSync(segmentFile(dir, 0))).to.equal(true);
    const verified = await verifyStore(dir);
    expect(verified.findings.map((f) => [f.severity, f.kind, path.basename(f.file)])).to.deep.equal([
      ['damage', 'topic-lost', 't-0'],
      ['note', 'stray', 't-1'], // holds no record: the next open removes it
    ]);

    const report = await LogStore.repair(dir);
    expect(report.files.map((f) => [f.action, path.basename(f.file)])).to.deep.equal([
      ['quarantined', 't-0'],
      ['removed', 't-1'],
    ]);
    expect(codes(report)).to.deep.equal(['topic-lost']);
    const kept = report.files[0]!.movedTo!;
    expect(fs.readdirSync(kept).filter((f) => f.endsWith('.log'))).to.deep.equal([name(0)]);

    // The way back: the topic again, with its config, and its files moved in; the open adopts them.
    s = LogStore.open(dir);
    s.createTopic('t', { partitions: 2 });
    await s.close();
    fs.renameSync(path.join(kept, name(0)), segmentFile(dir, 0));
    s = LogStore.open(dir);
    expect(codes(s.recovery)).to.deep.equal(['recovery-point-behind']);
    expectAll(s, 3);
    await s.close();
  });

  it('should remove the directories of a topic whose deletion a crash cut short', async () => {
    const dir = tempDir();
    const { signal, stderr } = await runChild(
      `import { LogStore } from ${JSON.stringify(LIB)};
       const s = LogStore.open(${JSON.stringify(dir)});
       s.createTopic('gone', { partitions: 2 });
       s.createTopic('t');
       for (let i = 0; i < 5; i++) s.append('gone', { value: 'v' + i }, { partition: 0 });
       s.deleteTopic('gone');`,
      { LOGSTORE_CRASH_AT: 'delete-topic:after-catalog' },
    );
    expect(signal, stderr).to.equal('SIGKILL');
    expect(fs.existsSync(path.join(dir, 'gone-0'))).to.equal(true);
    const s = LogStore.open(dir);
    expect(actions(s.recovery)).to.deep.equal([
      ['removed', 'gone-0'],
      ['removed', 'gone-1'],
    ]);
    expect(s.recovery.files[0]!.reason).to.contain('deletion');
    expect(codes(s.recovery)).to.deep.equal([]);
    expect(fs.existsSync(path.join(dir, 'gone-0'))).to.equal(false);
    await s.close();
  });

  it('should report a committed offset past the log end (offset-beyond-end)', async () => {
    const dir = tempDir();
    let s = LogStore.open(dir, { cleanupIntervalMs: 0 });
    s.createTopic('t');
    append(s, 0, 4);
    const consumer = s.consumer('t', { group: 'g', autoCommit: false });
    consumer.commit(consumer.read(2).at(-1)!);
    await consumer.close();
    await s.close();
    sql(dir, 'UPDATE group_offsets SET next_offset = 9');
    s = LogStore.open(dir, { cleanupIntervalMs: 0 });
    expect(s.recovery.catalog.map((c) => [c.code, c.topic, c.partition])).to.deep.equal([
      ['offset-beyond-end', 't', 0],
    ]);
    expect(s.recovery.catalog[0]!.message).to.contain("group 'g' committed offset 9, past the log end 4");
    await s.close();
  });

  it('should let verify name the segments the catalog does not list and a recorded end behind the log', async () => {
    const dir = tempDir();
    let s = LogStore.open(dir, { cleanupIntervalMs: 0 });
    s.createTopic('t', { segmentBytes: SEGMENT_BYTES });
    s.createTopic('u');
    append(s, 0, 3, 'u');
    await s.close();
    const old = snapshotCatalog(dir); // clean: u's end recorded after 3 records, t has segment 0
    s = LogStore.open(dir, { cleanupIntervalMs: 0 });
    append(s, 0, 2 * PER_SEGMENT + 1);
    append(s, 3, 2, 'u');
    await s.close();
    restoreCatalog(dir, old);
    const { findings } = await verifyStore(dir);
    expect(findings.map((f) => [f.severity, f.kind, path.relative(dir, f.file), f.position])).to.deep.equal([
      ['damage', 'segments-behind', `t-0/${name(PER_SEGMENT)}`, undefined],
      ['damage', 'segments-behind', `t-0/${name(2 * PER_SEGMENT)}`, undefined],
      ['damage', 'recovery-point-behind', `u-0/${name(0)}`, 3 * BATCH],
    ]);
    s = LogStore.open(dir, { cleanupIntervalMs: 0 });
    expect(codes(s.recovery)).to.deep.equal(['segments-behind', 'segments-behind', 'recovery-point-behind']);
    expectAll(s, 2 * PER_SEGMENT + 1);
    expectAll(s, 5, 'u');
    await s.close();
    expect((await verifyStore(dir)).findings).to.deep.equal([]);
  });
});
