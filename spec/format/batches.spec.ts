/**
 * The batch walker is the only code that decides whether bytes are a valid batch: recovery,
 * reads, compaction and `verify` all ask it. Each case pins the kind it stops with and where.
 */
import { expect } from 'chai';

import {
  BatchWalker,
  decodeBatch,
  isTornTail,
  type StopKind,
  type WalkOptions,
} from '../../lib/format/batches.js';
import { encodeBatch } from '../../lib/format/batch-encoder.js';
import type { LogStoreError } from '../../lib/errors.js';
import type { AppendRecord } from '../../lib/record.js';
import { expectCode } from '../helpers/temp.js';
import {
  ATTRIBUTES_AT,
  CRC_AT,
  HEADER_BYTES,
  LAST_OFFSET_DELTA_AT,
  LEADER_EPOCH_AT,
  LENGTH_AT,
  MAGIC_AT,
  RECORD_COUNT_AT,
  fixCrc,
} from './tools.js';

const RECORDS: AppendRecord[] = [
  { key: 'k1', value: 'first value', headers: { h: 'x' }, timestamp: 1000 },
  { key: null, value: null, timestamp: 1001 },
  { key: 'k3', value: Buffer.alloc(40, 7), timestamp: 1002 },
];

const TRUNCATED: StopKind = 'truncated';
const IMPOSSIBLE_LENGTH: StopKind = 'bad-length';
const PAST_END: StopKind = 'truncated';
const MAGIC: StopKind = 'bad-magic';
const CRC: StopKind = 'bad-crc';
const NEGATIVE_BASE: StopKind = 'bad-offset';
const COUNT: StopKind = 'bad-count';

const batch = () => encodeBatch(42, RECORDS, 0);

/** The kind the walker stops with on the batch at `pos` (undefined: the batch is valid). */
function batchProblem(
  buf: Buffer,
  pos: number,
  limit: number,
  options: Partial<WalkOptions> = {},
): StopKind | undefined {
  const walker = new BatchWalker(buf, pos, { limit, nextOffset: -1, gaps: false, ...options });
  if (walker.next()) return undefined;
  expect(walker.stopPosition, 'a stop is at the batch it refused').to.equal(pos);
  return walker.stop!;
}

