/**
 * The long form of the reliability suite (`npm run stress`, issue 7): every scenario of
 * spec/reliability with many iterations, then one table of the figures, each with what it must
 * be. Exit code 1 if any figure is off. Progress goes to stderr.
 *
 *   node dist/spec/reliability/stress.js [--iterations 1000] [--corruption 10000] [--cleanup N]
 *     [--power 200] [--ext4 20] [--disk-full 30] [--failed-sync 30] [--locking 5] [--follower 5]
 *     [--follower-records 50000] [--fuzz 2000] [--kafka-fuzz 50000] [--rollback 10] [--workers 2]
 *     [--seed 1]
 *     [--only kill,corruption,...] [--keep-failures DIR] [--json]
 *
 * --cleanup: cases of damage meeting cleanup and followers (default: --corruption / 20, at least 36;
 * none with --corruption 0).
 * Scenarios (--only): kill, power, ext4, corruption, foreign, cleanup, disk, sync, lock, follower, fuzz,
 * kafka (--kafka-fuzz N: N frames at a live listener, 4 N at the request decoder),
 * rollback (kill -9 then a damaged catalog -wal: --rollback stores, each damaged at 6 places).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runKafkaFuzz } from '../kafka/fuzz.js';
import { runCatalogFuzz } from './catalog-fuzz.js';
import { runCatalogRollback } from './catalog-rollback.js';
import { CLEANUPS, DAMAGES, runCleanupCorruption } from './cleanup-corruption.js';
import { runCorruption, type CorruptionFigures } from './corruption.js';
import { runDiskFull } from './disk-full.js';
import { ext4Unavailable, runExt4PowerLoss } from './ext4-power-loss.js';
import { runFailedSync } from './failed-sync.js';
import { runFollower } from './follower.js';
import { CRASH_POINTS, runKillLoop } from './kill-loop.js';
import { runLocking } from './locking.js';
import { runPowerLoss } from './power-loss.js';
import { percentile } from './records.js';

const SCENARIOS = [
  'kill',
  'power',
  'ext4',
  'corruption',
  'foreign',
  'cleanup',
  'disk',
  'sync',
  'lock',
  'follower',
  'fuzz',
  'kafka',
  'rollback',
] as const;

interface Options {
  iterations: number;
  corruption: number;
  /** Undefined: derived from `corruption`. */
  cleanup: number | undefined;
  power: number;
  ext4: number;
  diskFull: number;
  failedSync: number;
  locking: number;
  follower: number;
  followerRecords: number;
  fuzz: number;
  kafkaFuzz: number;
  rollback: number;
  workers: number;
  seed: number;
  only: Set<string>;
  keepFailures: string | undefined;
  json: boolean;
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    iterations: 1000,
    corruption: 10_000,
    cleanup: undefined,
    power: 200,
    ext4: 20,
    diskFull: 30,
    failedSync: 30,
    locking: 5,
    follower: 5,
    followerRecords: 50_000,
    fuzz: 2000,
    kafkaFuzz: 50_000,
    rollback: 10,
    workers: Math.max(1, Math.min(2, os.availableParallelism())),
    seed: 1,
    only: new Set(SCENARIOS),
    keepFailures: undefined,
    json: false,
  };
  const numeric: Record<string, keyof Options> = {
    '--iterations': 'iterations',
    '--corruption': 'corruption',
    '--cleanup': 'cleanup',
    '--power': 'power',
    '--ext4': 'ext4',
    '--disk-full': 'diskFull',
    '--failed-sync': 'failedSync',
    '--locking': 'locking',
    '--follower': 'follower',
    '--follower-records': 'followerRecords',
    '--fuzz': 'fuzz',
    '--kafka-fuzz': 'kafkaFuzz',
    '--rollback': 'rollback',
    '--workers': 'workers',
    '--seed': 'seed',
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const key = numeric[arg];
    if (key) {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 0) throw new Error(`${arg} needs an integer >= 0, got ${argv[i]}`);
      (o as unknown as Record<string, number>)[key] = n;
    } else if (arg === '--only') {
      const names = (argv[++i] ?? '').split(',').filter(Boolean);
      for (const n of names)
        if (!(SCENARIOS as readonly string[]).includes(n)) throw new Error(`unknown scenario ${n}`);
      o.only = new Set(names);
    } else if (arg === '--keep-failures') o.keepFailures = argv[++i];
    else if (arg === '--json') o.json = true;
    else if (arg === '--help' || arg === '-h') {
      process.stdout.write(
        fs
          .readFileSync(new URL(import.meta.url))
          .toString()
          .split('*/')[0]!
          .replace(/^\/\*\*|^ \* ?/gm, ''),
      );
      process.exit(0);
    } else throw new Error(`unknown argument ${arg} (see --help)`);
  }
  return o;
}

