import { defineCase } from '../case.js';
import { VALUE_BYTES } from '../values.js';
import {
  kcatProduce,
  MIRROR_TOPIC,
  recordLines,
  timedKcat,
  timedMirror,
  withMock,
} from './mirror-cluster.js';

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
    logstore: ({ records }, dir) =>
      withMock(async (bootstrap) => {
        await kcatProduce(bootstrap, recordLines(records));
        return timedMirror(dir, records, () => undefined, { from: bootstrap, topics: [MIRROR_TOPIC] });
      }),

    kcat: ({ records }) =>
      withMock(async (bootstrap) => {
        await kcatProduce(bootstrap, recordLines(records));
        const seconds = await timedKcat([
          '-b',
          bootstrap,
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
      }),
  },
});
