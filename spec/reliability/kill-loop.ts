/**
 * Kill -9 loops (issue 7, item 1). A writer child appends content-derived records (and flushes,
 * commits, compacts, deletes a topic, closes and reopens) in one of the three durability modes;
 * the parent kills it with SIGKILL at a random time, or lets it kill itself at a crash point
 * (LOGSTORE_CRASH_AT). Then the parent opens the store, which recovers, and reads everything:
 * every acknowledged record must be there, nothing else may be wrong. Now and then the parent
 * skips its check and lets the next child do the recovery, so recoveries of recovered stores and
 * crashes during recovery happen too. A fresh directory every `chunk` iterations keeps it small.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Durability } from '../../lib/index.js';
import { inspectStore } from './inspect.js';
import { judge, Ledger } from './ledger.js';
import { sleep } from './proc.js';
import { between, prng, type Ends } from './records.js';
import type { Step, WriterPlan } from './writer-child.js';
import { startWriter } from './writer.js';

export const CRASH_POINTS = [
  'roll:after-create',
  'roll:after-catalog',
  'flush:after-sync',
  'close:after-sync',
  'delete-topic:after-catalog',
  'commit:before',
  'compact:after-write',
  'compact:after-swap',
] as const;

export interface KillLoopOptions {
  iterations: number;
  /** Where the stores go (one subdirectory per chunk). */
  root: string;
  seed?: number;
  modes?: Durability[];
  /** Iterations per store directory. @default 20 */
  chunk?: number;
  /** Every nth iteration dies at a crash point (cycling through them). @default 3 */
  crashPointEvery?: number;
  /** Random kills land up to this long after the child opened the store. @default 400 */
  maxKillDelayMs?: number;
  onProgress?: (done: number, figures: KillLoopFigures) => void;
  /** Copy the store and the child's output here when an iteration fails (for a repro). */
  keepFailuresIn?: string;
}

export interface KillLoopFigures {
  iterations: number;
  randomKills: number;
  crashPointKills: Record<string, number>;
  /** Crash-point runs in which the point was not reached in time (the child was killed instead). */
  crashPointsMissed: number;
  recordsAcked: number;
  ackedLost: number;
  garbage: number;
  outOfOrder: number;
  /** Opens or reads that failed (LOGSTORE_CORRUPT or anything else) after a kill. */
  failedOpens: number;
  /** Committed offsets below the last acknowledged commit, or above the last attempted one. */
  commitsLost: number;
  leftovers: number;
  /** Children that exited on their own with an error instead of being killed. */
  childFailures: number;
  uncleanOpens: number;
  bytesCut: number;
  /** Open times after an unclean stop, ms. */
  recoveryMs: number[];
  failures: string[];
}

export function emptyKillFigures(): KillLoopFigures {
  return {
    iterations: 0,
    randomKills: 0,
    crashPointKills: {},
    crashPointsMissed: 0,
    recordsAcked: 0,
    ackedLost: 0,
    garbage: 0,
    outOfOrder: 0,
    failedOpens: 0,
    commitsLost: 0,
    leftovers: 0,
    childFailures: 0,
    uncleanOpens: 0,
    bytesCut: 0,
    recoveryMs: [],
    failures: [],
  };
}

const BASE_WEIGHTS: Partial<Record<Step, number>> = {
  append: 100,
  flush: 3,
  commit: 2,
  compact: 1,
  deleteTopic: 0.5,
  close: 0.3,
  yield: 8,
};

/** Steps made likelier so that a crash point is reached within a second or so. */
const BOOST: Record<string, Partial<Record<Step, number>>> = {
  'flush:after-sync': { flush: 10 },
  'close:after-sync': { close: 3 },
  'delete-topic:after-catalog': { deleteTopic: 5 },
  'commit:before': { commit: 10 },
  'compact:after-write': { compact: 4 },
  'compact:after-swap': { compact: 4 },
};

export function writerPlan(
  dir: string,
  durability: Durability,
  seed: number,
  crashPoint?: string,
): WriterPlan {
  return {
    dir,
    durability,
    flushIntervalMs: 50,
    segmentBytes: 16384,
    topics: [
      { name: 't', partitions: 2, weight: 4 },
      { name: 'c', partitions: 1, weight: 1, segmentBytes: 8192 },
    ],
    work: {
      kind: 'random',
      seed,
      weights: { ...BASE_WEIGHTS, ...(crashPoint ? BOOST[crashPoint] : {}) },
      maxBatch: 12,
    },
  };
}