describe('BatchWalker', () => {
  it('should find nothing wrong with a valid batch', () => {
    const buf = batch();
    expect(batchProblem(buf, 0, buf.length)).to.equal(undefined);
  });

  it('should check the batch at `pos`, up to `limit`, inside a larger buffer', () => {
    const one = batch();
    const two = encodeBatch(45, RECORDS, 0);
    const buf = Buffer.concat([Buffer.from('junk'), one, two, Buffer.alloc(9)]);
    expect(batchProblem(buf, 4, buf.length)).to.equal(undefined);
    expect(batchProblem(buf, 4 + one.length, 4 + one.length + two.length)).to.equal(undefined);
    expect(batchProblem(buf, 4, 4 + one.length)).to.equal(undefined);
    expect(batchProblem(buf, 4, 4 + one.length - 1)).to.equal(PAST_END);
    expect(decodeBatch(buf, 4 + one.length).baseOffset).to.equal(45);
  });

  describe('truncated header', () => {
    it('should report a truncated header for every length below 61 bytes (zeros only where all it saw was zeros)', () => {
      const buf = batch(); // base offset 42: its first 7 bytes are zeros
      for (let limit = 1; limit < HEADER_BYTES; limit++) {
        const want = limit < 8 ? 'zeros' : TRUNCATED;
        expect(batchProblem(buf, 0, limit), `limit ${limit}`).to.equal(want);
        expect(batchProblem(buf.subarray(0, limit), 0, limit), `length ${limit}`).to.equal(want);
      }
    });

    it('should report the length running past the end for every cut from 61 bytes to one short', () => {
      const buf = batch();
      for (let limit = HEADER_BYTES; limit < buf.length; limit++) {
        expect(batchProblem(buf, 0, limit), `limit ${limit}`).to.equal(PAST_END);
      }
    });

    it('should stop with `end` for an empty buffer and for pos at the limit', () => {
      expect(batchProblem(Buffer.alloc(0), 0, 0)).to.equal('end');
      const buf = batch();
      expect(batchProblem(buf, buf.length, buf.length)).to.equal('end');
    });
  });

  describe('bad length', () => {
    for (const length of [-1, -2147483648, 0, 1, 48]) {
      it(`should call a batch length of ${length} impossible (a header needs 49)`, () => {
        const buf = batch();
        buf.writeInt32BE(length, LENGTH_AT);
        expect(batchProblem(buf, 0, buf.length)).to.equal(IMPOSSIBLE_LENGTH);
      });
    }

    it('should report a length one byte longer than the data as running past the end', () => {
      const buf = batch();
      buf.writeInt32BE(buf.length - 12 + 1, LENGTH_AT);
      expect(batchProblem(buf, 0, buf.length)).to.equal(PAST_END);
    });

    it('should report a length of 2^31-1 as running past the end', () => {
      const buf = batch();
      buf.writeInt32BE(0x7fffffff, LENGTH_AT);
      expect(batchProblem(buf, 0, buf.length)).to.equal(PAST_END);
    });

    it('should report a shorter length as a CRC mismatch (the checksum covers exactly length bytes)', () => {
      const buf = batch();
      buf.writeInt32BE(buf.length - 12 - 1, LENGTH_AT);
      expect(batchProblem(buf, 0, buf.length)).to.equal(CRC);
    });
  });

  describe('wrong magic', () => {
    for (const magic of [0, 1, 3, 0xff]) {
      it(`should report magic byte ${magic}`, () => {
        const buf = batch();
        buf[MAGIC_AT] = magic;
        expect(batchProblem(buf, 0, buf.length)).to.equal(MAGIC);
      });
    }

    it('should check the magic before the CRC', () => {
      const buf = batch();
      buf[MAGIC_AT] = 1;
      buf[buf.length - 1]! ^= 0xff;
      expect(batchProblem(buf, 0, buf.length)).to.equal(MAGIC);
    });
  });

  describe('CRC mismatch', () => {
    it('should report a CRC mismatch for one flipped byte in the records area', () => {
      const buf = batch();
      buf[HEADER_BYTES + 5]! ^= 0x01;
      expect(batchProblem(buf, 0, buf.length)).to.equal(CRC);
    });

    it('should report a CRC mismatch for a flip at every position from the attributes to the end', () => {
      const clean = batch();
      for (let at = ATTRIBUTES_AT; at < clean.length; at++) {
        const buf = Buffer.from(clean);
        buf[at]! ^= 0x40;
        expect(batchProblem(buf, 0, buf.length), `flip at ${at}`).to.equal(CRC);
      }
    });

    it('should report a CRC mismatch when the stored CRC itself is damaged', () => {
      for (let at = CRC_AT; at < CRC_AT + 4; at++) {
        const buf = batch();
        buf[at]! ^= 0x80;
        expect(batchProblem(buf, 0, buf.length), `flip at ${at}`).to.equal(CRC);
      }
    });

    it('should not see damage to the partition leader epoch, which the CRC does not cover', () => {
      const buf = batch();
      buf.writeInt32BE(7, LEADER_EPOCH_AT);
      expect(batchProblem(buf, 0, buf.length)).to.equal(undefined);
    });
  });

  describe('header consistency (behind a valid CRC)', () => {
    it('should report a negative base offset (not covered by the CRC)', () => {
      const buf = batch();
      buf[0] = 0x80;
      expect(batchProblem(buf, 0, buf.length)).to.equal(NEGATIVE_BASE);
    });

    it('should report a base offset of 2^53 (past exact JS integers)', () => {
      const buf = batch();
      buf.writeUInt32BE(0x00200000, 0); // 2^53
      expect(batchProblem(buf, 0, buf.length)).to.equal('bad-offset');
    });

    for (const count of [-1, -2147483648]) {
      it(`should report a record count of ${count} as impossible`, () => {
        const buf = batch();
        buf.writeInt32BE(count, RECORD_COUNT_AT);
        expect(batchProblem(fixCrc(buf), 0, buf.length)).to.equal(COUNT);
      });
    }

    it('should report a record count larger than the batch length as impossible', () => {
      const buf = batch();
      buf.writeInt32BE(buf.length, RECORD_COUNT_AT);
      expect(batchProblem(fixCrc(buf), 0, buf.length)).to.equal(COUNT);
    });

    it('should report a negative last offset delta as impossible', () => {
      const buf = batch();
      buf.writeInt32BE(-1, LAST_OFFSET_DELTA_AT);
      expect(batchProblem(fixCrc(buf), 0, buf.length)).to.equal(COUNT);
    });
  });
});

