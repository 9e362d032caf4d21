import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { defineCase, since, type Measurement } from '../case.js';
import { kcat, lastOffset, startLogstoreServe, startMockBroker, type Broker } from './kafka-brokers.js';

/**
 * kcat (librdkafka) producing `records` 100-byte messages from a file to one partition, through
 * `logstore serve` (stored in the log) and through librdkafka's own mock broker (kept in memory,
 * only its last 5 MiB per partition). Each broker first takes 10,000 messages on another topic
 * (topic creation, first connections, the server's JIT); the timed section is the kcat run from
 * start to exit, which waits until every message is acknowledged (acks=all, kcat's defaults).
 */
export default defineCase({
  name: 'kafka-produce',
  measures: 'kcat -P of 100-byte messages to one partition, start to exit (all acknowledged)',
  target: '>= 800k msg/s and >= 1x the mock broker',
  goal: { of: 'median', atLeast: 800_000, vsPeers: { 'librdkafka-mock': 1 } },
  unit: 'rec/s',
  sizes: { quick: { records: 300_000 }, full: { records: 1_000_000 } },
  maxRuns: { quick: 3, full: 5 },
  requires: ['kcat'],
  subjects: {
    logstore: ({ records }, dir) =>
      produceThrough(() => startLogstoreServe(join(dir, 'store')), records, dir),
    'librdkafka-mock': ({ records }, dir) => produceThrough(startMockBroker, records, dir),
  },
});

/** A file of `records` lines of 100 bytes each (kcat -l sends one message a line). */
export function messageFile(dir: string, records: number, name = 'messages.txt'): string {
  const file = join(dir, name);
  const line = Buffer.alloc(101, 'v');
  line[100] = 0x0a;
  const chunk = Buffer.concat(Array<Buffer>(1000).fill(line));
  const fd = openSync(file, 'w');
  try {
    for (let left = records; left > 0; left -= 1000) {
      writeSync(fd, left >= 1000 ? chunk : chunk.subarray(0, left * 101));
    }
  } finally {
    closeSync(fd);
  }
  return file;
}

async function produceThrough(
  start: () => Promise<Broker>,
  records: number,
  dir: string,
): Promise<Measurement> {
  const file = messageFile(dir, records);
  const warmup = messageFile(dir, 10_000, 'warmup.txt');
  const broker = await start();
  try {
    await kcat(broker.bootstrap, ['-P', '-t', 'warmup', '-p', '0', '-l', warmup]);
    const cpuBefore = broker.cpuSeconds();
    const begin = process.hrtime.bigint();
    await kcat(broker.bootstrap, ['-P', '-t', 'bench', '-p', '0', '-l', file]);
    const seconds = since(begin);
    const last = await lastOffset(broker.bootstrap, 'bench', 0);
    if (last !== records - 1) throw new Error(`the last offset is ${last}, not ${records - 1}`);
    const note = `broker: ${(broker.cpuSeconds() - cpuBefore).toFixed(2)} s CPU, peak RSS its own`;
    return { ops: records, seconds, bytes: records * 100, peakRssBytes: broker.peakRssBytes(), note };
  } finally {
    await broker.stop();
  }
}
