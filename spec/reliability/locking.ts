/**
 * Locking (issue 7, item 6). While a writer child holds a store (appending, and now and then
 * holding a catalog write transaction for HOLD_MS): a writer in another process and a second
 * writer open in this process are refused with LOGSTORE_LOCKED at once (the slowest is reported:
 * about 1 ms on a quiet machine); read-only followers,
 * in this process and in others, open and read without waiting; once the writer is killed
 * (SIGKILL: no close, no cleanup) the lock is free at once. A writer is not kept out by followers.
 */
import fs from 'node:fs';
import path from 'node:path';
import { LogStore, LogStoreError } from '../../lib/index.js';
import { readPartition } from './inspect.js';
import { exitWithin, sleep, spawnNode, SCRIPTS } from './proc.js';
import { startWriter } from './writer.js';

/**
 * How long the writer child's catalog transactions stay open: a refusal or a follower read that
 * waited for one would take at least this long, so "at once" is checked as "well below it".
 */
export const HOLD_MS = 1500;

export interface LockingFigures {
  rounds: number;
  /** Opens refused with LOGSTORE_LOCKED (other process / same process), of attempts. */
  otherProcessRefused: number;
  otherProcessAttempts: number;
  sameProcessRefused: number;
  sameProcessAttempts: number;
  /** Slowest refusal, ms. */
  maxRefusalMs: number;
  /** Follower opens + full reads, in other processes and here, and the slowest (ms). */
  followerReads: number;
  followerFailures: number;
  maxFollowerMs: number;
  /** Follower reads made while the writer held a catalog transaction. */
  followerReadsDuringHold: number;
  /** Opens right after the writer was killed, and how many got the lock on the first try. */
  lockFreedAfterKill: number;
  killRounds: number;
  /** Writer opens (other process) while a follower was open here: all must succeed. */
  writerBesideFollower: number;
  writerBesideFollowerOk: number;
  failures: string[];
}

/**
 * A second writer in another process: it opens the store, then closes it. Says whether it got the
 * store, or the code it was refused with, and how long the open took.
 */
async function writerProbe(dir: string): Promise<{ opened: boolean; code?: string; ms: number }> {
  const writer = startWriter({
    dir,
    durability: 'interval',
    segmentBytes: 16384,
    topics: [],
    work: { kind: 'script', steps: [] },
    end: 'close',
    tolerateErrors: 1,
  });
  await writer.exit(20_000);
  const { opens, errors } = writer.ledger;
  const refused = errors.find((e) => e.step === 'open');
  if (refused) return { opened: false, code: refused.code, ms: refused.ms ?? Number.NaN };
  return { opened: opens.length > 0, ms: opens[0]?.ms ?? Number.NaN };
}

/** A read-only follower in another process that reads everything once: `follower <ms> <records>` or `refused <code> <ms>`. */
async function followerProbe(dir: string): Promise<string> {
  let line = '';
  const proc = spawnNode(SCRIPTS.follower, [JSON.stringify({ dir, once: true })], {
    onLine: (l) => (line ||= l),
  });
  await exitWithin(proc, 20_000);
  return line;
}

