/**
 * Recovery reads the log once: the walk that verifies each segment after a crash also replays
 * idempotent producers' batches and builds the active segment's index, and drops the pages behind
 * it as it goes. So recovering a log far larger than memory keeps a bounded part of it resident
 * (measured in a child process: its peak resident set while it opens, and what its mappings of
 * the store's files hold afterwards), and producers' batches in closed segments are replayed
 * without a second walk.
 */
import { expect } from 'chai';
import path from 'node:path';
import Database from 'better-sqlite3';
import { LogStore } from '../../lib/index.js';
import { encodeBatch } from '../../lib/format/batch-encoder.js';
import { LIB, runChild } from '../helpers/child.js';
import { expectCode, removeTempDirs, tempDir } from '../helpers/temp.js';

const MiB = 1024 * 1024;

/** Marks the store as not cleanly closed, its recovery point at the start of the log. */
function crashed(dir: string, options: { forgetProducers?: boolean } = {}): void {
  const db = new Database(path.join(dir, 'catalog.sqlite'));
  db.prepare("UPDATE meta SET value = '0' WHERE key = 'clean_shutdown'").run();
  db.prepare('UPDATE partitions SET recovery_segment = 0, recovery_position = 0, recovery_offset = 0').run();
  // The producers' state as of that recovery point: none of their batches yet.
  if (options.forgetProducers) db.prepare('DELETE FROM producer_state').run();
  db.close();
}

/** Single-record batches of one idempotent producer, by sequence, with recent timestamps (a
 * producer idle for a day is forgotten when the state is saved). */
function batchesOf(p: { producerId: number; producerEpoch: number }): (sequence: number) => Buffer {
  const now = Date.now();
  return (sequence) =>
    encodeBatch(0, [{ value: Buffer.alloc(300, sequence), timestamp: now + sequence }], 0, {
      meta: {
        partitionLeaderEpoch: 0,
        flags: 0,
        producerId: p.producerId,
        producerEpoch: p.producerEpoch,
        baseSequence: sequence,
      },
    });
}

