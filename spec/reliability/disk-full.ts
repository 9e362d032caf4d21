/**
 * Disk full (issue 7, item 4). A writer child runs under a file size limit (`ulimit -f`: the
 * kernel refuses writes past it, and Node ignores SIGXFSZ, so calls fail with EFBIG), or on a
 * tiny tmpfs (ENOSPC), and appends until appends fail; it keeps trying for a while (appends and
 * flushes), then closes or is killed. Every failure must be LOGSTORE_DISK_FULL, the process must
 * live on (no SIGBUS from a mapped page with no block behind it, no SIGXFSZ), and the store must
 * reopen to exactly the acknowledged records: a refused append writes nothing.
 *
 * Limits are chosen to hit each kind of file: a segment growing its preallocation (big segments),
 * the catalog's -wal (many small segments, one catalog commit per roll), a new segment's first
 * preallocation (a limit below it).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Durability } from '../../lib/index.js';
import { inspectStore } from './inspect.js';
import { judge } from './ledger.js';
import { between, prng } from './records.js';
import { startWriter } from './writer.js';

export interface DiskFullFigures {
  runs: number;
  /** Runs in which the limit was reached (LOGSTORE_DISK_FULL seen). */
  injections: number;
  diskFullErrors: number;
  /**
   * LOGSTORE_IO from the catalog under `ulimit -f`: SQLite reports EFBIG as a plain write error
   * (SQLITE_IOERR_WRITE; only ENOSPC becomes SQLITE_FULL), so this is the best it can say.
   */
  catalogIo: number;
  /** Failures with any other code or type (should be none). */
  otherErrors: number;
  /** Children killed by a signal we did not send (SIGBUS, SIGXFSZ, SIGSEGV). */
  signals: number;
  sigbus: number;
  recordsAcked: number;
  ackedLost: number;
  /** Records in the reopened store beyond the acknowledged ones (a refused append that wrote). */
  extraRecords: number;
  garbage: number;
  failedReopens: number;
  /** Reopens on the still-full file system that failed (with a LogStoreError) before space was freed. */
  reopenRefusedWhileFull: number;
  failures: string[];
}

export function emptyDiskFullFigures(): DiskFullFigures {
  return {
    runs: 0,
    injections: 0,
    diskFullErrors: 0,
    catalogIo: 0,
    otherErrors: 0,
    signals: 0,
    sigbus: 0,
    recordsAcked: 0,
    ackedLost: 0,
    extraRecords: 0,
    garbage: 0,
    failedReopens: 0,
    reopenRefusedWhileFull: 0,
    failures: [],
  };
}

interface Plan {
  name: string;
  segmentBytes: number;
  /** ulimit -f in KiB, or undefined on tmpfs. */
  limitKiB?: number;
}

/** Why a tmpfs cannot be mounted here, or null (checked by mounting one). */
export function tmpfsUnavailable(root: string): string | null {
  const mnt = path.join(root, 'tmpfs-probe');
  fs.mkdirSync(mnt, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt], { stdio: 'pipe' });
    execFileSync('umount', [mnt], { stdio: 'pipe' });
    return null;
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    return `cannot mount a tmpfs: ${(e.stderr?.toString() || e.message).trim().split('\n')[0]}`;
  } finally {
    fs.rmSync(mnt, { recursive: true, force: true });
  }
}

