import { setImmediate as nextTurn } from 'node:timers/promises';
import { defineCase, since } from '../case.js';
import { latencyPercentiles } from '../stats.js';

/**
 * Append -> live reader latency in one process. A `for await` reader from 'latest' waits for new
 * records while a producer appends one record about every `intervalUs` microseconds, each value
 * holding the producer's `process.hrtime.bigint()` as 8 bytes; the latency is the reader's
 * hrtime on receipt minus that. The producer paces itself on hrtime and yields to the event loop
 * between records (timers cannot fire every 0.2 ms). The first `warmup` records are not counted.
 */
export default defineCase({
  name: 'live-latency',
  measures: 'append -> for-await live reader latency in one process, one record every ~0.2 ms',
  target: 'p99 < 1 ms',
  goal: { of: 'median', below: 1 },
  unit: 'latency',
  sizes: {
    quick: { samples: 5_000, warmup: 500, intervalUs: 200 },
    full: { samples: 20_000, warmup: 1_000, intervalUs: 200 },
  },
  subjects: {
    async logstore({ samples, warmup, intervalUs }, dir) {
      const { openStore, TOPIC } = await import('../logstore.js');
      const store = await openStore(dir);
      const total = warmup + samples;
      const latencies = new Float64Array(samples);
      const reader = store.reader(TOPIC, { partition: 0, from: 'latest' });

      const consume = (async () => {
        let received = 0;
        for await (const rec of reader) {
          const sent = rec.value!.readBigUInt64LE(0);
          const ms = Number(process.hrtime.bigint() - sent) / 1e6;
          if (received >= warmup) latencies[received - warmup] = ms;
          if (++received === total) break;
        }
        return received;
      })();

      const start = process.hrtime.bigint();
      const step = BigInt(intervalUs * 1000);
      let due = process.hrtime.bigint();
      for (let i = 0; i < total; i++) {
        // At least one turn per record, so the reader runs even when the producer is behind.
        do await nextTurn();
        while (process.hrtime.bigint() < due);
        const value = Buffer.allocUnsafe(8);
        value.writeBigUInt64LE(process.hrtime.bigint());
        store.append(TOPIC, { value, timestamp: Date.now() }, { partition: 0 });
        due += step;
      }
      const received = await consume;
      const seconds = since(start);
      reader.close();
      await store.close();
      if (received !== total) throw new Error(`live reader got ${received} of ${total} records`);
      const latencyMs = latencyPercentiles(latencies);
      return { ops: samples, seconds, bytes: samples * 8, latencyMs };
    },
  },
});