describe('Recovery walk', function () {
  this.timeout(120_000);
  after(removeTempDirs);

  it('should keep a bounded part of a log far larger than the bound resident while recovering it', async () => {
    const dir = tempDir();
    const LOG_BYTES = 160 * MiB;
    const store = LogStore.open(dir, { durability: 'none', cleanupIntervalMs: 0 });
    store.createTopic('t', { segmentBytes: 16 * MiB });
    const batch = Array.from({ length: 1000 }, (_, i) => ({ value: Buffer.alloc(100, i) }));
    let records = 0;
    while (records * 110 < LOG_BYTES) {
      store.append('t', batch);
      records += batch.length;
    }
    await store.close();
    crashed(dir);

    // String.raw: the child's source keeps its own escapes.
    const { stdout, code, stderr } = await runChild(String.raw`
      import fs from 'node:fs';
      import { LogStore } from ${JSON.stringify(LIB)};
      const dir = ${JSON.stringify(dir)};
      const kib = (field) => {
        const lines = fs.readFileSync('/proc/self/status', 'utf8').split('\n');
        return parseInt(lines.find((l) => l.startsWith(field + ':')).slice(field.length + 1), 10);
      };
      /** Resident bytes of this process's mappings of the store's segment files. */
      function mappedRss() {
        let total = 0;
        let ours = false;
        for (const line of fs.readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
          if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) ours = line.includes(dir) && line.endsWith('.log');
          else if (ours && line.startsWith('Rss:')) total += Number(line.split(/\s+/)[1]) * 1024;
        }
        return total;
      }
      fs.writeFileSync('/proc/self/clear_refs', '5'); // the peak (VmHWM) starts again from now
      const before = kib('VmRSS');
      const store = LogStore.open(dir);
      const grown = (kib('VmHWM') - before) * 1024;
      const p = store.describeTopic('t').partitions[0];
      console.log(JSON.stringify({
        grown,
        mapped: mappedRss(),
        clean: store.recovery.clean,
        endOffset: p.endOffset,
        segments: p.segments,
      }));
      await store.close();
    `);
    expect(code, stderr).to.equal(0);
    const found = JSON.parse(stdout) as {
      grown: number;
      mapped: number;
      clean: boolean;
      endOffset: number;
      segments: number;
    };
    // It did verify the whole log (an unclean open from offset 0), all of it kept.
    expect(found.clean).to.equal(false);
    expect(found.endOffset).to.equal(records);
    expect(found.segments).to.equal(Math.ceil((records * 110) / (16 * MiB)));
    // Reading each page once through the mappings and keeping them would grow the process by the
    // whole log (160 MiB); recovery drops what it verified every 16 MiB and each segment when done.
    expect(found.grown, `peak growth while recovering ${LOG_BYTES / MiB} MiB`).to.be.below(48 * MiB);
    expect(found.mapped, 'resident pages of the segment mappings after the open').to.be.below(MiB);
  });

  it("should replay an idempotent producer's batches found in closed segments (one walk, no second pass)", async () => {
    const dir = tempDir();
    const store = LogStore.open(dir, { cleanupIntervalMs: 0 });
    store.createTopic('t', { segmentBytes: 4096 });
    const p = store.producerIds.init();
    const producerBatch = batchesOf(p);
    for (let s = 0; s < 30; s++) store.appendBatches('t', 0, producerBatch(s));
    // Plain records after them: the producer's last batches lie in closed segments.
    for (let i = 0; i < 60; i++) store.append('t', { value: Buffer.alloc(300, i) });
    const before = store.describeTopic('t').partitions[0]!;
    expect(before.segments).to.be.above(8);
    await store.close();
    crashed(dir, { forgetProducers: true });

    const reopened = LogStore.open(dir);
    expect(reopened.recovery.clean).to.equal(false);
    expect(reopened.recovery.truncated).to.deep.equal([]);
    // The retry of its last batch is known (its offsets), a gap in its sequence is refused.
    expect(reopened.appendBatches('t', 0, producerBatch(29))).to.deep.equal({
      partition: 0,
      baseOffset: 29,
      lastOffset: 29,
    });
    expectCode(() => reopened.appendBatches('t', 0, producerBatch(31)), 'LOGSTORE_OUT_OF_ORDER_SEQUENCE');
    expect(reopened.appendBatches('t', 0, producerBatch(30))).to.deep.equal({
      partition: 0,
      baseOffset: 90,
      lastOffset: 90,
    });
    await reopened.close();
  });
  it("should replay a producer's batch that lies past a closed segment's recorded size, once the segment is kept", async () => {
    const dir = tempDir();
    const store = LogStore.open(dir, { cleanupIntervalMs: 0 });
    store.createTopic('t', { segmentBytes: 4096 });
    const p = store.producerIds.init();
    const producerBatch = batchesOf(p);
    const perSegment = Math.floor(4096 / producerBatch(0).length);
    for (let s = 0; s < perSegment; s++) store.appendBatches('t', 0, producerBatch(s));
    for (let i = 0; i < 30; i++) store.append('t', { value: Buffer.alloc(300, i) });
    await store.close();
    crashed(dir, { forgetProducers: true });
    // A catalog older than the file: it records segment 0 without its last (the producer's) batch.
    const db = new Database(path.join(dir, 'catalog.sqlite'));
    db.prepare('UPDATE segments SET size = size - ?, end_offset = end_offset - 1 WHERE base_offset = 0').run(
      producerBatch(0).length,
    );
    db.close();

    const reopened = LogStore.open(dir);
    expect(reopened.recovery.catalog.map((c) => c.code)).to.deep.equal(['extent-wrong']);
    expect(reopened.recovery.truncated).to.deep.equal([]);
    const last = perSegment - 1;
    expect(reopened.appendBatches('t', 0, producerBatch(last))).to.deep.equal({
      partition: 0,
      baseOffset: last,
      lastOffset: last,
    });
    expect(reopened.describeTopic('t').partitions[0]!.endOffset).to.equal(perSegment + 30);
    await reopened.close();
  });
});
