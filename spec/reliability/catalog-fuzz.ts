/**
 * Fuzzing the catalog loading (issue 7, item 8; the batch decoder has its own properties in
 * spec/format/decoder-fuzz.spec.ts). fast-check generates catalog files: random bytes (with or
 * without SQLite's 16-byte header in front), and a real catalog — closed cleanly, or with its
 * -wal as a crash leaves it — with a handful of bytes overwritten. A store directory with that
 * catalog is opened as a writer and read-only, and everything in it read; every failure must be
 * a LogStoreError (LOGSTORE_CORRUPT or LOGSTORE_IO), never another exception, never a hang.
 */
import fc from 'fast-check';
import fs from 'node:fs';
import path from 'node:path';
import { LogStore, LogStoreError } from '../../lib/index.js';
import { readPartition } from './inspect.js';
import { expectedRecord } from './records.js';

export interface CatalogFuzzFigures {
  runs: number;
  /** Opens that worked (the damage missed everything that matters, or the bytes were a valid empty database). */
  opened: number;
  corrupt: number;
  io: number;
  /** LogStoreErrors with another code. */
  otherCodes: number;
  /** Anything thrown that is not a LogStoreError. */
  foreign: number;
  maxMs: number;
  /** fast-check's shrunk counterexample, when a property failed. */
  counterexample: string | null;
}

const ALLOWED = new Set(['LOGSTORE_CORRUPT', 'LOGSTORE_IO']);
const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

/** A small store to take valid catalogs from: `clean` (closed) and `crashed` (with its -wal). */
async function buildTemplates(root: string): Promise<{ clean: string; crashed: string }> {
  const clean = path.join(root, 'template-clean');
  const crashed = path.join(root, 'template-crashed');
  for (const dir of [clean, crashed]) fs.rmSync(dir, { recursive: true, force: true });
  const store = LogStore.open(clean, { cleanupIntervalMs: 0, durability: 'none' });
  store.createTopic('t', { partitions: 2, segmentBytes: 4096 });
  store.createTopic('c', { cleanupPolicy: 'compact', segmentBytes: 4096 });
  for (let i = 0; i < 120; i++) {
    store.append('t', expectedRecord('t', i % 2, Math.floor(i / 2)), { partition: i % 2 });
    store.append('c', expectedRecord('c', 0, i));
  }
  const consumer = store.consumer('t', { group: 'g', autoCommit: false });
  consumer.commit(consumer.read(10).at(-1)!);
  await consumer.close();
  store.cleanup('c');
  await store.flush();
  fs.cpSync(clean, crashed, { recursive: true }); // as a kill -9 leaves it: catalog plus -wal
  await store.close();
  return { clean, crashed };
}

/** Opens `dir` both ways and reads everything: returns the LogStoreError code, 'ok', or throws. */
async function exercise(dir: string): Promise<string> {
  let outcome = 'ok';
  for (const readOnly of [false, true]) {
    let store: LogStore | null = null;
    try {
      store = LogStore.open(dir, { readOnly, cleanupIntervalMs: 0 });
      for (const t of store.topics()) {
        store.describeTopic(t.name);
        for (let p = 0; p < Math.min(t.partitionCount, 4); p++) readPartition(store, t.name, p);
      }
      store.groups();
    } catch (err) {
      if (!(err instanceof LogStoreError)) throw err;
      if (outcome === 'ok') outcome = err.code;
    }
    // Close outside a `finally`, so that its error never hides the one above.
    try {
      await store?.close();
    } catch (err) {
      if (!(err instanceof LogStoreError)) throw err;
      if (outcome === 'ok') outcome = err.code;
    }
  }
  return outcome;
}

export async function runCatalogFuzz(options: {
  runs: number;
  root: string;
  seed?: number;
  /** Shrink a failing case to a minimal counterexample (slower). */
  shrink?: boolean;
}): Promise<CatalogFuzzFigures> {
  const figures: CatalogFuzzFigures = {
    runs: 0,
    opened: 0,
    corrupt: 0,
    io: 0,
    otherCodes: 0,
    foreign: 0,
    maxMs: 0,
    counterexample: null,
  };
  fs.mkdirSync(options.root, { recursive: true });
  const templates = await buildTemplates(options.root);
  const work = path.join(options.root, 'work');
  let foreignError = '';

  const setup = (template: string | null): void => {
    fs.rmSync(work, { recursive: true, force: true });
    if (template) fs.cpSync(template, work, { recursive: true });
    else fs.mkdirSync(work, { recursive: true });
  };
  const check = async (): Promise<boolean> => {
    figures.runs++;
    const t0 = performance.now();
    let outcome: string;
    try {
      outcome = await exercise(work);
    } catch (err) {
      figures.foreign++;
      foreignError = (err as Error)?.stack ?? String(err);
      return false;
    } finally {
      figures.maxMs = Math.max(figures.maxMs, performance.now() - t0);
    }
    if (outcome === 'ok') figures.opened++;
    else if (outcome === 'LOGSTORE_CORRUPT') figures.corrupt++;
    else if (outcome === 'LOGSTORE_IO') figures.io++;
    else figures.otherCodes++;
    return outcome === 'ok' || ALLOWED.has(outcome);
  };

  const randomFile = fc.record({
    header: fc.boolean(),
    bytes: fc.uint8Array({ minLength: 0, maxLength: 3 * 4096 }),
    withTemplateFiles: fc.boolean(),
  });
  const mutation = fc.record({
    template: fc.constantFrom<'clean' | 'crashed'>('clean', 'crashed'),
    file: fc.constantFrom('catalog.sqlite', 'catalog.sqlite-wal'),
    writes: fc.array(fc.record({ at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }), {
      minLength: 1,
      maxLength: 8,
    }),
  });
  const half = Math.max(1, Math.floor(options.runs / 2));
  const result1 = await fc.check(
    fc.asyncProperty(randomFile, async ({ header, bytes, withTemplateFiles }) => {
      setup(withTemplateFiles ? templates.clean : null);
      const content = header ? Buffer.concat([SQLITE_HEADER, bytes]) : Buffer.from(bytes);
      fs.writeFileSync(path.join(work, 'catalog.sqlite'), content);
      for (const f of ['catalog.sqlite-wal', 'catalog.sqlite-shm'])
        fs.rmSync(path.join(work, f), { force: true });
      return check();
    }),
    { numRuns: half, seed: options.seed ?? 1, endOnFailure: !options.shrink },
  );
  const result2 = await fc.check(
    fc.asyncProperty(mutation, async ({ template, file, writes }) => {
      setup(templates[template]);
      const full = path.join(work, file);
      if (!fs.existsSync(full)) return true; // the clean template has no -wal
      const bytes = fs.readFileSync(full);
      for (const w of writes) Buffer.from(w.bytes).copy(bytes, w.at % Math.max(1, bytes.length));
      fs.writeFileSync(full, bytes);
      return check();
    }),
    { numRuns: options.runs - half, seed: (options.seed ?? 1) + 1, endOnFailure: !options.shrink },
  );
  for (const r of [result1, result2]) {
    if (r.failed && !figures.counterexample) {
      figures.counterexample = `${JSON.stringify(r.counterexample)?.slice(0, 300)}: ${foreignError.split('\n').slice(0, 4).join(' | ')}`;
    }
  }
  fs.rmSync(options.root, { recursive: true, force: true });
  return figures;
}
