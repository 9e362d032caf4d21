/**
 * The mirror's batch work: stamping a stored batch with the idempotent producer's fields,
 * re-encoding records densely, reading control markers, and what the way in keeps of a fetched
 * partition (transactions: aborted dropped, committed kept without the flag; markers dropped;
 * a batch straddling the position or with compaction gaps re-encoded).
 */
import { expect } from 'chai';
import { BatchEncoder, encodeBatch } from '../../lib/format/batch-encoder.js';
import { BatchWalker } from '../../lib/format/batches.js';
import { CONTROL_FLAG, TRANSACTIONAL_FLAG } from '../../lib/format/record-batch.js';
import type { AppendRecord } from '../../lib/index.js';
import {
  ABORT_MARKER,
  batchesOf,
  COMMIT_MARKER,
  controlType,
  encodeRecords,
  recordsOf,
  stamped,
  type BatchView,
} from '../../lib/mirror/batches.js';
import { committedBatches } from '../../lib/mirror/committed.js';

const recs = (from: number, n: number): AppendRecord[] =>
  Array.from({ length: n }, (_, i) => ({
    key: `k${from + i}`,
    value: `v${from + i}`,
    headers: [
      ['h', 'x'],
      ['h', null],
    ],
    timestamp: 1000 + from + i,
  }));

const meta = (flags: number, producerId: number) => ({
  partitionLeaderEpoch: 0,
  flags,
  producerId,
  producerEpoch: 0,
  baseSequence: 0,
});

/** A control batch of `producerId` with one marker record (key: version 0, type). */
function marker(base: number, producerId: number, type: number): Buffer {
  const key = Buffer.from([0, 0, 0, type]);
  return encodeBatch(base, [{ key, value: Buffer.alloc(6), timestamp: 5000 }], 5000, {
    meta: meta(TRANSACTIONAL_FLAG | CONTROL_FLAG, producerId),
  });
}

/** Walks `buf` with the store's own checks; returns the batches' [base, last] offsets. */
function valid(buf: Buffer): [number, number][] {
  const out: [number, number][] = [];
  const walker = new BatchWalker(buf, 0, { limit: buf.length, nextOffset: -1, gaps: true });
  while (walker.next()) out.push([walker.baseOffset, walker.lastOffset]);
  expect(walker.stop, walker.detail).to.equal('end');
  return out;
}

const view = (buf: Buffer): BatchView => batchesOf(buf, 'spec', false)[0]!;
const plain = (rs: ReturnType<typeof recordsOf>) =>
  rs.map((r) => ({
    offset: r.offset,
    key: r.key?.toString(),
    value: r.value?.toString(),
    headers: r.headerList,
    ts: r.timestamp,
  }));

