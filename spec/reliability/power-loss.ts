/**
 * Power loss without root (issue 7, item 2). Kill -9 keeps the page cache, so it cannot show what
 * `flush()` promises. Here a writer child (durability 'none' or 'interval', or 'always') copies
 * its partition directories right after each flush resolves (before any further append) and
 * prints `snap <n> <ends>`; the parent kills it at a random time and builds what a disk could hold
 * after a power cut at that moment:
 *
 *   - the catalog (catalog.sqlite and -wal, -shm or not) as the child left it: SQLite syncs its
 *     own commits (synchronous=FULL) before returning, so what it committed survives;
 *   - every segment file starts from the last snapshot (zeros for a file created later) and takes
 *     each 4 KiB page written since with probability 1/2; one changed page is torn (a prefix of
 *     512-byte sectors new, the rest old); its length is the old one or the new one;
 *   - index files (written without fsync: a cache) are absent, old, new or torn.
 *
 * One adjustment keeps the image sound: the catalog's recovery point is written only after the
 * sync that covers it completed, and the child may die between that write and its next snapshot.
 * So the bytes below the recovery point (the whole of earlier segments, the recovery segment up to
 * its position) come from the final files: a real disk holds them. That could hide a recovery
 * point written *before* its sync, so for durability 'none' (where only flush() moves it) the
 * parent also checks that the recovery point never passes what the last flush() call covered.
 *
 * The image is then opened and read: every record below the last snapshot's ends must be there,
 * and nothing may be garbage. The next iteration starts from the image (so recoveries of
 * power-cut stores are exercised) or from the verified, cleanly closed copy.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Durability } from '../../lib/index.js';
import { QUARANTINE_DIR } from '../../lib/storage/layout.js';
import { inspectStore } from './inspect.js';
import { judge } from './ledger.js';
import { sleep } from './proc.js';
import { between, prng, tp, type Ends } from './records.js';
import { startWriter } from './writer.js';

const Database = createRequire(import.meta.url)('better-sqlite3') as typeof import('better-sqlite3');

const PAGE = 4096;
const SECTOR = 512;

export interface PowerLossOptions {
  iterations: number;
  root: string;
  seed?: number;
  modes?: Durability[];
  /** Iterations chained on one store before starting afresh. @default 10 */
  chunk?: number;
  onProgress?: (done: number, figures: PowerLossFigures) => void;
}

export interface PowerLossFigures {
  iterations: number;
  /** Records below the last flush() (or snapshot) of each run: they had to survive. */
  flushedRecords: number;
  flushedLost: number;
  garbage: number;
  outOfOrder: number;
  /** Images that could not be opened or read. */
  failedOpens: number;
  /** Recovery points past what the last flush() call covered ('none' only). */
  recoveryAhead: number;
  pagesChanged: number;
  pagesTaken: number;
  tornPages: number;
  /** Opens of an image that cut a torn tail, and the bytes cut. */
  cuts: number;
  bytesCut: number;
  failures: string[];
}

export function emptyPowerFigures(): PowerLossFigures {
  return {
    iterations: 0,
    flushedRecords: 0,
    flushedLost: 0,
    garbage: 0,
    outOfOrder: 0,
    failedOpens: 0,
    recoveryAhead: 0,
    pagesChanged: 0,
    pagesTaken: 0,
    tornPages: 0,
    cuts: 0,
    bytesCut: 0,
    failures: [],
  };
}

interface Extent {
  /** Segments below this base offset are durable whole. */
  segment: number;
  /** ... and the recovery segment up to this position. */
  position: number;
  offset: number;
}

