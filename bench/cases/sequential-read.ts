import { defineCase, since, startTimer, type Measurement } from '../case.js';
import { fillApart } from '../fill-apart.js';
import { valueAt, valuePool } from '../values.js';

/**
 * Reads a whole log back from the start. The write phase (batched, as in batched-append) and a
 * clean close/reopen are not timed: the reads come from the page cache, as for a consumer that
 * catches up shortly after the producer. logstore and the fs-framing ceiling write in a forked
 * process (fill-apart.ts), so the fill's garbage is not collected during the timed reads; the
 * peers with their own engines write in the measuring process. logstore verifies each batch's CRC32C as it reads; the
 * peers check what their engines check by default, and fs-framing checks nothing (the ceiling).
 */
const sequentialRead = defineCase({
  name: 'sequential-read',
  measures: 'read every record back in order from a reopened store (write phase not timed)',
  target: '>= 5M rec/s and >= 0.75x fs-framing',
  goal: { of: 'median', atLeast: 5e6, vsPeers: { 'fs-framing': 0.75 } },
  unit: 'rec/s',
  sizes: { quick: { records: 300_000 }, full: { records: 1_000_000 } },
  subjects: {
    logstore: ({ records }, dir) => readBack(records, dir, true),

    async sqlite({ records }, dir) {
      const { openQueue, inserter, readAll } = await import('../peers/sqlite.js');
      const pool = valuePool();
      const writer = openQueue(dir, 'NORMAL');
      const insert = inserter(writer);
      writer.transaction(() => {
        for (let i = 0; i < records; i++) insert(valueAt(pool, i));
      })();
      writer.close();
      const db = openQueue(dir, 'NORMAL');
      const start = startTimer();
      const { ops, bytes } = readAll(db);
      const seconds = since(start);
      db.close();
      return checked({ ops, seconds, bytes }, records);
    },

    async lmdb({ records }, dir) {
      const { openDb, readAll } = await import('../peers/lmdb.js');
      const pool = valuePool();
      const writer = openDb(dir);
      writer.transactionSync(() => {
        for (let i = 0; i < records; i++) writer.putSync(i, valueAt(pool, i));
      });
      await writer.close();
      const db = openDb(dir);
      const start = startTimer();
      const { ops, bytes } = readAll(db);
      const seconds = since(start);
      await db.close();
      return checked({ ops, seconds, bytes }, records);
    },

    async leveldb({ records }, dir) {
      const { openDb, keyOf, readAll } = await import('../peers/leveldb.js');
      const pool = valuePool();
      const writer = await openDb(dir);
      for (let first = 0; first < records; first += 1000) {
        const ops = [];
        for (let i = first; i < Math.min(records, first + 1000); i++) {
          ops.push({ type: 'put' as const, key: keyOf(i), value: valueAt(pool, i) });
        }
        await writer.batch(ops);
      }
      await writer.close();
      const db = await openDb(dir);
      const start = startTimer();
      const { ops, bytes } = await readAll(db);
      const seconds = since(start);
      await db.close();
      return checked({ ops, seconds, bytes }, records);
    },

    'fs-framing': ({ records }, dir) => fsFraming(records, dir),
  },
});

/**
 * The same read with `copy: false`: keys and values are views into the reader's read buffers,
 * valid until the next `read()`, instead of copies. Its peer is the ceiling only: fs-framing hands
 * out views into its read buffer the same way.
 */
const sequentialReadZeroCopy = defineCase({
  name: 'sequential-read-zero-copy',
  measures:
    'read every record back in order with copy: false (views into its read buffers); write phase not timed',
  target: '>= 1.0x fs-framing',
  goal: { of: 'median', vsPeers: { 'fs-framing': 1 } },
  unit: 'rec/s',
  sizes: { quick: { records: 300_000 }, full: { records: 1_000_000 } },
  subjects: {
    logstore: ({ records }, dir) => readBack(records, dir, false),
    'fs-framing': ({ records }, dir) => fsFraming(records, dir),
  },
});

export default [sequentialRead, sequentialReadZeroCopy];

/**
 * Fills a store, reopens it and reads it back in `read()` calls of the reader's default size, 1000
 * records (what `for...of` reads), timing only the reads. The records a call returns stay alive
 * until the caller drops them, and V8's young-generation collector copies every live one: returned
 * 10000 at a time, 1M records cost about 1.6-1.9x the CPU time of 1000 at a time, most of it
 * collection (bench/micro/read-path.ts, `--chunk`). The peers hand out one value at a time.
 */
async function readBack(records: number, dir: string, copy: boolean): Promise<Measurement> {
  const { openStore, TOPIC } = await import('../logstore.js');
  await fillApart('logstore', dir, records);
  const store = await openStore(dir);
  const reader = store.reader(TOPIC, { partition: 0, from: 'earliest', copy });
  let ops = 0;
  let bytes = 0;
  let lastOffset = -1;
  const start = startTimer();
  for (;;) {
    const recs = reader.read();
    if (recs.length === 0) break;
    for (const rec of recs) bytes += rec.value!.length;
    ops += recs.length;
    lastOffset = recs[recs.length - 1]!.offset;
  }
  const seconds = since(start);
  reader.close();
  await store.close();
  return checked({ ops, seconds, bytes }, records, lastOffset === records - 1);
}

/** The ceiling: the same values as length-prefixed frames in a plain file, read with readSync. */
async function fsFraming(records: number, dir: string): Promise<Measurement> {
  const { framesPath, readAll } = await import('../peers/fs-framing.js');
  await fillApart('frames', dir, records);
  const start = startTimer();
  const { ops, bytes } = readAll(framesPath(dir));
  const seconds = since(start);
  return checked({ ops, seconds, bytes }, records);
}

/** A read that did not see every record it wrote is a failure, not a fast run. */
function checked(m: Measurement, records: number, ok = true): Measurement {
  if (m.ops !== records || !ok) throw new Error(`read ${m.ops} records back, wrote ${records}`);
  return m;
}
