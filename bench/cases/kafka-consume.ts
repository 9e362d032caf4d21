import { closeSync, openSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { defineCase, since, type Measurement } from '../case.js';
import { kcat, startLogstoreServe, startMockBroker, type Broker } from './kafka-brokers.js';
import { messageFile } from './kafka-produce.js';

/**
 * kcat (librdkafka) consuming a 4-partition topic from the beginning to its end, through
 * `logstore serve` (read from the log's segments) and through librdkafka's mock broker (from
 * memory). The mock keeps only the last 5 MiB of each partition, so each partition holds
 * `perPartition` 100-byte messages, under that (produced by kcat, untimed). kcat prints one byte
 * a message to a file, whose size is checked; the timed section is the kcat run, start to exit.
 */
export default defineCase({
  name: 'kafka-consume',
  measures: 'kcat -C of a 4-partition topic of 100-byte messages, beginning to end, start to exit',
  target: '>= 1x the mock broker',
  goal: { of: 'median', vsPeers: { 'librdkafka-mock': 1 } },
  unit: 'rec/s',
  sizes: { quick: { perPartition: 40_000 }, full: { perPartition: 40_000 } },
  requires: ['kcat'],
  subjects: {
    logstore: ({ perPartition }, dir) =>
      consumeThrough(() => startLogstoreServe(join(dir, 'store'), PARTITIONS), perPartition, dir),
    'librdkafka-mock': ({ perPartition }, dir) => consumeThrough(startMockBroker, perPartition, dir),
  },
});

const PARTITIONS = 4;

async function consumeThrough(
  start: () => Promise<Broker>,
  perPartition: number,
  dir: string,
): Promise<Measurement> {
  const file = messageFile(dir, perPartition);
  const records = perPartition * PARTITIONS;
  const broker = await start();
  try {
    for (let p = 0; p < PARTITIONS; p++) {
      await kcat(broker.bootstrap, ['-P', '-t', 'bench', '-p', String(p), '-l', file]);
    }
    const out = join(dir, 'consumed');
    const fd = openSync(out, 'w');
    let seconds: number;
    const cpuBefore = broker.cpuSeconds();
    try {
      const begin = process.hrtime.bigint();
      await kcat(broker.bootstrap, ['-C', '-t', 'bench', '-o', 'beginning', '-e', '-q', '-f', '.'], fd);
      seconds = since(begin);
    } finally {
      closeSync(fd);
    }
    const got = statSync(out).size;
    if (got !== records) throw new Error(`kcat consumed ${got} messages, not ${records}`);
    const note = `broker: ${(broker.cpuSeconds() - cpuBefore).toFixed(2)} s CPU, peak RSS its own`;
    return { ops: records, seconds, bytes: records * 100, peakRssBytes: broker.peakRssBytes(), note };
  } finally {
    await broker.stop();
  }
}
