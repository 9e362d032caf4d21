/**
 * Zigzag varints as Kafka writes them (ByteUtils.writeVarint / writeVarlong). Exact bytes at the
 * 7-bit boundaries, sizes, agreement with kafkajs's encoder and decoder, and the reader's refusal
 * to run past `end` (`varintEnd` = -1).
 */
import { expect } from 'chai';
import fc from 'fast-check';

import {
  readVarint,
  signedVarintSize,
  unzigzag,
  varintEnd,
  varintSize,
  writeVarint,
  zigzag,
} from '../../lib/format/varint.js';
import { KafkaDecoder, KafkaEncoder } from './kafkajs.js';
import { varint } from './tools.js';

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** Values at the edges of each varint length, of int32, and of exact JS integers. */
const BOUNDARIES = [
  0,
  1,
  -1,
  63,
  -63,
  64,
  -64,
  -65,
  8191,
  -8192,
  8192,
  -8193,
  2 ** 20 - 1,
  2 ** 20,
  -(2 ** 20),
  -(2 ** 20) - 1,
  2 ** 27,
  2 ** 31 - 1,
  -(2 ** 31),
  2 ** 31,
  -(2 ** 31) - 1,
  2 ** 32,
  -(2 ** 32),
  2 ** 34,
  2 ** 41,
  2 ** 48,
  2 ** 52 - 1,
  2 ** 52,
  -(2 ** 52),
  MAX_SAFE - 1,
  MAX_SAFE,
];

/** Exactly what Kafka writes, worked out by hand from zigzag + 7-bit groups, low group first. */
const EXACT: [number, string][] = [
  [0, '00'],
  [-1, '01'],
  [1, '02'],
  [63, '7e'],
  [-64, '7f'],
  [64, '8001'],
  [-65, '8101'],
  [300, 'd804'],
  [8191, 'fe7f'],
  [8192, '808001'],
  [-8192, 'ff7f'],
  [2 ** 31 - 1, 'feffffff0f'],
  [-(2 ** 31), 'ffffffff0f'],
  [MAX_SAFE, 'feffffffffffff1f'],
];

function encode(n: number): Buffer {
  const buf = Buffer.alloc(12, 0xaa);
  const end = writeVarint(buf, 1, n);
  return buf.subarray(1, end);
}

describe('writeVarint()', () => {
  for (const [n, hex] of EXACT) {
    it(`should write ${n} as ${hex}`, () => {
      expect(encode(n).toString('hex')).to.equal(hex);
    });
  }

  it('should return the position after the varint and touch nothing beyond it', () => {
    const buf = Buffer.alloc(8, 0xaa);
    expect(writeVarint(buf, 2, 64)).to.equal(4);
    expect(buf.toString('hex')).to.equal('aaaa8001aaaaaaaa');
  });

  it('should write the bytes of kafkajs writeVarLong at every boundary (writeVarInt within int32)', () => {
    for (const n of BOUNDARIES) {
      expect(encode(n).toString('hex'), String(n)).to.equal(
        new KafkaEncoder().writeVarLong(n).buffer.toString('hex'),
      );
      expect(encode(n).toString('hex'), String(n)).to.equal(varint(n).toString('hex'));
      if (n >= -(2 ** 31) && n < 2 ** 31) {
        expect(encode(n).toString('hex'), String(n)).to.equal(
          new KafkaEncoder().writeVarInt(n).buffer.toString('hex'),
        );
      }
    }
  });
});

