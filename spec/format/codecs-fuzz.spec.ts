/**
 * Bounded decompression under hostile input, for every codec (and both zstd backends where this
 * Node has them): random bytes, random bytes behind each codec's magic and header, truncated and
 * mutated valid streams, and "zip bombs" (a small input that declares or produces far more output
 * than allowed). The only acceptable outcomes are output of at most `maxBytes`, or
 * LOGSTORE_CORRUPT; never another error, never a crash.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import zlib from 'node:zlib';

import { LogStoreError } from '../../lib/errors.js';
import { zstdBackend, zstdBackendNames, zstdDecompress } from '../../lib/format/codec-zstd.js';
import { compress, decompress } from '../../lib/format/codecs.js';
import { xxhash32 } from '../../lib/format/xxhash32.js';
import { expectCode } from '../helpers/temp.js';
import { recordBytes } from './codec-data.js';

type Decoder = (data: Uint8Array, maxBytes: number) => Buffer;

/** Every decoder under test: the four codecs, and zstd once per backend. */
const DECODERS: [string, 'gzip' | 'snappy' | 'lz4' | 'zstd', Decoder][] = [
  ['gzip', 'gzip', (d, m) => decompress('gzip', d, m)],
  ['snappy', 'snappy', (d, m) => decompress('snappy', d, m)],
  ['lz4', 'lz4', (d, m) => decompress('lz4', d, m)],
  ...zstdBackendNames().map((name): [string, 'zstd', Decoder] => [
    `zstd (${name})`,
    'zstd',
    (d, m) => zstdDecompress(d, m, zstdBackend(name)),
  ]),
];

/** Headers that get random bytes past each format's first check. */
const HEADERS: Record<string, Buffer> = {
  gzip: Buffer.from('1f8b0800000000000003', 'hex'),
  snappy: Buffer.from('82534e41505059000000000100000001', 'hex'),
  lz4: Buffer.from('04224d18604082', 'hex'),
  zstd: Buffer.from('28b52ffd', 'hex'),
};

/** Decodes; output within the limit, or LOGSTORE_CORRUPT naming the codec. Returns the output. */
function boundedOrCorrupt(
  codec: string,
  decode: Decoder,
  data: Uint8Array,
  maxBytes: number,
): Buffer | undefined {
  try {
    const out = decode(data, maxBytes);
    expect(out.length).to.be.at.most(maxBytes);
    return out;
  } catch (err) {
    if (!(err instanceof LogStoreError)) throw err;
    expect(err.code).to.equal('LOGSTORE_CORRUPT');
    expect(err.message.startsWith(`${codec}: `), err.message).to.equal(true);
    return undefined;
  }
}

const sample = recordBytes(150 * 1024);

describe('codecs: fuzzing the decoders', function () {
  this.timeout(120_000);

  for (const [name, codec, decode] of DECODERS) {
    const valid = compress(codec, sample);

    it(`${name}: random bytes, bare and behind the format's header`, () => {
      fc.assert(
        fc.property(
          fc.uint8Array({ maxLength: 3000 }),
          fc.boolean(),
          fc.nat(200_000),
          (bytes, headed, max) => {
            const data = headed ? Buffer.concat([HEADERS[codec]!, bytes]) : bytes;
            boundedOrCorrupt(codec, decode, data, max);
          },
        ),
        { numRuns: 300, seed: 21 },
      );
    });

    it(`${name}: truncated valid streams decode to a prefix at most, or are corrupt`, () => {
      fc.assert(
        fc.property(fc.nat(valid.length - 1), (cut) => {
          const out = boundedOrCorrupt(codec, decode, valid.subarray(0, cut), sample.length);
          // A xerial stream cut between two chunks is still a valid, shorter stream.
          if (out) expect(sample.subarray(0, out.length).equals(out)).to.equal(true);
          if (out && codec !== 'snappy') expect.fail(`${name}: ${cut} of ${valid.length} bytes decoded`);
        }),
        { numRuns: 150, seed: 22 },
      );
    });

    it(`${name}: mutated valid streams`, () => {
      fc.assert(
        fc.property(
          fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 1, max: 255 })), {
            minLength: 1,
            maxLength: 4,
          }),
          fc.integer({ min: 0, max: 2 * sample.length }),
          (flips, max) => {
            const data = Buffer.from(valid);
            for (const [at, xor] of flips) data[at]! ^= xor;
            boundedOrCorrupt(codec, decode, data, max);
          },
        ),
        { numRuns: 150, seed: 23 },
      );
    });
  }
});

