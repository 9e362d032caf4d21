/**
 * Micro benchmark: making one small append durable, through the mapping or through a descriptor.
 *
 *   npx tsc -p . && node dist/bench/micro/sync.js [--runs 5] [--appends 200]
 *
 * Each append stores 1 KiB into a MAP_SHARED mapping of a preallocated file, then syncs it with:
 * - fdatasync, held fd: what Segment does today (one descriptor per open segment)
 * - open + fdatasync + close: a descriptor opened just for the sync
 * - msync range: msync(MS_SYNC) of the pages the append touched, no descriptor
 * - msync whole mapping: msync(MS_SYNC) of the segment's whole 128 MiB mapping (only dirty pages
 *   are written: the cost of not tracking the dirty range)
 * - fdatasync async, held fd / msyncAsync range: the same on the libuv thread pool, awaited
 * On Linux, msync(MS_SYNC) of a shared file mapping calls vfs_fsync_range(file, range, datasync=1),
 * the function fdatasync calls for the whole file: the durability is the same. The methods take
 * turns within each run (so that load from other processes falls on all of them alike); a run's
 * figure is its median latency, and the table shows the median of the runs.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { fallocate, mapPath, msync, msyncAsync, unmap } from '../../lib/storage/native.js';
import { describeMachine } from '../machine.js';
import { median, quantile } from '../stats.js';

const KiB = 1024;
const APPEND_BYTES = KiB;
/** Each file is a full segment's preallocation: what a whole-mapping msync has to look through. */
const FILE_BYTES = 128 * 1024 * KiB;

interface Target {
  file: string;
  fd: number;
  map: Buffer;
  position: number;
}

const methods: Record<string, (t: Target, at: number) => void | Promise<void>> = {
  'fdatasync, held fd': (t) => fs.fdatasyncSync(t.fd),
  'open + fdatasync + close': (t) => {
    const fd = fs.openSync(t.file, 'r+');
    try {
      fs.fdatasyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  },
  'msync range': (t, at) => msync(t.map, at, APPEND_BYTES),
  'msync whole mapping': (t) => msync(t.map, 0, t.map.length),
  'fdatasync async, held fd': (t) =>
    new Promise<void>((resolve, reject) => fs.fdatasync(t.fd, (err) => (err ? reject(err) : resolve()))),
  'msyncAsync range': (t, at) => msyncAsync(t.map, at, APPEND_BYTES),
};

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

async function main(): Promise<void> {
  const runs = Number(arg('--runs', '5'));
  const appends = Number(arg('--appends', '200'));
  const m = describeMachine();
  console.log(`sync micro benchmark: node ${m.node}, ${m.cpu}, ${m.cores} cores, ${m.os}, dir ${m.tmpdir}`);
  console.log(
    `load average ${m.loadAverage} at start; ${runs} runs x ${appends} appends of ${APPEND_BYTES} B each\n`,
  );
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'logstore-sync-'));
  const names = Object.keys(methods);
  const perRun = new Map<string, number[]>(names.map((n) => [n, []]));
  const p99s = new Map<string, number[]>(names.map((n) => [n, []]));
  const payload = randomBytes(APPEND_BYTES);
  try {
    const targets = names.map((_, i): Target => {
      const file = path.join(dir, `${i}.log`);
      const fd = fs.openSync(file, 'w+');
      fallocate(fd, 0, Math.max(FILE_BYTES, (runs + 1) * appends * APPEND_BYTES));
      return { file, fd, map: mapPath(file, true), position: 0 };
    });
    for (let run = 0; run <= runs; run++) {
      const samples = names.map(() => new Float64Array(appends));
      for (let a = 0; a < appends; a++) {
        for (let k = 0; k < names.length; k++) {
          const t = targets[k]!;
          const at = t.position;
          payload.copy(t.map, at);
          t.position += APPEND_BYTES;
          const t0 = process.hrtime.bigint();
          await methods[names[k]!]!(t, at);
          samples[k]![a] = Number(process.hrtime.bigint() - t0) / 1e3;
        }
      }
      if (run === 0) continue; // warm-up
      names.forEach((name, k) => {
        const s = samples[k]!.sort();
        perRun.get(name)!.push(quantile(s, 0.5));
        p99s.get(name)!.push(quantile(s, 0.99));
      });
    }
    for (const t of targets) {
      unmap(t.map);
      fs.closeSync(t.fd);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const base = median(perRun.get(names[0]!)!);
  console.log('| method | median µs | p99 µs | vs fdatasync, held fd |');
  console.log('|---|---:|---:|---:|');
  for (const name of names) {
    const med = median(perRun.get(name)!);
    console.log(
      `| ${name} | ${med.toFixed(0)} | ${median(p99s.get(name)!).toFixed(0)} | ${(med / base).toFixed(2)}x |`,
    );
  }
  console.log(`\n${JSON.stringify({ machine: m, runs, appends, medians: Object.fromEntries(perRun) })}`);
}

await main();
