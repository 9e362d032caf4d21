/**
 * The writer the recovery-time case kills: opens the store in `dir` with durability 'none' (so
 * no sync, and no recovery point, is ever written), appends `records` 100-byte values in appends
 * of 1000, says so over IPC, and then waits, never closing, for its SIGKILL.
 *
 *   fork(kill-writer.js, [dir, records])
 */
import { openStore, TOPIC } from './logstore.js';
import { recordBatches, valuePool } from './values.js';

const [dir, count] = process.argv.slice(2);
const records = Number(count);
if (dir === undefined || !Number.isInteger(records) || process.send === undefined) {
  throw new Error('usage: fork(kill-writer.js, [dir, records])');
}
const batches = recordBatches(valuePool(), 1000);
const store = await openStore(dir, { durability: 'none' });
for (let i = 0; i * 1000 < records; i++) {
  const batch = batches[i % batches.length]!;
  store.append(TOPIC, (i + 1) * 1000 <= records ? batch : batch.slice(0, records - i * 1000), {
    partition: 0,
  });
}
process.send('appended');
// Keep the event loop alive until killed; `store` stays open.
setInterval(() => store, 1 << 30);
