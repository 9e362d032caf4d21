/**
 * The bench's only door into logstore: opening a store with the one-partition topic every case
 * uses, and filling it for the read cases. The library is imported lazily so that children
 * running a peer never load it (and so the harness still runs the peers if it fails to load).
 */
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