async function runOne(
  plan: Plan,
  dir: string,
  durability: Durability,
  seed: number,
  closeAtEnd: boolean,
  figures: DiskFullFigures,
  beforeReopen?: (store: string) => Promise<void>,
): Promise<void> {
  const writer = startWriter(
    {
      dir,
      durability,
      flushIntervalMs: 20,
      segmentBytes: plan.segmentBytes,
      topics: [
        { name: 't', partitions: 2, weight: 3 },
        { name: 'c', partitions: 1, weight: 1 },
      ],
      work: {
        kind: 'random',
        seed,
        weights: { append: 100, flush: 2, yield: 3, compact: 0.2 },
        maxBatch: 40,
        maxRecords: 3_000_000,
      },
      tolerateErrors: 25,
      end: closeAtEnd ? 'close' : 'idle',
    },
    plan.limitKiB !== undefined ? { fileSizeLimitKiB: plan.limitKiB } : {},
  );
  const { ledger } = writer;
  const tag = `disk full ${plan.name} (${durability}, seed ${seed}, ${closeAtEnd ? 'close' : 'kill'})`;
  const fail = (what: string) => figures.failures.length < 20 && figures.failures.push(`${tag}: ${what}`);
  figures.runs++;
  await writer.until('done', 30_000);
  if (!closeAtEnd) writer.proc.kill('SIGKILL');
  const exit = await writer.exit(10_000);
  if (exit.signal && !(exit.signal === 'SIGKILL' && (!closeAtEnd || exit.timedOut))) {
    figures.signals++;
    if (exit.signal === 'SIGBUS') figures.sigbus++;
    fail(`child died of ${exit.signal}: ${ledger.lastLine} ${exit.stderr.slice(0, 300)}`);
  }
  if (exit.code !== null && exit.code !== 0)
    fail(`child exited with ${exit.code}: ${exit.stderr.slice(0, 300)}`);
  figures.recordsAcked += ledger.recordsAcked;
  let full = false;
  for (const e of ledger.errors) {
    if (e.code === 'LOGSTORE_DISK_FULL') {
      figures.diskFullErrors++;
      full = true;
    } else if (e.code === 'LOGSTORE_IO' && plan.name.startsWith('catalog')) {
      figures.catalogIo++;
      full = true;
    } else {
      figures.otherErrors++;
      fail(`${e.step} failed with ${e.code}`);
    }
  }
  if (full) figures.injections++;
  if (beforeReopen) await beforeReopen(dir);
  const ins = await inspectStore(dir);
  if (ins.error || ins.foreign) {
    figures.failedReopens++;
    fail(`reopen: ${ins.error ? `${ins.error.code}: ${ins.error.message}` : ins.foreign}`);
    return;
  }
  const verdict = judge(ins, ledger.acked);
  figures.ackedLost += verdict.lost;
  figures.garbage += verdict.garbage + verdict.outOfOrder;
  for (const [key, end] of ledger.acked) {
    const state = ins.partitions.get(key);
    if (state && !key.startsWith('c') && state.endOffset > end) {
      figures.extraRecords += state.endOffset - end;
      fail(`${key} holds ${state.endOffset} records, ${end} acknowledged`);
    }
  }
  if (verdict.problems.length > 0) fail(verdict.problems.join('; '));
}

export async function runDiskFull(options: {
  iterations: number;
  root: string;
  seed?: number;
  /** Also on a tiny tmpfs (needs root); skipped with the reason when impossible. */
  tmpfs?: boolean;
}): Promise<{ figures: DiskFullFigures; tmpfsSkipped: string | null }> {
  const figures = emptyDiskFullFigures();
  const rand = prng(options.seed ?? 1);
  const modes: Durability[] = ['always', 'interval', 'none'];
  const plans: Plan[] = [
    { name: 'segment preallocation (ulimit -f)', segmentBytes: 64 << 20, limitKiB: 0 },
    { name: 'catalog -wal (ulimit -f)', segmentBytes: 16384, limitKiB: 0 },
    { name: 'new segment (ulimit -f)', segmentBytes: 4 << 20, limitKiB: 0 },
  ];
  for (let i = 0; i < options.iterations; i++) {
    const plan = { ...plans[i % plans.length]! };
    plan.limitKiB =
      i % plans.length === 0
        ? between(rand, 1100, 6000)
        : i % plans.length === 1
          ? between(rand, 64, 400)
          : between(rand, 100, 900);
    const dir = path.join(options.root, `full-${i}`);
    await runOne(plan, dir, modes[i % modes.length]!, Math.floor(rand() * 2 ** 31), rand() < 0.5, figures);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  let tmpfsSkipped: string | null = null;
  if (options.tmpfs) {
    tmpfsSkipped = tmpfsUnavailable(options.root);
    const runs = tmpfsSkipped ? 0 : Math.max(1, Math.ceil(options.iterations / 3));
    for (let i = 0; i < runs; i++) {
      const mnt = path.join(options.root, `tmpfs-${i}`);
      fs.mkdirSync(mnt, { recursive: true });
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt]);
      try {
        // A filler file, removed before the last reopen: space to recover with.
        fs.writeFileSync(path.join(mnt, 'filler'), Buffer.alloc(256 << 10, 1));
        await runOne(
          { name: 'tmpfs 4 MiB', segmentBytes: between(rand, 1, 4) << 20 },
          path.join(mnt, 'store'),
          modes[i % modes.length]!,
          Math.floor(rand() * 2 ** 31),
          rand() < 0.5,
          figures,
          async (store) => {
            // First on the still-full file system: a LogStoreError is fine, a crash is not.
            const ins = await inspectStore(store);
            if (ins.foreign) {
              figures.otherErrors++;
              figures.failures.push(`tmpfs reopen while full: ${ins.foreign.slice(0, 300)}`);
            } else if (ins.error) figures.reopenRefusedWhileFull++;
            fs.rmSync(path.join(mnt, 'filler'));
          },
        );
      } finally {
        execFileSync('umount', [mnt]);
        fs.rmSync(mnt, { recursive: true, force: true });
      }
    }
  }
  return { figures, tmpfsSkipped };
}
