/**
 * `store.transaction(fn)`: the application's own transaction on the catalog database, so that its
 * writes (to its own tables) and the consumers' commits made inside `fn` commit together or not at
 * all. SQLite transactions are synchronous here, so an async `fn` is refused before it runs, and a
 * `fn` that returns a promise is rolled back: either would commit at its first `await` and run the
 * rest outside the transaction.
 */
import type Database from 'better-sqlite3';
import { invalidArgument } from '../options.js';
import type { CatalogDatabase } from './app-database.js';
import { catalogError } from './errors.js';

/**
 * Runs `fn(db)` in one transaction. What `fn` throws (its own errors, and its own statements'
 * SQLite errors: a typo, a constraint) comes out unchanged once the transaction is rolled back:
 * those are the application's to handle. Only a failure of the transaction itself (BEGIN,
 * COMMIT, the rollback) is the catalog's, and a LogStoreError.
 */
export function applicationTransaction<T>(db: Database.Database, fn: (db: CatalogDatabase) => T): T {
  checkTransactionFunction(fn);
  let thrown: { error: unknown } | undefined;
  try {
    return db.transaction(() => {
      try {
        const result = fn(db as unknown as CatalogDatabase);
        if (isThenable(result)) {
          throw invalidArgument(
            'The function given to store.transaction returned a promise, so the transaction was rolled ' +
              'back: SQLite transactions here are synchronous, and the code after an await would run ' +
              'outside it. Await first, then call store.transaction with a synchronous function.',
          );
        }
        return result;
      } catch (err) {
        thrown = { error: err };
        throw err;
      }
    })();
  } catch (err) {
    if (thrown !== undefined && err === thrown.error) throw err;
    throw catalogError(err, db.name);
  }
}

/** An async function cannot run inside a synchronous SQLite transaction: refused up front. */
function checkTransactionFunction(fn: unknown): void {
  if (typeof fn !== 'function') {
    throw invalidArgument(`store.transaction(fn) takes a function (db) => result, got ${typeof fn}.`);
  }
  const kind = (fn as { constructor?: { name?: string } }).constructor?.name;
  if (kind === 'AsyncFunction' || kind === 'AsyncGeneratorFunction') {
    throw invalidArgument(
      'store.transaction(fn) needs a synchronous fn: its SQLite transaction commits when fn returns, ' +
        'so an async fn would commit at its first await and run the rest outside the transaction. ' +
        'Await what you need first, then call store.transaction with a synchronous function.',
    );
  }
}

function isThenable(value: unknown): boolean {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
