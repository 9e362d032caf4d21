/**
 * Micro benchmark: the batched-append path (1000 records of 100 bytes per batch, copied into a
 * mapping) writing one whole 128 MiB segment, under different preallocation and mapping policies.
 *
 *   npx tsc -p . && node dist/bench/micro/preallocation.js [--runs 5] [--segment-mib 128]
 *
 * Policies (a step is one fallocate() ahead of the write position):
 * - today: one mapping of the segment's capacity; steps 1 MiB first, doubling up to 64 MiB
 * - 16 KiB doubling, remap, old to GC: the mapping spans the file; steps 16 KiB first, doubling
 *   up to 64 MiB (a step is the file's size: the file doubles); after each step a new mapping of
 *   the new size, the old one left to the GC (as if a reader still held views of it)
 * - 16 KiB doubling, remap + unmap: the same, the old mapping unmapped right after the new one
 *   is made
 * - 16 KiB doubling, unmap + remap: the old mapping unmapped before the new one is made, so
 *   V8 never counts both
 * - 16 KiB doubling, capacity from 1 MiB: spans the file below 1 MiB, then the capacity
 * - 64 KiB fixed, unmap + remap: steps that do not grow, to show what doubling saves
 * Each run writes a fresh file in a fresh order of policies; the table shows medians of the runs
 * and the ratio to `today` measured in the same runs. Major GCs are counted: V8 counts every
 * mapping's length as external memory and starts a GC per 64 MiB it grows.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { constants as perfConstants, PerformanceObserver } from 'node:perf_hooks';

import { fallocate, mapFile, unmap } from '../../lib/storage/native.js';
import { describeMachine } from '../machine.js';
import { median } from '../stats.js';

const KiB = 1024;
const MiB = 1024 * KiB;
/** A RecordBatch of 1000 records with 100-byte values: 61 bytes of header + ~108 bytes a record. */
const BATCH_BYTES = 61 + 1000 * 108;

interface Policy {
  /** The next fallocate step for a file of `fileSize` bytes. */
  step(fileSize: number): number;
  /** Files below this size are mapped exactly (remapped on growth); at and above, the capacity. */
  remapBelow: number;
  /** When a replaced mapping is unmapped: before or after the new one is made, or by the GC. */
  unmapOld: 'before' | 'after' | 'never';
}

const doubling = (first: number) => (fileSize: number) => Math.min(Math.max(fileSize, first), 64 * MiB);

const policies: Record<string, Policy> = {
  today: { step: doubling(MiB), remapBelow: 0, unmapOld: 'never' },
  '16 KiB doubling, remap, old to GC': { step: doubling(16 * KiB), remapBelow: Infinity, unmapOld: 'never' },
  '16 KiB doubling, remap + unmap': { step: doubling(16 * KiB), remapBelow: Infinity, unmapOld: 'after' },
  '16 KiB doubling, unmap + remap': { step: doubling(16 * KiB), remapBelow: Infinity, unmapOld: 'before' },
  '16 KiB doubling, capacity from 1 MiB': { step: doubling(16 * KiB), remapBelow: MiB, unmapOld: 'before' },
  '64 KiB fixed, unmap + remap': { step: () => 64 * KiB, remapBelow: Infinity, unmapOld: 'before' },
};

interface Result {
  seconds: number;
  steps: number;
  fallocateMs: number;
  mapMs: number;
  majorGcs: number;
}

let majorGcs = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const kind = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
    if (kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) majorGcs++;
  }
}).observe({ entryTypes: ['gc'] });

