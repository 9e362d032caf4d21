/**
 * One run of one case of bench/micro/sqlite-versions.ts: logstore's Catalog on the better-sqlite3
 * installed in <dir> (see sqlite-redirect-hook.ts). Prints one JSON line: the version, SQLite's
 * version and the median time of one operation in µs.
 *
 *   node dist/bench/micro/sqlite-versions-child.js <dir> <case>
 */
import fs from 'node:fs';
import { register } from 'node:module';
import os from 'node:os';
import path from 'node:path';

import type { Catalog as CatalogType } from '../../lib/catalog/catalog.js';
import { median } from '../stats.js';

const [dir, caseName] = process.argv.slice(2);
if (!dir || !caseName) throw new Error('usage: sqlite-versions-child.js <dir with better-sqlite3> <case>');
register('./sqlite-redirect-hook.js', import.meta.url, { data: { dir: path.resolve(dir) } });
const { Catalog } = await import('../../lib/catalog/catalog.js');
const { STORE_DEFAULTS, TOPIC_DEFAULTS } = await import('../../lib/options.js');

const TOPICS = 100;
const PARTITIONS = 10; // 1,000 partitions in all
const RUN_MS = 400;
const MIN_OPS = 10;

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'logstore-sqlite-bench-'));
const file = path.join(work, 'catalog.sqlite');

/** A catalog with 100 topics of 10 partitions, as LogStore.open finds it after a clean close. */
function populate(): void {
  const catalog = Catalog.open(file, false);
  const config = { ...TOPIC_DEFAULTS, segmentBytes: STORE_DEFAULTS.segmentBytes, partitions: PARTITIONS };
  for (let t = 0; t < TOPICS; t++) catalog.createTopic(`topic-${t}`, config, Date.now());
  catalog.close();
}

/** Times op() at least MIN_OPS times and for RUN_MS, after 3 warm-up calls; median µs per call. */
function measure(op: (i: number) => void): number {
  for (let i = 0; i < 3; i++) op(i);
  const times: number[] = [];
  const end = performance.now() + RUN_MS;
  for (let i = 0; times.length < MIN_OPS || performance.now() < end; i++) {
    const t0 = performance.now();
    op(i);
    times.push((performance.now() - t0) * 1000);
  }
  return median(times);
}

populate();
const catalog = Catalog.open(file, false);
const sqlite = (catalog.db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
const points = Array.from({ length: TOPICS * PARTITIONS }, (_, i) => ({
  topic: `topic-${Math.floor(i / PARTITIONS)}`,
  partition: i % PARTITIONS,
  segment: 0,
  position: 0,
  offset: 0,
  maxTimestamp: -1,
}));
/** Every read LogStore.open does: the topics, then each partition's row and segment list. */
function readAll(c: CatalogType): void {
  for (const t of c.topics()) {
    for (let p = 0; p < t.partitions; p++) {
      c.partitions.partition(t.name, p);
      c.partitions.segments(t.name, p);
    }
  }
}
const commitOne = (i: number) =>
  catalog.groups.commit([{ group: 'g', topic: 'topic-0', partition: i % 10, offset: i }], Date.now());
const recoveryPoints = (i: number) => {
  for (const p of points) p.offset = i;
  catalog.setRecoveryPoints(points);
};
const noSync = (op: (i: number) => void) => () => {
  catalog.db.pragma('synchronous = OFF'); // SQLite and the binding without the fsync
  return measure(op);
};
const cases: Record<string, () => number> = {
  // Catalog.open of the existing store (WAL, pragmas, schema check, 35 prepared statements),
  // every read LogStore.open does, close.
  open: () => {
    catalog.close();
    return measure(() => {
      const c = Catalog.open(file, false);
      readAll(c);
      c.close();
    });
  },
  // The reads alone, on an open catalog: 2,001 statement calls.
  reads: () => measure(() => readAll(catalog)),
  // A consumer's commit(rec): one upsert in one durable (synchronous=FULL) transaction.
  commit: () => measure(commitOne),
  'commit-nosync': noSync(commitOne),
  // The flush timer's recovery points: 1,000 partition rows updated in one durable transaction.
  'recovery-points': () => measure(recoveryPoints),
  'recovery-points-nosync': noSync(recoveryPoints),
};
const run = cases[caseName];
if (!run) throw new Error(`unknown case ${caseName}: ${Object.keys(cases).join(', ')}`);
const us = run();
catalog.close();
fs.rmSync(work, { recursive: true, force: true });
const version = (
  JSON.parse(fs.readFileSync(path.join(dir, 'node_modules', 'better-sqlite3', 'package.json'), 'utf8')) as {
    version: string;
  }
).version;
console.log(JSON.stringify({ version, sqlite, case: caseName, us }));
