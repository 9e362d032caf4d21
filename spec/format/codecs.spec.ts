/**
 * Kafka's compression codecs: ids and names, round trips, the exact bytes Kafka's Java producer
 * writes (xerial snappy, Kafka's LZ4 frame), the limit on decompressed size, and the batches that
 * kafka-python's own RecordBatch builder compressed. Interoperability with kafkajs's plug-ins and
 * kafka-python's codec functions is in codecs-interop.spec.ts; fuzzing in codecs-fuzz.spec.ts.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

import { LogStoreError } from '../../lib/errors.js';
import { XERIAL_CHUNK_BYTES, rawSnappyLength } from '../../lib/format/codec-snappy.js';
import { zstdBackend, zstdBackendNames, zstdCompress, zstdDecompress } from '../../lib/format/codec-zstd.js';
import {
  COMPRESSION_NAMES,
  CompressionType,
  compress,
  compressRecords,
  compressionId,
  compressionName,
  decompress,
  decompressRecords,
} from '../../lib/format/codecs.js';
import { xxhash32 } from '../../lib/format/xxhash32.js';
import { expectCode } from '../helpers/temp.js';
import { recordBytes } from './codec-data.js';

const CODECS = ['gzip', 'snappy', 'lz4', 'zstd'] as const;
const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../../spec/fixtures/codecs');

describe('codecs: ids and names', () => {
  it("should use Kafka's CompressionType ids and names", () => {
    expect(CompressionType).to.deep.equal({ none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 });
    expect(COMPRESSION_NAMES).to.deep.equal(['none', 'gzip', 'snappy', 'lz4', 'zstd']);
    expect(compressionId('lz4')).to.equal(3);
    expect(compressionName(4)).to.equal('zstd');
  });

  it('should refuse other names and ids with LOGSTORE_INVALID_ARGUMENT', () => {
    for (const bad of ['LZ4', 'brotli', 'toString', 5, -1, 1.5]) {
      expectCode(() => compressionId(bad as never), 'LOGSTORE_INVALID_ARGUMENT');
    }
    expectCode(() => decompress('gzip', zlib.gzipSync('x'), -1), 'LOGSTORE_INVALID_ARGUMENT');
    expectCode(() => decompress('gzip', zlib.gzipSync('x'), 1.5), 'LOGSTORE_INVALID_ARGUMENT');
  });

  it('should call codec ids 5-7 in batch attributes corrupt', () => {
    for (const id of [5, 6, 7])
      expectCode(() => decompressRecords(0x10 | id, Buffer.from('x'), 100), 'LOGSTORE_CORRUPT');
  });
});

describe('codecs: round trips', () => {
  const inputs: [string, Buffer][] = [
    ['empty', Buffer.alloc(0)],
    ['one byte', Buffer.from([7])],
    ['16 KiB of records', recordBytes(16 * 1024)],
    ['200 KiB of records (several blocks and chunks)', recordBytes(200 * 1024)],
    [
      '100 KiB of random bytes (incompressible)',
      Buffer.from(
        fc.sample(fc.uint8Array({ minLength: 102400, maxLength: 102400 }), { numRuns: 1, seed: 7 })[0]!,
      ),
    ],
    ['1 MiB of zeros', Buffer.alloc(1 << 20)],
  ];
  for (const codec of CODECS) {
    for (const [what, data] of inputs) {
      it(`should give back exactly the bytes ${codec} compressed: ${what}`, () => {
        const packed = compress(codec, data);
        const back = decompress(codec, packed, data.length);
        expect(back.equals(data)).to.equal(true);
        if (data.length > 0) expectCode(() => decompress(codec, packed, data.length - 1), 'LOGSTORE_CORRUPT');
      });
    }

    it(`should round-trip any bytes through ${codec} (property)`, () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 70_000 }), fc.nat(3), (bytes, repeat) => {
          const data = Buffer.concat(Array.from({ length: repeat + 1 }, () => bytes));
          expect(decompress(codec, compress(codec, data), data.length).equals(data)).to.equal(true);
        }),
        { numRuns: 40, seed: 11 },
      );
    });
  }

  it('should compress records sections and read them back through the batch attributes', () => {
    const plain = recordBytes(5000);
    expect(compressRecords('none', plain)).to.equal(plain);
    expect(decompressRecords(0, plain, plain.length)).to.equal(plain);
    for (const codec of CODECS) {
      const block = compressRecords(codec, plain);
      expect(block.length).to.be.lessThan(plain.length);
      // Other attribute bits (timestamp type, transactional, control) do not matter.
      const attributes = 0x30 | CompressionType[codec];
      expect(Buffer.from(decompressRecords(attributes, block, plain.length)).equals(plain)).to.equal(true);
    }
  });

  it('should return output that shares no memory with the input', () => {
    const data = recordBytes(1000);
    for (const codec of ['none', ...CODECS] as const) {
      const packed = compress(codec, data);
      const back = decompress(codec, packed, data.length);
      packed.fill(0);
      expect(back.equals(data), codec).to.equal(true);
    }
    const incompressible = Buffer.from(
      fc.sample(fc.uint8Array({ minLength: 5000, maxLength: 5000 }), { numRuns: 1, seed: 3 })[0]!,
    );
    const stored = compress('lz4', incompressible); // stored blocks: the output could have been a view
    const back = decompress('lz4', stored, incompressible.length);
    stored.fill(0);
    expect(back.equals(incompressible)).to.equal(true);
  });
});

describe("codecs: the bytes Kafka's Java producer writes", () => {
  it('should write snappy in xerial framing: the 16-byte header, then one raw block per 32 KiB of input', () => {
    const data = recordBytes(100 * 1024);
    const packed = compress('snappy', data);
    expect(packed.subarray(0, 16).toString('hex')).to.equal('82534e415050590000000001' + '00000001');
    const chunks: Buffer[] = [];
    for (let pos = 16; pos < packed.length;) {
      const length = packed.readInt32BE(pos);
      chunks.push(packed.subarray(pos + 4, pos + 4 + length));
      pos += 4 + length;
    }
    expect(chunks.map(rawSnappyLength)).to.deep.equal([
      XERIAL_CHUNK_BYTES,
      XERIAL_CHUNK_BYTES,
      XERIAL_CHUNK_BYTES,
      4096,
    ]);
    // Each chunk is a raw snappy block on its own (independent of the others).
    expect(
      Buffer.concat(chunks.map((c) => decompress('snappy', c, XERIAL_CHUNK_BYTES))).equals(data),
    ).to.equal(true);
  });

  it('should write lz4 as Kafka does: FLG 0x60, BD 0x40 (64 KiB), the header checksum, blocks, an end mark', () => {
    const data = Buffer.concat([
      recordBytes(150 * 1024),
      Buffer.from(
        fc.sample(fc.uint8Array({ minLength: 70000, maxLength: 70000 }), { numRuns: 1, seed: 5 })[0]!,
      ),
    ]);
    const packed = compress('lz4', data);
    expect(packed.readUInt32LE(0)).to.equal(0x184d2204);
    expect([packed[4], packed[5]]).to.deep.equal([0x60, 0x40]);
    expect(packed[6]).to.equal((xxhash32(Buffer.from([0x60, 0x40])) >>> 8) & 0xff);
    const blocks: { stored: boolean; size: number }[] = [];
    let pos = 7;
    for (;;) {
      const word = packed.readUInt32LE(pos);
      pos += 4;
      if (word === 0) break;
      const size = word & 0x7fffffff;
      blocks.push({ stored: word >= 0x80000000, size });
      pos += size;
    }
    expect(pos).to.equal(packed.length); // nothing after the end mark: no content checksum
    // 220 KiB -> 64 + 64 + 64 KiB of records (compressed) and the random tail, partly stored.
    expect(blocks.length).to.equal(4);
    expect(blocks.slice(0, 2).every((b) => !b.stored && b.size < 65536)).to.equal(true);
    expect(blocks[3]).to.deep.equal({ stored: true, size: data.length - 3 * 65536 });
  });

  it('should write zstd frames that declare their content size', () => {
    for (const name of zstdBackendNames()) {
      const data = recordBytes(300 * 1024);
      const packed = zstdCompress(data, zstdBackend(name));
      expect(packed.readUInt32LE(0), name).to.equal(0xfd2fb528);
      expect(packed[4]! >>> 6, `${name}: content size flag`).to.not.equal(0);
      expect(zstdDecompress(packed, data.length, zstdBackend(name)).equals(data), name).to.equal(true);
    }
  });

  it('should compute XXH32 as the reference does', () => {
    // Reference values of XXH32 (seed 0), from the xxHash test vectors.
    expect(xxhash32(Buffer.alloc(0))).to.equal(0x02cc5d05);
    expect(xxhash32(Buffer.from('a'))).to.equal(0x550d7456);
    expect(xxhash32(Buffer.from('abc'))).to.equal(0x32d153ff);
    expect(xxhash32(Buffer.from('Nobody inspects the spammish repetition'))).to.equal(0xe2293b2f);
  });
});

describe('codecs: zstd backends', () => {
  const names = zstdBackendNames();
  it(`should run on this Node (${process.version}): ${names.join(', ')}`, function () {
    if (!names.includes('node:zlib')) {
      console.log(
        `      (node:zlib has no zstd in Node ${process.version}: only the WebAssembly backend is tested here)`,
      );
    }
    expect(names).to.include('wasm');
  });

  it('should decode what the other backend encoded, byte for byte, when both run here', function () {
    if (names.length < 2) {
      console.log(`      (skipped: Node ${process.version} has only the ${names[0]} backend)`);
      this.skip();
    }
    const data = recordBytes(200 * 1024);
    const [a, b] = names.map((n) => zstdBackend(n));
    expect(zstdDecompress(zstdCompress(data, a), data.length, b).equals(data)).to.equal(true);
    expect(zstdDecompress(zstdCompress(data, b), data.length, a).equals(data)).to.equal(true);
  });
});

describe('codecs: several frames in one records section', () => {
  const a = recordBytes(40_000);
  const b = recordBytes(70_000).subarray(30_000);
  const skippable = (magic: number): Buffer => {
    const f = Buffer.alloc(8 + 5, 0xee);
    f.writeUInt32LE(magic, 0);
    f.writeUInt32LE(5, 4);
    return f;
  };

  for (const name of zstdBackendNames()) {
    it(`should decode every zstd frame, and skip skippable frames (${name} backend)`, () => {
      const backend = zstdBackend(name);
      // node:zlib alone would stop after the first frame and ignore the rest.
      const packed = Buffer.concat([
        skippable(0x184d2a50),
        zstdCompress(a, backend),
        skippable(0x184d2a5f),
        zstdCompress(b, backend),
      ]);
      const both = Buffer.concat([a, b]);
      expect(zstdDecompress(packed, both.length, backend).equals(both)).to.equal(true);
      expectCode(() => zstdDecompress(packed, both.length - 1, backend), 'LOGSTORE_CORRUPT');
      expectCode(
        () => zstdDecompress(Buffer.concat([packed, Buffer.from('tail')]), both.length, backend),
        'LOGSTORE_CORRUPT',
      );
    });
  }

  it('should decode every lz4 frame, and skip skippable frames', () => {
    const packed = Buffer.concat([compress('lz4', a), skippable(0x184d2a53), compress('lz4', b)]);
    const both = Buffer.concat([a, b]);
    expect(decompress('lz4', packed, both.length).equals(both)).to.equal(true);
    expectCode(() => decompress('lz4', packed, both.length - 1), 'LOGSTORE_CORRUPT');
    expectCode(
      () => decompress('lz4', Buffer.concat([packed, Buffer.from('tail')]), both.length),
      'LOGSTORE_CORRUPT',
    );
  });

  it('should decode concatenated xerial snappy streams and gzip members', () => {
    const both = Buffer.concat([a, b]);
    const snappy = Buffer.concat([compress('snappy', a), compress('snappy', b)]);
    expect(decompress('snappy', snappy, both.length).equals(both)).to.equal(true);
    const gzip = Buffer.concat([compress('gzip', a), compress('gzip', b)]);
    expect(decompress('gzip', gzip, both.length).equals(both)).to.equal(true);
    expectCode(() => decompress('gzip', gzip, both.length - 1), 'LOGSTORE_CORRUPT');
  });
});

describe('codecs: the limit on decompressed size', () => {
  for (const codec of CODECS) {
    it(`should decode ${codec} output of exactly maxBytes and refuse one byte less`, () => {
      const data = recordBytes(100_000);
      const packed = compress(codec, data);
      expect(decompress(codec, packed, data.length).length).to.equal(data.length);
      const err = expectCode(() => decompress(codec, packed, data.length - 1), 'LOGSTORE_CORRUPT');
      expect(err.message).to.match(new RegExp(`^${codec}: .*exceeds the limit of ${data.length - 1} bytes$`));
      expectCode(() => decompress(codec, packed, 0), 'LOGSTORE_CORRUPT');
    });
  }

  it('should refuse with the codec named, never with a library error', () => {
    for (const codec of CODECS) {
      const err = expectCode(
        () => decompress(codec, Buffer.from('definitely not compressed'), 1000),
        'LOGSTORE_CORRUPT',
      );
      expect(err).to.be.instanceOf(LogStoreError);
      expect(err.message.startsWith(`${codec}: `), err.message).to.equal(true);
    }
  });
});

describe('codecs: batches compressed by kafka-python (spec/fixtures/codecs)', () => {
  for (const size of ['small', 'large']) {
    const plain = fs.readFileSync(path.join(FIXTURES, `${size}-none.bin`));
    for (const codec of CODECS) {
      it(`should read the records section of the ${size} ${codec} batch as the uncompressed batch's`, () => {
        const batch = fs.readFileSync(path.join(FIXTURES, `${size}-${codec}.bin`));
        const attributes = batch.readInt16BE(21);
        expect(attributes & 7).to.equal(CompressionType[codec]);
        expect(batch.readInt32BE(57), 'record count').to.equal(plain.readInt32BE(57));
        const records = decompressRecords(attributes, batch.subarray(61), 1 << 20);
        expect(Buffer.from(records).equals(plain.subarray(61))).to.equal(true);
        expect(records.length).to.be.greaterThan(batch.length - 61);
      });
    }
  }
});
