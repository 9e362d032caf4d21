/**
 * Micro benchmark: where the CPU time of a sequential read goes. The sequential-read case gives
 * one figure; this splits it into stages, each in a fresh process (JIT warm-up and garbage
 * collection are part of a one-pass read's cost), on the same data, taking turns:
 *
 *   ceiling     the fs-framing peer: readSync of length-prefixed values, a view per value
 *   walk        the batch walker over the segment's mapping (CRC32C and header checks)
 *   check       walk + every record's structure checked (nothing allocated per record)
 *   records     no decoding: as many records as the decoder makes (its class, a Buffer view as value)
 *               built and returned `--chunk` at a time as the read returns: the cost of the API's
 *               shape in this process, the floor of any decoder that returns such records
 *   zero-copy   reader.read(chunk) with copy: false
 *   default     reader.read(chunk), records that are copies
 *
 *   npm run build && node dist/bench/micro/read-path.js [--records 1000000] [--runs 5] [--chunk 10000]
 *
 * Each figure is CPU time of the stage's process (process.cpuUsage: user + system, all threads,
 * so the collector's helper threads count) for the whole pass, median of the runs; rec/s is per
 * CPU second, and the ratio is against the ceiling of the same run.
 */
import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { BatchWalker } from '../../lib/format/batches.js';
import { EMPTY_HEADER_LIST, EMPTY_HEADERS } from '../../lib/format/headers.js';
import { checkRecords, DecodedRecord } from '../../lib/format/record-decoder.js';
import { mapPath } from '../../lib/storage/native.js';
import { fillApart } from '../fill-apart.js';
import { openStore, readEvery, TOPIC } from '../logstore.js';
import { framesPath, readAll } from '../peers/fs-framing.js';
import { describeMachine } from '../machine.js';
import { median } from '../stats.js';

const STAGES = ['ceiling', 'walk', 'check', 'records', 'zero-copy', 'default'] as const;
type Stage = (typeof STAGES)[number];

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

/** The segment file of the bench topic's only partition (one segment at these sizes). */
function segmentFile(dir: string): string {
  const partition = path.join(dir, `${TOPIC}-0`);
  const logs = fs.readdirSync(partition).filter((f) => f.endsWith('.log'));
  if (logs.length !== 1) throw new Error(`expected one segment in ${partition}, found ${logs.length}`);
  return path.join(partition, logs[0]!);
}

/** Views built as the decoder builds them (a Buffer prototype on a plain Uint8Array). */
class ValueView extends Uint8Array {
  // Spelled out as the decoder's is: a default derived constructor spreads its arguments on Node 20.
  constructor(memory: ArrayBuffer, byteOffset: number, length: number) {
    super(memory, byteOffset, length);
  }
}
Object.setPrototypeOf(ValueView.prototype, Buffer.prototype);

/**
 * Prepares one stage over the data in `dir` (opening the store is not timed, as in the
 * sequential-read case); the returned pass goes through the records and returns how many.
 */
async function prepareStage(
  stage: Stage,
  dir: string,
  records: number,
  chunk: number,
): Promise<() => number> {
  if (stage === 'ceiling') return () => readAll(framesPath(dir)).ops;
  if (stage === 'walk' || stage === 'check') {
    const buf = mapPath(segmentFile(dir), false);
    return () => {
      const walker = new BatchWalker(buf, 0, { limit: buf.length, nextOffset: 0, gaps: false });
      let seen = 0;
      while (walker.next()) {
        if (stage === 'check') checkRecords(buf, walker.position, 'segment');
        seen += walker.lastOffset - walker.baseOffset + 1;
      }
      return seen;
    };
  }
  if (stage === 'records') {
    // A batch's worth of record bytes; the values are views into it, as the decoder's are.
    const bytes = Buffer.alloc(110 * 1000);
    const now = Date.now(); // a timestamp as records carry one: a double, not a small integer
    return () => {
      let seen = 0;
      let sum = 0;
      while (seen < records) {
        const out = [];
        for (let i = 0; i < chunk && seen + i < records; i++) {
          const value = new ValueView(bytes.buffer, bytes.byteOffset + (i % 1000) * 110 + 10, 100);
          out.push(
            new DecodedRecord(
              TOPIC,
              0,
              seen + i,
              now + i,
              null,
              value as unknown as Buffer,
              EMPTY_HEADERS,
              EMPTY_HEADER_LIST,
            ),
          );
        }
        for (const rec of out) sum += rec.value!.length;
        seen += out.length;
      }
      return sum > 0 ? seen : -1;
    };
  }
  const store = await openStore(dir);
  const reader = store.reader(TOPIC, { partition: 0, from: 'earliest', copy: stage === 'default' });
  return () => readEvery(reader, chunk);
}

/** Forks this file for one stage; resolves with its CPU milliseconds. */
function timeStage(stage: Stage, dir: string, records: number, chunk: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), [
      '--stage',
      stage,
      dir,
      String(records),
      String(chunk),
    ]);
    let cpuMs = -1;
    child.on('message', (m) => (cpuMs = m as number));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 && cpuMs >= 0 ? resolve(cpuMs) : reject(new Error(`stage ${stage} exited with ${code}`)),
    );
  });
}

async function child(): Promise<void> {
  const [stage, dir, records, chunk] = process.argv.slice(process.argv.indexOf('--stage') + 1);
  const pass = await prepareStage(stage as Stage, dir!, Number(records), Number(chunk));
  const start = process.cpuUsage();
  const seen = pass();
  const used = process.cpuUsage(start);
  if (seen !== Number(records)) throw new Error(`${stage}: went through ${seen} records, not ${records}`);
  process.send!((used.user + used.system) / 1000);
}

async function main(): Promise<void> {
  const records = arg('--records', 1_000_000);
  const runs = arg('--runs', 5);
  const chunk = arg('--chunk', 10_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'logstore-read-path-'));
  try {
    await fillApart('logstore', dir, records);
    await fillApart('frames', dir, records);
    const times = new Map<Stage, number[]>(STAGES.map((s) => [s, []]));
    for (let run = 0; run < runs; run++) {
      for (const stage of STAGES) times.get(stage)!.push(await timeStage(stage, dir, records, chunk));
    }
    const m = describeMachine();
    console.log(
      `${records} records of 100 bytes, read(${chunk}), median of ${runs} runs, CPU time; ` +
        `${m.cpu} x${m.cores}, Node ${m.node}, load ${m.loadAverage} (at the end)`,
    );
    const ceiling = median(times.get('ceiling')!);
    for (const stage of STAGES) {
      const ms = median(times.get(stage)!);
      const rate = records / (ms / 1000);
      console.log(
        `${stage.padEnd(10)} ${ms.toFixed(0).padStart(6)} ms  ${(rate / 1e6).toFixed(2).padStart(6)}M rec/s  ` +
          `${(ceiling / ms).toFixed(2)}x ceiling`,
      );
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv.includes('--stage')) await child();
else await main();
