/**
 * What each codec costs and saves: append and read rates of one partition whose batches are
 * stored with `none`, `gzip`, `snappy`, `lz4` or `zstd`, with the bytes on disk per record.
 * One case per codec and direction, so the table shows the five codecs side by side (rows
 * `codecs-append-*`, then `codecs-read-*`; `--case codecs` runs them alone).
 *
 * The other cases write random values so that no subject gains from compression; here the
 * values are text as applications log it (JSON events from a small vocabulary, 100 bytes each),
 * since compressing random bytes measures nothing.
 */
import { defineCase, since, startTimer, type BenchCase } from '../case.js';

type Codec = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
const CODECS: readonly Codec[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

const VALUE_BYTES = 100;
const BATCH = 1000;
/** Distinct values generated, cycled through: more than a batch, so batches differ. */
const POOL_SIZE = 1 << 14;

const ACTIONS = ['view', 'add-to-cart', 'checkout', 'login', 'logout', 'search', 'refund'];
const PAGES = ['/home', '/cart', '/orders', '/product/blue-widget', '/product/red-gadget', '/account'];
const AGENTS = ['web', 'ios', 'android'];

/**
 * `POOL_SIZE` JSON events of exactly VALUE_BYTES bytes, from a seeded generator (every run and
 * subject writes the same text): `{"ts":...,"user":"u1234","action":"checkout","page":...}`,
 * padded with spaces.
 */
function textPool(): Buffer[] {
  let seed = 20261201;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const pool: Buffer[] = [];
  let ts = 1_764_547_200_000;
  for (let i = 0; i < POOL_SIZE; i++) {
    ts += random(2000);
    const event = JSON.stringify({
      ts,
      user: `u${1000 + random(9000)}`,
      action: ACTIONS[random(ACTIONS.length)],
      page: PAGES[random(PAGES.length)],
      via: AGENTS[random(AGENTS.length)],
    });
    pool.push(Buffer.from(event.padEnd(VALUE_BYTES, ' ').slice(0, VALUE_BYTES), 'utf8'));
  }
  return pool;
}

/** `{ value }` arrays of BATCH records over the pool, built before the timed section. */
function textBatches(): { value: Buffer }[][] {
  const pool = textPool();
  const batches: { value: Buffer }[][] = [];
  for (let start = 0; start < pool.length; start += BATCH) {
    batches.push(Array.from({ length: BATCH }, (_, i) => ({ value: pool[(start + i) % pool.length]! })));
  }
  return batches;
}

const SIZES = { quick: { records: 200_000 }, full: { records: 1_000_000 } };

function bytesPerRecord(bytes: number, records: number): string {
  return `${(bytes / records).toFixed(1)} B/record on disk`;
}

function appendCase(codec: Codec): BenchCase {
  return defineCase({
    name: `codecs-append-${codec}`,
    measures: `append 100-byte JSON text values, 1000 per call, stored with ${codec}`,
    unit: 'rec/s',
    sizes: SIZES,
    subjects: {
      async logstore({ records }, dir) {
        const { openStore, partitionSize, TOPIC } = await import('../logstore.js');
        const batches = textBatches();
        const store = await openStore(dir, { durability: 'none' });
        const start = startTimer();
        for (let i = 0; i < records / BATCH; i++) {
          store.append(TOPIC, batches[i % batches.length]!, { partition: 0, compression: codec });
        }
        const seconds = since(start);
        const { bytes } = partitionSize(store);
        await store.close();
        return { ops: records, seconds, bytes: records * VALUE_BYTES, note: bytesPerRecord(bytes, records) };
      },
    },
  });
}

function readCase(codec: Codec): BenchCase {
  return defineCase({
    name: `codecs-read-${codec}`,
    measures: `read back 100-byte JSON text values stored with ${codec} (batches of 1000), from earliest`,
    unit: 'rec/s',
    sizes: SIZES,
    subjects: {
      async logstore({ records }, dir) {
        const { openStore, partitionSize, TOPIC } = await import('../logstore.js');
        const batches = textBatches();
        const writer = await openStore(dir, { durability: 'none' });
        for (let i = 0; i < records / BATCH; i++) {
          writer.append(TOPIC, batches[i % batches.length]!, { partition: 0, compression: codec });
        }
        await writer.close();
        const store = await openStore(dir);
        const { bytes } = partitionSize(store);
        const reader = store.reader(TOPIC, { partition: 0, from: 'earliest' });
        let ops = 0;
        let valueBytes = 0;
        const start = startTimer();
        for (let recs = reader.read(10_000); recs.length > 0; recs = reader.read(10_000)) {
          for (const rec of recs) valueBytes += rec.value!.length;
          ops += recs.length;
        }
        const seconds = since(start);
        reader.close();
        await store.close();
        if (ops !== records || valueBytes !== records * VALUE_BYTES) {
          throw new Error(
            `read ${ops} records of ${valueBytes} bytes, expected ${records} of ${VALUE_BYTES}`,
          );
        }
        return { ops, seconds, bytes: valueBytes, note: bytesPerRecord(bytes, records) };
      },
    },
  });
}

export default [...CODECS.map(appendCase), ...CODECS.map(readCase)];
