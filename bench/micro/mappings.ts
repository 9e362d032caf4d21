/**
 * Micro benchmark: what mapping N nearly empty segments costs, by how much each mapping spans.
 *
 *   npx tsc -p . && node dist/bench/micro/mappings.js [--counts 1000,5000,10000] [--runs 3]
 *       [--schemes a,b] [--slow-runs 1]
 *
 * The N files are what a store of N nearly empty partitions holds: 16 KiB preallocated (real
 * blocks), the first 1,300 bytes written (10 records of 100 bytes in one batch). For each scheme
 * and N, a fresh process maps the N files one after the other and touches the first page of
 * each (a reader's first look at every partition after an open), keeping every mapping, then
 * unmaps them all. It reports per segment time, the garbage collections the mappings caused
 * (PerformanceObserver 'gc' entries), RSS and V8's external memory with everything mapped.
 *
 * Schemes, all over the same files, all closing the descriptor right after mmap:
 * - capacity 128 MiB: mapFile(fd, 128 MiB), the segment's capacity (what Segment does today)
 * - 1 MiB: mapFile(fd, 1 MiB), today's first preallocation, mapped to the file's size
 * - file (JS open): fs.openSync + fs.fstatSync + mapFile(fd, size) + fs.closeSync
 * - file (mapPath): native.mapPath(path), the same in one native call
 * Only the first page of each file is touched, so a mapping longer than the file never faults.
 * The capacity scheme takes minutes at 5,000 and more (a GC every few mappings): above 1,000 it
 * runs `--slow-runs` times only. CPU µs (user + system) are reported beside wall time: on a
 * shared machine they vary less with the load.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { constants as perfConstants, PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

import { fallocate, mapFile, mapPath, unmap } from '../../lib/storage/native.js';
import { describeMachine } from '../machine.js';
import { median } from '../stats.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const FILE_BYTES = 16 * KiB;
const DATA_BYTES = 1300;

const schemes = {
  'capacity 128 MiB': (file: string) => mapFd(file, 128 * MiB),
  '1 MiB': (file: string) => mapFd(file, MiB),
  'file (JS open)': (file: string) => {
    const fd = fs.openSync(file, 'r');
    try {
      return mapFile(fd, fs.fstatSync(fd).size, false);
    } finally {
      fs.closeSync(fd);
    }
  },
  'file (mapPath)': (file: string) => mapPath(file, false),
} satisfies Record<string, (file: string) => Buffer>;
type Scheme = keyof typeof schemes;

function mapFd(file: string, length: number): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    return mapFile(fd, length, false);
  } finally {
    fs.closeSync(fd);
  }
}

interface Sample {
  mapUs: number;
  mapCpuUs: number;
  unmapUs: number;
  majorGcs: number;
  minorGcs: number;
  gcMs: number;
  rssMiB: number;
  externalMiB: number;
}

function fileName(dir: string, i: number): string {
  return path.join(dir, `${String(i).padStart(20, '0')}.log`);
}

/** In the child: map the N files with one scheme, keep them all, then unmap them. */
async function child(scheme: Scheme, dir: string, count: number): Promise<void> {
  const map = schemes[scheme];
  let majorGcs = 0;
  let minorGcs = 0;
  let gcMs = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
      if (kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) majorGcs++;
      else if (kind === perfConstants.NODE_PERFORMANCE_GC_MINOR) minorGcs++;
      gcMs += entry.duration;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  const files = Array.from({ length: count }, (_, i) => fileName(dir, i));
  const rss0 = process.memoryUsage.rss();
  const maps: Buffer[] = new Array<Buffer>(count);
  let sink = 0;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    const m = map(files[i]!);
    sink += m[0]!; // the first page: a reader's first look at the partition
    maps[i] = m;
  }
  const t1 = process.hrtime.bigint();
  const cpu = process.cpuUsage(cpu0);
  await new Promise((resolve) => setTimeout(resolve, 50)); // 'gc' entries arrive asynchronously
  const { external } = process.memoryUsage();
  const rss = process.memoryUsage.rss();
  const t2 = process.hrtime.bigint();
  for (const m of maps) unmap(m);
  const t3 = process.hrtime.bigint();
  observer.disconnect();
  if (sink !== count) throw new Error(`read ${sink}, expected ${count} (first byte of every file is 1)`);
  const sample: Sample = {
    mapUs: Number(t1 - t0) / 1e3 / count,
    mapCpuUs: (cpu.user + cpu.system) / count,
    unmapUs: Number(t3 - t2) / 1e3 / count,
    majorGcs,
    minorGcs,
    gcMs,
    rssMiB: (rss - rss0) / MiB,
    externalMiB: external / MiB,
  };
  console.log(JSON.stringify(sample));
}

