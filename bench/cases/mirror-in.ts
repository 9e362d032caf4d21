import { defineCase, since } from '../case.js';
import { VALUE_BYTES } from '../values.js';
import { kcatProduce, MIRROR_TOPIC, recordLines, startMock, timedKcat } from './mirror-cluster.js';

/**
 * The way in: a topic of librdkafka's mock cluster (3 brokers, 4 partitions, filled by kcat
 * before the timed section) pulled into a fresh store by `store.mirror({ from })`: fetches,
 * the write-ahead positions (one catalog transaction per fetched partition) and the appends. The
 * peer is kcat (librdkafka's consumer) reading the same topic to its end, process start
 * included. The mock keeps 5 MiB per partition, which bounds the sizes.
 */
export default defineCase({
  name: 'mirror-in',
  measures:
    "Kafka -> store: `store.mirror({ from })` of 100-byte values (4 partitions) from librdkafka's mock cluster (3 brokers), vs kcat -C of the same topic",
  unit: 'rec/s',
  requires: ['kcat'],
  sizes: { quick: { records: 100_000 }, full: { records: 140_000 } },
  subjects: {
    async logstore({ records }, dir) {
      const mock = await startMock();
      try {
        await kcatProduce(mock.bootstrap, recordLines(records));
        const { loadLogStore } = await import('../logstore.js');
        const store = (await loadLogStore()).open(dir, { durability: 'none' });
        const start = process.hrtime.bigint();
        const done = await store.mirror({ from: mock.bootstrap, topics: [MIRROR_TOPIC] }).done;
        const seconds = since(start);
        await store.close();
        if (done.records !== records) throw new Error(`mirrored ${done.records} of ${records} records`);
        return { ops: records, seconds, bytes: records * VALUE_BYTES };
      } finally {
        await mock.stop();
      }
    },

    async kcat({ records }) {
      const mock = await startMock();
      try {
        await kcatProduce(mock.bootstrap, recordLines(records));
        const seconds = await timedKcat([
          '-b',
          mock.bootstrap,
          '-C',
          '-t',
          MIRROR_TOPIC,
          '-o',
          'beginning',
          '-e',
          '-q',
          '-f',
          '%k%s\n',
        ]);
        return { ops: records, seconds, bytes: records * VALUE_BYTES };
      } finally {
        await mock.stop();
      }
    },
  },
});