/** One row of the table: a figure, its value, and what it must be (`check`), if anything. */
interface Row {
  scenario: string;
  figure: string;
  value: string;
  expected: string;
  ok: boolean;
}

const rows: Row[] = [];
const failures: string[] = [];
const timings: [string, number][] = [];

function row(scenario: string, figure: string, value: number | string, expected = '', ok = true): void {
  rows.push({ scenario, figure, value: typeof value === 'number' ? fmt(value) : value, expected, ok });
}
const zero = (scenario: string, figure: string, value: number) =>
  row(scenario, figure, value, '= 0', value === 0);
const atLeast = (scenario: string, figure: string, value: number, min: number) =>
  row(scenario, figure, value, `>= ${fmt(min)}`, value >= min);

function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Number.isInteger(n)) return n.toLocaleString('en-US');
  return n.toFixed(n < 10 ? 2 : 1);
}

function progress(text: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r${text}\x1b[K`);
}

async function stage<T>(name: string, run: () => Promise<T>): Promise<T> {
  process.stderr.write(`${process.stderr.isTTY ? '\r\x1b[K' : ''}${name} ...\n`);
  const t0 = performance.now();
  const result = await run();
  timings.push([name, (performance.now() - t0) / 1000]);
  progress('');
  return result;
}

function printTable(): void {
  const headers = ['scenario', 'figure', 'value', 'must be', ''];
  const cells = rows.map((r) => [r.scenario, r.figure, r.value, r.expected, r.ok ? '' : 'FAIL']);
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) =>
    `| ${c.map((x, i) => (i === 2 ? x.padStart(widths[i]!) : x.padEnd(widths[i]!))).join(' | ')} |`;
  const out = [line(headers), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`];
  let last = '';
  for (const c of cells) {
    out.push(line([c[0] === last ? '' : c[0]!, ...c.slice(1)]));
    last = c[0]!;
  }
  process.stdout.write(out.join('\n') + '\n');
}

