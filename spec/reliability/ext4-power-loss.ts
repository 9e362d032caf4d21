/**
 * Power loss on a real file system (issue 7, item 2, where the machine allows it): the store lives
 * on a loop-mounted ext4 image (mounted with `commit=300`, so the journal commits only on fsync);
 * a writer child appends and flushes, the parent kills it and at once copies the image file. Dirty
 * pages of the killed writer are still in the page cache of the mounted file system, not in the
 * image: the copy holds what had reached the "disk" — the synced data and whatever writeback
 * happened to push — which is what a power cut leaves. The copy is mounted (ext4 replays its
 * journal) and the store on it opened: every record covered by a resolved flush() must be there.
 *
 * Needs root, loop devices and mkfs.ext4; `ext4Unavailable()` says why not when they are missing.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Durability } from '../../lib/index.js';
import { inspectStore } from './inspect.js';
import { judge, Ledger } from './ledger.js';
import { sleep } from './proc.js';
import { between, prng, type Ends } from './records.js';
import { startWriter } from './writer.js';

export interface Ext4Figures {
  iterations: number;
  flushedRecords: number;
  flushedLost: number;
  garbage: number;
  outOfOrder: number;
  failedOpens: number;
  cuts: number;
  /** Records acknowledged by append only (never flushed) that the power cut took: shows it was real. */
  unflushedGone: number;
  failures: string[];
}

const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });

function unmount(dir: string): void {
  try {
    run('umount', [dir]);
  } catch {
    // not mounted
  }
}

/** Why a loop-mounted ext4 image cannot be used here, or null if it can (checked by trying). */
export function ext4Unavailable(root: string): string | null {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  if (process.getuid?.() !== 0) return 'not root: mount needs CAP_SYS_ADMIN';
  const img = path.join(root, 'probe.img');
  const mnt = path.join(root, 'probe-mnt');
  try {
    fs.mkdirSync(mnt, { recursive: true });
    fs.writeFileSync(img, '');
    fs.truncateSync(img, 16 << 20);
    run('mkfs.ext4', ['-q', '-F', img]);
    run('mount', ['-o', 'loop', img, mnt]);
    unmount(mnt);
    return null;
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    return `cannot loop-mount an ext4 image: ${(e.stderr?.toString() || e.message).trim().split('\n')[0]}`;
  } finally {
    fs.rmSync(img, { force: true });
    fs.rmSync(mnt, { recursive: true, force: true });
  }
}

export async function runExt4PowerLoss(options: {
  iterations: number;
  root: string;
  seed?: number;
  modes?: Durability[];
}): Promise<Ext4Figures> {
  const figures: Ext4Figures = {
    iterations: 0,
    flushedRecords: 0,
    flushedLost: 0,
    garbage: 0,
    outOfOrder: 0,
    failedOpens: 0,
    cuts: 0,
    unflushedGone: 0,
    failures: [],
  };
  const rand = prng(options.seed ?? 1);
  const modes = options.modes ?? ['none', 'interval'];
  const pristine = path.join(options.root, 'pristine.img');
  const work = path.join(options.root, 'work.img');
  const copy = path.join(options.root, 'copy.img');
  const mnt = path.join(options.root, 'mnt');
  const mntCopy = path.join(options.root, 'mnt-copy');
  fs.mkdirSync(mnt, { recursive: true });
  fs.mkdirSync(mntCopy, { recursive: true });
  fs.writeFileSync(pristine, '');
  fs.truncateSync(pristine, 96 << 20);
  // Initialise inode tables and journal now, so no lazy background writes run during a test.
  run('mkfs.ext4', ['-q', '-F', '-E', 'lazy_itable_init=0,lazy_journal_init=0', pristine]);
  try {
    for (let i = 0; i < options.iterations; i++) {
      const mode = modes[i % modes.length]!;
      const seed = Math.floor(rand() * 2 ** 31);
      const tag = `ext4 iteration ${i} (${mode}, seed ${seed})`;
      run('cp', ['--sparse=always', pristine, work]);
      run('mount', ['-o', 'loop,commit=300', work, mnt]);
      const ledger = new Ledger();
      try {
        const writer = startWriter(
          {
            dir: path.join(mnt, 'store'),
            durability: mode,
            flushIntervalMs: 50,
            segmentBytes: 65536,
            topics: [{ name: 't', partitions: 2, weight: 1 }],
            work: {
              kind: 'random',
              seed,
              weights: { append: 100, flush: 2, yield: 5, sleep: 2 },
              maxBatch: 20,
              maxRecords: 200_000,
            },
          },
          { ledger },
        );
        await writer.until('open');
        await sleep(between(rand, 100, 800));
        const exit = await writer.kill();
        // The power goes now: the image as the loop device has it, before anything else is written back.
        run('cp', ['--sparse=always', work, copy]);
        if (exit.signal !== 'SIGKILL')
          figures.failures.push(`${tag}: child exited with ${exit.code}: ${exit.stderr}`);
      } finally {
        unmount(mnt);
      }
      figures.iterations++;
      run('mount', ['-o', 'loop', copy, mntCopy]);
      try {
        const required: Ends = ledger.flushed;
        for (const end of required.values()) figures.flushedRecords += end;
        const ins = await inspectStore(path.join(mntCopy, 'store'));
        if (ins.recovery && ins.recovery.bytesCut > 0) figures.cuts++;
        if (ins.error || ins.foreign) {
          figures.failedOpens++;
          figures.failures.push(
            `${tag}: ${ins.error ? `${ins.error.code}: ${ins.error.message}` : ins.foreign}`,
          );
        } else {
          for (const [key, end] of ledger.acked) {
            const state = ins.partitions.get(key);
            figures.unflushedGone += Math.max(
              0,
              end - Math.max(state?.endOffset ?? 0, required.get(key) ?? 0),
            );
          }
          const verdict = judge(ins, required);
          figures.flushedLost += verdict.lost;
          figures.garbage += verdict.garbage;
          figures.outOfOrder += verdict.outOfOrder;
          if (verdict.problems.length > 0) figures.failures.push(`${tag}: ${verdict.problems.join('; ')}`);
        }
      } finally {
        unmount(mntCopy);
        fs.rmSync(copy, { force: true });
        fs.rmSync(work, { force: true });
      }
    }
  } finally {
    unmount(mnt);
    unmount(mntCopy);
    fs.rmSync(options.root, { recursive: true, force: true });
  }
  return figures;
}