export async function runLocking(options: { rounds: number; root: string }): Promise<LockingFigures> {
  const f: LockingFigures = {
    rounds: 0,
    otherProcessRefused: 0,
    otherProcessAttempts: 0,
    sameProcessRefused: 0,
    sameProcessAttempts: 0,
    maxRefusalMs: 0,
    followerReads: 0,
    followerFailures: 0,
    maxFollowerMs: 0,
    followerReadsDuringHold: 0,
    lockFreedAfterKill: 0,
    killRounds: 0,
    writerBesideFollower: 0,
    writerBesideFollowerOk: 0,
    failures: [],
  };
  const fail = (what: string) => f.failures.length < 20 && f.failures.push(what);
  for (let round = 0; round < options.rounds; round++) {
    const dir = path.join(options.root, `lock-${round}`);
    const writer = startWriter({
      dir,
      durability: 'interval',
      flushIntervalMs: 20,
      segmentBytes: 16384,
      topics: [{ name: 't', partitions: 2, weight: 1 }],
      work: {
        kind: 'random',
        seed: round + 1,
        weights: { append: 20, hold: 1, sleep: 10 },
        maxBatch: 5,
        holdMs: [HOLD_MS, HOLD_MS + 500],
      },
    });
    const held = writer.ledger;
    await writer.until('open');
    f.rounds++;
    for (let k = 0; k < 5; k++) {
      await sleep(30);
      // Another process.
      f.otherProcessAttempts++;
      const second = await writerProbe(dir);
      if (!second.opened && second.code === 'LOGSTORE_LOCKED') {
        f.otherProcessRefused++;
        f.maxRefusalMs = Math.max(f.maxRefusalMs, second.ms);
      } else fail(`round ${round}: a second writer process got ${second.opened ? 'the store' : second.code}`);
      // This process.
      f.sameProcessAttempts++;
      const t0 = performance.now();
      try {
        LogStore.open(dir, { cleanupIntervalMs: 0 });
        fail(`round ${round}: a writer open in the parent was not refused`);
      } catch (err) {
        const ms2 = performance.now() - t0;
        if (err instanceof LogStoreError && err.code === 'LOGSTORE_LOCKED') {
          f.sameProcessRefused++;
          f.maxRefusalMs = Math.max(f.maxRefusalMs, ms2);
        } else fail(`round ${round}: the parent's writer open failed with ${(err as Error).message}`);
      }
      // Followers: another process, and this one.
      const holdsBefore = held.holds;
      const heldBefore = held.holding;
      const line = await followerProbe(dir);
      const duringHold = heldBefore || held.holds > holdsBefore;
      const [kind, msText] = line.split(' ');
      f.followerReads++;
      if (kind === 'follower') {
        f.maxFollowerMs = Math.max(f.maxFollowerMs, Number(msText));
        if (duringHold) f.followerReadsDuringHold++;
      } else {
        f.followerFailures++;
        fail(`round ${round}: follower process: ${line}`);
      }
      const t1 = performance.now();
      try {
        const follower = LogStore.open(dir, { readOnly: true });
        for (let p = 0; p < 2; p++) readPartition(follower, 't', p);
        await follower.close();
        f.followerReads++;
        f.maxFollowerMs = Math.max(f.maxFollowerMs, performance.now() - t1);
      } catch (err) {
        f.followerReads++;
        f.followerFailures++;
        fail(`round ${round}: follower here: ${(err as Error).message}`);
      }
    }
    // A second writer open in this very process, on a store this process writes.
    const own = path.join(options.root, `own-${round}`);
    const mine = LogStore.open(own, { cleanupIntervalMs: 0 });
    f.sameProcessAttempts++;
    const t2 = performance.now();
    try {
      LogStore.open(own, { cleanupIntervalMs: 0 });
      fail(`round ${round}: a second open in the same process was not refused`);
    } catch (err) {
      if (err instanceof LogStoreError && err.code === 'LOGSTORE_LOCKED') {
        f.sameProcessRefused++;
        f.maxRefusalMs = Math.max(f.maxRefusalMs, performance.now() - t2);
      } else fail(`round ${round}: second open here: ${(err as Error).message}`);
    }
    await mine.close();
    // Kill the writer: the lock goes with the process.
    await writer.kill();
    f.killRounds++;
    try {
      const store = LogStore.open(dir, { cleanupIntervalMs: 0 });
      f.lockFreedAfterKill++;
      // A follower here does not keep a writer in another process out.
      const follower = LogStore.open(dir, { readOnly: true });
      await store.close();
      f.writerBesideFollower++;
      const beside = await writerProbe(dir);
      if (beside.opened) f.writerBesideFollowerOk++;
      else fail(`round ${round}: a writer beside a follower got ${beside.code}`);
      await follower.close();
    } catch (err) {
      fail(`round ${round}: open after the kill: ${(err as Error).message}`);
    }
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(own, { recursive: true, force: true });
  }
  return f;
}
