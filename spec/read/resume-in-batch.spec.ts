/**
 * Reads that stop inside a batch and the next read resuming there (lib/format/record-decoder.ts,
 * BatchPlace): the next read starts at the record where the last one stopped instead of walking
 * the batch, and decompressing it, from its start again. What must hold: a compressed batch is
 * decompressed once for all the reads that take its records, and a consumer keeps the
 * decompressed records of one partition only (the one it reads on in); reads of any size, with seeks
 * between them, over batches of every codec with compaction's gaps in their offsets, return
 * exactly what one read of everything returns.
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { LogStore, type LogRecord } from '../../lib/index.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';

const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;

/** A record as plain data, for comparing reads. */
const plain = (r: LogRecord) => [r.offset, r.key?.toString() ?? null, r.value?.toString() ?? null];

/** Everything in topic c from its start, in reads of `max`. */
function readInChunks(store: LogStore, max: number, copy: boolean): unknown[] {
  const reader = store.reader('c', { copy });
  const all: unknown[] = [];
  for (;;) {
    const got = reader.read(max);
    if (got.length === 0) break;
    all.push(...got.map(plain)); // views are read before the next read
  }
  reader.close();
  return all;
}

describe('Reads resuming inside a batch', () => {
  after(removeTempDirs);

  for (const copy of [true, false]) {
    it(`should decompress a batch once for the reads that take its records (copy: ${copy})`, async () => {
      const store = LogStore.open(tempDir());
      store.createTopic('c');
      const value = (i: number) => `value ${i} `.padEnd(100, String(i % 10));
      store.append(
        'c',
        Array.from({ length: 1000 }, (_, i) => ({ value: value(i) })),
        { compression: 'lz4' },
      );
      const reader = store.reader('c', { copy });
      const reads = [reader.read(10), reader.read(10), reader.read(10)];
      expect(reads.flat().map((r) => r.offset)).to.deep.equal([...Array(30).keys()]);
      expect(reads.flat().map((r) => r.value!.toString())).to.deep.equal([...Array(30).keys()].map(value));
      // Every value is a view into the one decompressed block.
      const block = reads[0]![0]!.value!.buffer;
      expect(reads.flat().every((r) => r.value!.buffer === block)).to.equal(true);
      expect(block.byteLength).to.be.at.least(1000 * 100);
      reader.close();
      await store.close();
    });
  }

  it('should keep the decompressed records of one partition per consumer, not of every partition it stopped in', async () => {
    const store = LogStore.open(tempDir());
    store.createTopic('c', { partitions: 3 });
    for (let p = 0; p < 3; p++) {
      const records = Array.from({ length: 1000 }, (_, i) => ({ value: `p${p} v${i}`.padEnd(100, '.') }));
      store.append('c', records, { partition: p, compression: 'gzip' });
    }
    const consumer = store.consumer('c', { group: 'g', autoCommit: false });
    // Each read starts one partition further (round robin) and stops 10 records into it.
    const reads = Array.from({ length: 5 }, () => consumer.read(10));
    expect(reads.map((r) => [r[0]!.partition, r[0]!.offset, r.length])).to.deep.equal([
      [0, 0, 10],
      [1, 0, 10],
      [2, 0, 10],
      [0, 10, 10],
      [1, 10, 10],
    ]);
    const block = (k: number) => reads[k]![0]!.value!.buffer;
    // Partition 0 was left for partitions 1 and 2: its batch was decompressed again.
    expect(block(3)).to.not.equal(block(0));
    expect(block(4)).to.not.equal(block(1));
    expect(reads[3]!.map((r) => r.value!.toString())).to.deep.equal(
      [...Array(10).keys()].map((i) => `p0 v${10 + i}`.padEnd(100, '.')),
    );
    await consumer.close();
    // Reading on in the partition it stopped in, a consumer keeps the block.
    store.createTopic('one');
    store.append(
      'one',
      Array.from({ length: 1000 }, (_, i) => ({ value: `v${i}` })),
      { compression: 'gzip' },
    );
    const single = store.consumer('one', { group: 'g', autoCommit: false });
    const [first, second] = [single.read(10), single.read(10)];
    expect(second.map((r) => r.offset)).to.deep.equal([...Array(10).keys()].map((i) => 10 + i));
    expect(second[0]!.value!.buffer).to.equal(first[0]!.value!.buffer);
    await single.close();
    await store.close();
  });

  it('should return what one read of everything returns, for reads of any size and seeks between them', async () => {
    const store = LogStore.open(tempDir(), { cleanupIntervalMs: 0 });
    store.createTopic('c', { cleanupPolicy: 'compact', segmentBytes: 64 * 1024 });
    // Batches of 200 records, each codec in turn. Every third record has one of 10 hot keys, so
    // compaction leaves gaps inside the batches of the closed segments; the values (hex of a
    // hash) barely compress, so that there are several segments.
    let n = 0;
    for (let b = 0; b < 30; b++) {
      const records = [];
      for (let i = 0; i < 200; i++, n++) {
        const key = n % 3 === 0 ? `hot${n % 10}` : `k${n}`;
        records.push({ key, value: createHash('sha256').update(String(n)).digest('hex') });
      }
      store.append('c', records, { compression: CODECS[b % CODECS.length] });
    }
    expect(store.cleanup('c').compactedSegments).to.be.at.least(1);
    const whole = store.reader('c').read(1e9).map(plain);
    // Compaction removed the older hot records: gaps inside batches.
    expect(whole.length).to.be.below(n - 1000);
    expect(whole.length).to.be.above(n - 2000);
    expect(whole.at(-1)![0]).to.equal(n - 1);
    for (const copy of [true, false]) {
      for (const max of [1, 7, 64, 199, 1000]) {
        expect(readInChunks(store, max, copy), `read(${max}), copy: ${copy}`).to.deep.equal(whole);
      }
      // Seeks back and forth inside batches between reads of 7.
      const reader = store.reader('c', { copy });
      const got: unknown[] = [];
      let at = 0; // index into `whole` of the next record
      for (let step = 0; at < whole.length; step++) {
        const records = reader.read(7);
        expect(records.map(plain), `step ${step}`).to.deep.equal(whole.slice(at, at + 7));
        got.push(...records.map(plain));
        at += records.length;
        if (step % 3 === 1 && at >= 4 && at < whole.length) {
          at -= 4; // back 4 records, into the batch just read
          reader.seek(whole[at]![0] as number);
        } else if (step % 5 === 2 && at + 5 < whole.length) {
          at += 5; // forward 5
          reader.seek(whole[at]![0] as number);
        }
      }
      expect(got.length).to.be.above(whole.length);
      reader.close();
    }
    await store.close();
  });
});
