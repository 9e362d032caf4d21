/**
 * Append -> `logstore tail --follow` latency across processes (the target, p99 < 50 ms, is the
 * bench's to hold: bench/cases/tail-follow-latency.ts measures it the same way).
 *
 * A writer child appends one record at a time, at irregular intervals (so that the writes do
 * not fall into step with the follower's 5 ms poll), each value holding the writer's
 * `process.hrtime.bigint()` at append (CLOCK_MONOTONIC: one clock for every process on the
 * machine). `logstore tail --follow --format json` runs in a second process; this process reads
 * its lines and takes the difference on receipt (so the figure includes the pipe to here).
 *
 *   node dist/spec/cli/tail-latency.js [records=500] [partitions=1]
 *
 * Also used by tail-latency.spec.ts, which checks what tail printed.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LIB, splitLines } from '../helpers/child.js';
import { percentile } from '../reliability/records.js';
import { RunningCli } from './cli-helpers.js';

/** A line `tail --format json` printed, and when this process read it (hrtime, ns). */
export interface TailedRecord {
  partition: number;
  offset: number;
  key: string;
  /** The writer's hrtime when it appended the record (ns, decimal). */
  value: string;
  receivedAt: bigint;
}

export interface LatencyResult {
  records: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** Every line tail printed, in order. */
  tailed: TailedRecord[];
  /** The writer's hrtime after its last append returned (ns). */
  lastAppendedAt: bigint;
}

const WRITER = `
import { LogStore } from ${JSON.stringify(LIB)};
const { dir, records, partitions } = JSON.parse(process.env.LATENCY_CONFIG);
const store = LogStore.open(dir, { durability: 'none' });
store.createTopic('lat', { partitions, segmentBytes: 64 * 1024 });
process.stdout.write('ready\\n');
await new Promise((resolve) => process.stdin.once('data', resolve));
let seed = 12345;
const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
for (let i = 0; i < records; i++) {
  await new Promise((resolve) => setTimeout(resolve, 2 + random() * 8));
  store.append('lat', { key: 'k' + i, value: String(process.hrtime.bigint()) });
}
process.stdout.write('appended ' + process.hrtime.bigint() + '\\n');
await new Promise((resolve) => setTimeout(resolve, 200));
await store.close();
process.exit(0); // stdin (the go signal) would keep it alive
`;

export async function measureTailLatency(records: number, partitions = 1): Promise<LatencyResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'logstore-latency-'));
  const tailed: TailedRecord[] = [];
  let lastAppendedAt = -1n;
  let writerReady!: () => void;
  const ready = new Promise<void>((resolve) => (writerReady = resolve));
  const writer = spawn(process.execPath, ['--input-type=module', '-e', WRITER], {
    env: { ...process.env, LATENCY_CONFIG: JSON.stringify({ dir, records, partitions }) },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  splitLines(writer.stdout, (line) => {
    if (line === 'ready') writerReady();
    else if (line.startsWith('appended ')) lastAppendedAt = BigInt(line.slice(9));
  });
  // 'close': the process is gone and its stdout read to the end (the `appended` line included).
  const writerExited = new Promise((resolve) => writer.on('close', resolve));
  let tail: RunningCli | undefined;
  try {
    await Promise.race([ready, writerExited]);
    tail = new RunningCli(
      ['tail', dir, 'lat', '--follow', '--from', 'earliest', '--format', 'json'],
      (line) => {
        const receivedAt = process.hrtime.bigint();
        const { partition, offset, key, value } = JSON.parse(line) as Omit<TailedRecord, 'receivedAt'>;
        tailed.push({ partition, offset, key, value, receivedAt });
      },
    );
    await new Promise((resolve) => setTimeout(resolve, 300)); // the follower is up and polling
    writer.stdin.write('go\n');
    await tail.waitFor((lines) => lines.length >= records, records * 20 + 5000, `${records} records`);
    tail.child.kill('SIGINT');
    await tail.exited;
    await writerExited; // it closes the store and exits by itself
  } finally {
    tail?.child.kill('SIGKILL');
    writer.kill('SIGKILL');
    await writerExited;
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const latencies = tailed.map((r) => Number(r.receivedAt - BigInt(r.value)) / 1e6);
  return {
    records: latencies.length,
    p50: percentile(latencies, 50),
    p90: percentile(latencies, 90),
    p99: percentile(latencies, 99),
    max: percentile(latencies, 100),
    tailed,
    lastAppendedAt,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const records = Number(process.argv[2] ?? 500);
  const partitions = Number(process.argv[3] ?? 1);
  const r = await measureTailLatency(records, partitions);
  const f = (n: number) => `${n.toFixed(2)} ms`;
  process.stdout.write(
    `append -> tail --follow (another process), ${r.records} records, ${partitions} partition(s): ` +
      `p50 ${f(r.p50)}  p90 ${f(r.p90)}  p99 ${f(r.p99)}  max ${f(r.max)}\n`,
  );
}
