import { fork } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { defineCase } from '../case.js';
import type { ProbeReply } from '../open-probe.js';

/**
 * Open after a clean close: write `records` records (appends of 1000), `close()`, then time
 * `LogStore.open(dir)` in a fresh process (open-probe.ts). The files are still in the page
 * cache, so this is the cost of logstore's own work at open (catalog, mappings, recovery point),
 * not of the disk. The bytes on disk are stated beside the figure; peak RSS is the probe's.
 */
export default defineCase({
  name: 'open-time',
  measures: 'LogStore.open(dir) in a fresh process after a clean close (write phase not timed)',
  target: '< 1 s for 10 GiB',
  unit: 'ms',
  sizes: { quick: { records: 1_000_000 }, full: { records: 20_000_000 } },
  subjects: {
    async logstore({ records }, dir) {
      const { fillStore } = await import('../logstore.js');
      await fillStore(dir, records);
      const diskBytes = bytesUnder(dir);
      const probe = await openInFreshProcess(dir);
      if (!probe.clean || probe.endOffset !== records) {
        throw new Error(`open found endOffset ${probe.endOffset} (clean: ${probe.clean}), wrote ${records}`);
      }
      return {
        ops: 1,
        seconds: probe.seconds,
        bytes: diskBytes,
        peakRssBytes: probe.peakRssBytes,
        note: `${(records / 1e6).toFixed(0)}M records, ${(diskBytes / 1e6).toFixed(0)} MB on disk`,
      };
    },
  },
});

function bytesUnder(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? bytesUnder(path) : statSync(path).size;
  }
  return total;
}

function openInFreshProcess(dir: string): Promise<ProbeReply> {
  return new Promise((resolve, reject) => {
    const child = fork(new URL('../open-probe.js', import.meta.url), [dir], { stdio: 'inherit' });
    let reply: ProbeReply | undefined;
    child.on('message', (m) => (reply = m as ProbeReply));
    child.on('error', reject);
    child.on('exit', (code) =>
      reply ? resolve(reply) : reject(new Error(`open probe exited with code ${code} before replying`)),
    );
  });
}