describe('decodeBatch() on the same problems', () => {
  it('should throw LOGSTORE_CORRUPT with the stop kind and position for each problem', () => {
    const cases: [StopKind, (b: Buffer) => Buffer][] = [
      ['truncated', (b) => b.subarray(0, 60)],
      ['bad-length', (b) => (b.writeInt32BE(10, LENGTH_AT), b)],
      ['truncated', (b) => b.subarray(0, b.length - 1)],
      ['bad-magic', (b) => ((b[MAGIC_AT] = 1), b)],
      ['bad-crc', (b) => ((b[b.length - 3]! ^= 4), b)],
      ['bad-offset', (b) => ((b[0] = 0xff), b)],
      ['bad-count', (b) => fixCrc((b.writeInt32BE(-5, RECORD_COUNT_AT), b))],
    ];
    for (const [kind, damage] of cases) {
      const buf = damage(batch());
      const err = expectCode(
        () => decodeBatch(buf, 0, 'the.log'),
        'LOGSTORE_CORRUPT',
      ) as unknown as LogStoreError;
      expect(err.details, kind).to.deep.equal({ file: 'the.log', position: 0, kind });
    }
  });
});

describe('BatchWalker over a log', () => {
  const log = (...bases: number[]) =>
    Buffer.concat([...bases.map((b) => encodeBatch(b, RECORDS, 0)), Buffer.alloc(100)]);
  const size = batch().length;

  it('should walk batches in order and stop at the zeros after them, with the end, next offset and max timestamp', () => {
    const buf = log(0, 3, 6);
    const walker = new BatchWalker(buf, 0, { limit: buf.length, nextOffset: 0, gaps: false });
    const seen: [number, number, number][] = [];
    while (walker.next()) seen.push([walker.position, walker.baseOffset, walker.lastOffset]);
    expect(seen).to.deep.equal([
      [0, 0, 2],
      [size, 3, 5],
      [2 * size, 6, 8],
    ]);
    expect([walker.stop, walker.stopPosition, walker.nextOffset, walker.maxTimestamp]).to.deep.equal([
      'zeros',
      3 * size,
      9,
      1002,
    ]);
  });

  it('should stop with `end` exactly at the limit', () => {
    const buf = log(0, 3);
    const walker = new BatchWalker(buf, 0, { limit: 2 * size, nextOffset: 0, gaps: false });
    expect(walker.walkAll()).to.equal('end');
    expect(walker.stopPosition).to.equal(2 * size);
  });

  it('should refuse a base offset that does not follow the batch before (dense), at that batch', () => {
    const buf = log(0, 4);
    const walker = new BatchWalker(buf, 0, { limit: buf.length, nextOffset: 0, gaps: false });
    expect(walker.walkAll()).to.equal('bad-offset');
    expect(walker.stopPosition).to.equal(size);
  });

  it('should allow gaps but not a step back where compaction leaves gaps', () => {
    const forward = log(0, 10);
    expect(
      new BatchWalker(forward, 0, { limit: forward.length, nextOffset: 0, gaps: true }).walkAll(),
    ).to.equal('zeros');
    const back = log(5, 6);
    const walker = new BatchWalker(back, 0, { limit: back.length, nextOffset: 0, gaps: true });
    expect(walker.walkAll()).to.equal('bad-offset');
    expect(walker.stopPosition).to.equal(size);
  });

  it('should refuse offsets below minOffset or reaching maxNextOffset (a batch belonging to another segment)', () => {
    const buf = log(10);
    expect(batchProblem(buf, 0, buf.length, { minOffset: 11 })).to.equal('bad-offset');
    expect(batchProblem(buf, 0, buf.length, { maxNextOffset: 12 })).to.equal('bad-offset');
    expect(batchProblem(buf, 0, buf.length, { minOffset: 10, maxNextOffset: 13 })).to.equal(undefined);
  });

  it('should refuse a record count that does not fill the offset range of a dense batch, but not of a compacted one', () => {
    const buf = batch();
    buf.writeInt32BE(2, RECORD_COUNT_AT); // 3 offsets (lastOffsetDelta 2), 2 records
    fixCrc(buf);
    expect(batchProblem(buf, 0, buf.length, { gaps: false })).to.equal('bad-count');
    expect(batchProblem(buf, 0, buf.length, { gaps: true })).to.equal(undefined);
    buf.writeInt32BE(4, RECORD_COUNT_AT);
    fixCrc(buf);
    expect(batchProblem(buf, 0, buf.length, { gaps: true })).to.equal('bad-count');
  });

  it('should refuse a CreateTime batch whose max timestamp is below its base timestamp', () => {
    const buf = batch();
    buf.writeBigInt64BE(999n, 35); // base timestamp is 1000
    expect(batchProblem(fixCrc(buf), 0, buf.length)).to.equal('bad-timestamp');
  });

  it('should tell a torn tail from damage by where the stop is against the synced position', () => {
    expect(isTornTail('bad-crc', 100, 100)).to.equal(true);
    expect(isTornTail('truncated', 101, 100)).to.equal(true);
    expect(isTornTail('bad-crc', 99, 100)).to.equal(false);
    expect(isTornTail('end', 200, 100)).to.equal(false);
  });
});
