/**
 * Micro benchmark: Kafka's compression codecs, logstore's (framing included) beside the candidate
 * packages it was chosen from, on realistic records sections (JSON events with keys and a header,
 * spec/format/codec-data.ts) of 16 KiB (a typical producer batch) and 1 MiB.
 *
 *   npm run build && node dist/bench/micro/codecs.js
 *
 * Candidates that are not installed are listed as such. To measure them all, install them outside
 * the repository and point NODE_PATH at that node_modules (the loader here is require(), which
 * honours it), e.g.:
 *   npm install --prefix /tmp/codec-candidates snappyjs lz4 lz4js zstd-codec fzstd zstd-napi \
 *     @toondepauw/node-zstd
 *   NODE_PATH=/tmp/codec-candidates/node_modules node dist/bench/micro/codecs.js
 *
 * Each cell is the median of RUNS timed runs of RUN_MS each, after one warm-up, timed in CPU time of
 * this process (process.cpuUsage) so that other work on a shared machine does not count; MB = 10^6
 * bytes of uncompressed data per CPU second, for both directions. Every candidate must give the input back
 * byte for byte before it is timed.
 */
import { createRequire } from 'node:module';
import os from 'node:os';

import { zstdBackend, zstdBackendNames, zstdCompress, zstdDecompress } from '../../lib/format/codec-zstd.js';
import { compress, decompress, type CompressionName } from '../../lib/format/codecs.js';
import { recordBytes } from '../../spec/format/codec-data.js';

const require = createRequire(import.meta.url);
const RUNS = Number(process.env.RUNS ?? 5);
const RUN_MS = Number(process.env.RUN_MS ?? 150);
const SIZES = [16 * 1024, 1024 * 1024];

type Fn = (data: Uint8Array) => Uint8Array;

interface Candidate {
  codec: CompressionName;
  name: string;
  /** Returns [compress, decompress] (decompress gets what compress produced), or throws if absent. */
  load(): [Fn, Fn];
}

const logstore = (codec: CompressionName): Candidate => ({
  codec,
  name: 'logstore',
  load: () => [(d) => compress(codec, d), (d) => decompress(codec, d, 1 << 30)],
});

const candidates: Candidate[] = [
  logstore('gzip'),
  logstore('snappy'),
  {
    codec: 'snappy',
    name: 'snappy 7 (raw block)',
    load() {
      const s = require('snappy') as { compressSync: Fn; uncompressSync(d: Uint8Array, o: object): Buffer };
      return [(d) => s.compressSync(d), (d) => s.uncompressSync(d, { asBuffer: true })];
    },
  },
  {
    codec: 'snappy',
    name: 'snappyjs (raw block)',
    load() {
      const s = require('snappyjs') as { compress: Fn; uncompress: Fn };
      return [(d) => s.compress(d), (d) => s.uncompress(d)];
    },
  },
  logstore('lz4'),
  {
    codec: 'lz4',
    name: 'lz4-napi (raw block)',
    load() {
      const l = require('lz4-napi') as { compressSync(d: Buffer): Buffer; uncompressSync: Fn };
      return [(d) => l.compressSync(Buffer.from(d)), (d) => l.uncompressSync(d)];
    },
  },
  {
    codec: 'lz4',
    name: 'lz4 0.6 (node-lz4, frame)',
    load() {
      const l = require('lz4') as { encode: Fn; decode: Fn };
      return [(d) => l.encode(Buffer.from(d)), (d) => l.decode(Buffer.from(d))];
    },
  },
  {
    codec: 'lz4',
    name: 'lz4js (frame)',
    load() {
      const l = require('lz4js') as { compress: Fn; decompress: Fn };
      return [(d) => l.compress(d), (d) => l.decompress(d)];
    },
  },
  logstore('zstd'),
  ...zstdBackendNames().map((name): Candidate => ({
    codec: 'zstd',
    name: `logstore, ${name === 'wasm' ? '@bokuweb/zstd-wasm' : name} backend`,
    load: () => [
      (d) => zstdCompress(d, zstdBackend(name)),
      (d) => zstdDecompress(d, 1 << 30, zstdBackend(name)),
    ],
  })),
  {
    codec: 'zstd',
    name: '@toondepauw/node-zstd',
    load() {
      const z = require('@toondepauw/node-zstd') as {
        Encoder: new (level: number) => { encodeSync(d: Buffer): Buffer };
        Decoder: new () => { decodeSync(d: Buffer): Buffer };
      };
      const enc = new z.Encoder(3);
      const dec = new z.Decoder();
      return [(d) => enc.encodeSync(Buffer.from(d)), (d) => dec.decodeSync(Buffer.from(d))];
    },
  },
  {
    codec: 'zstd',
    name: 'zstd-napi',
    load() {
      const z = require('zstd-napi') as { compress(d: Uint8Array, p: object): Buffer; decompress: Fn };
      return [(d) => z.compress(d, { compressionLevel: 3 }), (d) => z.decompress(d)];
    },
  },
  {
    codec: 'zstd',
    name: 'fzstd (decoder only; input from logstore)',
    load() {
      const f = require('fzstd') as { decompress: Fn };
      return [(d) => compress('zstd', d), (d) => f.decompress(d)];
    },
  },
];