async function writeSegment(file: string, capacity: number, policy: Policy, batch: Buffer): Promise<Result> {
  await new Promise((resolve) => setTimeout(resolve, 20)); // the last run's 'gc' entries
  const gcs0 = majorGcs;
  const fd = fs.openSync(file, 'w+');
  let fileSize = 0;
  let steps = 0;
  let fallocateNs = 0n;
  let mapNs = 0n;
  let map: Buffer | null = null;
  let mapped = 0;
  const t0 = process.hrtime.bigint();
  let size = 0;
  while (size + batch.length <= capacity) {
    const end = size + batch.length;
    if (end > fileSize) {
      // ensureAllocated(end): one step, or more if a batch is larger than the step
      const target = Math.min(capacity, Math.max(end, fileSize + policy.step(fileSize)));
      const f0 = process.hrtime.bigint();
      fallocate(fd, fileSize, target - fileSize);
      const f1 = process.hrtime.bigint();
      fallocateNs += f1 - f0;
      fileSize = target;
      steps++;
      const length = fileSize < policy.remapBelow ? fileSize : capacity;
      if (length !== mapped) {
        const old = map;
        if (old && policy.unmapOld === 'before') unmap(old);
        map = mapFile(fd, length, true);
        mapped = length;
        if (old && policy.unmapOld === 'after') unmap(old);
        mapNs += process.hrtime.bigint() - f1;
      }
    }
    batch.copy(map!, size);
    size = end;
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (map![size - 1] !== batch[batch.length - 1]) throw new Error('the last batch did not land');
  unmap(map!);
  fs.closeSync(fd);
  await new Promise((resolve) => setTimeout(resolve, 20));
  const gcs = majorGcs - gcs0;
  return {
    seconds,
    steps,
    fallocateMs: Number(fallocateNs) / 1e6,
    mapMs: Number(mapNs) / 1e6,
    majorGcs: gcs,
  };
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

function shuffled<T>(xs: T[]): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

async function main(): Promise<void> {
  const runs = Number(arg('--runs', '5'));
  const capacity = Number(arg('--segment-mib', '128')) * MiB;
  const m = describeMachine();
  console.log(
    `preallocation micro benchmark: node ${m.node}, ${m.cpu}, ${m.cores} cores, ${m.os}, dir ${m.tmpdir}`,
  );
  console.log(
    `load average ${m.loadAverage} at start; ${runs} runs of one ${capacity / MiB} MiB segment each`,
  );
  console.log(`batches of ${BATCH_BYTES} bytes (1000 records of 100 bytes)\n`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'logstore-prealloc-'));
  const batch = randomBytes(BATCH_BYTES);
  const names = Object.keys(policies);
  const results = new Map<string, Result[]>(names.map((n) => [n, []]));
  const ratios = new Map<string, number[]>(names.map((n) => [n, []]));
  try {
    for (let run = 0; run <= runs; run++) {
      const byName = new Map<string, Result>();
      for (const name of shuffled(names)) {
        const file = path.join(dir, `${run}-${names.indexOf(name)}.log`);
        byName.set(name, await writeSegment(file, capacity, policies[name]!, batch));
        fs.rmSync(file);
      }
      if (run === 0) continue; // warm-up
      for (const name of names) {
        results.get(name)!.push(byName.get(name)!);
        ratios.get(name)!.push(byName.get('today')!.seconds / byName.get(name)!.seconds);
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.log('| policy | MB/s | vs today | steps | fallocate ms | new mappings ms | major GCs |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const name of names) {
    const rs = results.get(name)!;
    const secs = median(rs.map((r) => r.seconds));
    const steps = median(rs.map((r) => r.steps));
    const fallocateMs = median(rs.map((r) => r.fallocateMs));
    const mapMs = median(rs.map((r) => r.mapMs));
    const mbs = (Math.floor(capacity / BATCH_BYTES) * BATCH_BYTES) / secs / 1e6;
    console.log(
      `| ${name} | ${mbs.toFixed(0)} | ${median(ratios.get(name)!).toFixed(2)}x | ${steps} | ` +
        `${fallocateMs.toFixed(1)} | ${mapMs.toFixed(2)} | ${median(rs.map((r) => r.majorGcs))} |`,
    );
  }
  console.log(`\n${JSON.stringify({ machine: m, runs, results: Object.fromEntries(results) })}`);
}

await main();