describe('codecs: zip bombs', function () {
  this.timeout(60_000);
  const LIMIT = 1 << 20;
  const expectTooLarge = (codec: string, fn: () => unknown): void => {
    const err = expectCode(fn, 'LOGSTORE_CORRUPT');
    expect(err.message).to.match(new RegExp(`^${codec}: .*(exceeds the limit of ${LIMIT} bytes|declares)`));
  };

  it('gzip: 32 MiB of zeros in 32 KiB, one member or many', () => {
    const bomb = zlib.gzipSync(Buffer.alloc(32 << 20), { level: 9 });
    expect(bomb.length).to.be.below(50_000);
    expectTooLarge('gzip', () => decompress('gzip', bomb, LIMIT));
    const members = Buffer.concat(Array.from({ length: 300 }, () => zlib.gzipSync(Buffer.alloc(64 << 10))));
    expectTooLarge('gzip', () => decompress('gzip', members, LIMIT));
  });

  it('snappy: a block that declares 4 GiB, and 32 MiB of zeros in xerial chunks', () => {
    const liar = Buffer.concat([Buffer.from('ffffffff0f', 'hex'), Buffer.from('0000', 'hex')]);
    expectTooLarge('snappy', () => decompress('snappy', liar, LIMIT));
    const chunks = compress('snappy', Buffer.alloc(32 << 20));
    expect(chunks.length).to.be.below(2 << 20);
    expectTooLarge('snappy', () => decompress('snappy', chunks, LIMIT));
  });

  it('lz4: 32 MiB of zeros in 64 KiB blocks, and a frame that declares 1 TiB of content', () => {
    const blocks = compress('lz4', Buffer.alloc(32 << 20));
    expect(blocks.length).to.be.below(200_000);
    expectTooLarge('lz4', () => decompress('lz4', blocks, LIMIT));
    // FLG 0x68 (content size), BD 0x40, the 8-byte size 2^40, then the header checksum.
    const header = Buffer.concat([
      Buffer.from('04224d186840', 'hex'),
      Buffer.from('0000000000010000', 'hex'),
    ]);
    const hc = (xxhash32(header, 4) >>> 8) & 0xff;
    expectTooLarge('lz4', () =>
      decompress('lz4', Buffer.concat([header, Buffer.from([hc]), Buffer.alloc(4)]), LIMIT),
    );
  });

  it('zstd: 32 MiB of RLE blocks in a frame without a content size, a frame that declares 1 PiB, and 16 MiB of zeros', () => {
    // Frame header: no content size, not single-segment, window 2^20; then 256 RLE blocks of 128 KiB.
    const rle = Buffer.from([
      ((128 * 1024) << 3) | (1 << 1),
      ((128 * 1024) << 3) >>> 8,
      ((128 * 1024) << 3) >>> 16,
      0,
    ]);
    const last = Buffer.from(rle);
    last[0]! |= 1;
    const noSize = Buffer.concat([
      Buffer.from('28b52ffd0050', 'hex'),
      ...Array.from({ length: 255 }, () => rle),
      last,
    ]);
    expect(noSize.length).to.be.below(1100);
    // FCS flag 3 (8 bytes), single segment: 2^50 bytes declared, one empty raw block.
    const declared = Buffer.concat([
      Buffer.from('28b52ffde0', 'hex'),
      Buffer.from('0000000000000400', 'hex'),
      Buffer.from('010000', 'hex'),
    ]);
    const zeros = compress('zstd', Buffer.alloc(16 << 20));
    for (const name of zstdBackendNames()) {
      const backend = zstdBackend(name);
      expectTooLarge('zstd', () => zstdDecompress(noSize, LIMIT, backend));
      expect(zstdDecompress(noSize, 32 << 20, backend).equals(Buffer.alloc(32 << 20)), name).to.equal(true);
      expectTooLarge('zstd', () => zstdDecompress(declared, LIMIT, backend));
      expectTooLarge('zstd', () => zstdDecompress(zeros, LIMIT, backend));
    }
  });
});