export async function runKillLoop(options: KillLoopOptions): Promise<KillLoopFigures> {
  const figures = emptyKillFigures();
  const rand = prng(options.seed ?? 1);
  const modes = options.modes ?? ['always', 'interval', 'none'];
  const chunk = options.chunk ?? 20;
  const every = options.crashPointEvery ?? 3;
  const maxDelay = options.maxKillDelayMs ?? 400;
  let dir = '';
  let acked: Ends = new Map();
  let ledger = new Ledger();
  let crashPointTurn = 0;
  let lines: string[] = [];
  let keptCopy = false;
  const fail = (what: string) => {
    if (figures.failures.length < 20) figures.failures.push(what);
    if (options.keepFailuresIn && !keptCopy && figures.failures.length <= 12) {
      keptCopy = true;
      const dest = path.join(options.keepFailuresIn, `failure-${figures.iterations}`);
      fs.mkdirSync(dest, { recursive: true });
      fs.writeFileSync(path.join(dest, 'child-output.txt'), lines.join('\n') + '\n' + what + '\n');
      const pre = path.join(options.root, 'before-inspection');
      if (fs.existsSync(pre)) fs.cpSync(pre, path.join(dest, 'store'), { recursive: true });
    }
  };
  for (let i = 0; i < options.iterations; i++) {
    if (i % chunk === 0) {
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
      dir = path.join(options.root, `kill-${i}`);
      acked = new Map();
      ledger = new Ledger();
    }
    const mode = modes[i % modes.length]!;
    const point =
      every > 0 && i % every === every - 1 ? CRASH_POINTS[crashPointTurn++ % CRASH_POINTS.length] : undefined;
    const seed = Math.floor(rand() * 2 ** 31);
    const before = ledger.recordsAcked;
    keptCopy = false;
    const writer = startWriter(writerPlan(dir, mode, seed, point), {
      env: { LOGSTORE_CRASH_AT: point },
      keepLines: options.keepFailuresIn !== undefined,
      ledger,
    });
    lines = writer.lines;
    const tag = `iteration ${i} (${mode}, ${point ?? 'random kill'}, seed ${seed}, ${dir})`;
    let exit;
    if (point) {
      exit = await writer.exit(5000);
      if (exit.timedOut) figures.crashPointsMissed++;
      else figures.crashPointKills[point] = (figures.crashPointKills[point] ?? 0) + 1;
    } else {
      if (rand() < 0.15) await sleep(between(rand, 0, 250));
      else {
        await writer.until('open');
        await sleep(between(rand, 0, maxDelay));
      }
      exit = await writer.kill();
      figures.randomKills++;
    }
    figures.iterations++;
    figures.recordsAcked += ledger.recordsAcked - before;
    if (exit.signal !== 'SIGKILL') {
      figures.childFailures++;
      fail(`${tag}: child exited with ${exit.code}: ${ledger.lastLine} ${exit.stderr.slice(0, 500)}`);
    }
    if (ledger.bad.length > 0) fail(`${tag}: ${ledger.bad.join('; ')}`);
    for (const [key, end] of ledger.acked) acked.set(key, end);
    for (const o of ledger.opens) {
      if (!o.clean) {
        figures.uncleanOpens++;
        figures.recoveryMs.push(o.ms);
        figures.bytesCut += o.bytesCut;
      }
    }
    ledger.opens.length = 0;
    // Now and then the next child recovers instead of us (never at the end of a chunk).
    if (i % chunk !== chunk - 1 && i !== options.iterations - 1 && rand() < 0.25) continue;
    if (options.keepFailuresIn) {
      fs.rmSync(path.join(options.root, 'before-inspection'), { recursive: true, force: true });
      fs.cpSync(dir, path.join(options.root, 'before-inspection'), { recursive: true });
    }
    const ins = await inspectStore(dir);
    if (ins.recovery && !ins.recovery.clean) {
      figures.uncleanOpens++;
      figures.recoveryMs.push(ins.openMs);
      figures.bytesCut += ins.recovery.bytesCut;
    }
    if (ins.error || ins.foreign) {
      figures.failedOpens++;
      fail(`${tag}: ${ins.error ? `${ins.error.code}: ${ins.error.message}` : ins.foreign}`);
      // Keep going on a fresh directory: this one cannot be opened.
      dir = path.join(options.root, `kill-${i}-after-failure`);
      acked = new Map();
      ledger = new Ledger();
      continue;
    }
    const verdict = judge(ins, acked);
    figures.ackedLost += verdict.lost;
    figures.garbage += verdict.garbage;
    figures.outOfOrder += verdict.outOfOrder;
    if (verdict.problems.length > 0) fail(`${tag}: ${verdict.problems.join('; ')}`);
    for (const [partition, offset] of ledger.committed) {
      const stored = ins.committed.get(partition);
      const intent = ledger.commitIntent.get(partition) ?? offset;
      if (stored === undefined || stored < offset || stored > intent) {
        figures.commitsLost++;
        fail(
          `${tag}: group g partition ${partition} committed ${stored}, acknowledged ${offset}, attempted ${intent}`,
        );
      }
    }
    if (ins.leftovers.length > 0) {
      figures.leftovers += ins.leftovers.length;
      fail(`${tag}: left behind ${ins.leftovers.join(', ')}`);
    }
    options.onProgress?.(i + 1, figures);
  }
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  return figures;
}