describe('mirror batches', () => {
  describe('stamped()', () => {
    it('should write the producer id, epoch and sequence, base offset 0 and leader epoch -1, with a valid CRC and the same records', () => {
      const original = encodeBatch(40, recs(0, 5), 0, { codec: 1 });
      const out = stamped(view(original), { producerId: 77, producerEpoch: 3, baseSequence: 120 });
      expect(valid(out)).to.deep.equal([[0, 4]]);
      const b = view(out);
      expect([b.producerId, b.producerEpoch, b.baseSequence]).to.deep.equal([77, 3, 120]);
      expect(out.readInt32BE(12)).to.equal(-1);
      expect(b.attributes & 7).to.equal(1); // the codec stays
      expect(out.subarray(57)).to.deep.equal(original.subarray(57)); // records section untouched
      expect(plain(recordsOf(b, 0, 'spec'))).to.deep.equal(
        plain(recordsOf(view(original), 40, 'spec')).map((r) => ({ ...r, offset: r.offset - 40 })),
      );
    });
  });

  describe('encodeRecords()', () => {
    it('should make one dense batch of records from several batches, with their codec and producer fields', () => {
      const a = view(encodeBatch(10, recs(0, 3), 0));
      const b = view(encodeBatch(13, recs(3, 2), 0));
      const merged = encodeRecords([...recordsOf(a, 11, 'spec'), ...recordsOf(b, 0, 'spec')], 4, {
        producerId: 5,
        producerEpoch: 0,
        baseSequence: 9,
      });
      expect(valid(merged)).to.deep.equal([[0, 3]]);
      const m = view(merged);
      expect(m.attributes & 7).to.equal(4);
      expect([m.producerId, m.baseSequence]).to.deep.equal([5, 9]);
      expect(plain(recordsOf(m, 0, 'spec')).map((r) => [r.offset, r.key, r.ts])).to.deep.equal([
        [0, 'k1', 1001],
        [1, 'k2', 1002],
        [2, 'k3', 1003],
        [3, 'k4', 1004],
      ]);
    });
  });

  describe('controlType()', () => {
    it('should read the marker type of a control batch', () => {
      expect(controlType(view(marker(0, 1, ABORT_MARKER)))).to.equal(ABORT_MARKER);
      expect(controlType(view(marker(0, 1, COMMIT_MARKER)))).to.equal(COMMIT_MARKER);
    });
  });

  describe('committedBatches()', () => {
    it('should drop aborted transactions and markers, keep committed ones without the flag, and pass plain batches as they are', () => {
      const plainBatch = encodeBatch(0, recs(0, 2), 0);
      const abortedData = encodeBatch(2, recs(2, 3), 0, { meta: meta(TRANSACTIONAL_FLAG, 7) });
      const committedData = encodeBatch(5, recs(5, 2), 0, { meta: meta(TRANSACTIONAL_FLAG, 8) });
      const fetched = Buffer.concat([
        plainBatch,
        abortedData,
        committedData,
        marker(7, 7, ABORT_MARKER),
        marker(8, 8, COMMIT_MARKER),
        encodeBatch(9, recs(9, 1), 0, { meta: meta(TRANSACTIONAL_FLAG, 7) }), // a later, committed transaction of 7
      ]);
      const kept = committedBatches(fetched, 0, [{ producerId: 7, firstOffset: 2 }], 'spec');
      expect(kept.map((k) => [k.count, k.next, k.bytes === null])).to.deep.equal([
        [2, 2, false],
        [0, 5, true],
        [2, 7, false],
        [0, 8, true],
        [0, 9, true],
        [1, 10, false],
      ]);
      expect(kept[0]!.bytes).to.deep.equal(plainBatch);
      for (const k of [kept[2]!, kept[5]!]) {
        valid(k.bytes!);
        expect(view(k.bytes!).attributes & TRANSACTIONAL_FLAG).to.equal(0);
      }
      expect(plain(recordsOf(view(kept[2]!.bytes!), 0, 'spec')).map((r) => r.key)).to.deep.equal([
        'k5',
        'k6',
      ]);
    });

    it('should re-encode the part of a batch from the position on, and a compacted batch densely', () => {
      const encoder = new BatchEncoder();
      const gappy = recs(20, 3);
      const size = encoder.measure(gappy, null, 0, Number.MAX_SAFE_INTEGER, { offsetDeltas: [0, 2, 5] });
      const compacted = Buffer.alloc(size);
      encoder.write(compacted, 0, 20, 5); // offsets 20, 22, 25 of 20..25
      const fetched = Buffer.concat([encodeBatch(10, recs(10, 10), 0, { codec: 2 }), compacted]);
      const kept = committedBatches(fetched, 14, [], 'spec');
      expect(kept.map((k) => [k.count, k.next])).to.deep.equal([
        [6, 20],
        [3, 26],
      ]);
      const tail = view(kept[0]!.bytes!);
      expect(tail.attributes & 7).to.equal(2);
      expect(plain(recordsOf(tail, 0, 'spec')).map((r) => [r.offset, r.key])).to.deep.equal(
        [14, 15, 16, 17, 18, 19].map((n, i) => [i, `k${n}`]),
      );
      expect(valid(kept[1]!.bytes!)).to.deep.equal([[0, 2]]);
      expect(plain(recordsOf(view(kept[1]!.bytes!), 0, 'spec')).map((r) => r.key)).to.deep.equal([
        'k20',
        'k21',
        'k22',
      ]);
      // Batches wholly below the position are left out.
      expect(committedBatches(fetched, 26, [], 'spec')).to.deep.equal([]);
    });

    it('should refuse an old message format from the cluster (LOGSTORE_REMOTE), and leave a partial batch at the end out', () => {
      const batch = encodeBatch(0, recs(0, 2), 0);
      expect(committedBatches(Buffer.concat([batch, batch.subarray(0, 30)]), 0, [], 'spec')).to.have.length(
        1,
      );
      const old = Buffer.from(batch);
      old[16] = 1;
      expect(() => committedBatches(old, 0, [], 'spec'))
        .to.throw()
        .with.property('code', 'LOGSTORE_REMOTE');
    });
  });
});
