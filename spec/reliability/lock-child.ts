/**
 * A second process for the locking tests: `node lock-child.js '{"dir","mode"}'`.
 *   mode 'writer':   tries LogStore.open(dir); prints `opened <ms>` (then closes) or `refused <code> <ms>`
 *   mode 'follower': opens read-only and reads every partition; prints `follower <ms> <records>`
 *                    or `refused <code> <ms>`
 * <ms> is the time the open (and, for a follower, the reads) took.
 */
import fs from 'node:fs';
import { LogStore, LogStoreError } from '../../lib/index.js';
import { readPartition } from './inspect.js';

const { dir, mode } = JSON.parse(process.argv[2]!) as { dir: string; mode: 'writer' | 'follower' };
const out = (line: string) => fs.writeSync(1, line + '\n');
const t0 = performance.now();
try {
  if (mode === 'writer') {
    const store = LogStore.open(dir, { cleanupIntervalMs: 0 });
    out(`opened ${(performance.now() - t0).toFixed(3)}`);
    await store.close();
  } else {
    const store = LogStore.open(dir, { readOnly: true });
    let records = 0;
    for (const t of store.topics())
      for (let p = 0; p < t.partitionCount; p++) records += readPartition(store, t.name, p).length;
    out(`follower ${(performance.now() - t0).toFixed(3)} ${records}`);
    await store.close();
  }
} catch (err) {
  const code = err instanceof LogStoreError ? err.code : `NOT_A_LOGSTORE_ERROR:${(err as Error).name}`;
  out(`refused ${code} ${(performance.now() - t0).toFixed(3)}`);
}
