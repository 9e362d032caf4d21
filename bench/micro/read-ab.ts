/**
 * Micro benchmark: the CPU time of a sequential read, this build against another one, each read
 * in a fresh process (JIT warm-up, page faults and heap growth are part of a one-pass read's
 * cost), the subjects taking turns so that load from other processes falls on all alike.
 *
 *   npm run build && node dist/bench/micro/read-ab.js <other checkout> [--records 1000000]
 *     [--runs 7] [--chunk 1000]
 *
 * `<other checkout>` is a built copy of the project (a git worktree of the base commit, after
 * `npm run build`). Both read the same store (filled once, in a forked process, by this build)
 * with `read(chunk)`, copying (the default) and with `copy: false`; the fs-framing ceiling reads
 * the same values from a plain file. Each figure is the reading process's `process.cpuUsage()`
 * (user + system) for the whole pass, and its minor page faults; medians over the runs; the
 * ratio is the ceiling's CPU time over the subject's.
 */
import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { fillApart } from '../fill-apart.js';
import { readEvery } from '../logstore.js';
import { describeMachine } from '../machine.js';
import { framesPath, readAll } from '../peers/fs-framing.js';
import { median } from '../stats.js';

interface Pass {
  cpuMs: number;
  faults: number;
}

const TOPIC = 'bench';

/** Minor page faults of this process so far (/proc/self/stat, field 10). */
function minorFaults(): number {
  const stat = fs.readFileSync('/proc/self/stat', 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[7]);
}

/** One pass in this (forked) process: `checkout` '' is the ceiling. */
async function pass(checkout: string, dir: string, copy: boolean, chunk: number): Promise<Pass> {
  let read: () => number;
  if (checkout === '') {
    read = () => readAll(framesPath(dir)).ops;
  } else {
    const lib = (await import(pathToFileURL(path.join(checkout, 'dist/lib/index.js')).href)) as {
      LogStore: { open(dir: string): LogStoreLike };
    };
    const store = lib.LogStore.open(dir);
    const reader = store.reader(TOPIC, { partition: 0, from: 'earliest', copy });
    read = () => readEvery(reader, chunk);
  }
  const faults = minorFaults();
  const start = process.cpuUsage();
  const seen = read();
  const used = process.cpuUsage(start);
  const result = { cpuMs: (used.user + used.system) / 1000, faults: minorFaults() - faults, seen };
  return { ...result, cpuMs: seen > 0 ? result.cpuMs : NaN };
}

interface LogStoreLike {
  reader(
    topic: string,
    options: { partition: number; from: 'earliest'; copy: boolean },
  ): { read(max: number): { value: Buffer | null }[] };
}

/** Forks this file for one pass; resolves with what it measured. */
function timePass(
  checkout: string,
  dir: string,
  copy: boolean,
  chunk: number,
  records: number,
): Promise<Pass> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), [
      '--pass',
      checkout,
      dir,
      copy ? 'copy' : 'views',
      String(chunk),
      String(records),
    ]);
    let got: (Pass & { seen: number }) | null = null;
    child.on('message', (m) => (got = m as Pass & { seen: number }));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0 || got === null) return reject(new Error(`pass exited with ${code}`));
      if (got.seen !== records) return reject(new Error(`read ${got.seen} records, not ${records}`));
      resolve(got);
    });
  });
}

async function child(): Promise<void> {
  const [checkout, dir, mode, chunk] = process.argv.slice(process.argv.indexOf('--pass') + 1);
  process.send!(await pass(checkout!, dir!, mode === 'copy', Number(chunk)));
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const option = (name: string, fallback: number): number => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : fallback;
  };
  const other = args[0];
  if (other === undefined || other.startsWith('--'))
    throw new Error('usage: read-ab.js <other checkout> [...]');
  const records = option('records', 1_000_000);
  const runs = option('runs', 7);
  const chunk = option('chunk', 1000);
  const here = path.resolve(fileURLToPath(import.meta.url), '../../../..');
  const subjects = [
    { name: 'ceiling (fs-framing)', checkout: '', copy: false },
    { name: 'this build, default', checkout: here, copy: true },
    { name: 'other, default', checkout: path.resolve(other), copy: true },
    { name: 'this build, copy: false', checkout: here, copy: false },
    { name: 'other, copy: false', checkout: path.resolve(other), copy: false },
  ].map((s) => ({ ...s, passes: [] as Pass[] }));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'logstore-read-ab-'));
  try {
    await fillApart('logstore', dir, records);
    await fillApart('frames', dir, records);
    for (let run = 0; run < runs; run++) {
      for (const s of subjects) s.passes.push(await timePass(s.checkout, dir, s.copy, chunk, records));
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const m = describeMachine();
  console.log(
    `${records} records of 100 bytes, read(${chunk}), median of ${runs} fresh processes each, CPU time; ` +
      `${m.cpu} x${m.cores}, Node ${m.node}, load ${m.loadAverage} (at the end)`,
  );
  const ceiling = median(subjects[0]!.passes.map((p) => p.cpuMs));
  for (const s of subjects) {
    const ms = median(s.passes.map((p) => p.cpuMs));
    console.log(
      `${s.name.padEnd(24)} ${ms.toFixed(0).padStart(5)} ms  ${(ceiling / ms).toFixed(2)}x ceiling  ` +
        `${median(s.passes.map((p) => p.faults))} page faults  (${s.passes.map((p) => p.cpuMs.toFixed(0)).join(', ')})`,
    );
  }
}

if (process.argv.includes('--pass')) await child();
else await main();
