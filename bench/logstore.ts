/**
 * The bench's only door into logstore: opening a store with the one-partition topic every case
 * uses, and filling it for the read cases. The library is imported lazily so that children
 * running a peer never load it (and so the harness still runs the peers if it fails to load).
 */
import { statfsSync } from 'node:fs';
import type { LogStore, StoreOptions } from '../lib/index.js';
import { recordBatches, valuePool } from './values.js';

export const TOPIC = 'bench';

export async function loadLogStore(): Promise<typeof LogStore> {
  return (await import('../lib/index.js')).LogStore;
}

/** Opens a store in `dir`; creates the topic (one partition) unless it exists. */
export async function openStore(dir: string, options?: StoreOptions): Promise<LogStore> {
  const LogStoreClass = await loadLogStore();
  const store = LogStoreClass.open(dir, options);
  if (!store.topics().some((t) => t.name === TOPIC)) store.createTopic(TOPIC, { partitions: 1 });
  return store;
}

/** Writes `records` 100-byte values in appends of 1000 and closes the store cleanly. */
export async function fillStore(dir: string, records: number): Promise<void> {
  const batches = recordBatches(valuePool(), 1000);
  const store = await openStore(dir);
  for (let i = 0; i * 1000 < records; i++) {
    const batch = batches[i % batches.length]!;
    store.append(TOPIC, (i + 1) * 1000 <= records ? batch : batch.slice(0, records - i * 1000), {
      partition: 0,
    });
  }
  await store.close();
}

/**
 * Writes appends of 1000 100-byte values until the partition holds at least `bytes` bytes of
 * batches, then closes the store cleanly. Returns the records written and the partition's size.
 */
export async function fillStoreBytes(
  dir: string,
  bytes: number,
): Promise<{ records: number; bytes: number; segments: number }> {
  const batches = recordBatches(valuePool(), 1000);
  const store = await openStore(dir);
  let records = 0;
  for (let i = 0; ; i++) {
    // describeTopic is cheap but not free: look every 1000 appends (~110 MB).
    if (i % 1000 === 0 && partitionSize(store).bytes >= bytes) break;
    store.append(TOPIC, batches[i % batches.length]!, { partition: 0 });
    records += 1000;
  }
  const { bytes: written, segments } = partitionSize(store);
  await store.close();
  return { records, bytes: written, segments };
}

/** Bytes of batches and segment count of the bench topic's only partition. */
export function partitionSize(store: LogStore): { bytes: number; segments: number; endOffset: number } {
  const p = store.describeTopic(TOPIC).partitions[0]!;
  return { bytes: p.bytes, segments: p.segments, endOffset: p.endOffset };
}

/**
 * Reads a reader to its end `chunk` records at a time, touching every value; returns how many
 * records it read (-1 if the values were empty: nothing was really read). For the read micro
 * benchmarks, whose readers may come from another checkout's build.
 */
export function readEvery(reader: { read(max: number): { value: Buffer | null }[] }, chunk: number): number {
  let seen = 0;
  let sum = 0;
  for (;;) {
    const recs = reader.read(chunk);
    if (recs.length === 0) break;
    for (const rec of recs) sum += rec.value!.length;
    seen += recs.length;
  }
  return sum > 0 ? seen : -1;
}

/** Bytes free for an unprivileged user on the file system holding `dir`. */
export function freeBytes(dir: string): number {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
}

export const GiB = 2 ** 30;
export const MiB = 2 ** 20;
