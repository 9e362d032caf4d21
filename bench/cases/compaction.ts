import { defineCase, since, startTimer } from '../case.js';
import { valuePool } from '../values.js';

/**
 * Compaction (issue 4): `records` keyed records (100-byte values, keys drawn from `keys`
 * distinct ones by a fixed LCG) in appends of 1000 to a topic with cleanupPolicy 'compact' and
 * `segmentMiB` segments, then `store.cleanup(topic)` is timed. logstore keeps the latest record
 * per key counting the active segment too (which is never rewritten), so with every key recurring
 * in the active segment most closed segments empty out. The figure is records of the log per
 * second of cleanup; what it did is in the note. Peak RSS covers the fill as well.
 */
export default defineCase({
  name: 'compaction',
  measures: 'store.cleanup(topic) of a compacted topic: records over keys, small segments (write not timed)',
  unit: 'rec/s',
  sizes: {
    quick: { records: 500_000, keys: 10_000, segmentMiB: 8 },
    full: { records: 1_000_000, keys: 10_000, segmentMiB: 16 },
  },
  subjects: {
    async logstore({ records, keys, segmentMiB }, dir) {
      const { loadLogStore, MiB, partitionSize, TOPIC } = await import('../logstore.js');
      const pool = valuePool();
      const keyBufs = Array.from({ length: keys }, (_, k) =>
        Buffer.from(`key-${String(k).padStart(8, '0')}`),
      );
      const LogStore = await loadLogStore();
      const store = LogStore.open(dir, { cleanupIntervalMs: 0 });
      store.createTopic(TOPIC, { partitions: 1, cleanupPolicy: 'compact', segmentBytes: segmentMiB * MiB });
      let seed = 12345;
      const batch: { key: Buffer; value: Buffer }[] = [];
      for (let i = 0; i < records; i++) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        batch.push({ key: keyBufs[seed % keys]!, value: pool[i & (pool.length - 1)]! });
        if (batch.length === 1000 || i === records - 1) {
          store.append(TOPIC, batch, { partition: 0 });
          batch.length = 0;
        }
      }
      const before = partitionSize(store);
      const rssBefore = process.resourceUsage().maxRSS / 1024;

      const start = startTimer();
      const result = store.cleanup(TOPIC);
      const seconds = since(start);

      const after = partitionSize(store);
      const rssAfter = process.resourceUsage().maxRSS / 1024;
      // Not timed: what is left is one record per key at most, plus the active segment.
      const reader = store.reader(TOPIC, { partition: 0, from: 'earliest' });
      let left = 0;
      for (let recs = reader.read(10_000); recs.length > 0; recs = reader.read(10_000)) left += recs.length;
      reader.close();
      await store.close();
      if (result.compactedSegments === 0 || after.endOffset !== records) {
        throw new Error(
          `cleanup compacted ${result.compactedSegments} segments, end offset ${after.endOffset}`,
        );
      }
      return {
        ops: records,
        seconds,
        bytes: records * 100,
        note:
          `${before.segments} segments (${(before.bytes / MiB).toFixed(0)} MiB) -> ${after.segments} ` +
          `(${(after.bytes / MiB).toFixed(0)} MiB), ${result.compactedSegments} rewritten or emptied, ` +
          `${left} records left; peak RSS ${rssBefore.toFixed(0)} MiB after the fill, ` +
          `${rssAfter.toFixed(0)} MiB after cleanup`,
      };
    },
  },
});
