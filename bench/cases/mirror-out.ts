import { defineCase } from '../case.js';
import { VALUE_BYTES } from '../values.js';
import {
  kcatProduce,
  MIRROR_TOPIC,
  PARTITIONS,
  recordLines,
  timedMirror,
  withMock,
} from './mirror-cluster.js';

/**
 * The way out: a store's topic (4 partitions, appends of 1000 records, so stored batches of ~250)
 * copied to librdkafka's mock cluster (3 brokers) by `store.mirror({ to })`: connecting,
 * metadata, the idempotent producer and every acknowledgement inside the timed section. The peer
 * is kcat (librdkafka's producer) sending the same records to a fresh mock, process start
 * included. MB/s counts the 100-byte values.
 */
export default defineCase({
  name: 'mirror-out',
  measures:
    "store -> Kafka: `store.mirror({ to })` of 100-byte values (4 partitions) to librdkafka's mock cluster (3 brokers), vs kcat -P of the same records",
  unit: 'rec/s',
  requires: ['kcat'],
  sizes: { quick: { records: 100_000 }, full: { records: 400_000 } },
  subjects: {
    logstore: ({ records }, dir) =>
      withMock((bootstrap) =>
        timedMirror(
          dir,
          records,
          (store) => {
            store.createTopic(MIRROR_TOPIC, { partitions: PARTITIONS });
            const lines = recordLines(records).map((l) => {
              const [key, value] = l.split('\t') as [string, string];
              return { key, value };
            });
            for (let i = 0; i < records; i += 1000) store.append(MIRROR_TOPIC, lines.slice(i, i + 1000));
          },
          { to: bootstrap },
        ),
      ),

    kcat: ({ records }) =>
      withMock(async (bootstrap) => {
        const seconds = await kcatProduce(bootstrap, recordLines(records));
        return { ops: records, seconds, bytes: records * VALUE_BYTES };
      }),
  },
});
