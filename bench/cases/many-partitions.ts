import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { defineCase, since, type BenchCase, type FigureGoal } from '../case.js';
import { valueAt, valuePool, VALUE_BYTES } from '../values.js';

/**
 * Many small partitions, as an application with a topic per tenant or device has them: topics of
 * 10 partitions (`partitions` in all), 10 records of 100 bytes appended to each, one per call,
 * round by round (the first round touches every partition for the first time). Then the store is
 * closed, opened again, and every partition is read from its start by a new reader. Each step is
 * timed on its own; the headline is the first read of every partition after the reopen, and the
 * note has the others, per partition where that is how the target reads:
 *
 *   create   createTopic of all the topics, per partition    target <= 1 ms
 *   append   per record, first touch included (durability 'interval', the default)   <= 5 µs
 *   reopen   LogStore.open after a clean close (same process) <= 1 s
 *   read     the first read of every partition after it      <= 2 s
 *   disk     partition directories, per partition             <= 128 KiB
 *
 * Each is given as wall time and, in brackets, CPU time (user + system), which a machine shared
 * with other jobs inflates much less. Plus the clean close (wall [CPU]; its cost per partition must
 * not grow with the count), the full (major) GCs of the whole run
 * and the descriptors open at its end. `nofile` > 0 lowers the process's limit of open
 * descriptors to that (`prlimit`, as `ulimit -n` would) before the store opens: the store must
 * work under a common default of 1024.
 *
 * The run also reports each of these as a named figure (wall time, as the targets are stated),
 * and at 5,000 partitions and more the targets table judges every target above (`goalsAt`), with
 * the cost per partition at 10,000 against the 1,000-partition case of the same run.
 */
const PARTITIONS_PER_TOPIC = 10;
const RECORDS_PER_PARTITION = 10;

function manyPartitions(partitions: number, nofile: number): BenchCase {
  const limited = nofile > 0 ? `-nofile-${nofile}` : '';
  return defineCase({
    name: `many-partitions-${partitions}${limited}`,
    measures:
      `${partitions / PARTITIONS_PER_TOPIC} topics x ${PARTITIONS_PER_TOPIC} partitions, 10 appends of 100 bytes ` +
      `to each; headline: the first read of all after close and reopen` +
      (nofile > 0 ? ` (ulimit -n ${nofile})` : ''),
    ...(partitions >= 5000
      ? {
          target: 'first read of all <= 2 s',
          goal: { of: 'median' as const, below: 2000 },
          goals: goalsAt(partitions, nofile),
        }
      : {}),
    unit: 'ms',
    sizes: { quick: { partitions, nofile }, full: { partitions, nofile } },
    // Tens of seconds per run at 10,000 partitions on a loaded machine: few runs.
    maxRuns: { quick: 1, full: 3 },
    // Each run creates and leaves 2-3 files per partition: removed after each run, they slowed
    // the next run's createTopic up to sevenfold (see keepFilesUntilEnd).
    keepFilesUntilEnd: true,
    ...(nofile > 0 ? { requires: ['prlimit'] } : {}),
    subjects: {
      async logstore({ partitions, nofile }, dir) {
        if (nofile > 0) {
          execFileSync('prlimit', ['--pid', String(process.pid), `--nofile=${nofile}:${nofile}`]);
        }
        const { loadLogStore } = await import('../logstore.js');
        const LogStore = await loadLogStore();
        const pool = valuePool();
        const topics = partitions / PARTITIONS_PER_TOPIC;
        const topicName = (t: number) => `tenant-${String(t).padStart(5, '0')}`;
        let fullGcs = 0;
        const countFullGcs = (entries: PerformanceEntry[]) => {
          for (const entry of entries) {
            const detail = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail;
            if (detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) fullGcs++;
          }
        };
        const gcs = new PerformanceObserver((list) => countFullGcs(list.getEntries()));
        gcs.observe({ entryTypes: ['gc'] });

        let store = LogStore.open(dir);
        let start = process.hrtime.bigint();
        let cpu = process.cpuUsage();
        for (let t = 0; t < topics; t++)
          store.createTopic(topicName(t), { partitions: PARTITIONS_PER_TOPIC });
        const createSeconds = since(start);
        const createCpu = cpuSince(cpu);

        // Each record is made as it is appended, as an application does: a prepared array of all
        // of them (50,000-100,000 objects, all alive) made the young-generation collections inside
        // the timed appends copy the bench's own input (a 70 ms scavenge in a 480 ms step).
        const records = partitions * RECORDS_PER_PARTITION;
        start = process.hrtime.bigint();
        cpu = process.cpuUsage();
        let n = 0;
        for (let round = 0; round < RECORDS_PER_PARTITION; round++) {
          for (let t = 0; t < topics; t++) {
            const name = topicName(t);
            for (let p = 0; p < PARTITIONS_PER_TOPIC; p++)
              store.append(name, { value: valueAt(pool, n++) }, { partition: p });
          }
        }
        const appendSeconds = since(start);
        const appendCpu = cpuSince(cpu);

        start = process.hrtime.bigint();
        cpu = process.cpuUsage();
        await store.close();
        const closeSeconds = since(start);
        const closeCpu = cpuSince(cpu);
        const disk = partitionDiskBytes(dir);

        start = process.hrtime.bigint();
        cpu = process.cpuUsage();
        store = LogStore.open(dir);
        const reopenSeconds = since(start);
        const reopenCpu = cpuSince(cpu);

        start = process.hrtime.bigint();
        cpu = process.cpuUsage();
        let read = 0;
        for (let t = 0; t < topics; t++) {
          const name = topicName(t);
          for (let p = 0; p < PARTITIONS_PER_TOPIC; p++) {
            const reader = store.reader(name, { partition: p, from: 'earliest' });
            const got = reader.read(RECORDS_PER_PARTITION + 1);
            reader.close();
            // Round r wrote record r * partitions + t * 10 + p to partition p of topic t.
            for (let i = 0; i < got.length; i++) {
              const expected = valueAt(pool, i * partitions + t * PARTITIONS_PER_TOPIC + p);
              if (got[i]!.offset !== i || !got[i]!.value!.equals(expected)) {
                throw new Error(`${name}-${p}: record ${i} is wrong (offset ${got[i]!.offset})`);
              }
            }
            if (got.length !== RECORDS_PER_PARTITION)
              throw new Error(`${name}-${p}: read ${got.length} records`);
            read += got.length;
          }
        }
        const readSeconds = since(start);
        const readCpu = cpuSince(cpu);
        const descriptors = readdirSync('/proc/self/fd').length;
        await store.close();
        // A collection's entry reaches the observer in a task of its own some time after it:
        // disconnected at once, the observer lost the ones of the last steps (it said 0 while
        // --trace-gc showed full collections).
        await new Promise((resolve) => setTimeout(resolve, 100));
        countFullGcs(gcs.takeRecords());
        gcs.disconnect();

        const perPartitionMs = (s: number) => ((s * 1000) / partitions).toFixed(3);
        const perRecordUs = (s: number) => ((s * 1e6) / records).toFixed(2);
        const KiB = 1024;
        return {
          ops: read,
          seconds: readSeconds,
          bytes: read * VALUE_BYTES,
          // Each goal's figure (wall time), and the CPU times beside them.
          figures: {
            createMsPerPartition: (createSeconds * 1000) / partitions,
            appendUsPerRecord: (appendSeconds * 1e6) / records,
            reopenMs: reopenSeconds * 1000,
            reopenMsPerPartition: (reopenSeconds * 1000) / partitions,
            readMsPerPartition: (readSeconds * 1000) / partitions,
            diskKiBPerPartition: disk / partitions / KiB,
            closeMsPerPartition: (closeSeconds * 1000) / partitions,
            createCpuMsPerPartition: (createCpu * 1000) / partitions,
            appendCpuUsPerRecord: (appendCpu * 1e6) / records,
            reopenCpuMs: reopenCpu * 1000,
            readCpuMs: readCpu * 1000,
            descriptors,
            fullGcs,
          },
          // Wall time, then CPU time (user + system) in brackets: the steadier figure on a busy machine.
          note:
            `create ${perPartitionMs(createSeconds)} [${perPartitionMs(createCpu)}] ms/partition; ` +
            `append ${perRecordUs(appendSeconds)} [${perRecordUs(appendCpu)}] µs/record; ` +
            `close ${(closeSeconds * 1000).toFixed(0)} [${(closeCpu * 1000).toFixed(0)}] ms; ` +
            `reopen ${(reopenSeconds * 1000).toFixed(0)} [${(reopenCpu * 1000).toFixed(0)}] ms; ` +
            `first read ${(readSeconds * 1000).toFixed(0)} [${(readCpu * 1000).toFixed(0)}] ms ` +
            `(${perPartitionMs(readSeconds)} ms/partition); ` +
            `disk ${(disk / partitions / KiB).toFixed(1)} KiB/partition; ${fullGcs} full GCs; ` +
            `${descriptors} descriptors open at the end (limit ${openFilesLimit()})`,
        };
      },
    },
  });
}

