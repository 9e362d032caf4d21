/**
 * Readers and consumers with `copy: false`: records whose bytes are views, valid until the
 * reader's next read (or seek, or close), into the reader's own read buffers (batches read with
 * `pread`) or into the segment's memory mapping (the last 64 KiB of a segment this process has
 * mapped: a live reader's records). What must hold: the records equal a copying
 * reader's; no later part of the same read, no other reader and no copying read overwrites a
 * buffer's lent bytes; while lent, neither the mapping cache nor the growth of the active file
 * unmaps a mapping; after their validity point, a view reads its own bytes or nothing (detached,
 * length 0: a read buffer's views detach before it is read into again), never another record's
 * bytes or freed memory; retention and compaction still free the segment at once (views of its
 * mapping detach, views of a read buffer keep the bytes they were read with until the next read).
 */
import { expect } from 'chai';
import { statSync } from 'node:fs';
import path from 'node:path';
import { LogStore, type LogRecord } from '../../lib/index.js';
import type { ViewLease } from '../../lib/read/view-lease.js';
import { mappingCache } from '../../lib/storage/mapping-cache.js';
import { expectCode, removeTempDirs, tempDir } from '../helpers/temp.js';

/** 100-byte values that say which record they are: `v<offset>` padded with its own last digit. */
const valueOf = (i: number) => `v${i}`.padEnd(100, String(i % 10));

/** A record as plain data (views read through), for comparing a view reader with a copying one. */
const plain = (r: LogRecord) => ({
  offset: r.offset,
  timestamp: r.timestamp,
  key: r.key === null ? null : r.key.toString('hex'),
  value: r.value === null ? null : r.value.toString('hex'),
  headerList: r.headerList.map(([k, v]) => [k, v === null ? null : v.toString('hex')]),
});

/** The first segment's file of t-0. */
const firstSegmentFile = (dir: string) => path.join(dir, 't-0', '00000000000000000000.log');

