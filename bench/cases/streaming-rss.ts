import { tmpdir } from 'node:os';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { defineCase, since, startTimer } from '../case.js';
import { VALUE_BYTES, recordBatches, valuePool } from '../values.js';

/**
 * Memory while streaming far more data than memory: one process appends `gib` GiB of batches
 * (appends of 1000 100-byte values, default durability 'interval' and 128 MiB segments) while a
 * reader in the same process follows about `lagRecords` records (~110 MB, so across segment
 * boundaries) behind, reading `read(10000)`; `retentionMiB` keeps the disk from filling (the
 * reader stays well above the deleted segments). The headline is the throughput (records written
 * and read once each, per second); the target is on the process's peak RSS
 * (`process.resourceUsage().maxRSS`, mapped file pages included). The note splits the largest
 * resident set sampled (every 100 appends) into V8's heap, the record copies (`arrayBuffers`) and
 * the rest (mapped file pages, the binary): what a regression of the peak is made of.
 */
export default defineCase({
  name: 'streaming-rss',
  measures: 'append and read (a reader following ~1M records behind) GiBs in one process, with retention',
  target: 'peak RSS < 256 MiB while streaming 10 GiB',
  goal: { of: 'peak-rss', below: 256 },
  unit: 'rec/s',
  sizes: {
    quick: { gib: 0.5, retentionMiB: 256, lagRecords: 1_000_000 },
    full: { gib: 10, retentionMiB: 2048, lagRecords: 1_000_000 },
  },
  maxRuns: { full: 3 },
  subjects: {
    async logstore({ gib, retentionMiB, lagRecords }, dir) {
      const { freeBytes, GiB, loadLogStore, MiB, partitionSize, TOPIC } = await import('../logstore.js');
      const free = freeBytes(tmpdir());
      if (free < retentionMiB * MiB + 2 * GiB) {
        throw new Error(
          `needs ${retentionMiB} MiB + 2 GiB free in ${tmpdir()}, has ${(free / GiB).toFixed(1)} GiB`,
        );
      }
      const batches = recordBatches(valuePool(), 1000);
      const LogStore = await loadLogStore();
      const store = LogStore.open(dir);
      store.createTopic(TOPIC, { partitions: 1, retentionBytes: retentionMiB * MiB });
      const reader = store.reader(TOPIC, { partition: 0, from: 'earliest' });

      let written = 0;
      let read = 0;
      let readBytes = 0;
      let nextOffset = 0;
      const readSome = () => {
        const recs = reader.read(10_000);
        for (const rec of recs) {
          if (rec.offset !== nextOffset) throw new Error(`read offset ${rec.offset}, expected ${nextOffset}`);
          nextOffset++;
          readBytes += rec.value!.length;
        }
        read += recs.length;
        return recs.length;
      };

      // The records to write: `gib` GiB of batches, at the size the first appends take on disk.
      const append = (i: number) => {
        store.append(TOPIC, batches[i % batches.length]!, { partition: 0 });
        written += 1000;
      };
      let peak = process.memoryUsage();
      const sampleMemory = () => {
        const now = process.memoryUsage();
        if (now.rss > peak.rss) peak = now;
      };
      const start = startTimer();
      let i = 0;
      for (; i < 100; i++) append(i);
      const perRecord = partitionSize(store).bytes / written;
      const records = Math.ceil((gib * GiB) / perRecord / 1000) * 1000;
      for (; written < records; i++) {
        append(i);
        if (i % 10 === 0) while (written - read > lagRecords && readSome() > 0);
        // Let the flush timer's syncs and their completions run.
        if (i % 100 === 0) {
          sampleMemory();
          await nextTurn();
        }
      }
      while (readSome() > 0);
      const seconds = since(start);
      const end = partitionSize(store);
      reader.close();
      await store.close();
      if (read !== records || readBytes !== records * VALUE_BYTES) {
        throw new Error(`read ${read} records (${readBytes} bytes) of ${records}`);
      }
      return {
        ops: records,
        seconds,
        bytes: records * VALUE_BYTES,
        note:
          `${((records * perRecord) / GiB).toFixed(1)} GiB, ${(records / 1e6).toFixed(0)}M records written and read; ` +
          `retention ${retentionMiB} MiB left ${end.segments} segments, ${(end.bytes / MiB).toFixed(0)} MiB; ` +
          `largest RSS sampled ${(peak.rss / MiB).toFixed(0)} MiB: V8 heap ${(peak.heapTotal / MiB).toFixed(0)}, ` +
          `record copies ${(peak.arrayBuffers / MiB).toFixed(0)}, the rest ` +
          `${((peak.rss - peak.heapTotal - peak.arrayBuffers) / MiB).toFixed(0)}`,
      };
    },
  },
});
