/**
 * Opening a store from the CLI. Reading commands open it read-only (no lock: they run beside a
 * live writer); writing commands take the writer lock and, when another process holds it, say
 * which command needed it. Failures are said in the CLI's terms: its commands and options, never
 * the library's function names.
 */
import fs from 'node:fs';
import path from 'node:path';
import { LogStore } from '../index.js';
import { LogStoreError } from '../index.js';
import { CATALOG_FILE, checkIsDirectory, LOCK_FILE } from '../inspect/index.js';
import { CliError } from './args.js';

/**
 * Refuses a path that is not a directory, or a directory that holds no store (a writer open
 * would otherwise create one); returns the absolute path.
 */
export function requireStore(dir: string): string {
  const absolute = path.resolve(dir);
  checkIsDirectory(absolute);
  if (!fs.existsSync(path.join(absolute, CATALOG_FILE))) {
    throw new CliError(
      `no logstore at ${absolute} (no ${CATALOG_FILE}). Create one with \`logstore topics ${dir} create <topic>\`.`,
    );
  }
  return absolute;
}

export function openReadOnly(dir: string): LogStore {
  return LogStore.open(requireStore(dir), { readOnly: true });
}

/**
 * Opens `dir` as the writer. `purpose` completes "… needs the writer lock" in the message given
 * when another process holds it. `create` allows a new store in a new or empty directory.
 */
export function openWriter(dir: string, purpose: string, create = false): LogStore {
  const absolute = create ? path.resolve(dir) : requireStore(dir);
  return asWriter(absolute, purpose, () => LogStore.open(absolute, {}));
}

/** Runs `open` (something that takes the writer lock), saying who holds it if it is taken. */
export function asWriter<T>(absolute: string, purpose: string, open: () => T): T {
  try {
    return open();
  } catch (err) {
    throw lockedInCliTerms(err, absolute, purpose);
  }
}

/** LOGSTORE_LOCKED said for the CLI: which command needed the lock, and what to do. */
export function lockedInCliTerms(err: unknown, absolute: string, purpose: string): unknown {
  if (!(err instanceof LogStoreError) || err.code !== 'LOGSTORE_LOCKED') return err;
  return new LogStoreError(
    'LOGSTORE_LOCKED',
    `${purpose} needs the store's writer lock, but another process holds ${path.join(absolute, LOCK_FILE)}. ` +
      'Stop that writer first (reading commands such as tail, topics list and verify work beside it).',
    { cause: err },
  );
}

/** TOPIC_NOT_FOUND in the CLI's words, before the library would say it in its own. */
export function requireTopic(store: LogStore, dir: string, topic: string): void {
  if (store.topics().some((t) => t.name === topic)) return;
  throw new CliError(
    `no topic '${topic}' in ${store.dir}. Create it with \`logstore topics ${dir} create ${topic}\`` +
      ` (\`logstore topics ${dir}\` lists the topics).`,
    'LOGSTORE_TOPIC_NOT_FOUND',
  );
}
