/**
 * Interoperability with independent codec implementations (see codec-peers.ts): what kafkajs's
 * compression plug-ins and kafka-python's `kafka.codec` write, logstore reads, and what logstore
 * writes, they read. Where a Python module is missing, each test that needs it says so and skips.
 */
import { expect } from 'chai';
import fc from 'fast-check';

import { decompress, compress } from '../../lib/format/codecs.js';
import { expectCode } from '../helpers/temp.js';
import { recordBytes } from './codec-data.js';
import {
  kafkajsCodecs,
  kafkajsMissing,
  python,
  python1,
  pythonMissing,
  type PeerCodec,
} from './codec-peers.js';

const CODECS: PeerCodec[] = ['gzip', 'snappy', 'lz4', 'zstd'];
const random = (n: number, seed: number): Buffer =>
  Buffer.from(fc.sample(fc.uint8Array({ minLength: n, maxLength: n }), { numRuns: 1, seed })[0]!);

/** Small, block-sized and multi-block inputs, compressible and not. */
const INPUTS: [string, Buffer][] = [
  ['1 byte', Buffer.from('x')],
  ['16 KiB of records', recordBytes(16 * 1024)],
  ['300 KiB of records', recordBytes(300 * 1024)],
  ['80 KiB of random bytes', random(80 * 1024, 9)],
];

describe('codecs: kafkajs compression plug-ins', () => {
  for (const codec of CODECS) {
    const plugin = kafkajsCodecs[codec];
    if (!plugin) {
      it(`should interoperate with kafkajs's ${codec} plug-in`, function () {
        console.log(`      (skipped: ${kafkajsMissing[codec]})`);
        this.skip();
      });
      continue;
    }
    for (const [what, data] of INPUTS) {
      it(`should read what kafkajs's ${codec} plug-in writes, and write what it reads: ${what}`, async () => {
        const theirs = await plugin.compress({ buffer: data });
        expect(decompress(codec, theirs, data.length).equals(data)).to.equal(true);
        const ours = compress(codec, data);
        expect(Buffer.from(await plugin.decompress(ours)).equals(data)).to.equal(true);
      });
    }
  }
});

describe("codecs: kafka-python's kafka.codec", () => {
  /** Skips the test, visibly, when kafka-python cannot run `codec` here. */
  function needs(ctx: Mocha.Context, codec: PeerCodec): void {
    const why = pythonMissing(codec);
    if (why) {
      console.log(`      (skipped: ${why})`);
      ctx.skip();
    }
  }

  const encoders: [PeerCodec, string, string, Record<string, unknown>][] = [
    ['gzip', 'gzip_encode', 'gzip', {}],
    [
      'snappy',
      'snappy_encode',
      'snappy, xerial_compatible=True (its default: xerial framing, 32 KiB chunks)',
      {},
    ],
    [
      'snappy',
      'snappy_encode',
      'snappy, xerial_compatible=False (one raw block)',
      { xerial_compatible: false },
    ],
    ['snappy', 'snappy_encode', 'snappy, xerial framing with 4 KiB chunks', { xerial_blocksize: 4096 }],
    ['lz4', 'lz4_encode', 'lz4 (python-lz4 frames: content size in the header)', {}],
    ['zstd', 'zstd_encode', 'zstd', {}],
  ];
  for (const [codec, fn, what, kwargs] of encoders) {
    it(`should read what kafka-python's ${fn} writes: ${what}`, function () {
      needs(this, codec);
      const results = python(INPUTS.map(([, data]) => ({ fn, data, kwargs })));
      INPUTS.forEach(([name, data], i) => {
        const theirs = results[i]!.ok;
        expect(theirs, `${name}: ${results[i]!.error}`).to.be.instanceOf(Buffer);
        expect(decompress(codec, theirs!, data.length).equals(data), name).to.equal(true);
        if (data.length > 1)
          expectCode(() => decompress(codec, theirs!, data.length - 1), 'LOGSTORE_CORRUPT');
      });
    });
  }

  const decoders: [PeerCodec, string][] = [
    ['gzip', 'gzip_decode'],
    ['snappy', 'snappy_decode'],
    ['lz4', 'lz4_decode'],
    ['zstd', 'zstd_decode'],
  ];
  for (const [codec, fn] of decoders) {
    it(`should write ${codec} that kafka-python's ${fn} reads`, function () {
      needs(this, codec);
      const results = python(INPUTS.map(([, data]) => ({ fn, data: compress(codec, data) })));
      INPUTS.forEach(([name, data], i) => {
        expect(results[i]!.error, name).to.equal(undefined);
        expect(results[i]!.ok!.equals(data), name).to.equal(true);
      });
    });
  }

  it('should read LZ4 frames in every variant python-lz4 writes with independent blocks', function () {
    needs(this, 'lz4');
    const data = recordBytes(600 * 1024);
    const variants: Record<string, unknown>[] = [
      { block_size: 4, block_linked: false }, // BLOCKSIZE_MAX64KB
      { block_size: 5, block_linked: false, block_checksum: true }, // 256 KiB blocks, block checksums
      { block_size: 6, block_linked: false, content_checksum: true, store_size: false }, // 1 MiB
      { block_size: 7, block_linked: false, content_checksum: true, block_checksum: true }, // 4 MiB
      { block_size: 4, block_linked: false, compression_level: 12 }, // high compression
    ];
    const results = python(variants.map((kwargs) => ({ fn: 'lz4.frame.compress', data, kwargs })));
    variants.forEach((kwargs, i) => {
      const frame = results[i]!.ok!;
      expect(decompress('lz4', frame, data.length).equals(data), JSON.stringify(kwargs)).to.equal(true);
      // A checksum that no longer matches is corrupt, not silently accepted.
      if (kwargs.content_checksum || kwargs.block_checksum) {
        const bad = Buffer.from(frame);
        bad[bad.length - (kwargs.content_checksum ? 2 : 6)]! ^= 1;
        expectCode(() => decompress('lz4', bad, data.length), 'LOGSTORE_CORRUPT');
      }
    });
    // Linked blocks (python-lz4's default): Kafka refuses them, and so does logstore.
    const linked = python1('lz4.frame.compress', data, { block_linked: true });
    const err = expectCode(() => decompress('lz4', linked, data.length), 'LOGSTORE_CORRUPT');
    expect(err.message).to.match(/^lz4: frame 0: linked blocks/);
  });

  it("should read zstd frames without a content size, as Kafka's Java producer streams them, exactly up to the limit", function () {
    needs(this, 'zstd');
    const data = recordBytes(700 * 1024);
    const streamed = python1('zstandard.stream', data, { checksum: true });
    expect(streamed[4]! >>> 6, 'no content size flag').to.equal(0);
    expect(decompress('zstd', streamed, data.length).equals(data)).to.equal(true);
    expectCode(() => decompress('zstd', streamed, data.length - 1), 'LOGSTORE_CORRUPT');
    // Flushed every 1000 bytes: hundreds of small blocks, each of which could inflate to 128 KiB.
    const flushed = python1('zstandard.stream', data, { flush: true, chunk: 1000 });
    expect(decompress('zstd', flushed, data.length).equals(data)).to.equal(true);
    expectCode(() => decompress('zstd', flushed, data.length - 1), 'LOGSTORE_CORRUPT');
    // Several frames one after another decode as one stream.
    const two = Buffer.concat([streamed, python1('zstd_encode', data)]);
    expect(decompress('zstd', two, 2 * data.length).equals(Buffer.concat([data, data]))).to.equal(true);
    expectCode(() => decompress('zstd', two, 2 * data.length - 1), 'LOGSTORE_CORRUPT');
  });
});