/**
 * The goals beside the headline (first read of all <= 2 s), at 5,000 partitions and
 * more; at 10,000, also the cost per partition against the 1,000-partition case of the same run.
 * All on wall time, as the goals are stated.
 */
function goalsAt(partitions: number, nofile: number): FigureGoal[] {
  const goals: FigureGoal[] = [
    { target: 'create <= 1 ms per partition', figure: 'createMsPerPartition', unit: 'ms', below: 1 },
    {
      target: 'append <= 5 µs per record, first touch included',
      figure: 'appendUsPerRecord',
      unit: 'µs',
      below: 5,
    },
    { target: 'reopen <= 1 s', figure: 'reopenMs', unit: 'ms', below: 1000 },
    { target: 'disk <= 128 KiB per partition', figure: 'diskKiBPerPartition', unit: 'KiB', below: 128 },
  ];
  if (nofile > 0) {
    // The run completed under the limit (a failed run leaves it unmet) and stayed well below it.
    goals.push({
      target: `works under ulimit -n ${nofile}`,
      figure: 'descriptors',
      unit: 'descriptors open at the end',
      below: nofile,
    });
  }
  if (partitions >= 10_000) {
    goals.push({
      target: `cost per partition within 1.5x of 1,000 partitions`,
      growth: {
        figures: {
          create: 'createMsPerPartition',
          append: 'appendUsPerRecord',
          reopen: 'reopenMsPerPartition',
          read: 'readMsPerPartition',
          disk: 'diskKiBPerPartition',
        },
        vsCase: 'many-partitions-1000',
        atMost: 1.5,
      },
    });
  }
  return goals;
}

/** CPU seconds (user + system) of this process since `start` (from `process.cpuUsage()`). */
function cpuSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}

/** Bytes on disk (allocated blocks) of the partition directories and their files. */
function partitionDiskBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const sub = join(dir, entry.name);
    total += statSync(sub).blocks * 512;
    for (const file of readdirSync(sub)) total += statSync(join(sub, file)).blocks * 512;
  }
  return total;
}

function openFilesLimit(): string {
  const match = /^Max open files\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
  return match?.[1] ?? 'unknown';
}

export default [
  manyPartitions(1000, 0),
  manyPartitions(5000, 0),
  manyPartitions(10_000, 0),
  manyPartitions(10_000, 1024),
];