/** Recovery points from a store's catalog (read from a scratch copy: never touch the original). */
export function recoveryPoints(
  storeDir: string,
  scratch: string,
): { points: Map<string, Extent>; clean: boolean } {
  fs.rmSync(scratch, { recursive: true, force: true });
  fs.mkdirSync(scratch, { recursive: true });
  for (const f of ['catalog.sqlite', 'catalog.sqlite-wal']) {
    if (fs.existsSync(path.join(storeDir, f))) fs.copyFileSync(path.join(storeDir, f), path.join(scratch, f));
  }
  const db = new Database(path.join(scratch, 'catalog.sqlite'));
  try {
    const points = new Map<string, Extent>();
    const rows = db
      .prepare(
        'SELECT topic, partition, recovery_segment, recovery_position, recovery_offset FROM partitions',
      )
      .all() as {
      topic: string;
      partition: number;
      recovery_segment: number;
      recovery_position: number;
      recovery_offset: number;
    }[];
    for (const r of rows) {
      points.set(`${r.topic}-${r.partition}`, {
        segment: r.recovery_segment,
        position: r.recovery_position,
        offset: r.recovery_offset,
      });
    }
    const clean = (
      db.prepare("SELECT value FROM meta WHERE key = 'clean_shutdown'").get() as { value: string } | undefined
    )?.value;
    return { points, clean: clean === '1' };
  } finally {
    db.close();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

const readOrNull = (file: string): Buffer | null => (fs.existsSync(file) ? fs.readFileSync(file) : null);

/**
 * Writes into `image` what a disk could hold after a power cut: `base` is the state known to be
 * on disk (a snapshot), `final` the state in the page cache when the power went.
 */
export function buildImage(
  base: string,
  final: string,
  image: string,
  rand: () => number,
  figures: Pick<PowerLossFigures, 'pagesChanged' | 'pagesTaken' | 'tornPages'>,
): void {
  fs.rmSync(image, { recursive: true, force: true });
  fs.mkdirSync(image, { recursive: true });
  for (const f of ['catalog.sqlite', 'catalog.sqlite-wal', 'catalog.sqlite-shm']) {
    if (f.endsWith('-shm') && rand() < 0.5) continue;
    if (fs.existsSync(path.join(final, f))) fs.copyFileSync(path.join(final, f), path.join(image, f));
  }
  const { points } = recoveryPoints(final, `${image}.catalog-scratch`);
  const dirs = new Set<string>();
  for (const d of [base, final]) {
    if (!fs.existsSync(d)) continue;
    for (const e of fs.readdirSync(d, { withFileTypes: true }))
      if (e.isDirectory() && e.name !== QUARANTINE_DIR) dirs.add(e.name);
  }
  // What an earlier open set aside (files the catalog did not list after an earlier power cut)
  // was moved there durably, renames and directory syncs, before this writer started: the image
  // has it as it is. It is not a partition: its entries are folders, one per open.
  const quarantine = path.join(final, QUARANTINE_DIR);
  if (fs.existsSync(quarantine)) fs.cpSync(quarantine, path.join(image, QUARANTINE_DIR), { recursive: true });
  const candidates: { file: string; page: number; old: Buffer; next: Buffer }[] = [];
  for (const name of dirs) {
    const point = points.get(name);
    const files = new Set<string>();
    for (const d of [path.join(base, name), path.join(final, name)]) {
      if (fs.existsSync(d)) for (const f of fs.readdirSync(d)) files.add(f);
    }
    fs.mkdirSync(path.join(image, name), { recursive: true });
    for (const f of files) {
      const out = path.join(image, name, f);
      const old = readOrNull(path.join(base, name, f));
      const next = readOrNull(path.join(final, name, f));
      if (!f.endsWith('.log')) {
        // A cache written without fsync: anything from nothing to the newest, or torn.
        const pick = rand();
        const chosen =
          pick < 0.25
            ? null
            : pick < 0.5
              ? old
              : pick < 0.75
                ? next
                : next?.subarray(0, between(rand, 0, next.length));
        if (chosen) fs.writeFileSync(out, chosen);
        continue;
      }
      if (next === null) {
        // Deleted after the snapshot (after the catalog forgot it): the unlink may not have made it.
        if (old && rand() < 0.5) fs.writeFileSync(out, old);
        continue;
      }
      const baseOffset = Number(f.slice(0, 20));
      const durableWhole = point !== undefined && baseOffset < point.segment;
      const durablePrefix = point !== undefined && baseOffset === point.segment ? point.position : 0;
      if (durableWhole) {
        fs.writeFileSync(out, next);
        continue;
      }
      const oldLength = old?.length ?? 0;
      const length = durablePrefix > 0 || rand() < 0.5 ? next.length : Math.max(oldLength, 0);
      const bytes = Buffer.alloc(Math.max(length, durablePrefix));
      old?.copy(bytes, 0, 0, Math.min(oldLength, bytes.length));
      next.copy(bytes, 0, 0, Math.min(durablePrefix, next.length));
      for (let page = Math.floor(durablePrefix / PAGE) * PAGE; page < bytes.length; page += PAGE) {
        const end = Math.min(page + PAGE, bytes.length);
        const from = Math.max(page, durablePrefix);
        if (next.compare(bytes, from, end, from, Math.min(end, next.length)) === 0) continue;
        figures.pagesChanged++;
        const oldPage = Buffer.from(bytes.subarray(from, end));
        if (rand() < 0.5) {
          figures.pagesTaken++;
          next.copy(bytes, from, from, Math.min(end, next.length));
        }
        candidates.push({
          file: out,
          page: from,
          old: oldPage,
          next: next.subarray(from, Math.min(end, next.length)),
        });
      }
      fs.writeFileSync(out, bytes);
    }
  }
  if (candidates.length > 0) {
    // Tear one changed page: its first sectors new, the rest old.
    const c = candidates[between(rand, 0, candidates.length - 1)]!;
    const bytes = fs.readFileSync(c.file);
    const cut = Math.min(c.next.length, between(rand, 1, PAGE / SECTOR - 1) * SECTOR);
    c.old.copy(bytes, c.page);
    c.next.copy(bytes, c.page, 0, cut);
    fs.writeFileSync(c.file, bytes);
    figures.tornPages++;
  }
}

export async function runPowerLoss(options: PowerLossOptions): Promise<PowerLossFigures> {
  const figures = emptyPowerFigures();
  const rand = prng(options.seed ?? 1);
  const modes = options.modes ?? ['none', 'interval', 'always'];
  const chunk = options.chunk ?? 10;
  let failed = false;
  const fail = (what: string) => {
    failed = true;
    if (figures.failures.length < 20) figures.failures.push(what);
  };
  let start = '';
  let durable: Ends = new Map();
  let fresh = true;
  for (let i = 0; i < options.iterations; i++) {
    failed = false;
    const iterDir = path.join(options.root, `power-${i}`);
    const work = path.join(iterDir, 'work');
    const snaps = path.join(iterDir, 'snapshots');
    fs.mkdirSync(snaps, { recursive: true });
    if (fresh || i % chunk === 0) durable = new Map();
    else fs.cpSync(start, work, { recursive: true });
    fresh = false;
    const before = path.join(iterDir, 'before');
    if (fs.existsSync(work)) fs.cpSync(work, before, { recursive: true });
    const mode = modes[i % modes.length]!;
    const seed = Math.floor(rand() * 2 ** 31);
    // Now and then the writer closes cleanly and exits before the power goes: the next open
    // trusts what close wrote (index files included, which close does not sync).
    const closes = rand() < 0.25;
    const writer = startWriter(
      {
        dir: work,
        durability: mode,
        flushIntervalMs: 30,
        segmentBytes: 16384,
        topics: [{ name: 't', partitions: 2, weight: 1 }],
        work: {
          kind: 'random',
          seed,
          weights: { append: 100, flush: mode === 'always' ? 0.5 : 1.5, yield: 5, sleep: 2, close: 0.3 },
          maxBatch: 12,
          maxRecords: closes ? between(rand, 200, 3000) : 20000,
        },
        end: closes ? 'close' : 'idle',
        snapshotDir: snaps,
        ...(mode === 'always' ? { snapshotEveryAppends: 25 } : {}),
      },
      { keepLines: true },
    );
    const { ledger, lines } = writer;
    await writer.until('open');
    if (!closes) await sleep(between(rand, 0, 400));
    else await writer.exit(20_000);
    const exit = await writer.kill();
    const tag = `power iteration ${i} (${mode}, seed ${seed}, ${iterDir})`;
    figures.iterations++;
    if (closes ? exit.code !== 0 : exit.signal !== 'SIGKILL') {
      fail(`${tag}: child exited with ${exit.code ?? exit.signal}: ${exit.stderr.slice(0, 300)}`);
    }
    // The durable state: the last completed snapshot, or what the run started from.
    const snapshot = ledger.snapshot;
    const base = snapshot ? path.join(snaps, String(snapshot.n)) : before;
    const required: Ends = new Map(snapshot ? snapshot.ends : durable);
    for (const [key, end] of ledger.closed) required.set(key, Math.max(end, required.get(key) ?? 0));
    if (mode === 'none' && ledger.flushStarted.size > 0) {
      const { points } = recoveryPoints(work, path.join(iterDir, 'scratch'));
      for (const [key, end] of ledger.flushStarted) {
        const [topic, partition] = key.split(':');
        const point = points.get(`${topic}-${partition}`);
        const floor = Math.max(
          end,
          required.get(key) ?? 0,
          ledger.closeStarted.get(key) ?? 0,
          ledger.opens.length > 0 ? 0 : (durable.get(key) ?? 0),
        );
        if (point && point.offset > floor) {
          figures.recoveryAhead++;
          fail(`${tag}: recovery point of ${key} at offset ${point.offset}, the last flush covered ${end}`);
        }
      }
    }
    const image = path.join(iterDir, 'image');
    buildImage(base, work, image, rand, figures);
    const verify = path.join(iterDir, 'verify');
    fs.cpSync(image, verify, { recursive: true });
    const ins = await inspectStore(verify);
    for (const end of required.values()) figures.flushedRecords += end;
    if (ins.recovery && ins.recovery.bytesCut > 0) {
      figures.cuts++;
      figures.bytesCut += ins.recovery.bytesCut;
    }
    if (ins.error || ins.foreign) {
      figures.failedOpens++;
      fail(`${tag}: ${ins.error ? `${ins.error.code}: ${ins.error.message}` : ins.foreign}`);
      fresh = true;
      continue;
    }
    const verdict = judge(ins, required);
    figures.flushedLost += verdict.lost;
    figures.garbage += verdict.garbage;
    figures.outOfOrder += verdict.outOfOrder;
    if (verdict.problems.length > 0) fail(`${tag}: ${verdict.problems.join('; ')}`);
    // Chain: go on from the power-cut image itself, or from the verified (recovered, closed) copy.
    const keepImage = rand() < 0.5;
    const next = path.join(options.root, `start-${i}`);
    fs.rmSync(next, { recursive: true, force: true });
    fs.renameSync(keepImage ? image : verify, next);
    if (start) fs.rmSync(start, { recursive: true, force: true });
    start = next;
    durable = keepImage
      ? required
      : new Map([...ins.partitions.values()].map((p) => [tp(p.topic, p.partition), p.endOffset]));
    if (failed) fs.writeFileSync(path.join(iterDir, 'child-output.txt'), lines.join('\n') + '\n');
    else fs.rmSync(iterDir, { recursive: true, force: true });
    options.onProgress?.(i + 1, figures);
  }
  if (start) fs.rmSync(start, { recursive: true, force: true });
  return figures;
}
