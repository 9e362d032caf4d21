import { defineCase, since, startTimer } from '../case.js';
import { VALUE_BYTES, valueAt, valuePool } from '../values.js';

/**
 * One record per call, no batching by the caller: the cost of one append when the application
 * writes as events happen. Peers: SQLite autocommit, lmdb putSync, leveldb put, one writeSync.
 */
export default defineCase({
  name: 'single-append',
  measures: 'append 100-byte values one per call (autocommit / putSync / put / writeSync)',
  target: '>= 1M rec/s',
  goal: { of: 'median', atLeast: 1e6 },
  unit: 'rec/s',
  sizes: { quick: { records: 100_000 }, full: { records: 1_000_000 } },
  subjects: {
    async logstore({ records }, dir) {
      const { openStore, TOPIC } = await import('../logstore.js');
      const one = valuePool().map((value) => ({ value }));
      const store = await openStore(dir);
      const start = startTimer();
      for (let i = 0; i < records; i++) store.append(TOPIC, one[i & (one.length - 1)]!);
      const seconds = since(start);
      await store.close();
      return { ops: records, seconds, bytes: records * VALUE_BYTES };
    },

    async sqlite({ records }, dir) {
      const { openQueue, inserter } = await import('../peers/sqlite.js');
      const pool = valuePool();
      const db = openQueue(dir, 'NORMAL');
      const insert = inserter(db);
      const start = startTimer();
      for (let i = 0; i < records; i++) insert(valueAt(pool, i));
      const seconds = since(start);
      db.close();
      return { ops: records, seconds, bytes: records * VALUE_BYTES };
    },

    async lmdb({ records }, dir) {
      const { openDb } = await import('../peers/lmdb.js');
      const pool = valuePool();
      const db = openDb(dir);
      const start = startTimer();
      for (let i = 0; i < records; i++) db.putSync(i, valueAt(pool, i));
      const seconds = since(start);
      await db.close();
      return { ops: records, seconds, bytes: records * VALUE_BYTES };
    },

    async leveldb({ records }, dir) {
      const { openDb, keyOf } = await import('../peers/leveldb.js');
      const pool = valuePool();
      const db = await openDb(dir);
      const start = startTimer();
      for (let i = 0; i < records; i++) await db.put(keyOf(i), valueAt(pool, i));
      const seconds = since(start);
      await db.close();
      return { ops: records, seconds, bytes: records * VALUE_BYTES };
    },

    async 'fs-framing'({ records }, dir) {
      const { FrameWriter } = await import('../peers/fs-framing.js');
      const pool = valuePool();
      const w = new FrameWriter(dir);
      const start = startTimer();
      for (let i = 0; i < records; i++) w.appendOne(valueAt(pool, i));
      const seconds = since(start);
      w.close();
      return { ops: records, seconds, bytes: records * VALUE_BYTES };
    },
  },
});
