import { defineCase, since, startTimer } from '../case.js';
import { VALUE_BYTES, recordBatches, valueAt, valuePool } from '../values.js';

/** Appends in calls of `batch` records: the producer that buffers, as Kafka clients do. */
export default defineCase({
  name: 'batched-append',
  measures: 'append 100-byte values, 1000 per call (one transaction / batch / write each)',
  target: '>= 5M rec/s and >= 0.75x fs-framing',
  goal: { of: 'median', atLeast: 5e6, vsPeers: { 'fs-framing': 0.75 } },
  unit: 'rec/s',
  sizes: { quick: { records: 300_000, batch: 1000 }, full: { records: 1_000_000, batch: 1000 } },
  subjects: {
    async logstore({ records, batch }, dir) {
      const { openStore, TOPIC } = await import('../logstore.js');
      const batches = recordBatches(valuePool(), batch);
      const store = await openStore(dir);
      const start = startTimer();
      for (let i = 0; i < records / batch; i++) {
        store.append(TOPIC, batches[i % batches.length]!, { partition: 0 });
      }
      const seconds = since(start);
      await store.close();
      return { ops: records, seconds, bytes: records * VALUE_BYTES };
    },

    async sqlite({ records, batch }, dir) {
      const { openQueue, inserter } = await import('../peers/sqlite.js');
      const pool = valuePool();
      const db = openQueue(dir, 'NORMAL');
      const insert = inserter(db);
      const insertBatch = db.transaction((first: number) => {
        for (let i = first; i < first + batch; i++) insert(valueAt(pool, i));
      });
      const start = startTimer();
      for (let first = 0; first < records; first += batch) insertBatch(first);
      const seconds = since(start);
      db.close();
      return { ops: records, seconds, bytes: records * VALUE_BYTES };
    },

    async lmdb({ records, batch }, dir) {
      const { openDb } = await import('../peers/lmdb.js');
      const pool = valuePool();
      const db = openDb(dir);
      const start = startTimer();
      for (let first = 0; first < records; first += batch) {
        db.transactionSync(() => {
          for (let i = first; i < first + batch; i++) db.putSync(i, valueAt(pool, i));
        });
      }
      const seconds = since(start);
      await db.close();
      return { ops: records, seconds, bytes: records * VALUE_BYTES };
    },

    async leveldb({ records, batch }, dir) {
      const { openDb, keyOf } = await import('../peers/leveldb.js');
      const pool = valuePool();
      const db = await openDb(dir);
      const start = startTimer();
      for (let first = 0; first < records; first += batch) {
        const ops = [];
        for (let i = first; i < first + batch; i++) {
          ops.push({ type: 'put' as const, key: keyOf(i), value: valueAt(pool, i) });
        }
        await db.batch(ops);
      }
      const seconds = since(start);
      await db.close();
      return { ops: records, seconds, bytes: records * VALUE_BYTES };
    },

    async 'fs-framing'({ records, batch }, dir) {
      const { FrameWriter } = await import('../peers/fs-framing.js');
      const batches = recordBatches(valuePool(), batch).map((b) => b.map((r) => r.value));
      const w = new FrameWriter(dir);
      const start = startTimer();
      for (let i = 0; i < records / batch; i++) w.appendBatch(batches[i % batches.length]!);
      const seconds = since(start);
      w.close();
      return { ops: records, seconds, bytes: records * VALUE_BYTES };
    },
  },
});
