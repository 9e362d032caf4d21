/**
 * Catalog failures as LogStoreErrors: SQLite keeps no page checksums, so damage shows as
 * SQLITE_CORRUPT / SQLITE_NOTADB from whichever statement reads the page, possibly long after
 * open. Every statement goes through `guardAll`, so callers only ever see LogStoreErrors.
 */
import type Database from 'better-sqlite3';
import { LogStoreError } from '../errors.js';

/** A LogStoreError for a failure of a catalog statement. */
export function catalogError(err: unknown, file: string): LogStoreError {
  if (err instanceof LogStoreError) return err;
  const code = String((err as { code?: unknown }).code ?? '');
  const message = `The catalog ${file} failed: ${(err as Error)?.message ?? String(err)} (${code || 'no code'})`;
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') {
    return new LogStoreError('LOGSTORE_CORRUPT', `${message}. Restore it from a backup.`, { cause: err });
  }
  if (code === 'SQLITE_FULL') {
    return new LogStoreError('LOGSTORE_DISK_FULL', `${message}. Free space, then retry.`, { cause: err });
  }
  return new LogStoreError('LOGSTORE_IO', message, { cause: err });
}

/** Makes every statement's run/get/all throw LogStoreErrors (see catalogError). */
export function guardAll<T extends object>(file: string, stmts: T): T {
  for (const stmt of Object.values(stmts) as Record<string, unknown>[]) {
    for (const method of ['run', 'get', 'all']) {
      const original = (stmt[method] as (...args: unknown[]) => unknown).bind(stmt);
      stmt[method] = (...args: unknown[]) => {
        try {
          return original(...args);
        } catch (err) {
          throw catalogError(err, file);
        }
      };
    }
  }
  return stmts;
}

/**
 * Per database, one better-sqlite3 transaction function that calls the function it is given.
 * `db.transaction(fn)` builds four wrapper functions and defines five properties on each at every
 * call (~8 µs on a 2-core VM): a cost the Kafka listener paid at every OffsetCommit.
 */
const transactionRunners = new WeakMap<Database.Database, (fn: () => unknown) => unknown>();

/** Runs `fn` in one transaction of `db`; any failure, the rollback's included, is a LogStoreError. */
export function inTransaction<T>(db: Database.Database, fn: () => T): T {
  let run = transactionRunners.get(db);
  if (run === undefined) {
    run = db.transaction((body: () => unknown) => body());
    transactionRunners.set(db, run);
  }
  try {
    return run(fn) as T;
  } catch (err) {
    throw catalogError(err, db.name);
  }
}

/**
 * Runs one pragma of `db` outside guardAll; its failure is a LogStoreError. `exec`, not
 * `db.pragma()`: it prepares and runs the statement without building a Statement object.
 */
function pragma(db: Database.Database, source: string): void {
  try {
    db.exec(`PRAGMA ${source}`);
  } catch (err) {
    throw catalogError(err, db.name);
  }
}

/**
 * `inTransaction` whose commit is written to the WAL but not synced (synchronous=NORMAL for this
 * one transaction): it survives a crash of the process at once, and power loss once the next
 * synced commit or checkpoint syncs the WAL. Inside another transaction that one's commit decides.
 * (SQLite applies `PRAGMA synchronous = X` when the statement is prepared, not when it runs: a
 * statement prepared once and run again would change nothing.)
 */
export function inUnsyncedTransaction<T>(db: Database.Database, fn: () => T): T {
  if (db.inTransaction) return inTransaction(db, fn);
  pragma(db, 'synchronous = NORMAL');
  try {
    return inTransaction(db, fn);
  } finally {
    pragma(db, 'synchronous = FULL');
  }
}
