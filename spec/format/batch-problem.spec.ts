/**
 * `batchProblem` is what recovery and `verify` use to tell a torn tail from damage, so each case
 * is pinned to the family of answer it gives (a stable prefix, not the wording after it).
 */
import { expect } from 'chai';

import { batchProblem, decodeBatch, encodeBatch } from '../../lib/format/record-batch.js';
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

const TRUNCATED = /^truncated batch header$/;
const IMPOSSIBLE_LENGTH = /^impossible batch length -?\d+$/;
const PAST_END = /^batch length \d+ runs past the end of the data$/;
const MAGIC = /^magic byte \d+ is not 2$/;
const CRC = /^CRC32C mismatch/;
const NEGATIVE_BASE = /^negative base offset$/;
const COUNT = /^impossible record count -?\d+$/;

const batch = () => encodeBatch(42, RECORDS, 0);

describe('batchProblem()', () => {
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
    expect(batchProblem(buf, 4, 4 + one.length - 1)).to.match(PAST_END);
    expect(decodeBatch(buf, 4 + one.length).baseOffset).to.equal(45);
  });

  describe('truncated header', () => {
    it('should report a truncated header for every length below 61 bytes', () => {
      const buf = batch();
      for (let limit = 0; limit < HEADER_BYTES; limit++) {
        expect(batchProblem(buf, 0, limit), `limit ${limit}`).to.match(TRUNCATED);
        expect(batchProblem(buf.subarray(0, limit), 0, limit), `length ${limit}`).to.match(TRUNCATED);
      }
    });

    it('should report the length running past the end for every cut from 61 bytes to one short', () => {
      const buf = batch();
      for (let limit = HEADER_BYTES; limit < buf.length; limit++) {
        expect(batchProblem(buf, 0, limit), `limit ${limit}`).to.match(PAST_END);
      }
    });

    it('should report a truncated header for an empty buffer and for pos at the limit', () => {
      expect(batchProblem(Buffer.alloc(0), 0, 0)).to.match(TRUNCATED);
      const buf = batch();
      expect(batchProblem(buf, buf.length, buf.length)).to.match(TRUNCATED);
    });
  });

  describe('bad length', () => {
    for (const length of [-1, -2147483648, 0, 1, 48]) {
      it(`should call a batch length of ${length} impossible (a header needs 49)`, () => {
        const buf = batch();
        buf.writeInt32BE(length, LENGTH_AT);
        expect(batchProblem(buf, 0, buf.length)).to.match(IMPOSSIBLE_LENGTH);
      });
    }

    it('should report a length one byte longer than the data as running past the end', () => {
      const buf = batch();
      buf.writeInt32BE(buf.length - 12 + 1, LENGTH_AT);
      expect(batchProblem(buf, 0, buf.length)).to.match(PAST_END);
    });

    it('should report a length of 2^31-1 as running past the end', () => {
      const buf = batch();
      buf.writeInt32BE(0x7fffffff, LENGTH_AT);
      expect(batchProblem(buf, 0, buf.length)).to.match(PAST_END);
    });

    it('should report a shorter length as a CRC mismatch (the checksum covers exactly length bytes)', () => {
      const buf = batch();
      buf.writeInt32BE(buf.length - 12 - 1, LENGTH_AT);
      expect(batchProblem(buf, 0, buf.length)).to.match(CRC);
    });
  });

  describe('wrong magic', () => {
    for (const magic of [0, 1, 3, 0xff]) {
      it(`should report magic byte ${magic}`, () => {
        const buf = batch();
        buf[MAGIC_AT] = magic;
        expect(batchProblem(buf, 0, buf.length)).to.match(MAGIC);
        expect(batchProblem(buf, 0, buf.length)).to.contain(`magic byte ${magic} `);
      });
    }

    it('should check the magic before the CRC', () => {
      const buf = batch();
      buf[MAGIC_AT] = 1;
      buf[buf.length - 1]! ^= 0xff;
      expect(batchProblem(buf, 0, buf.length)).to.match(MAGIC);
    });
  });

  describe('CRC mismatch', () => {
    it('should report a CRC mismatch for one flipped byte in the records area', () => {
      const buf = batch();
      buf[HEADER_BYTES + 5]! ^= 0x01;
      expect(batchProblem(buf, 0, buf.length)).to.match(CRC);
    });

    it('should report a CRC mismatch for a flip at every position from the attributes to the end', () => {
      const clean = batch();
      for (let at = ATTRIBUTES_AT; at < clean.length; at++) {
        const buf = Buffer.from(clean);
        buf[at]! ^= 0x40;
        expect(batchProblem(buf, 0, buf.length), `flip at ${at}`).to.match(CRC);
      }
    });

    it('should report a CRC mismatch when the stored CRC itself is damaged', () => {
      for (let at = CRC_AT; at < CRC_AT + 4; at++) {
        const buf = batch();
        buf[at]! ^= 0x80;
        expect(batchProblem(buf, 0, buf.length), `flip at ${at}`).to.match(CRC);
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
      expect(batchProblem(buf, 0, buf.length)).to.match(NEGATIVE_BASE);
    });

    it('should report a base offset of 2^53 (past exact JS integers)', () => {
      const buf = batch();
      buf.writeUInt32BE(0x00200000, 0); // 2^53
      expect(batchProblem(buf, 0, buf.length)).to.equal('base offset beyond 2^53');
    });

    for (const count of [-1, -2147483648]) {
      it(`should report a record count of ${count} as impossible`, () => {
        const buf = batch();
        buf.writeInt32BE(count, RECORD_COUNT_AT);
        expect(batchProblem(fixCrc(buf), 0, buf.length)).to.match(COUNT);
      });
    }

    it('should report a record count larger than the batch length as impossible', () => {
      const buf = batch();
      buf.writeInt32BE(buf.length, RECORD_COUNT_AT);
      expect(batchProblem(fixCrc(buf), 0, buf.length)).to.match(COUNT);
    });

    it('should report a negative last offset delta as impossible', () => {
      const buf = batch();
      buf.writeInt32BE(-1, LAST_OFFSET_DELTA_AT);
      expect(batchProblem(fixCrc(buf), 0, buf.length)).to.match(COUNT);
    });
  });
});

describe('decodeBatch() on the same problems', () => {
  it('should throw LOGSTORE_CORRUPT for each problem batchProblem names', () => {
    const cases: [string, (b: Buffer) => Buffer][] = [
      ['truncated header', (b) => b.subarray(0, 60)],
      ['impossible length', (b) => (b.writeInt32BE(10, LENGTH_AT), b)],
      ['past the end', (b) => b.subarray(0, b.length - 1)],
      ['magic', (b) => ((b[MAGIC_AT] = 1), b)],
      ['crc', (b) => ((b[b.length - 3]! ^= 4), b)],
      ['negative base', (b) => ((b[0] = 0xff), b)],
      ['count', (b) => fixCrc((b.writeInt32BE(-5, RECORD_COUNT_AT), b))],
    ];
    for (const [name, damage] of cases) {
      const buf = damage(batch());
      expect(batchProblem(buf, 0, buf.length), name).to.be.a('string');
      expectCode(() => decodeBatch(buf), 'LOGSTORE_CORRUPT');
    }
  });
});
