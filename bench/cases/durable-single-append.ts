import { defineCase, since, startTimer } from '../case.js';
import { VALUE_BYTES, valueAt, valuePool } from '../values.js';

/**
 * One record per call, each on stable storage before the call returns: the rate is bounded by
 * the disk's sync latency. Runs until `records` appends or `seconds` elapse, whichever is first
 * (the clock is read every 16 appends so it costs nothing next to a sync). The fs-framing file
 * grows with every append, so each of its fdatasyncs also commits the new file size; logstore
 * writes into preallocated blocks, which is part of what is being compared.
 */
export default defineCase({
  name: 'durable-single-append',
  measures: "append one record per call, synced before returning (logstore durability: 'always')",
  target: '>= 7k rec/s',
  goal: { of: 'median', atLeast: 7e3 },
  unit: 'rec/s',
  sizes: { quick: { records: 3_000, seconds: 0.5 }, full: { records: 20_000, seconds: 5 } },
  subjects: {
    async logstore({ records, seconds }, dir) {
      const { openStore, TOPIC } = await import('../logstore.js');
      const pool = valuePool();
      const store = await openStore(dir, { durability: 'always' });
      const run = untilDone(records, seconds, (i) => {
        store.append(TOPIC, { value: valueAt(pool, i) });
      });
      await store.close();
      return run;
    },

    async sqlite({ records, seconds }, dir) {
      const { openQueue, inserter } = await import('../peers/sqlite.js');
      const pool = valuePool();
      const db = openQueue(dir, 'FULL');
      const insert = inserter(db);
      const run = untilDone(records, seconds, (i) => insert(valueAt(pool, i)));
      db.close();
      return run;
    },

    async 'fs-framing'({ records, seconds }, dir) {
      const { FrameWriter } = await import('../peers/fs-framing.js');
      const pool = valuePool();
      const w = new FrameWriter(dir);
      const run = untilDone(records, seconds, (i) => {
        w.appendOne(valueAt(pool, i));
        w.sync();
      });
      w.close();
      return run;
    },
  },
});

function untilDone(records: number, maxSeconds: number, appendOne: (i: number) => void) {
  const start = startTimer();
  let ops = 0;
  while (ops < records && ((ops & 15) !== 0 || since(start) < maxSeconds)) appendOne(ops++);
  const seconds = since(start);
  return { ops, seconds, bytes: ops * VALUE_BYTES, note: `${ops} appends in ${seconds.toFixed(1)} s` };
}
