/**
 * The raw snappy block decoder (lib/format/snappy-block.ts): every element kind, overlapping
 * copies, blocks decoded one after another into one output, and the exact refusal of each kind
 * of damage. Blocks from the `snappy` package's compressor (the Rust snap crate) are the
 * reference; elements it never writes (a copy with a 4-byte offset, literal lengths in 3 and 4
 * bytes) are built by hand here.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { createRequire } from 'node:module';

import { decompress } from '../../lib/format/codecs.js';
import { decodeSnappyBlock, SnappyFormatError, snappyPreamble } from '../../lib/format/snappy-block.js';
import { expectCode } from '../helpers/temp.js';
import { recordBytes } from './codec-data.js';

const snappy = createRequire(import.meta.url)('snappy') as { compressSync(b: Buffer): Buffer };

/** Decodes one block on its own into an output of exactly its declared length. */
function decodeOne(block: Uint8Array): Buffer {
  const out = Buffer.alloc(Math.max(0, snappyPreamble(block, 0, block.length)));
  expect(decodeSnappyBlock(block, 0, block.length, out, 0)).to.equal(out.length);
  return out;
}

function expectRefused(block: number[], message: string): void {
  const bytes = Uint8Array.from(block);
  expect(() => decodeOne(bytes)).to.throw(SnappyFormatError, message);
  const err = expectCode(() => decompress('snappy', bytes, 1 << 20), 'LOGSTORE_CORRUPT');
  expect(err.message).to.equal(`snappy: the raw block is not a valid snappy block (${message})`);
}

/** A literal element of `bytes` with its length (minus one) in `lengthBytes` extra bytes (0-4). */
function literal(bytes: number[], lengthBytes: number): number[] {
  const n = bytes.length - 1;
  if (lengthBytes === 0) return [n << 2, ...bytes];
  const extra = Array.from({ length: lengthBytes }, (_, i) => Math.floor(n / 256 ** i) % 256);
  return [(59 + lengthBytes) << 2, ...extra, ...bytes];
}

describe('snappy blocks: decoding', () => {
  it('should decode what the snappy package compresses, byte for byte', () => {
    const inputs = [
      Buffer.alloc(0),
      Buffer.from('a'),
      Buffer.from('abcabcabcabcabcabcabcabcabcabcabcabcabc'),
      Buffer.alloc(5000, 0x20), // one byte repeated: copies at offset 1
      recordBytes(64 * 1024),
      Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7919) % 251)),
    ];
    for (const input of inputs) expect(decodeOne(snappy.compressSync(input)).equals(input)).to.equal(true);
  });

  it('should decode random inputs, repetitive and not, as the snappy package compressed them', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 30 })), {
          maxLength: 40,
        }),
        (runs) => {
          const input = Buffer.concat(runs.flatMap(([bytes, times]) => Array(times).fill(bytes)));
          expect(decodeOne(snappy.compressSync(input)).equals(input)).to.equal(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('should decode every element kind: literal lengths in 0-4 extra bytes, copies with 1-, 2- and 4-byte offsets', () => {
    const text = Array.from('0123456789abcdef', (c) => c.charCodeAt(0));
    const block = [
      46, // preamble: 46 bytes
      ...literal(text.slice(0, 4), 0),
      ...literal(text.slice(4, 8), 1),
      ...literal(text.slice(8, 12), 2),
      ...literal(text.slice(12, 14), 3),
      ...literal(text.slice(14, 16), 4),
      0b000_011_01,
      16, // kind 1: length 4 + 3, offset 16: "0123456"
      (9 << 2) | 2,
      3,
      0, // kind 2: length 10, offset 3: "456" repeated, overlapping
      (12 << 2) | 3,
      20,
      0,
      0,
      0, // kind 3: length 13, offset 20
    ];
    const out = decodeOne(Uint8Array.from(block));
    const first = '0123456789abcdef' + '0123456';
    const second = first + '4564564564';
    const expected = second + second.slice(second.length - 20, second.length - 7);
    expect(out.toString('latin1')).to.equal(expected);
    expect(out.length).to.equal(46);
  });

  it('should decode overlapping copies at offsets 1 to 8 (runs shorter than a word and longer)', () => {
    for (let offset = 1; offset <= 8; offset++) {
      const seed = Array.from({ length: offset }, (_, i) => 65 + i);
      const block = [offset + 64, ...literal(seed, 0), ((64 - 1) << 2) | 2, offset, 0];
      const expected = Array.from({ length: offset + 64 }, (_, i) => seed[i % offset]!);
      expect([...decodeOne(Uint8Array.from(block))]).to.deep.equal(expected);
    }
  });

  it('should decode several blocks one after another into one output', () => {
    const a = Buffer.from('first block, first block, first block');
    const b = recordBytes(10_000);
    const blockA = snappy.compressSync(a);
    const blockB = snappy.compressSync(b);
    const both = Buffer.concat([blockA, blockB]);
    const out = Buffer.alloc(a.length + b.length);
    const middle = decodeSnappyBlock(both, 0, blockA.length, out, 0);
    expect(middle).to.equal(a.length);
    expect(decodeSnappyBlock(both, blockA.length, both.length, out, middle)).to.equal(out.length);
    expect(out.equals(Buffer.concat([a, b]))).to.equal(true);
  });
});

