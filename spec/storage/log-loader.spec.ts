/**
 * The log loader: what an open after a clean close trusts, what an open after a crash verifies
 * and cuts, and what it refuses. Each case asserts the truncation report (file, position, bytes
 * cut, kind) or the error's details.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { LogStore, type LogStoreError } from '../../lib/index.js';
import { encodeBatch } from '../../lib/format/batch-encoder.js';
import { expectCode, removeTempDirs, tempDir } from '../helpers/temp.js';

const SEGMENT_BYTES = 4096;
const value = (i: number) => Buffer.alloc(100, i);
const BATCH = encodeBatch(0, [{ value: value(0), timestamp: 1 }], 1).length;
const PER_SEGMENT = Math.floor(SEGMENT_BYTES / BATCH);

/** A store with `count` single-record batches in topic t (several segments), closed cleanly. */
async function store(count: number, config: object = {}): Promise<string> {
  const dir = tempDir();
  const s = LogStore.open(dir, { cleanupIntervalMs: 0 });
  s.createTopic('t', { segmentBytes: SEGMENT_BYTES, ...config });
  for (let i = 0; i < count; i++) s.append('t', { value: value(i), timestamp: 1 });
  await s.close();
  return dir;
}

const segmentFile = (dir: string, base: number) =>
  path.join(dir, 't-0', `${String(base).padStart(20, '0')}.log`);

/** Marks the store as not cleanly closed, with its recovery point at the start of the log. */
function crashed(dir: string, recovery = { segment: 0, position: 0, offset: 0 }): void {
  const db = new Database(path.join(dir, 'catalog.sqlite'));
  db.prepare("UPDATE meta SET value = '0' WHERE key = 'clean_shutdown'").run();
  db.prepare('UPDATE partitions SET recovery_segment = ?, recovery_position = ?, recovery_offset = ?').run(
    recovery.segment,
    recovery.position,
    recovery.offset,
  );
  db.close();
}

function patch(file: string, position: number, bytes: number[]): void {
  const fd = fs.openSync(file, 'r+');
  fs.writeSync(fd, Buffer.from(bytes), 0, bytes.length, position);
  fs.closeSync(fd);
}

function offsets(s: LogStore): number[] {
  return [...s.reader('t')].map((r) => r.offset);
}

describe('Log loader', () => {
  after(removeTempDirs);

  it('should trust the files after a clean close and report nothing', async () => {
    const dir = await store(3 * PER_SEGMENT);
    const s = LogStore.open(dir);
    expect(s.recovery).to.deep.equal({ clean: true, truncated: [], bytesCut: 0, files: [], catalog: [] });
    expect(offsets(s)).to.have.length(3 * PER_SEGMENT);
    await s.close();
  });

  it('should cut a torn tail after the recovery point: position, bytes cut and kind in the report', async () => {
    const dir = await store(PER_SEGMENT + 3);
    const active = segmentFile(dir, PER_SEGMENT);
    patch(active, 2 * BATCH + 80, [0xee]); // the third batch of the active segment
    crashed(dir, { segment: PER_SEGMENT, position: BATCH, offset: PER_SEGMENT + 1 });
    const s = LogStore.open(dir);
    expect(s.recovery.clean).to.equal(false);
    expect(s.recovery.truncated).to.deep.equal([
      {
        topic: 't',
        partition: 0,
        file: active,
        position: 2 * BATCH,
        bytesCut: BATCH - 1, // to the last non-zero byte (a batch ends with a zero header count)
        kind: 'bad-crc',
        reason: s.recovery.truncated[0]!.reason,
      },
    ]);
    expect(s.recovery.bytesCut).to.equal(BATCH - 1);
    expect(offsets(s)).to.deep.equal(Array.from({ length: PER_SEGMENT + 2 }, (_, i) => i));
    expect(s.append('t', { value: 'next' }).baseOffset).to.equal(PER_SEGMENT + 2);
    await s.close();
  });

  it('should refuse damage before the recovery point with LOGSTORE_CORRUPT and leave the files as they were', async () => {
    const dir = await store(PER_SEGMENT + 3);
    const first = segmentFile(dir, 0);
    patch(first, BATCH + 80, [0xee]);
    crashed(dir, { segment: PER_SEGMENT, position: 3 * BATCH, offset: PER_SEGMENT + 3 });
    const before = fs.readFileSync(first);
    // The recovery point's segment is verified from its start; the first segment is trusted, so
    // the damage shows when it is read.
    const s = LogStore.open(dir);
    const err = expectCode(() => offsets(s), 'LOGSTORE_CORRUPT') as LogStoreError;
    expect(err.details).to.deep.equal({ file: first, position: BATCH, kind: 'bad-crc' });
    await s.close();
    crashed(dir, { segment: 0, position: 3 * BATCH, offset: 3 });
    const open = expectCode(() => LogStore.open(dir), 'LOGSTORE_CORRUPT') as LogStoreError;
    expect(open.details).to.deep.equal({ file: first, position: BATCH, kind: 'bad-crc' });
    expect(fs.readFileSync(first).equals(before)).to.equal(true);
  });

  it('should cut at a closed segment whose batches stop before its recorded size, dropping the later segments (kind short)', async () => {
    const dir = await store(3 * PER_SEGMENT + 1);
    // The second segment's last batch is gone (zeros): its recorded size is not reached.
    const second = segmentFile(dir, PER_SEGMENT);
    patch(
      second,
      (PER_SEGMENT - 1) * BATCH,
      Array.from({ length: BATCH }, () => 0),
    );
    crashed(dir);
    const s = LogStore.open(dir);
    const [cut] = s.recovery.truncated;
    expect([cut!.file, cut!.position, cut!.kind]).to.deep.equal([second, (PER_SEGMENT - 1) * BATCH, 'short']);
    expect(cut!.bytesCut).to.equal((PER_SEGMENT + 1) * BATCH - 2); // the third and fourth segments' data
    expect(offsets(s)).to.have.length(2 * PER_SEGMENT - 1);
    expect(fs.existsSync(segmentFile(dir, 2 * PER_SEGMENT))).to.equal(false);
    expect(s.describeTopic('t').partitions[0]!.segments).to.equal(2);
    await s.close();
  });

  it('should cut everything after the first damage anywhere under repair', async () => {
    const dir = await store(2 * PER_SEGMENT + 2);
    const first = segmentFile(dir, 0);
    patch(first, 5 * BATCH + 80, [0xee]);
    const report = await LogStore.repair(dir);
    expect(report.truncated.map((t) => [t.file, t.position, t.kind])).to.deep.equal([
      [first, 5 * BATCH, 'bad-crc'],
    ]);
    const s = LogStore.open(dir);
    expect(offsets(s)).to.deep.equal([0, 1, 2, 3, 4]);
    await s.close();
  });
});