function corruptionRows(name: string, f: CorruptionFigures, strict: boolean): void {
  row(name, 'cases tried', f.cases);
  for (const [outcome, n] of Object.entries(f.outcomes)) {
    if (outcome === 'crash') zero(name, 'crashes (non-LogStoreError, signal)', n);
    else if (outcome === 'undetected' && strict)
      zero(name, 'undetected corruptions (wrong record, silent loss)', n);
    else if (outcome === 'undetected') row(name, 'undetected (format limit, see below)', n);
    else if (outcome === 'catalogSilent')
      zero(name, 'catalog damage: silent changes (records hidden, nothing said)', n);
    else
      row(
        name,
        {
          intact: 'intact (damage outside any record)',
          detected: 'detected (LOGSTORE_CORRUPT)',
          cut: 'torn tail cut and reported',
          unsyncedTail: 'unsynced tail gone (zeros after the recovery point)',
          io: 'LOGSTORE_IO',
          catalogRepaired: 'catalog damage repaired from the files, reported',
          catalogReported: 'catalog damage reported, records set aside in quarantine/',
          formatLimit: 'format limit (base offset moved inside a compaction gap)',
        }[outcome] ?? outcome,
        n,
      );
  }
  zero(name, 'catalog damage: segment files deleted', f.catalogFilesDeleted);
  zero(name, 'catalog damage: records of the base in no file', f.catalogRecordsLost);
  zero(name, 'worker processes that died', f.workerDeaths);
  if (f.indexCases > 0)
    row(
      name,
      'index cases: file valid again after reopen',
      `${fmt(f.indexFilesRewritten)} of ${fmt(f.indexCases)}`,
    );
  for (const e of f.examples) failures.push(`${name}: ${e}`);
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'logstore-stress-'));
  const started = performance.now();
  const on = (s: string) => o.only.has(s);
  try {
    if (on('kill') && o.iterations > 0) {
      const f = await stage(`kill -9 loops: ${o.iterations} iterations`, () =>
        runKillLoop({
          iterations: o.iterations,
          root: path.join(root, 'kill'),
          seed: o.seed,
          ...(o.keepFailures ? { keepFailuresIn: o.keepFailures } : {}),
          onProgress: (n, f) =>
            progress(`kill ${n}/${o.iterations}: lost ${f.ackedLost}, garbage ${f.garbage}`),
        }),
      );
      const s = 'kill -9';
      row(s, 'iterations', f.iterations);
      row(
        s,
        'random kills / crash-point kills',
        `${fmt(f.randomKills)} / ${fmt(Object.values(f.crashPointKills).reduce((a, b) => a + b, 0))}`,
      );
      for (const p of CRASH_POINTS) atLeast(s, `  reached ${p}`, f.crashPointKills[p] ?? 0, 1);
      zero(s, 'crash-point runs that missed their point', f.crashPointsMissed);
      row(s, 'records acknowledged', f.recordsAcked);
      zero(s, 'acknowledged records lost', f.ackedLost);
      zero(s, 'garbage records', f.garbage);
      zero(s, 'out-of-order records', f.outOfOrder);
      zero(s, 'opens or reads failing after a kill', f.failedOpens);
      zero(s, 'committed offsets lost', f.commitsLost);
      zero(s, 'leftover files after open', f.leftovers);
      zero(s, 'children failing on their own', f.childFailures);
      row(s, 'unclean opens (recoveries)', f.uncleanOpens);
      row(s, 'bytes cut (torn tails)', f.bytesCut);
      row(
        s,
        'recovery (open) time p50 / p99 / max, ms',
        `${fmt(percentile(f.recoveryMs, 50))} / ${fmt(percentile(f.recoveryMs, 99))} / ${fmt(percentile(f.recoveryMs, 100))}`,
      );
      for (const e of f.failures) failures.push(`${s}: ${e}`);
    }
    if (on('power') && o.power > 0) {
      const f = await stage(`power loss images: ${o.power} iterations`, () =>
        runPowerLoss({
          iterations: o.power,
          root: path.join(root, 'power'),
          seed: o.seed,
          onProgress: (n, f) => progress(`power ${n}/${o.power}: lost ${f.flushedLost}`),
        }),
      );
      const s = 'power loss (image)';
      row(s, 'images (kill + snapshot + random pages)', f.iterations);
      row(s, 'records acknowledged by flush()', f.flushedRecords);
      zero(s, 'records acknowledged by flush() lost', f.flushedLost);
      zero(s, 'garbage / out-of-order records', f.garbage + f.outOfOrder);
      zero(s, 'images that failed to open or read', f.failedOpens);
      zero(s, 'recovery points ahead of the last flush()', f.recoveryAhead);
      row(
        s,
        'pages changed since the snapshot / taken / torn',
        `${fmt(f.pagesChanged)} / ${fmt(f.pagesTaken)} / ${fmt(f.tornPages)}`,
      );
      row(s, 'opens that cut a torn tail (bytes)', `${fmt(f.cuts)} (${fmt(f.bytesCut)})`);
      for (const e of f.failures) failures.push(`${s}: ${e}`);
    }
    if (on('ext4') && o.ext4 > 0) {
      const s = 'power loss (ext4 loop)';
      const why = ext4Unavailable(fs.mkdtempSync(path.join(root, 'ext4-probe-')));
      if (why) row(s, 'skipped', why);
      else {
        const f = await stage(`loop-mounted ext4: ${o.ext4} iterations`, () =>
          runExt4PowerLoss({ iterations: o.ext4, root: path.join(root, 'ext4'), seed: o.seed }),
        );
        row(s, 'images copied right after a kill', f.iterations);
        row(s, 'records acknowledged by flush()', f.flushedRecords);
        zero(s, 'records acknowledged by flush() lost', f.flushedLost);
        zero(s, 'garbage / out-of-order records', f.garbage + f.outOfOrder);
        zero(s, 'images that failed to open or read', f.failedOpens);
        row(s, 'unflushed records the cut took (shows it was real)', f.unflushedGone);
        for (const e of f.failures) failures.push(`${s}: ${e}`);
      }
    }
    if (on('corruption') && o.corruption > 0) {
      const f = await stage(`corruption: ${o.corruption} cases`, () =>
        runCorruption({
          cases: o.corruption,
          root: path.join(root, 'corruption'),
          seed: o.seed,
          workers: o.workers,
          onProgress: (n, f) =>
            n % 100 === 0 &&
            progress(
              `corruption ${n}/${o.corruption}: undetected ${f.outcomes.undetected}, crashes ${f.outcomes.crash}`,
            ),
        }),
      );
      corruptionRows('corruption', f, true);
    }
    if (on('foreign') && o.corruption > 0) {
      const cases = Math.max(20, Math.floor(o.corruption / 50));
      const f = await stage(`another partition's page at the same place: ${cases} cases`, () =>
        runCorruption({
          cases,
          root: path.join(root, 'foreign'),
          seed: o.seed,
          workers: o.workers,
          only: 'foreign-page',
        }),
      );
      corruptionRows('foreign page', f, false);
    }
    const cleanupCases = o.cleanup ?? (o.corruption > 0 ? Math.max(36, Math.round(o.corruption / 20)) : 0);
    if (on('cleanup') && cleanupCases > 0) {
      const f = await stage(`damage meeting cleanup and followers: ${cleanupCases} cases`, () =>
        runCleanupCorruption({
          cases: cleanupCases,
          root: path.join(root, 'cleanup'),
          seed: o.seed,
          workers: o.workers,
          onProgress: (n) => progress(`cleanup ${n}/${cleanupCases}`),
        }),
      );
      const s = 'damage + cleanup';
      let crashes = 0;
      let falseAlarms = 0;
      let unplaced = 0;
      for (const c of CLEANUPS) {
        for (const d of DAMAGES) {
          const n = f.combinations[`${c}/${d}`]!;
          const tried = Object.values(n).reduce((a, b) => a + b, 0);
          crashes += n.crash;
          falseAlarms += n.falseAlarm;
          unplaced += n.unplaced;
          const other = tried - n.detected - n.harmless - n.undetected;
          row(
            s,
            `${c} + ${d}: tried / detected / harmless / undetected`,
            `${fmt(tried)} / ${fmt(n.detected)} / ${fmt(n.harmless)} / ${fmt(n.undetected)}` +
              (other > 0 ? ` (+${fmt(other)} below)` : ''),
            'undetected = 0',
            n.undetected === 0,
          );
        }
      }
      zero(s, 'crashes (non-LogStoreError, signal, hang)', crashes);
      zero(s, 'reported without the position of the damage', unplaced);
      zero(s, 'false alarms (intact data reported damaged)', falseAlarms);
      zero(s, 'worker processes that died', f.workerDeaths);
      for (const e of f.examples) failures.push(`${s}: ${e}`);
    }
    if (on('disk') && o.diskFull > 0) {
      const { figures: f, tmpfsSkipped } = await stage(`disk full: ${o.diskFull} runs (+ tmpfs)`, () =>
        runDiskFull({ iterations: o.diskFull, root: path.join(root, 'disk'), seed: o.seed, tmpfs: true }),
      );
      const s = 'disk full';
      row(s, 'runs (ulimit -f' + (tmpfsSkipped ? '' : ', tmpfs 4 MiB') + ')', f.runs);
      if (tmpfsSkipped) row(s, 'tmpfs skipped', tmpfsSkipped);
      row(s, 'injections (limit reached)', f.injections, `= ${fmt(f.runs)}`, f.injections === f.runs);
      row(s, 'LOGSTORE_DISK_FULL errors', f.diskFullErrors);
      row(s, 'LOGSTORE_IO from the catalog under ulimit -f', f.catalogIo);
      zero(s, 'other errors (codes, non-LogStoreErrors)', f.otherErrors);
      zero(s, 'SIGBUS', f.sigbus);
      zero(s, 'other signals', f.signals - f.sigbus);
      row(s, 'records acknowledged', f.recordsAcked);
      zero(s, 'acknowledged records lost', f.ackedLost);
      zero(s, 'records beyond the acknowledged prefix', f.extraRecords);
      zero(s, 'garbage records', f.garbage);
      zero(s, 'reopens that failed (space freed)', f.failedReopens);
      row(s, 'reopens refused while still full', f.reopenRefusedWhileFull);
      for (const e of f.failures) failures.push(`${s}: ${e}`);
    }
    if (on('sync') && o.failedSync > 0) {
      const f = await stage(`failed syncs: ${o.failedSync} runs`, () =>
        runFailedSync({ iterations: o.failedSync, root: path.join(root, 'sync'), seed: o.seed }),
      );
      const s = 'failed sync';
      row(s, 'runs (once/always x 3 durabilities)', f.runs);
      row(s, 'writers poisoned (LOGSTORE_IO)', f.poisoned, `= ${fmt(f.runs)}`, f.poisoned === f.runs);
      zero(s, 'acknowledged after the failure', f.ackedAfterFailure);
      zero(s, 'failures with another code', f.wrongCodes);
      row(s, 'records acknowledged before it', f.recordsAcked);
      zero(s, 'of those lost at reopen', f.ackedLost);
      zero(s, 'garbage records', f.garbage);
      zero(s, 'reopens that failed', f.failedReopens);
      for (const e of f.failures) failures.push(`${s}: ${e}`);
    }
    if (on('lock') && o.locking > 0) {
      const f = await stage(`locking: ${o.locking} rounds`, () =>
        runLocking({ rounds: o.locking, root: path.join(root, 'lock') }),
      );
      const s = 'locking';
      row(
        s,
        'second writer, other process: refused',
        `${fmt(f.otherProcessRefused)} of ${fmt(f.otherProcessAttempts)}`,
        'all',
        f.otherProcessRefused === f.otherProcessAttempts,
      );
      row(
        s,
        'second writer, same process: refused',
        `${fmt(f.sameProcessRefused)} of ${fmt(f.sameProcessAttempts)}`,
        'all',
        f.sameProcessRefused === f.sameProcessAttempts,
      );
      row(s, 'slowest refusal, ms', f.maxRefusalMs, '< 10', f.maxRefusalMs < 10);
      row(
        s,
        'follower opens + reads (during a held transaction)',
        `${fmt(f.followerReads)} (${fmt(f.followerReadsDuringHold)})`,
      );
      zero(s, 'followers blocked or failing', f.followerFailures);
      row(s, 'slowest follower open + read, ms', f.maxFollowerMs, '< 100', f.maxFollowerMs < 100);
      row(
        s,
        'lock free right after SIGKILL',
        `${fmt(f.lockFreedAfterKill)} of ${fmt(f.killRounds)}`,
        'all',
        f.lockFreedAfterKill === f.killRounds,
      );
      row(
        s,
        'writer beside a follower opens',
        `${fmt(f.writerBesideFollowerOk)} of ${fmt(f.writerBesideFollower)}`,
        'all',
        f.writerBesideFollowerOk === f.writerBesideFollower,
      );
      for (const e of f.failures) failures.push(`${s}: ${e}`);
    }
    if (on('follower') && o.follower > 0) {
      const f = await stage(`follower under churn: ${o.follower} runs`, () =>
        runFollower({
          iterations: o.follower,
          root: path.join(root, 'follower'),
          seed: o.seed,
          records: o.followerRecords,
          tail: true,
        }),
      );
      const s = 'follower under churn';
      row(
        s,
        'runs / records written / read',
        `${fmt(f.runs)} / ${fmt(f.recordsWritten)} / ${fmt(f.recordsRead)}`,
      );
      zero(s, 'follower crashes', f.crashes);
      zero(s, 'records missed', f.missed);
      zero(s, 'records duplicated', f.duplicates);
      zero(s, 'garbage records', f.garbage);
      zero(s, 'errors other than OFFSET_OUT_OF_RANGE', f.errors);
      row(s, 'fell behind retention (OUT_OF_RANGE, went on at earliest)', f.resets);
      zero(s, 'partitions not caught up at the end', f.behind);
      if (f.tail) {
        row(s, 'logstore tail --follow: records printed', f.tail.records);
        zero(s, 'logstore tail --follow: crashes', f.tail.crashes);
        zero(s, 'logstore tail --follow: garbage / out of order', f.tail.garbage + f.tail.outOfOrder);
      }
      for (const e of f.failures) failures.push(`${s}: ${e}`);
    }
    if (on('fuzz') && o.fuzz > 0) {
      const f = await stage(`catalog fuzzing: ${o.fuzz} runs`, () =>
        runCatalogFuzz({ runs: o.fuzz, root: path.join(root, 'fuzz'), seed: o.seed, shrink: true }),
      );
      const s = 'catalog fuzzing';
      row(s, 'catalog files tried (fast-check)', f.runs);
      row(
        s,
        'opened / LOGSTORE_CORRUPT / LOGSTORE_IO',
        `${fmt(f.opened)} / ${fmt(f.corrupt)} / ${fmt(f.io)}`,
      );
      zero(s, 'other LogStoreError codes', f.otherCodes);
      zero(s, 'non-LogStoreErrors', f.foreign);
      row(s, 'slowest open + read, ms', f.maxMs, '< 5000', f.maxMs < 5000);
      if (f.counterexample) failures.push(`${s}: counterexample ${f.counterexample}`);
      row(s, 'batch decoder', 'see spec/format/decoder-fuzz.spec.ts');
    }
    if (on('kafka') && o.kafkaFuzz > 0) {
      const f = await stage(`Kafka protocol fuzzing: ${o.kafkaFuzz} live frames`, () =>
        runKafkaFuzz({ decoderRuns: 4 * o.kafkaFuzz, liveFrames: o.kafkaFuzz, seed: o.seed }),
      );
      const s = 'Kafka protocol fuzzing';
      row(s, 'request decoder: frames tried (every API and version)', f.decoderFrames);
      zero(s, 'request decoder: errors other than a malformed frame', f.decoderUntypedErrors);
      zero(s, 'request decoder: outputs larger than their input', f.decoderOverAllocations);
      row(s, 'live listener: frames tried / connections', `${fmt(f.liveFrames)} / ${fmt(f.liveConnections)}`);
      zero(s, 'live listener: crashes', f.crashes);
      zero(s, 'live listener: connections that broke the server', f.connectionsThatBrokeTheServer);
      for (const p of f.problems) failures.push(`${s}: ${p}`);
    }
    if (on('rollback') && o.rollback > 0) {
      const f = await stage(`kill -9 then a damaged catalog -wal: ${o.rollback} stores`, () =>
        runCatalogRollback({
          root: path.join(root, 'rollback'),
          stores: o.rollback,
          seed: o.seed,
          onProgress: (n, f) => progress(`rollback ${n}: lost ${f.ackedLost}, deleted ${f.filesDeleted}`),
        }),
      );
      const s = 'catalog rollback';
      row(s, 'stores (kill -9) / damaged -wal copies opened', `${fmt(f.stores)} / ${fmt(f.cases)}`);
      row(s, 'records acknowledged (summed over the copies)', f.recordsAcked);
      zero(s, 'acknowledged records lost', f.ackedLost);
      zero(s, 'segment files deleted', f.filesDeleted);
      zero(s, 'silent changes (records missing after an open that worked)', f.silent);
      row(s, 'opens that read back every record', f.readBack);
      row(s, 'opens refused (topic lost; LOGSTORE_CORRUPT naming the repair), repaired', f.refused);
      zero(s, '  of those, of a topic created before the killed session', f.refusedWithTopicKnown);
      row(s, 'segments adopted', f.adopted);
      zero(s, 'unlisted segments not reported', f.unnamed);
      zero(s, 'other errors, failed repairs', f.wrongErrors);
      for (const e of f.failures) failures.push(`${s}: ${e}`);
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
  const wall = (performance.now() - started) / 1000;
  printTable();
  process.stdout.write(
    `\ntime: ${timings.map(([n, s]) => `${n.split(':')[0]} ${s.toFixed(0)} s`).join(', ')}; total ${wall.toFixed(0)} s` +
      ` on ${os.availableParallelism()} cores\n`,
  );
  if (failures.length > 0) {
    process.stdout.write(`\nproblems (first ${Math.min(failures.length, 40)} of ${failures.length}):\n`);
    for (const f of failures.slice(0, 40))
      process.stdout.write(`  - ${f.replace(/\n/g, ' | ').slice(0, 600)}\n`);
  }
  if (o.json) process.stdout.write(JSON.stringify({ rows, failures, timings }) + '\n');
  const bad = rows.filter((r) => !r.ok);
  process.stdout.write(
    bad.length === 0 ? '\nall figures as required\n' : `\n${bad.length} figures off: FAIL\n`,
  );
  process.exitCode = bad.length === 0 ? 0 : 1;
}

await main();