describe('readVarint()', () => {
  it('should round-trip every boundary value and set varintEnd after it', () => {
    for (const n of BOUNDARIES) {
      const bytes = encode(n);
      const buf = Buffer.concat([Buffer.from([0x99]), bytes, Buffer.from([0x80, 0x80])]);
      expect(readVarint(buf, 1, buf.length), String(n)).to.equal(n);
      expect(varintEnd, String(n)).to.equal(1 + bytes.length);
    }
  });

  it('should read what kafkajs writes, and kafkajs should read what it writes', () => {
    for (const n of BOUNDARIES) {
      const theirs = new KafkaEncoder().writeVarLong(n).buffer;
      expect(readVarint(theirs, 0, theirs.length), String(n)).to.equal(n);
      expect(new KafkaDecoder(encode(n)).readVarLong().toString(), String(n)).to.equal(String(n));
    }
  });

  it('should set varintEnd to -1 on every truncation of every boundary value', () => {
    for (const n of BOUNDARIES) {
      const bytes = encode(n);
      for (let end = 0; end < bytes.length; end++) {
        expect(readVarint(bytes, 0, end), `${n} cut at ${end}`).to.equal(0);
        expect(varintEnd, `${n} cut at ${end}`).to.equal(-1);
      }
    }
  });

  it('should honour `end` even when the buffer goes on', () => {
    const buf = Buffer.from([0x80, 0x80, 0x01]); // 16384 zigzagged, three bytes
    readVarint(buf, 0, 2);
    expect(varintEnd).to.equal(-1);
    expect(readVarint(buf, 0, 3)).to.equal(8192);
    expect(varintEnd).to.equal(3);
  });

  it('should set varintEnd to -1 when pos is at or past end', () => {
    const buf = Buffer.from([0x02, 0x02]);
    readVarint(buf, 1, 1);
    expect(varintEnd).to.equal(-1);
    readVarint(buf, 3, 2);
    expect(varintEnd).to.equal(-1);
  });

  it('should reset varintEnd after a failed read', () => {
    readVarint(Buffer.from([0x80]), 0, 1);
    expect(varintEnd).to.equal(-1);
    expect(readVarint(Buffer.from([0x7f]), 0, 1)).to.equal(-64);
    expect(varintEnd).to.equal(1);
  });

  it('should refuse a varint longer than 8 bytes, and accept one of exactly 8', () => {
    const eight = Buffer.from('ffffffffffffff0f', 'hex');
    expect(readVarint(eight, 0, 8)).to.equal(-(2 ** 52));
    expect(varintEnd).to.equal(8);
    const nine = Buffer.from('ffffffffffffffff01', 'hex');
    expect(readVarint(nine, 0, 9)).to.equal(0);
    expect(varintEnd).to.equal(-1);
    const ten = varint(-(2n ** 63n)); // Long.MIN_VALUE as Kafka writes it: 10 bytes
    expect(ten).to.have.length(10);
    readVarint(ten, 0, ten.length);
    expect(varintEnd).to.equal(-1);
  });

  it('should round-trip any integer in [-2^52, 2^53) (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -(2 ** 31), max: 2 ** 31 }),
        fc.integer({ min: -(2 ** 21), max: 2 ** 21 - 1 }),
        (lo, hi) => {
          const n = Math.max(-(2 ** 52), Math.min(MAX_SAFE, hi * 2 ** 31 + lo));
          const bytes = encode(n);
          expect(bytes.toString('hex')).to.equal(varint(n).toString('hex'));
          expect(readVarint(bytes, 0, bytes.length)).to.equal(n);
          expect(varintEnd).to.equal(bytes.length);
          expect(signedVarintSize(n)).to.equal(bytes.length);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('varintSize()', () => {
  const SIZES: [number, number][] = [
    [0, 1],
    [127, 1],
    [128, 2],
    [2 ** 14 - 1, 2],
    [2 ** 14, 3],
    [2 ** 21 - 1, 3],
    [2 ** 21, 4],
    [2 ** 28 - 1, 4],
    [2 ** 28, 5],
    [2 ** 32 - 1, 5],
    [2 ** 35 - 1, 5],
    [2 ** 35, 6],
    [2 ** 42 - 1, 6],
    [2 ** 42, 7],
    [2 ** 49 - 1, 7],
    [2 ** 49, 8],
    [2 ** 53, 8],
  ];
  for (const [z, size] of SIZES) {
    it(`should count ${size} byte(s) for zigzagged ${z}`, () => {
      expect(varintSize(z)).to.equal(size);
    });
  }

  it('should equal the bytes writeVarint writes at every boundary', () => {
    for (const n of BOUNDARIES) {
      expect(varintSize(zigzag(n)), String(n)).to.equal(encode(n).length);
      expect(signedVarintSize(n), String(n)).to.equal(encode(n).length);
    }
  });
});

describe('zigzag() and unzigzag()', () => {
  it('should map 0, -1, 1, -2, 2 to 0, 1, 2, 3, 4', () => {
    expect([0, -1, 1, -2, 2].map(zigzag)).to.deep.equal([0, 1, 2, 3, 4]);
    expect([0, 1, 2, 3, 4].map(unzigzag)).to.deep.equal([0, -1, 1, -2, 2]);
  });

  it('should be exact beyond 32 bits', () => {
    expect(zigzag(-(2 ** 31))).to.equal(2 ** 32 - 1);
    expect(zigzag(2 ** 40)).to.equal(2 ** 41);
    expect(zigzag(-(2 ** 52))).to.equal(2 ** 53 - 1);
    expect(zigzag(MAX_SAFE)).to.equal(2 ** 54 - 2);
    for (const n of BOUNDARIES) expect(unzigzag(zigzag(n)), String(n)).to.equal(n);
  });
});
