import { defineCase, since, startTimer } from '../case.js';
import { VALUE_BYTES, valueAt, valuePool } from '../values.js';

/**
 * Many writers that each need their own record durable, sharing syncs: 100 async writers each
 * append one record and await `flush()`, in a loop. logstore runs with durability 'none' so that
 * `flush()` is the only sync and concurrent flushes share one. The fs-framing ceiling writes 100
 * records and then issues one fdatasync for all of them, with no async machinery at all: 100
 * records per sync at the disk's sync rate, the limit. The goal is 0.75x of that limit measured in
 * the same run (300k rec/s on a disk doing 4.5k syncs/s; this 2-core VM's disk does about 1.4k).
 */
export default defineCase({
  name: 'group-commit',
  measures: '100 concurrent writers each appending one record and awaiting flush(), in a loop',
  target: '>= 0.75x fs-framing (300k rec/s on a 4.5k-sync/s disk)',
  goal: { of: 'median', vsPeers: { 'fs-framing': 0.75 } },
  unit: 'rec/s',
  sizes: {
    quick: { writers: 100, records: 100_000, seconds: 1 },
    full: { writers: 100, records: 1_000_000, seconds: 5 },
  },
  subjects: {
    async logstore({ writers, records, seconds: maxSeconds }, dir) {
      const { openStore, TOPIC } = await import('../logstore.js');
      const pool = valuePool();
      const store = await openStore(dir, { durability: 'none' });
      let ops = 0;
      let done = false;
      const start = startTimer();
      const writer = async () => {
        while (!done) {
          store.append(TOPIC, { value: valueAt(pool, ops++) });
          await store.flush();
          if (ops >= records || since(start) >= maxSeconds) done = true;
        }
      };
      await Promise.all(Array.from({ length: writers }, writer));
      const seconds = since(start);
      await store.close();
      return { ops, seconds, bytes: ops * VALUE_BYTES, note: `${ops} records in ${seconds.toFixed(1)} s` };
    },

    async 'fs-framing'({ writers, records, seconds: maxSeconds }, dir) {
      const { FrameWriter } = await import('../peers/fs-framing.js');
      const pool = valuePool();
      const w = new FrameWriter(dir);
      let ops = 0;
      const start = startTimer();
      while (ops < records && since(start) < maxSeconds) {
        for (let i = 0; i < writers; i++) w.appendOne(valueAt(pool, ops++));
        w.sync();
      }
      const seconds = since(start);
      w.close();
      return { ops, seconds, bytes: ops * VALUE_BYTES, note: `${ops} records in ${seconds.toFixed(1)} s` };
    },
  },
});
