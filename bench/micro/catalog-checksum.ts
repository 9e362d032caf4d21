/**
 * Micro benchmark: what a checksum over the catalog's critical rows would cost on the catalog's
 * writes (the question of docs/format.md, "What the catalog can cost").
 *
 *   npx tsc -p . && node dist/bench/micro/catalog-checksum.js [--runs 5] [--commits 100]
 *     [--partitions 1,100] [--segments 50]
 *
 * The candidate: per partition, a CRC32C over its `partitions` row and all its `segments` rows,
 * kept in a `meta` key (`rows_crc:<topic>-<partition>`) and rewritten in the same transaction as
 * every change to those rows; an open would recompute it. The writes measured are the ones the
 * store makes (synchronous=FULL, WAL, like the catalog): the recovery points of every partition
 * (once per `flushIntervalMs` at most, and at close) and a roll (one partition). Each commit is
 * timed plain and with the checksum, taking turns; a run's figure is its median, the table shows
 * the median of the runs. The open's side (recomputing every checksum) is timed once per run.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { Catalog } from '../../lib/catalog/catalog.js';
import { TOPIC_DEFAULTS } from '../../lib/options.js';
import { crc32c } from '../../lib/storage/native.js';
import { describeMachine } from '../machine.js';
import { median, quantile } from '../stats.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

/** The checksum of one partition's critical rows. */
function rowsCrc(catalog: Catalog, topic: string, partition: number): number {
  const text = JSON.stringify([
    catalog.partitions.partition(topic, partition),
    catalog.partitions.segments(topic, partition),
  ]);
  const bytes = Buffer.from(text);
  return crc32c(bytes, 0, bytes.length);
}

function saveCrc(catalog: Catalog, topic: string, partition: number): void {
  catalog.setMeta(`rows_crc:${topic}-${partition}`, String(rowsCrc(catalog, topic, partition)));
}

/** A topic of `partitions` partitions with `segments` segments each (closed but the last). */
function fill(catalog: Catalog, topic: string, partitions: number, segments: number): void {
  catalog.createTopic(topic, { ...TOPIC_DEFAULTS, segmentBytes: 1 << 20, partitions }, Date.now());
  for (let p = 0; p < partitions; p++) {
    const log = catalog.partitions.forPartition(topic, p);
    for (let s = 1; s < segments; s++) {
      log.roll(
        { baseOffset: (s - 1) * 1000, endOffset: s * 1000, size: 1 << 20, maxTimestamp: s },
        { baseOffset: s * 1000, capacity: 1 << 20 },
      );
    }
    saveCrc(catalog, topic, p);
  }
}

function timed(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e3;
}

function main(): void {
  const runs = Number(arg('--runs', '5'));
  const commits = Number(arg('--commits', '100'));
  const partitionCounts = arg('--partitions', '1,100').split(',').map(Number);
  const segments = Number(arg('--segments', '50'));
  const m = describeMachine();
  console.log(
    `catalog checksum micro benchmark: node ${m.node}, ${m.cpu}, ${m.cores} cores, dir ${m.tmpdir}`,
  );
  console.log(
    `load average ${m.loadAverage} at start; ${runs} runs x ${commits} commits; ${segments} segments per partition\n`,
  );
  console.log('| write | plain µs (median) | with checksum µs | ratio | p99 plain / with |');
  console.log('|---|---:|---:|---:|---:|');
  const json: Record<string, unknown> = {};
  for (const partitions of partitionCounts) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'logstore-crc-'));
    try {
      const catalog = Catalog.open(path.join(dir, 'catalog.sqlite'), false);
      fill(catalog, 't', partitions, segments);
      const point = (p: number, k: number) => ({
        topic: 't',
        partition: p,
        segment: (segments - 1) * 1000,
        position: k * 100,
        offset: (segments - 1) * 1000 + k,
        maxTimestamp: k,
      });
      let k = 0;
      const writes: Record<string, [() => void, () => void]> = {
        [`recovery points, ${partitions} partition${partitions === 1 ? '' : 's'}`]: [
          () => catalog.setRecoveryPoints(Array.from({ length: partitions }, (_, p) => point(p, ++k))),
          () =>
            catalog.transaction(() => {
              catalog.setRecoveryPoints(Array.from({ length: partitions }, (_, p) => point(p, ++k)));
              for (let p = 0; p < partitions; p++) saveCrc(catalog, 't', p);
            }),
        ],
        [`roll, 1 of ${partitions} partition${partitions === 1 ? '' : 's'}`]: [
          () =>
            catalog.partitions
              .forPartition('t', 0)
              .setExtent({ baseOffset: 0, endOffset: 1000, size: ++k, maxTimestamp: 1 }),
          () =>
            catalog.transaction(() => {
              catalog.partitions
                .forPartition('t', 0)
                .setExtent({ baseOffset: 0, endOffset: 1000, size: ++k, maxTimestamp: 1 });
              saveCrc(catalog, 't', 0);
            }),
        ],
      };
      for (const [name, [plain, withCrc]] of Object.entries(writes)) {
        const medians: [number[], number[]] = [[], []];
        const p99s: [number[], number[]] = [[], []];
        for (let run = 0; run <= runs; run++) {
          const samples = [new Float64Array(commits), new Float64Array(commits)] as const;
          for (let c = 0; c < commits; c++) {
            samples[0][c] = timed(plain);
            samples[1][c] = timed(withCrc);
          }
          if (run === 0) continue; // warm-up
          for (const i of [0, 1] as const) {
            const sorted = samples[i].sort();
            medians[i].push(quantile(sorted, 0.5));
            p99s[i].push(quantile(sorted, 0.99));
          }
        }
        const [a, b] = [median(medians[0]), median(medians[1])];
        console.log(
          `| ${name} | ${a.toFixed(0)} | ${b.toFixed(0)} | ${(b / a).toFixed(2)}x | ` +
            `${median(p99s[0]).toFixed(0)} / ${median(p99s[1]).toFixed(0)} |`,
        );
        json[name] = { plain: medians[0], withChecksum: medians[1] };
      }
      const opens: number[] = [];
      for (let run = 0; run < runs; run++) {
        let mismatches = 0;
        opens.push(
          timed(() => {
            for (let p = 0; p < partitions; p++)
              if (String(rowsCrc(catalog, 't', p)) !== catalog.getMeta(`rows_crc:t-${p}`)) mismatches++;
          }),
        );
        if (mismatches > 0) throw new Error(`${mismatches} checksums do not match the rows they cover`);
      }
      console.log(
        `| open: check ${partitions} partition${partitions === 1 ? '' : 's'} | - | ${median(opens).toFixed(0)} | - | - |`,
      );
      json[`open, ${partitions}`] = opens;
      catalog.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  console.log(`\n${JSON.stringify({ machine: m, runs, commits, segments, results: json })}`);
}

main();
