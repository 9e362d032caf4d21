import { fork } from 'node:child_process';
import { join } from 'node:path';
import { defineCase } from '../case.js';
import { TOPIC } from '../logstore.js';
import { openInFreshProcess } from '../open-probe.js';

/**
 * Open after `kill -9`: a writer child (kill-writer.ts) appends `records` 100-byte values with
 * durability 'none' and default 128 MiB segments, and is killed with SIGKILL without `close()`
 * (its appends are in the page cache through the mapping; nothing was synced). Then
 * `LogStore.open(dir)` is timed in a fresh process (open-probe.ts): it finds the unclean stop
 * and verifies every batch after the last recovery point, which with durability 'none' is the
 * start of the log. The note says what the open scanned and cut (`store.recovery`), and its CPU
 * time: under load the wall time is mostly waiting for a core, and the writer's pages are still
 * dirty in the page cache while the open runs (their writeback competes with it).
 */
export default defineCase({
  name: 'recovery-time',
  measures: 'LogStore.open(dir) in a fresh process after a writer (durability none) was killed with SIGKILL',
  unit: 'ms',
  sizes: { quick: { records: 1_000_000 }, full: { records: 20_000_000 } },
  subjects: {
    async logstore({ records }, dir) {
      await writeAndKill(dir, records);
      const trusted = await bytesBeforeRecoveryPoint(dir);
      const probe = await openInFreshProcess(dir);
      if (probe.clean || probe.endOffset !== records) {
        throw new Error(
          `recovery found endOffset ${probe.endOffset} (clean: ${probe.clean}), wrote ${records}`,
        );
      }
      const mb = (probe.bytes - trusted.bytes) / 1e6;
      return {
        ops: 1,
        seconds: probe.seconds,
        bytes: probe.bytes,
        peakRssBytes: probe.peakRssBytes,
        note:
          `${(records / 1e6).toFixed(0)}M records, ${probe.segments} segments; verified ${mb.toFixed(0)} MB ` +
          `from the recovery point (${trusted.where}), ${(mb / probe.seconds / 1e3).toFixed(2)} GB/s ` +
          `(CPU ${probe.cpuSeconds.toFixed(2)} s, ${(mb / probe.cpuSeconds / 1e3).toFixed(2)} GB/s of CPU); ` +
          `cut ${probe.bytesCut} bytes in ${probe.truncated} partition(s)`,
      };
    },
  },
});

/**
 * Where the last recovery point was when the writer died, read from the catalog (not timed; the
 * library does not report it): the bytes of the segments before it are trusted, the rest verified.
 */
async function bytesBeforeRecoveryPoint(dir: string): Promise<{ bytes: number; where: string }> {
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(join(dir, 'catalog.sqlite'), { readonly: true, fileMustExist: true });
  try {
    const point = db
      .prepare(
        'SELECT recovery_segment AS segment, recovery_position AS position FROM partitions WHERE topic = ?',
      )
      .get(TOPIC) as { segment: number; position: number };
    const before = db
      .prepare('SELECT COALESCE(SUM(size), 0) AS bytes FROM segments WHERE topic = ? AND base_offset < ?')
      .get(TOPIC, point.segment) as { bytes: number };
    return { bytes: before.bytes, where: `segment ${point.segment}, position ${point.position}` };
  } finally {
    db.close();
  }
}

function writeAndKill(dir: string, records: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = fork(new URL('../kill-writer.js', import.meta.url), [dir, String(records)], {
      stdio: 'inherit',
    });
    let appended = false;
    child.on('message', (m) => {
      if (m !== 'appended') return;
      appended = true;
      child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (appended && signal === 'SIGKILL') resolve();
      else reject(new Error(`writer exited (${signal ?? code}) before it was killed`));
    });
  });
}
