/**
 * The parts of an open store and their lifecycle: `openParts` checks the directory, takes the
 * writer's LOCK, opens the catalog, wires the parts together, loads the topics (a writer recovers
 * them: recovery.ts) and starts the timers; `closeParts` takes them apart in the order that lets
 * nothing be acknowledged after its sync. LogStore (store.ts) is the public facade over them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Catalog } from './catalog/catalog.js';
import { Cleanup } from './cleanup.js';
import { Durability } from './durability.js';
import { ioError, LogStoreError } from './errors.js';
import { invalidArgument, normalizeStoreOptions } from './options.js';
import type { ResolvedStoreOptions, StoreOptions } from './options.js';
import { Producer } from './producer.js';
import { ProducerIds } from './producer-ids.js';
import { RawAppender } from './raw-append.js';
import { Groups } from './read/groups.js';
import { Readers } from './readers.js';
import { cleanReport, recoverOnOpen, type RecoveryReport } from './recovery.js';
import { catalogPath, checkIsDirectory } from './storage/layout.js';
import { StoreState } from './store-state.js';
import { Topics } from './topics.js';
import { WriterLock } from './writer-lock.js';

/** @internal */
export interface StoreParts {
  dir: string;
  options: ResolvedStoreOptions;
  recovery: RecoveryReport;
  catalog: Catalog;
  lock: WriterLock;
  state: StoreState;
  topics: Topics;
  durability: Durability;
  producer: Producer;
  producerIds: ProducerIds;
  rawAppender: RawAppender;
  groups: Groups;
  readers: Readers;
  cleanups: Cleanup;
}

/**
 * Opens the store in `dir` (see LogStore.open); `repair` verifies every batch whether or not
 * the last close was clean. Whatever fails comes out as a LogStoreError, with the logs, the
 * catalog and the lock released.
 */
export function openParts(dir: string, options: StoreOptions | undefined, repair: boolean): StoreParts {
  if (typeof dir !== 'string' || dir.length === 0) {
    throw invalidArgument(`Expected \`dir\` to be a directory path, got ${JSON.stringify(dir)}.`);
  }
  const opts = normalizeStoreOptions(options);
  const absolute = path.resolve(dir);
  checkIsDirectory(absolute);
  if (opts.readOnly && !fs.existsSync(catalogPath(absolute))) {
    throw invalidArgument(
      `No logstore at ${absolute} (no ${path.basename(catalogPath(absolute))}). A read-only open needs an existing store.`,
    );
  }
  const lock = opts.readOnly ? WriterLock.none(absolute) : WriterLock.take(absolute);
  let catalog: Catalog | undefined;
  let wired: StoreParts | undefined;
  try {
    catalog = Catalog.open(catalogPath(absolute), opts.readOnly);
    const parts = (wired = wire(absolute, opts, catalog, lock));
    if (opts.readOnly) {
      parts.topics.loadAll(true, false);
      return parts;
    }
    parts.recovery = recoverOnOpen(catalog, parts.topics, parts.durability, repair);
    parts.durability.start();
    parts.cleanups.start(opts.cleanupIntervalMs, () => {
      parts.state.checkWritable();
      parts.cleanups.run(parts.topics.all());
    });
    return parts;
  } catch (err) {
    // The partitions loaded before the failure are mapped: unmap them, or their files stay
    // busy (a file system that cannot be unmounted, blocks kept after deletion) until exit.
    wired?.durability.stop();
    wired?.cleanups.stop();
    try {
      wired?.topics.close();
    } catch {
      // The open's own failure is what the caller needs to see.
    }
    catalog?.close();
    lock.release();
    throw openError(err, absolute);
  }
}

function wire(dir: string, options: ResolvedStoreOptions, catalog: Catalog, lock: WriterLock): StoreParts {
  const topics = new Topics(dir, catalog, options);
  const durability = new Durability(options, catalog, () => topics.all());
  const state = new StoreState(dir, options.readOnly, () => durability.poisoned);
  const producerIds = new ProducerIds(catalog.producers);
  const { checkOpen, checkWritable } = state;
  const groups = new Groups(catalog, (name) => topics.get(name), checkWritable, options.readOnly, checkOpen);
  const cleanups = new Cleanup(groups);
  topics.onRoll = (topic, log) => cleanups.retain(topic, log);
  return {
    dir,
    options,
    recovery: cleanReport(),
    catalog,
    lock,
    state,
    topics,
    durability,
    producer: new Producer(durability),
    producerIds,
    rawAppender: new RawAppender(durability, producerIds),
    groups,
    readers: new Readers(topics, state, options.readOnly),
    cleanups,
  };
}

/**
 * Closes what serves calls (readers, consumers), then syncs and records a clean shutdown, then
 * releases the logs, the catalog and the lock. The caller stops the timers and the Kafka side
 * first (store.ts).
 */
export async function closeParts(parts: StoreParts): Promise<void> {
  parts.readers.closeAll();
  let failure = await parts.groups.closeAll();
  parts.state.closed = true; // no append or flush from here on
  if (parts.options.readOnly) parts.durability.stop();
  else {
    try {
      await parts.durability.closeCleanly();
    } catch (err) {
      failure = err;
    }
  }
  parts.topics.close();
  parts.catalog.close();
  parts.lock.release();
  if (failure) throw ioError(failure, 'Closing the store');
}

/**
 * What an open that failed below the library's own checks means for the user: an unreadable
 * catalog config or a file the catalog lists but the disk lacks is LOGSTORE_CORRUPT; anything
 * else LOGSTORE_IO. Never a bare SyntaxError or ENOENT.
 */
function openError(err: unknown, dir: string): LogStoreError {
  if (err instanceof LogStoreError) return err;
  const code = (err as { code?: unknown }).code;
  if (!(err instanceof SyntaxError) && code !== 'ENOENT')
    return ioError(err, `Cannot open the store at ${dir}`);
  return new LogStoreError(
    'LOGSTORE_CORRUPT',
    `The store at ${dir} is damaged: ${err instanceof Error ? err.message : String(err)}. Run \`logstore verify\` ` +
      'to see where; restore the catalog or the missing files from a backup.',
    { cause: err },
  );
}
