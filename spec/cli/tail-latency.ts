/**
 * Append -> `logstore tail --follow` latency across processes (SPEC section 7: p99 < 50 ms).
 *
 * A writer child appends one record at a time, at irregular intervals (so that the writes do
 * not fall into step with any periodic work of the follower), each value holding the writer's
 * `process.hrtime.bigint()` at append (CLOCK_MONOTONIC: one clock for every process on the
 * machine). `logstore tail --follow --format json` runs in a second process; this process reads
 * its lines and takes the difference on receipt (so the figure includes the pipe to here).
 *
 *   node dist/spec/cli/tail-latency.js [records=500] [partitions=1]
 *
 * Also used by tail-latency.spec.ts with fewer records.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LIB } from '../helpers/child.js';
import { RunningCli } from './cli-helpers.js';

export interface LatencyResult {
  records: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

const WRITER = `
import { LogStore } from ${JSON.stringify(LIB)};
const { dir, records, partitions } = JSON.parse(process.env.LATENCY_CONFIG);
const store = LogStore.open(dir, { durability: 'none' });
store.createTopic('lat', { partitions, segmentBytes: 64 * 1024 });
store.append('lat', { key: 'warm-up', value: 'warm-up' });
process.stdout.write('ready\\n');
await new Promise((resolve) => process.stdin.once('data', resolve));
let seed = 12345;
const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
for (let i = 0; i < records; i++) {
  await new Promise((resolve) => setTimeout(resolve, 2 + random() * 8));
  store.append('lat', { key: 'k' + i, value: String(process.hrtime.bigint()) });
}
await new Promise((resolve) => setTimeout(resolve, 200));
await store.close();
`;

export async function measureTailLatency(records: number, partitions = 1): Promise<LatencyResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'logstore-latency-'));
  const latencies: number[] = [];
  let writerReady!: () => void;
  const ready = new Promise<void>((resolve) => (writerReady = resolve));
  const writer = startChildWithStdin(
    WRITER,
    { LATENCY_CONFIG: JSON.stringify({ dir, records, partitions }) },
    (line) => {
      if (line === 'ready') writerReady();
    },
  );
  let tail: RunningCli | undefined;
  try {
    await ready;
    tail = new RunningCli(
      ['tail', dir, 'lat', '--follow', '--from', 'earliest', '--format', 'json'],
      (line) => {
        const now = process.hrtime.bigint();
        const { value } = JSON.parse(line) as { value: string };
        if (value !== 'warm-up') latencies.push(Number(now - BigInt(value)) / 1e6);
      },
    );
    // The follower is up and waiting once it printed the warm-up record: Node's start-up (seconds
    // on a loaded machine) is no part of the append -> tail latency.
    await tail.waitFor((lines) => lines.length >= 1, 10_000, 'the warm-up record');
    await new Promise((resolve) => setTimeout(resolve, 100));
    writer.child.stdin!.write('go\n');
    await tail.waitFor((lines) => lines.length >= records + 1, records * 20 + 5000, `${records} records`);
    tail.child.kill('SIGINT');
    await tail.exited;
  } finally {
    tail?.child.kill('SIGKILL');
    writer.child.kill('SIGKILL');
    await writer.exited;
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const sorted = Float64Array.from(latencies).sort();
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
  return {
    records: sorted.length,
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    max: sorted[sorted.length - 1]!,
  };
}

/** The writer child, with a stdin pipe: it waits for a line before it starts appending. */
function startChildWithStdin(source: string, env: Record<string, string>, onLine: (line: string) => void) {
  const child = spawn(process.execPath, ['--input-type=module', '-e', source], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let pending = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    pending += d;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      onLine(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
    }
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  return { child, exited };
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
