/**
 * Opening a store from the CLI. Reading commands open it read-only (no lock: they run beside a
 * live writer); writing commands take the writer lock and, when another process holds it, say
 * which command needed it. Commands that need a library API not built yet check for it first.
 */
import fs from 'node:fs';
import path from 'node:path';
import { LogStore } from '../index.js';
import { LogStoreError } from '../index.js';
import { CATALOG_FILE, LOCK_FILE } from '../inspect/index.js';
import { CliError } from './args.js';

/** Refuses a directory that holds no store (a writer open would otherwise create one). */
export function requireStore(dir: string): string {
  const absolute = path.resolve(dir);
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
  try {
    return LogStore.open(absolute, {});
  } catch (err) {
    if (err instanceof LogStoreError && err.code === 'LOGSTORE_LOCKED') {
      throw new LogStoreError(
        'LOGSTORE_LOCKED',
        `${purpose} needs the store's writer lock, but another process holds ${path.join(absolute, LOCK_FILE)}. ` +
          'Stop that writer first (reading commands such as tail, topics list and verify work beside it).',
        { cause: err },
      );
    }
    throw err;
  }
}