describe('snappy blocks: damage', () => {
  it('should refuse a preamble that is not a varint of at most 32 bits', () => {
    for (const block of [
      [0x80, 0x80],
      [0xff, 0xff, 0xff, 0xff, 0x7f],
    ]) {
      const bytes = Uint8Array.from(block);
      expect(() => decodeOne(bytes)).to.throw(SnappyFormatError, 'the length preamble is not a valid varint');
      const err = expectCode(() => decompress('snappy', bytes, 1 << 20), 'LOGSTORE_CORRUPT');
      expect(err.message).to.equal('snappy: the raw block: the length preamble is not a valid varint');
    }
  });

  it('should refuse a copy that reaches before the block or has offset 0', () => {
    expectRefused([8, ...literal([1, 2], 0), 0b000_010_01, 3], 'a copy reaches 3 bytes back, 2 are decoded');
    expectRefused([8, ...literal([1, 2], 0), 0b000_010_01, 0], 'a copy reaches 0 bytes back, 2 are decoded');
    // Offsets count within the block: an earlier block's output is not reachable.
    const out = Buffer.alloc(4);
    out.set([9, 9]);
    expect(() =>
      decodeSnappyBlock(Uint8Array.from([2, 0b000_000_10 | (1 << 2), 2, 0]), 0, 4, out, 2),
    ).to.throw(SnappyFormatError, 'a copy reaches 2 bytes back, 0 are decoded');
  });

  it('should refuse elements cut off by the end of the block', () => {
    expectRefused([4, (3 << 2) | 0, 1, 2], 'a literal of 4 bytes at byte 2 is cut off');
    expectRefused([70, 61 << 2, 69], "a literal's length is cut off at byte 2");
    expectRefused([8, ...literal([1, 2, 3, 4], 0), 0b000_000_01], "a copy's offset is cut off at byte 7");
    expectRefused([8, ...literal([1, 2, 3, 4], 0), 2 | (3 << 2), 4], "a copy's offset is cut off at byte 7");
    expectRefused(
      [8, ...literal([1, 2, 3, 4], 0), 3 | (3 << 2), 4, 0, 0],
      "a copy's offset is cut off at byte 7",
    );
  });

  it('should refuse output beyond the declared length, and output short of it', () => {
    expectRefused([2, ...literal([1, 2, 3], 0)], 'an element at byte 2 runs past the declared length');
    expectRefused(
      [5, ...literal([1, 2, 3], 0), 0b000_010_01, 3],
      'an element at byte 7 runs past the declared length',
    );
    expectRefused([9, ...literal([1, 2, 3], 0)], 'decodes to 3 bytes, its preamble declares 9');
    expectRefused([1], 'decodes to 0 bytes, its preamble declares 1');
  });

  it('should refuse a block that declares more than the room it is given', () => {
    const block = snappy.compressSync(Buffer.from('twelve bytes'));
    expect(() => decodeSnappyBlock(block, 0, block.length, Buffer.alloc(11), 0)).to.throw(
      SnappyFormatError,
      'declares 12 bytes, more than its room',
    );
  });
});
