import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { defineCase, since } from '../case.js';
import { latencyPercentiles } from '../stats.js';
import { startLogstoreServe } from './kafka-brokers.js';

/**
 * kafkajs produce -> consume latency through `logstore serve` (another process) at about
 * `rate` messages a second: a kafkajs producer (acks=all, one message a request, sends not
 * awaited one by one) and a kafkajs group consumer in this process; each value holds the
 * producer's `process.hrtime.bigint()` as 8 bytes, the latency is the consumer's hrtime in
 * eachMessage minus that. The consumer long-polls (Fetch max wait 5 s), so what is measured is
 * the wake-up of a waiting Fetch by an append, plus both clients. The first `warmup` messages
 * are not counted.
 */
export default defineCase({
  name: 'kafka-latency',
  measures: 'kafkajs producer -> kafkajs consumer through logstore serve, ~1k msg/s',
  target: 'p99 < 10 ms',
  goal: { of: 'median', below: 10 },
  unit: 'latency',
  sizes: {
    quick: { samples: 3_000, warmup: 500, rate: 1_000 },
    full: { samples: 10_000, warmup: 1_000, rate: 1_000 },
  },
  subjects: {
    async logstore({ samples, warmup, rate }, dir) {
      const { Kafka, logLevel } = (await import('kafkajs')).default;
      const broker = await startLogstoreServe(join(dir, 'store'));
      const kafka = new Kafka({ brokers: [broker.bootstrap], clientId: 'bench', logLevel: logLevel.NOTHING });
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic: 'bench', numPartitions: 1 }] });
      await admin.disconnect();
      const producer = kafka.producer({ allowAutoTopicCreation: false });
      const consumer = kafka.consumer({ groupId: 'bench', maxWaitTimeInMs: 5_000 });
      const total = warmup + samples;
      const latencies = new Float64Array(samples);
      let received = 0;
      let allReceived!: () => void;
      const done = new Promise<void>((resolve) => (allReceived = resolve));
      try {
        await producer.connect();
        await consumer.connect();
        const joined = new Promise<void>((resolve) =>
          consumer.on(consumer.events.GROUP_JOIN, () => resolve()),
        );
        await consumer.subscribe({ topic: 'bench', fromBeginning: true });
        await consumer.run({
          eachMessage: async ({ message }) => {
            const ms = Number(process.hrtime.bigint() - message.value!.readBigUInt64LE(0)) / 1e6;
            if (received >= warmup && received < total) latencies[received - warmup] = ms;
            if (++received === total) allReceived();
          },
        });
        await joined;

        const cpuBefore = broker.cpuSeconds();
        const start = process.hrtime.bigint();
        const stepNs = 1e9 / rate;
        const sends: Promise<unknown>[] = [];
        for (let i = 0; i < total; i++) {
          // Paced on hrtime. At least one turn of the event loop per message, so the consumer and
          // the earlier sends run even when the producer is behind; a timer only when ahead by a
          // tick (~1 ms), so the pacing does not spin on the cores the broker needs.
          const aheadMs = (Number(start) + i * stepNs - Number(process.hrtime.bigint())) / 1e6;
          if (aheadMs >= 1) await sleep(Math.floor(aheadMs));
          else await nextTurn();
          const value = Buffer.allocUnsafe(8);
          value.writeBigUInt64LE(process.hrtime.bigint());
          sends.push(producer.send({ topic: 'bench', acks: -1, messages: [{ value }] }));
        }
        await Promise.all(sends);
        await Promise.race([done, sleep(60_000)]);
        const seconds = since(start);
        if (received !== total) throw new Error(`the consumer got ${received} of ${total} messages`);
        const peakRssBytes = broker.peakRssBytes();
        // The broker's CPU for the timed messages: the steadier figure where two processes share the cores.
        const note = `broker: ${(broker.cpuSeconds() - cpuBefore).toFixed(2)} s CPU`;
        return {
          ops: samples,
          seconds,
          bytes: samples * 8,
          latencyMs: latencyPercentiles(latencies),
          peakRssBytes,
          note,
        };
      } finally {
        await consumer.disconnect();
        await producer.disconnect();
        await broker.stop();
      }
    },
  },
});
