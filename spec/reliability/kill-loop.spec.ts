import { expect } from 'chai';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { encodeBatch, LogStore } from '../../lib/index.js';
import { LIB, runChild } from '../helpers/child.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';
import { readPartition } from './inspect.js';
import { CRASH_POINTS, runKillLoop } from './kill-loop.js';
import { runScript } from './writer.js';

const Database = createRequire(import.meta.url)('better-sqlite3') as typeof import('better-sqlite3');

/** Makes the next open verify everything, as after a crash before any recovery point was recorded. */
function forgetRecoveryPoints(dir: string): void {
  const db = new Database(path.join(dir, 'catalog.sqlite'));
  db.prepare("UPDATE meta SET value = '0' WHERE key = 'clean_shutdown'").run();
  db.prepare('UPDATE partitions SET recovery_segment = 0, recovery_position = 0, recovery_offset = 0').run();
  db.close();
}

describe('Reliability: kill -9 loops', function () {
  this.timeout(120_000);
  after(removeTempDirs);

  it('should lose no acknowledged record and return no garbage over random kills and every crash point', async () => {
    const figures = await runKillLoop({ iterations: 24, root: tempDir(), seed: 7, chunk: 12 });
    expect(figures.failures).to.deep.equal([]);
    expect(figures.recordsAcked).to.be.greaterThan(1000);
    expect(Object.keys(figures.crashPointKills).sort()).to.deep.equal([...CRASH_POINTS].sort());
    expect(figures).to.include({
      ackedLost: 0,
      garbage: 0,
      outOfOrder: 0,
      failedOpens: 0,
      commitsLost: 0,
      leftovers: 0,
      childFailures: 0,
      crashPointsMissed: 0,
    });
  });

  // Found by the loop: a segment rolled with 1 to 11 bytes left before its capacity. Recovery read
  // those zeros as a torn batch header and cut there, deleting every later segment.
  for (const slack of [1, 5, 11]) {
    it(`should keep every record after a kill when a segment ends ${slack} bytes short of its capacity`, async () => {
      const dir = tempDir();
      const { signal, stdout } = await runChild(`
        import { LogStore, encodeBatch } from ${JSON.stringify(LIB)};
        const store = LogStore.open(${JSON.stringify(dir)}, { durability: 'none', cleanupIntervalMs: 0 });
        store.createTopic('t', { segmentBytes: 4096 });
        const batchBytes = (n) => encodeBatch(0, [{ value: Buffer.alloc(n), timestamp: 1 }], 1).length;
        const bytes = () => store.describeTopic('t').partitionDetails[0].bytes;
        while (4096 - bytes() > 400) store.append('t', { value: Buffer.alloc(100), timestamp: 1 });
        const size = bytes();
        let n = 0;
        while (batchBytes(n + 1) <= 4096 - size - ${slack}) n++;
        if (batchBytes(n) !== 4096 - size - ${slack}) throw new Error('cannot leave exactly ${slack} bytes');
        store.append('t', { value: Buffer.alloc(n), timestamp: 1 });
        let last = 0;
        for (let i = 0; i < 60; i++) last = store.append('t', { value: Buffer.alloc(100), timestamp: 1 }).lastOffset;
        console.log(last, store.describeTopic('t').partitionDetails[0].segments);
        process.kill(process.pid, 'SIGKILL');
      `);
      expect(signal).to.equal('SIGKILL');
      const [last, segments] = stdout.split(' ').map(Number) as [number, number];
      expect(segments).to.be.at.least(3);
      const store = LogStore.open(dir);
      expect(store.recovery.truncated).to.deep.equal([]);
      expect(store.describeTopic('t').partitionDetails[0]!.endOffset).to.equal(last + 1);
      expect(readPartition(store, 't', 0).map((r) => r.offset)).to.deep.equal(
        Array.from({ length: last + 1 }, (_, i) => i),
      );
      await store.close();
    });
  }

  // Found by the loop: compaction rewrote the closed segment that held the last recovery point
  // into a file shorter than the recorded position; the next open after a crash refused the store
  // ("is 720 bytes but the catalog records 1450 bytes").
  it('should open after a crash that follows compaction of the segment holding the recovery point', async () => {
    const dir = tempDir();
    const { signal } = await runChild(`
      import { LogStore } from ${JSON.stringify(LIB)};
      const store = LogStore.open(${JSON.stringify(dir)}, { durability: 'none', cleanupIntervalMs: 0 });
      store.createTopic('c', { cleanupPolicy: 'compact', segmentBytes: 4096 });
      for (let i = 0; i < 20; i++) store.append('c', { key: i < 10 ? 'u' + i : 'k' + (i % 2), value: 'v' + i });
      await store.flush(); // the recovery point: segment 0 at its current end
      for (let i = 20; i < 200; i++) store.append('c', { key: 'k' + (i % 2), value: 'v' + i });
      if (store.cleanup('c').compactedSegments === 0) throw new Error('nothing compacted');
      process.kill(process.pid, 'SIGKILL');
    `);
    expect(signal).to.equal('SIGKILL');
    const store = LogStore.open(dir);
    const latest = new Map(readPartition(store, 'c', 0).map((r) => [r.key!.toString(), r.value!.toString()]));
    expect(latest.get('u0')).to.equal('v0');
    expect(latest.get('k0')).to.equal('v198');
    expect(latest.get('k1')).to.equal('v199');
    await store.close();
  });

  // Found by the stress run (1 of 1,000 kills): a flush takes its recovery points, waits for the
  // fdatasyncs, then records them; compaction (or the app, while the interval timer's flush waits)
  // rewrote that segment meanwhile, so the recorded position lay past the rewritten file and the
  // next open refused the store ("is 720 bytes but the catalog records 1450 bytes").
  it('should open after a crash when compaction rewrote a segment while a flush was syncing it', async () => {
    const dir = tempDir();
    const { signal, stderr } = await runChild(`
      import { LogStore } from ${JSON.stringify(LIB)};
      const { Segment } = await import(${JSON.stringify(path.join(path.dirname(LIB), 'storage/segment.js'))});
      const store = LogStore.open(${JSON.stringify(dir)}, { durability: 'none', cleanupIntervalMs: 0 });
      store.createTopic('c', { cleanupPolicy: 'compact', segmentBytes: 4096 });
      for (let i = 0; i < 20; i++) store.append('c', { key: i < 10 ? 'u' + i : 'k' + (i % 2), value: 'v' + i });
      const sync = Segment.prototype.sync;
      let once = true;
      Segment.prototype.sync = function () {
        return sync.call(this).then(() => {
          if (!once) return;
          once = false; // while the flush waits for its fdatasync: roll, then compaction rewrites segment 0
          for (let i = 20; i < 200; i++) store.append('c', { key: 'k' + (i % 2), value: 'v' + i });
          if (store.cleanup('c').compactedSegments === 0) throw new Error('nothing compacted');
        });
      };
      await store.flush();
      process.kill(process.pid, 'SIGKILL');
    `);
    expect(signal, stderr).to.equal('SIGKILL');
    const store = LogStore.open(dir);
    const latest = new Map(readPartition(store, 'c', 0).map((r) => [r.key!.toString(), r.value!.toString()]));
    expect(latest.get('u0')).to.equal('v0');
    expect(latest.get('k1')).to.equal('v199');
    await store.close();
  });

  // Found by the loop: compaction released the old segment objects but left them in the partition's
  // set of unsynced segments; with durability 'always' the next append synced a closed fd (-1) and
  // poisoned the writer (LOGSTORE_IO "The value of "fd" is out of range").
  it("should keep accepting appends after compaction with durability 'always'", async () => {
    const store = LogStore.open(tempDir(), { durability: 'always', cleanupIntervalMs: 0 });
    store.createTopic('c', { cleanupPolicy: 'compact', segmentBytes: 4096 });
    for (let i = 0; i < 100; i++) store.append('c', { key: 'k' + (i % 3), value: 'v' + i });
    expect(store.cleanup('c').compactedSegments).to.be.greaterThan(0);
    expect(store.append('c', { key: 'k0', value: 'after' }).baseOffset).to.equal(100);
    await store.close();
  });

  // A crash while recovery cuts a torn tail that spans segments: the dropped segments' files were
  // deleted before the catalog forgot them, so the next open found them "missing on disk".
  it('should open after a crash in the middle of a recovery that drops segments', async () => {
    const dir = tempDir();
    let store = LogStore.open(dir, { cleanupIntervalMs: 0 });
    store.createTopic('t', { segmentBytes: 4096 });
    for (let i = 0; i < 100; i++) store.append('t', { value: Buffer.alloc(100, i), timestamp: 1 });
    expect(store.describeTopic('t').partitionDetails[0]!.segments).to.be.at.least(3);
    await store.close();
    // Damage the last batch of the first segment, and make the next open verify from the start.
    const first = path.join(dir, 't-0', '00000000000000000000.log');
    const bytes = fs.readFileSync(first);
    const batch = encodeBatch(0, [{ value: Buffer.alloc(100), timestamp: 1 }], 1).length;
    let end = 0;
    while (end + batch <= 4096 && bytes.readInt32BE(end + 8) !== 0) end += batch;
    const fd = fs.openSync(first, 'r+');
    fs.writeSync(fd, Buffer.from([0xff]), 0, 1, end - 10);
    fs.closeSync(fd);
    forgetRecoveryPoints(dir);
    const { signal, ledger } = await runScript(dir, [], [], {
      crashPatch: { target: 'PartitionCatalog.cutTo', nth: 1 },
      end: 'close',
    });
    expect(signal).to.equal('SIGKILL');
    expect(ledger.opens, 'the recovery was to be killed before the open returned').to.deep.equal([]);
    store = LogStore.open(dir);
    const records = readPartition(store, 't', 0);
    expect(records.map((r) => r.offset)).to.deep.equal(Array.from({ length: records.length }, (_, i) => i));
    expect(records.length).to.equal(end / batch - 1);
    await store.close();
  });
});
