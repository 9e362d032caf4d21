/**
 * Micro benchmark: CRC32C native (SSE4.2 and the portable slicing-by-8 C code) against the pure
 * TypeScript slicing-by-8 and kafkajs's byte-at-a-time JS, on 100 KiB buffers (throughput) and
 * on 61-byte..1 KiB buffers (call overhead: a one-record Kafka batch is 61 bytes + key + value).
 *
 *   npx tsc -p . && node dist/bench/micro/crc32c.js
 *
 * Each cell is the median of 5 timed runs of ~150 ms each, after one warm-up run; the buffer is
 * cache-resident (a batch is checksummed right after it is built). MB = 10^6 bytes.
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import os from 'node:os';

import { crc32cTs } from '../../lib/format/crc32c-ts.js';
import { crc32c, crc32cImpl, testingBinding } from '../../lib/storage/native.js';

const require = createRequire(import.meta.url);
const kafkaCrc32c = require('kafkajs/src/protocol/recordBatch/crc32C/crc32C.js') as (b: Uint8Array) => number;

type Crc = (buf: Uint8Array, start: number, end: number) => number;

const RUNS = 5;
const RUN_MS = 150;

/** The addon's portable code, through its test build (the production build has no hooks). */
function softwareCrc(): Crc {
  const hooked = testingBinding();
  hooked.testHook('softwareCrc', true);
  return hooked.crc32c;
}

const impls: { name: string; fn: Crc }[] = [
  { name: `native ${crc32cImpl}`, fn: crc32c },
  { name: 'native slicing-by-8', fn: softwareCrc() },
  { name: 'TS slicing-by-8', fn: crc32cTs },
  { name: 'kafkajs (JS, 1 byte/step)', fn: (b, s, e) => kafkaCrc32c(b.subarray(s, e)) },
];

const sizes = [100 * 1024, 61, 128, 256, 512, 1024];

let sink = 0;

/** One timed run: calls fn on buf until RUN_MS elapsed; returns [MB/s, ns per call]. */
function run(fn: Crc, buf: Uint8Array): [number, number] {
  const n = buf.length;
  let calls = 0;
  let batch = Math.max(1, Math.floor(1e6 / (n + 64)));
  const t0 = process.hrtime.bigint();
  let elapsedNs = 0;
  for (;;) {
    for (let i = 0; i < batch; i++) sink ^= fn(buf, 0, n);
    calls += batch;
    elapsedNs = Number(process.hrtime.bigint() - t0);
    if (elapsedNs >= RUN_MS * 1e6) break;
    if (elapsedNs < 10e6) batch *= 2;
  }
  return [(calls * n) / (elapsedNs / 1e9) / 1e6, elapsedNs / calls];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

function main(): void {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  console.log(`CRC32C micro benchmark: node ${process.version}, ${os.arch()}, ${cpu}`);
  console.log(`median of ${RUNS} runs x ${RUN_MS} ms; MB/s (ns/call)\n`);

  const header = ['size', ...impls.map((i) => i.name)];
  const rows: string[][] = [];
  for (const size of sizes) {
    const buf = randomBytes(size);
    const want = crc32cTs(buf, 0, size);
    const row = [size >= 1024 && size % 1024 === 0 ? `${size / 1024} KiB` : `${size} B`];
    for (const impl of impls) {
      if (impl.fn(buf, 0, size) !== want) throw new Error(`${impl.name} disagrees on ${size} bytes`);
      run(impl.fn, buf); // warm-up (JIT, caches)
      const results = Array.from({ length: RUNS }, () => run(impl.fn, buf));
      const mbs = median(results.map((r) => r[0]));
      const ns = median(results.map((r) => r[1]));
      row.push(
        `${mbs.toFixed(0)} MB/s (${ns < 1000 ? ns.toFixed(0) + ' ns' : (ns / 1000).toFixed(1) + ' µs'})`,
      );
    }
    rows.push(row);
    console.log(row.map((c, i) => c.padEnd(i === 0 ? 8 : 28)).join(''));
  }
  console.log();
  console.log(`| ${header.join(' | ')} |`);
  console.log(`|${header.map(() => '---').join('|')}|`);
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
  if (sink === 0.5) console.log(sink); // keep the results alive
}

main();