describe('Zero-copy reads (copy: false)', () => {
  after(removeTempDirs);

  it('should return the records a copying reader returns, as views into the mapping', async () => {
    const dir = tempDir();
    const store = LogStore.open(dir, { segmentBytes: 4096 });
    store.createTopic('t');
    for (let i = 0; i < 60; i++) {
      store.append('t', {
        key: i % 3 === 0 ? null : `k${i}`,
        value: i % 7 === 6 ? null : valueOf(i),
        headers:
          i % 2 === 0
            ? [
                ['h', `x${i}`],
                ['h', null],
                ['id', String(i)],
              ]
            : undefined,
        timestamp: 1000 + i,
      });
    }
    const copying = store.reader('t');
    const views = store.reader('t', { copy: false });
    for (;;) {
      const expected = copying.read(7);
      const got = views.read(7);
      expect(got.map(plain)).to.deep.equal(expected.map(plain));
      if (got.length === 0) break;
      // kafkajs's shape is built from the same views.
      for (let k = 0; k < got.length; k++) {
        expect(Object.keys(got[k]!.headers)).to.deep.equal(Object.keys(expected[k]!.headers));
      }
    }
    expect(views.position).to.equal(60);
    // A value of the first segment is a view of the mapping of the whole file, not of a copy.
    views.seek(0);
    const first = views.read(1)[0]!;
    expect(first.value!.toString()).to.equal(valueOf(0));
    expect(first.value!.buffer.byteLength).to.equal(statSync(firstSegmentFile(dir)).size);
    const copied = store.reader('t').read(1)[0]!;
    expect(copied.value!.buffer.byteLength).to.be.below(statSync(firstSegmentFile(dir)).size);
    await store.close();
  });

  it('should keep lent views mapped until the next read, then let the mapping cache unmap them', async () => {
    const store = LogStore.open(tempDir(), { segmentBytes: 4096 });
    store.createTopic('t');
    for (let i = 0; i < 120; i++) store.append('t', { value: valueOf(i) });
    const copied = store.reader('t').read(3);
    const reader = store.reader('t', { copy: false });
    const lent = reader.read(3); // from the first segment, a closed one
    expect(store.describeTopic('t').partitions[0]!.segments).to.be.above(3);
    mappingCache.shrinkTo(0); // every unpinned closed segment of the process is unmapped
    expect(lent.map((r) => r.value!.toString())).to.deep.equal([valueOf(0), valueOf(1), valueOf(2)]);
    // The next read (here a seek to another segment) ends their validity: the cache may now unmap
    // them, and a view then reads nothing rather than another record's bytes.
    reader.seek(100);
    expect(reader.read(1)[0]!.value!.toString()).to.equal(valueOf(100));
    mappingCache.shrinkTo(0);
    for (const r of lent) expect(r.value!.length).to.equal(0);
    // Copies are unaffected, and the segment reads again (mapped anew).
    expect(copied.map((r) => r.value!.toString())).to.deep.equal([valueOf(0), valueOf(1), valueOf(2)]);
    reader.seek(0);
    expect(reader.read(1)[0]!.value!.toString()).to.equal(valueOf(0));
    await store.close();
  });

  it('should keep views of the active segment valid while the file grows, until the next read', async () => {
    const store = LogStore.open(tempDir(), { segmentBytes: 1 << 20 });
    store.createTopic('t');
    for (let i = 0; i < 20; i++) store.append('t', { value: valueOf(i) }); // < 16 KiB: not grown yet
    const reader = store.reader('t', { copy: false });
    const lent = reader.read(20);
    const mappedBytes = lent[0]!.value!.buffer.byteLength;
    for (let i = 20; i < 400; i++) store.append('t', { value: valueOf(i) }); // grows the file: a new mapping
    // The old mapping was kept (retired, not unmapped) for the lent views.
    expect(lent.map((r) => r.value!.toString())).to.deep.equal(
      Array.from({ length: 20 }, (_, i) => valueOf(i)),
    );
    const other = store.reader('t', { copy: false });
    expect(other.read(1)[0]!.value!.buffer.byteLength).to.be.above(mappedBytes);
    other.close();
    expect(lent[19]!.value!.toString()).to.equal(valueOf(19));
    const more = reader.read(5); // ends the validity of `lent`: the retired mapping is unmapped
    expect(more.map((r) => r.offset)).to.deep.equal([20, 21, 22, 23, 24]);
    expect(more[0]!.value!.toString()).to.equal(valueOf(20));
    for (const r of lent) expect(r.value!.length).to.equal(0);
    await store.close();
  });

  it('should detach views (length 0) of a segment retention deletes while they are lent', async () => {
    const store = LogStore.open(tempDir(), { cleanupIntervalMs: 0 });
    store.createTopic('t', { segmentBytes: 4096, retentionBytes: 8192 });
    for (let i = 0; i < 200; i++) store.append('t', { value: valueOf(i) });
    const copied = store.reader('t').read(3);
    const lent = store.reader('t', { copy: false }).read(3);
    const first = lent[0]!.offset; // retention already ran at the rolls
    expect(lent.map((r) => r.value!.toString())).to.deep.equal([first, first + 1, first + 2].map(valueOf));
    store.cleanup('t');
    expect(store.describeTopic('t').partitions[0]!.startOffset).to.be.above(first + 2);
    // The file's memory is gone from the process: the views are empty, not dangling.
    for (const r of lent) {
      expect(r.value!.length).to.equal(0);
      expect(r.value![0]).to.equal(undefined);
      expect(r.value!.toString()).to.equal('');
    }
    expect(copied.map((r) => r.value!.toString())).to.deep.equal([first, first + 1, first + 2].map(valueOf));
    await store.close();
  });

  it('should detach views of a segment compaction replaces while they are lent', async () => {
    const store = LogStore.open(tempDir(), { cleanupIntervalMs: 0 });
    store.createTopic('t', { segmentBytes: 4096, cleanupPolicy: 'compact' });
    for (let i = 0; i < 200; i++) store.append('t', { key: `k${i % 5}`, value: valueOf(i) });
    const lent = store.reader('t', { copy: false }).read(3);
    expect(lent.map((r) => r.value!.toString())).to.deep.equal([valueOf(0), valueOf(1), valueOf(2)]);
    expect(store.cleanup('t').compactedSegments).to.be.above(0);
    for (const r of lent) expect(r.value!.length).to.equal(0);
    expect(lent[0]!.key!.length).to.equal(0);
    // What compaction kept reads as it should, through new views.
    const kept = store.reader('t', { copy: false }).read(1000);
    expect(kept.slice(-5).map((r) => r.value!.toString())).to.deep.equal(
      [195, 196, 197, 198, 199].map(valueOf),
    );
    await store.close();
  });

  it('should decode compressed batches in place of their decompressed block', async () => {
    const store = LogStore.open(tempDir());
    store.createTopic('t', { compressionType: 'gzip' });
    store.append(
      't',
      Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: valueOf(i), headers: { n: String(i) } })),
    );
    const got = store.reader('t', { copy: false }).read(100);
    expect(got.map(plain)).to.deep.equal(store.reader('t').read(100).map(plain));
    expect(got[49]!.value!.toString()).to.equal(valueOf(49));
    await store.close();
  });

  it('should give a consumer with copy: false views valid until its next read', async () => {
    const store = LogStore.open(tempDir(), { segmentBytes: 4096 });
    store.createTopic('t');
    for (let i = 0; i < 120; i++) store.append('t', { value: valueOf(i) });
    const consumer = store.consumer('t', { group: 'g', copy: false, autoCommit: false });
    const lent = consumer.read(3);
    mappingCache.shrinkTo(0);
    expect(lent.map((r) => r.value!.toString())).to.deep.equal([valueOf(0), valueOf(1), valueOf(2)]);
    const rest: string[] = [];
    for (let batch = consumer.read(50); batch.length > 0; batch = consumer.read(50)) {
      rest.push(...batch.map((r) => r.value!.toString()));
    }
    expect(rest).to.deep.equal(Array.from({ length: 117 }, (_, i) => valueOf(i + 3)));
    mappingCache.shrinkTo(0);
    for (const r of lent) expect(r.value!.length).to.equal(0);
    await consumer.close();
    await store.close();
  });

  it('should lend views of its own read buffers away from the end of a segment, whole for a read of several buffers', async () => {
    const dir = tempDir();
    const store = LogStore.open(dir, { cleanupIntervalMs: 0 });
    store.createTopic('t', { segmentBytes: 4 << 20 });
    for (let b = 0; b < 40; b++) {
      store.append(
        't',
        Array.from({ length: 1000 }, (_, i) => ({ value: valueOf(b * 1000 + i) })),
      );
    }
    expect(store.describeTopic('t').partitions[0]!.segments).to.equal(2);
    const reader = store.reader('t', { copy: false });
    // 25,000 records (2.8 MB of batches) in one read: several buffers' worth, all from the first
    // segment (its data ends more than 64 KiB later: none come from its mapping).
    const lent = reader.read(25_000);
    const values = Array.from({ length: 25_000 }, (_, i) => valueOf(i));
    expect(lent.map((r) => r.offset)).to.deep.equal(Array.from({ length: 25_000 }, (_, i) => i));
    expect(lent.map((r) => r.value!.toString())).to.deep.equal(values);
    const segmentSize = statSync(firstSegmentFile(dir)).size;
    expect(lent[0]!.value!.buffer.byteLength).to.be.below(segmentSize); // not the mapping
    // It filled six 512 KiB reads; the reader keeps four of its buffers for its next reads.
    const buffers = (reader as unknown as { lease: ViewLease }).lease.buffers;
    expect(buffers.size).to.equal(4);
    // Other readers, copying or not, read into buffers of their own.
    const other = store.reader('t', { copy: false });
    expect(other.read(30_000).length).to.equal(30_000);
    expect(store.reader('t').read(30_000).length).to.equal(30_000);
    // Retention deletes the segment and the process unmaps what it can: the views were read with
    // pread, and keep their bytes until the next read.
    store.alterTopic('t', { retentionBytes: 1 });
    store.cleanup('t');
    expect(store.describeTopic('t').partitions[0]!.startOffset).to.be.above(25_000);
    mappingCache.shrinkTo(0);
    expect(lent.map((r) => r.value!.toString())).to.deep.equal(values);
    expectCode(() => reader.read(3), 'LOGSTORE_OFFSET_OUT_OF_RANGE');
    reader.close();
    expect(buffers.size).to.equal(0);
    await store.close();
  });

  it('should detach views kept past their read once their buffer is read into again, never showing another record', async () => {
    const store = LogStore.open(tempDir(), { cleanupIntervalMs: 0 });
    store.createTopic('t', { segmentBytes: 8 << 20 });
    for (let b = 0; b < 40; b++) {
      store.append(
        't',
        Array.from({ length: 1000 }, (_, i) => ({ value: valueOf(b * 1000 + i) })),
      );
    }
    const reader = store.reader('t', { copy: false });
    const kept = reader.read(1000); // views of the reader's first buffer, kept past their lifetime
    expect(kept.map((r) => r.value!.toString())).to.deep.equal(
      Array.from({ length: 1000 }, (_, i) => valueOf(i)),
    );
    const states: string[] = [];
    for (let n = 1; n < 30; n++) {
      const batch = reader.read(1000);
      expect(batch.map((r) => r.offset)).to.deep.equal(Array.from({ length: 1000 }, (_, i) => n * 1000 + i));
      expect(batch.map((r) => r.value!.toString())).to.deep.equal(batch.map((r) => valueOf(r.offset)));
      // Each kept view reads its own bytes (the buffer not read into yet) or nothing.
      const intact = kept.filter((r, i) => r.value!.toString() === valueOf(i)).length;
      const detached = kept.filter((r) => r.value!.length === 0).length;
      expect(intact + detached, `after read ${n}`).to.equal(1000);
      states.push(intact === 1000 ? 'intact' : detached === 1000 ? 'detached' : 'mixed');
    }
    // The first buffer (a 512 KiB read, ~4,500 records) is read into again within the 30 reads, and all its
    // views detach at once.
    expect(states[0]).to.equal('intact');
    expect(states[states.length - 1]).to.equal('detached');
    expect(states).to.not.include('mixed');
    reader.close();
    await store.close();
  });

  it("should not overwrite a consumer's lent buffers with another partition's bytes in the same read", async () => {
    const store = LogStore.open(tempDir());
    store.createTopic('t', { partitions: 3 });
    for (let p = 0; p < 3; p++) {
      for (let b = 0; b < 12; b++) {
        store.append(
          't',
          Array.from({ length: 1000 }, (_, i) => ({ value: `${p}:${valueOf(b * 1000 + i)}` })),
          { partition: p },
        );
      }
    }
    const consumer = store.consumer('t', { group: 'g', copy: false, autoCommit: false });
    const got = consumer.read(30_000);
    expect(got.length).to.equal(30_000);
    for (const r of got) expect(r.value!.toString()).to.equal(`${r.partition}:${valueOf(r.offset)}`);
    await consumer.close();
    await store.close();
  });

  it('should refuse a copy option that is not a boolean', async () => {
    const store = LogStore.open(tempDir());
    store.createTopic('t');
    expectCode(() => store.reader('t', { copy: 'no' as unknown as boolean }), 'LOGSTORE_INVALID_ARGUMENT');
    expectCode(
      () => store.consumer('t', { group: 'g', copy: 0 as unknown as boolean }),
      'LOGSTORE_INVALID_ARGUMENT',
    );
    await store.close();
  });
});
