/**
 * Failed sync (issue 7, item 5). LOGSTORE_FAIL_SYNC=once|always makes fdatasync report EIO in a
 * writer child. The first failure (a flush, an append with durability 'always', or the interval
 * timer's flush, reported by the next call) must poison the writer: LOGSTORE_IO for every later
 * append and flush, so nothing is acknowledged after it. The store then reopens (uncleanly) with
 * every record acknowledged before the failure.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Durability } from '../../lib/index.js';
import { inspectStore } from './inspect.js';
import { judge } from './ledger.js';
import { prng } from './records.js';
import { startWriter } from './writer.js';

export interface FailedSyncFigures {
  runs: number;
  /** Runs whose writer reported the injected failure (LOGSTORE_IO). */
  poisoned: number;
  /** Appends or flushes acknowledged after the first failure (must be 0). */
  ackedAfterFailure: number;
  /** Failures with another code than LOGSTORE_IO. */
  wrongCodes: number;
  recordsAcked: number;
  ackedLost: number;
  garbage: number;
  failedReopens: number;
  /** Reopens that (rightly) saw an unclean stop. */
  uncleanReopens: number;
  failures: string[];
}

export async function runFailedSync(options: {
  iterations: number;
  root: string;
  seed?: number;
}): Promise<FailedSyncFigures> {
  const figures: FailedSyncFigures = {
    runs: 0,
    poisoned: 0,
    ackedAfterFailure: 0,
    wrongCodes: 0,
    recordsAcked: 0,
    ackedLost: 0,
    garbage: 0,
    failedReopens: 0,
    uncleanReopens: 0,
    failures: [],
  };
  const rand = prng(options.seed ?? 1);
  const cases: [Durability, 'once' | 'always'][] = [
    ['always', 'once'],
    ['interval', 'once'],
    ['none', 'once'],
    ['always', 'always'],
    ['interval', 'always'],
    ['none', 'always'],
  ];
  for (let i = 0; i < options.iterations; i++) {
    const [durability, how] = cases[i % cases.length]!;
    const dir = path.join(options.root, `sync-${i}`);
    const seed = Math.floor(rand() * 2 ** 31);
    const closeAtEnd = rand() < 0.5;
    const tag = `failed sync ${how} (${durability}, seed ${seed}, ${closeAtEnd ? 'close' : 'kill'})`;
    const fail = (what: string) => figures.failures.length < 20 && figures.failures.push(`${tag}: ${what}`);
    const writer = startWriter(
      {
        dir,
        durability,
        flushIntervalMs: 10,
        segmentBytes: 16384,
        topics: [{ name: 't', partitions: 2, weight: 1 }],
        work: {
          kind: 'random',
          seed,
          weights: { append: 100, flush: 3, yield: 3, sleep: 1 },
          maxBatch: 10,
          maxRecords: 1_000_000,
        },
        tolerateErrors: 10,
        end: closeAtEnd ? 'close' : 'idle',
      },
      { env: { LOGSTORE_FAIL_SYNC: how } },
    );
    const { ledger } = writer;
    figures.runs++;
    await writer.until('done', 20_000);
    if (!closeAtEnd) writer.proc.kill('SIGKILL');
    const exit = await writer.exit(10_000);
    for (const line of ledger.ackedAfterError) {
      figures.ackedAfterFailure++;
      fail(`acknowledged after the failure: ${line}`);
    }
    if (exit.code !== null && exit.code !== 0)
      fail(`child exited with ${exit.code}: ${exit.stderr.slice(0, 300)}`);
    if (closeAtEnd && exit.signal) fail(`child died of ${exit.signal}`);
    figures.recordsAcked += ledger.recordsAcked;
    if (ledger.errors.length > 0 && ledger.errors[0]!.code === 'LOGSTORE_IO') figures.poisoned++;
    else fail(`no LOGSTORE_IO (errors: ${JSON.stringify(ledger.errors.slice(0, 3))})`);
    for (const e of ledger.errors) {
      if (e.code !== 'LOGSTORE_IO') {
        figures.wrongCodes++;
        fail(`${e.step} failed with ${e.code}`);
      }
    }
    const ins = await inspectStore(dir);
    if (ins.error || ins.foreign) {
      figures.failedReopens++;
      fail(`reopen: ${ins.error ? `${ins.error.code}: ${ins.error.message}` : ins.foreign}`);
    } else {
      if (ins.recovery && !ins.recovery.clean) figures.uncleanReopens++;
      const verdict = judge(ins, ledger.acked);
      figures.ackedLost += verdict.lost;
      figures.garbage += verdict.garbage + verdict.outOfOrder;
      if (verdict.problems.length > 0) fail(verdict.problems.join('; '));
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return figures;
}
