/**
 * better-sqlite3 A against B on logstore's own catalog operations (lib/catalog/, run
 * unchanged: sqlite-redirect-hook.ts points its `better-sqlite3` import at each copy):
 *   open             Catalog.open of a 1,000-partition catalog plus every read LogStore.open does
 *   reads            those reads alone (2,001 statement calls) on an open catalog
 *   commit           one offset commit (a durable synchronous=FULL transaction, as commit(rec))
 *   recovery-points  1,000 partitions' recovery points in one durable transaction
 *   *-nosync         the same with synchronous=OFF: SQLite and the binding without the fsync
 *
 *   npm install --prefix /tmp/bsq12 better-sqlite3@12.11.1
 *   npm install --prefix /tmp/bsq13 better-sqlite3@13.2.0
 *   node dist/bench/micro/sqlite-versions.js /tmp/bsq12 /tmp/bsq13 [rounds]
 *
 * Each round runs every case once per version, each in a fresh process, the two versions in
 * alternating order; a run reports its median operation time. The table gives the median over
 * rounds (min-max) and the ratio B/A measured in the same rounds (below 1: B is faster).
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { median } from '../stats.js';

const CASES = ['open', 'reads', 'commit', 'commit-nosync', 'recovery-points', 'recovery-points-nosync'];
const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'sqlite-versions-child.js');

const [a, b, roundsArg] = process.argv.slice(2);
if (!a || !b) throw new Error('usage: sqlite-versions.js <dir A> <dir B> [rounds]');
const rounds = Number(roundsArg ?? 5);

interface Run {
  version: string;
  sqlite: string;
  us: number;
}
function runOnce(dir: string, caseName: string): Run {
  return JSON.parse(execFileSync(process.execPath, [child, dir, caseName], { encoding: 'utf8' })) as Run;
}

const results = new Map<string, { a: Run[]; b: Run[] }>(CASES.map((c) => [c, { a: [], b: [] }]));
for (let r = 0; r < rounds; r++) {
  for (const c of CASES) {
    const slot = results.get(c)!;
    if (r % 2 === 0) {
      slot.a.push(runOnce(a, c));
      slot.b.push(runOnce(b, c));
    } else {
      slot.b.push(runOnce(b, c));
      slot.a.push(runOnce(a, c));
    }
  }
}

const first = results.get(CASES[0]!)!;
const label = (runs: Run[]) => `better-sqlite3 ${runs[0]!.version} (SQLite ${runs[0]!.sqlite})`;
const cell = (runs: Run[]) => {
  const us = runs.map((x) => x.us);
  const fmt = (v: number) => (v >= 1000 ? `${(v / 1000).toFixed(2)} ms` : `${v.toFixed(1)} µs`);
  return `${fmt(median(us))} (${fmt(Math.min(...us))}–${fmt(Math.max(...us))})`;
};
console.log(
  `node ${process.version}, ${os.cpus().length} CPUs, load average ${os.loadavg()[0]!.toFixed(1)}; ${rounds} rounds`,
);
console.log(`| operation | A: ${label(first.a)} | B: ${label(first.b)} | B/A |`);
console.log('|---|---|---|---|');
for (const [c, { a: ra, b: rb }] of results) {
  const ratio = median(rb.map((x) => x.us)) / median(ra.map((x) => x.us));
  console.log(`| ${c} | ${cell(ra)} | ${cell(rb)} | ${ratio.toFixed(2)} |`);
}
