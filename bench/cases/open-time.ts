import { tmpdir } from 'node:os';
import { defineCase } from '../case.js';
import { openInFreshProcess } from '../open-probe.js';

/**
 * Open after a clean close of a large store: write `gib` GiB of batches (appends of 1000 100-byte
 * values, default 128 MiB segments), `close()`, then time `LogStore.open(dir)` in a fresh process
 * (open-probe.ts). The files are still in the page cache, so this is the cost of logstore's own
 * work at open (catalog, mappings, recovery point), not of the disk. If the temp dir's file
 * system has less than `gib` + 2 GiB free, the run writes the largest whole number of GiB that
 * leaves 2 GiB free, and says so in the note. Peak RSS is the probe's.
 */
const HEADROOM_GIB = 2;

export default defineCase({
  name: 'open-time',
  measures: 'LogStore.open(dir) in a fresh process after a clean close of a large store (write not timed)',
  target: '< 1 s for 10 GiB',
  goal: { of: 'median', below: 1000 },
  unit: 'ms',
  sizes: { quick: { gib: 0.5 }, full: { gib: 10 } },
  maxRuns: { full: 3 },
  subjects: {
    async logstore({ gib }, dir) {
      const { fillStoreBytes, freeBytes, GiB } = await import('../logstore.js');
      const free = freeBytes(tmpdir());
      const fits = Math.floor(free / GiB) - HEADROOM_GIB;
      const size = Math.min(gib, fits);
      if (size <= 0) throw new Error(`only ${(free / GiB).toFixed(1)} GiB free in ${tmpdir()}`);
      const filled = await fillStoreBytes(dir, size * GiB);
      const probe = await openInFreshProcess(dir);
      if (!probe.clean || probe.endOffset !== filled.records) {
        throw new Error(
          `open found endOffset ${probe.endOffset} (clean: ${probe.clean}), wrote ${filled.records}`,
        );
      }
      const smaller = size < gib ? ` (not ${gib} GiB: ${(free / GiB).toFixed(1)} GiB free)` : '';
      return {
        ops: 1,
        seconds: probe.seconds,
        bytes: filled.bytes,
        peakRssBytes: probe.peakRssBytes,
        note:
          `${(filled.bytes / GiB).toFixed(2)} GiB${smaller}, ${(filled.records / 1e6).toFixed(1)}M records, ` +
          `${filled.segments} segments`,
      };
    },
  },
});