let sink = 0;

/** CPU time of this process (user + system) in ns: on a shared machine, wall time measures the neighbours. */
function cpuNs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) * 1000;
}

/** One timed run: calls fn on input until RUN_MS of CPU time are spent; returns CPU ns per call. */
function run(fn: Fn, input: Uint8Array): number {
  let calls = 0;
  let batch = 1;
  const t0 = cpuNs();
  let elapsed = 0;
  for (;;) {
    for (let i = 0; i < batch; i++) sink ^= fn(input).length;
    calls += batch;
    elapsed = cpuNs() - t0;
    if (elapsed >= RUN_MS * 1e6) break;
    if (elapsed < 10e6) batch *= 2;
  }
  return elapsed / calls;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

function main(): void {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  console.log(
    `Codec micro benchmark: node ${process.version}, ${os.arch()}, ${cpu}, load ${os.loadavg()[0]!.toFixed(1)}`,
  );
  console.log(`median of ${RUNS} runs x ${RUN_MS} ms of CPU time; MB of uncompressed bytes per CPU second\n`);
  const rows: string[][] = [];
  for (const size of SIZES) {
    const data = recordBytes(size);
    for (const c of candidates) {
      const label = size >= 1 << 20 ? `${size >> 20} MiB` : `${size >> 10} KiB`;
      let fns: [Fn, Fn];
      try {
        fns = c.load();
      } catch (err) {
        if (size === SIZES[0])
          console.log(
            `${c.codec.padEnd(7)}${c.name}: not measured (${(err as Error).message.split('\n')[0]})`,
          );
        continue;
      }
      const [pack, unpack] = fns;
      const packed = pack(data);
      if (!Buffer.from(unpack(packed)).equals(data))
        throw new Error(`${c.name} does not give the input back`);
      run(pack, data);
      run(unpack, packed);
      const packNs = median(Array.from({ length: RUNS }, () => run(pack, data)));
      const unpackNs = median(Array.from({ length: RUNS }, () => run(unpack, packed)));
      const row = [
        c.codec,
        c.name,
        label,
        (size / packed.length).toFixed(2),
        ((size / packNs) * 1e3).toFixed(0),
        ((size / unpackNs) * 1e3).toFixed(0),
      ];
      rows.push(row);
      console.log(row.map((cell, i) => cell.padEnd([7, 42, 8, 7, 9, 9][i]!)).join(''));
    }
  }
  console.log('\n| codec | implementation | input | ratio | compress MB/s | decompress MB/s |');
  console.log('|---|---|---|---|---|---|');
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
  if (sink === 0.5) console.log(sink);
}

main();
