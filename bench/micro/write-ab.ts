/**
 * Micro benchmark: the CPU time of the append cases, this build against another one, taking turns
 * in one process (so that load from other processes falls on both alike).
 *
 *   npx tsc -p . && node dist/bench/micro/write-ab.js <case> <other checkout> [--turns 8]
 *     [--records N] [--seconds S] [--dir D]
 *
 * `<other checkout>` is a built copy of the project (a git worktree of the base commit, after
 * `npm run build`): its `dist/bench/logstore.js` is imported beside this one's. Cases, as in
 * bench/cases/:
 * - single: `records` single-record appends (default 300,000);
 * - batched: `records` records in appends of 1000 to partition 0 (default 1,000,000);
 * - group: 100 writers each appending one record and awaiting flush(), `seconds` per turn
 *   (default 1), durability 'none'; `--dir /dev/shm` takes the disk out, leaving the CPU.
 * The fs-framing peer of the case takes its turn too. Each turn opens a fresh store in a fresh
 * directory; the figure is `process.cpuUsage()` (user + system: the thread pool's syncs count)
 * per record, median over the turns, and the wall rate.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { FrameWriter } from '../peers/fs-framing.js';
import { median } from '../stats.js';
import { recordBatches, valueAt, valuePool } from '../values.js';
import type * as ThisLogStore from '../logstore.js';

type Bench = typeof ThisLogStore;
interface Subject {
  name: string;
  bench: Bench | null; // null: the fs-framing peer
  cpu: number[];
  rate: number[];
}

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const [kind, other] = args;
if (!['single', 'batched', 'group'].includes(kind ?? '') || other === undefined) {
  console.error('usage: write-ab.js single|batched|group <other checkout> [--turns N] [--records N]');
  process.exit(2);
}
const turns = option('turns', 8);
const records = option('records', kind === 'single' ? 300_000 : 1_000_000);
const seconds = option('seconds', 1);
const dirIndex = args.indexOf('--dir');
const base = dirIndex >= 0 ? args[dirIndex + 1]! : os.tmpdir();

const pool = valuePool();
const singles = pool.map((value) => ({ value }));
const batches = recordBatches(pool, 1000);
const since = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e9;

/** Runs one turn; returns the records written. */
async function turn(subject: Subject, dir: string): Promise<number> {
  if (subject.bench === null) {
    const w = new FrameWriter(dir);
    let ops = 0;
    if (kind === 'single') for (; ops < records; ops++) w.appendOne(valueAt(pool, ops));
    else if (kind === 'batched') {
      const values = batches.map((b) => b.map((r) => r.value));
      for (let i = 0; ops < records; i++, ops += 1000) w.appendBatch(values[i % values.length]!);
    } else {
      const start = process.hrtime.bigint();
      while (since(start) < seconds) {
        for (let i = 0; i < 100; i++) w.appendOne(valueAt(pool, ops++));
        w.sync();
      }
    }
    w.close();
    return ops;
  }
  const { openStore, TOPIC } = subject.bench;
  const store = await openStore(dir, kind === 'group' ? { durability: 'none' } : undefined);
  let ops = 0;
  if (kind === 'single') for (; ops < records; ops++) store.append(TOPIC, singles[ops % singles.length]!);
  else if (kind === 'batched') {
    for (let i = 0; ops < records; i++, ops += 1000)
      store.append(TOPIC, batches[i % batches.length]!, { partition: 0 });
  } else {
    const start = process.hrtime.bigint();
    let done = false;
    const writer = async () => {
      while (!done) {
        store.append(TOPIC, { value: valueAt(pool, ops++) });
        await store.flush();
        if (since(start) >= seconds) done = true;
      }
    };
    await Promise.all(Array.from({ length: 100 }, writer));
  }
  await store.close();
  return ops;
}

const subjects: Subject[] = [
  { name: 'this build', bench: await import('../logstore.js'), cpu: [], rate: [] },
  {
    name: path.basename(path.resolve(other)),
    bench: (await import(pathToFileURL(path.resolve(other, 'dist/bench/logstore.js')).href)) as Bench,
    cpu: [],
    rate: [],
  },
  { name: 'fs-framing', bench: null, cpu: [], rate: [] },
];
for (let t = 0; t < turns; t++) {
  for (const subject of t % 2 === 0 ? subjects : [...subjects].reverse()) {
    const dir = fs.mkdtempSync(path.join(base, 'write-ab-'));
    try {
      const cpu = process.cpuUsage();
      const start = process.hrtime.bigint();
      const ops = await turn(subject, dir);
      const wall = since(start);
      const used = process.cpuUsage(cpu);
      subject.cpu.push((used.user + used.system) / ops);
      subject.rate.push(ops / wall);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
}
const peer = median(subjects[2]!.cpu);
console.log(`${kind}: ${turns} turns, load average ${os.loadavg()[0]!.toFixed(1)}, dir ${base}`);
for (const s of subjects) {
  const cpu = median(s.cpu);
  console.log(
    `${s.name.padEnd(16)} CPU ${cpu.toFixed(3)} µs/record (${s.cpu.map((c) => c.toFixed(2)).join(' ')})` +
      `  ${Math.round(median(s.rate))} rec/s  vs fs-framing CPU ${(peer / cpu).toFixed(2)}x`,
  );
}