function makeFiles(dir: string, count: number): void {
  const data = randomBytes(DATA_BYTES);
  data[0] = 1;
  for (let i = 0; i < count; i++) {
    const fd = fs.openSync(fileName(dir, i), 'w+');
    try {
      fallocate(fd, 0, FILE_BYTES);
      fs.writeSync(fd, data, 0, DATA_BYTES, 0);
    } finally {
      fs.closeSync(fd);
    }
  }
}

function runChild(scheme: Scheme, dir: string, count: number): Sample {
  const self = fileURLToPath(import.meta.url);
  const r = spawnSync(process.execPath, [self, '--child', scheme, dir, String(count)], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  if (r.status !== 0) throw new Error(`child ${scheme} x ${count} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Sample;
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

function fmt(x: number, digits = 1): string {
  return x.toFixed(digits);
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') {
    await child(process.argv[3] as Scheme, process.argv[4]!, Number(process.argv[5]));
    return;
  }
  const counts = arg('--counts', '1000,5000,10000').split(',').map(Number);
  const runs = Number(arg('--runs', '3'));
  const slowRuns = Number(arg('--slow-runs', '1'));
  const only = arg('--schemes', Object.keys(schemes).join(',')).split(',') as Scheme[];
  const m = describeMachine();
  console.log(`mappings micro benchmark: node ${m.node}, ${m.cpu}, ${m.cores} cores, ${m.os}`);
  console.log(`load average ${m.loadAverage} at start; median of ${runs} runs, each in a fresh process`);
  console.log(`(the capacity scheme above N = 1,000: ${slowRuns} run(s))`);
  console.log(
    `files: ${FILE_BYTES / KiB} KiB preallocated, ${DATA_BYTES} bytes written; first page touched\n`,
  );
  const header = [
    'scheme',
    'N',
    'map+touch µs/seg',
    'CPU µs/seg',
    'unmap µs/seg',
    'major GCs',
    'minor GCs',
    'GC ms',
    'RSS +MiB',
    'external MiB',
  ];
  const rows: string[][] = [];
  const json: Record<string, unknown>[] = [];
  for (const count of counts) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'logstore-mappings-'));
    try {
      makeFiles(dir, count);
      for (const scheme of only) {
        const n = scheme === 'capacity 128 MiB' && count > 1000 ? slowRuns : runs;
        const samples = Array.from({ length: n }, () => runChild(scheme, dir, count));
        const med = (k: keyof Sample) => median(samples.map((s) => s[k]));
        const row = [
          scheme,
          String(count),
          fmt(med('mapUs')),
          fmt(med('mapCpuUs')),
          fmt(med('unmapUs')),
          fmt(med('majorGcs'), 0),
          fmt(med('minorGcs'), 0),
          fmt(med('gcMs'), 0),
          fmt(med('rssMiB')),
          fmt(med('externalMiB')),
        ];
        rows.push(row);
        json.push({ scheme, count, samples });
        console.log(row.join('  '));
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  console.log(`\n| ${header.join(' | ')} |`);
  console.log(`|${header.map((_, i) => (i < 1 ? '---' : '---:')).join('|')}|`);
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
  console.log(`\n${JSON.stringify({ machine: m, runs, results: json })}`);
}

await main();
