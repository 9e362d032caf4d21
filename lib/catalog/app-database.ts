/**
 * The catalog database as `store.transaction(fn)` hands it to the application: the part of
 * better-sqlite3's `Database` that logstore promises (the object is better-sqlite3's own, so the
 * rest of its API is there at run time).
 *
 * logstore declares these few methods itself rather than exposing better-sqlite3's types: a
 * TypeScript application then compiles against logstore alone (better-sqlite3 ships no types, and
 * `@types/better-sqlite3` would be a dependency of every install only for this one parameter,
 * tied to whichever better-sqlite3 major that package describes). An application that wants the
 * whole API can cast to better-sqlite3's `Database` type from its own `@types/better-sqlite3`.
 */

/** A value SQLite binds: what better-sqlite3 accepts as a parameter. */
export type SqlValue = number | bigint | string | Buffer | Uint8Array | null;

/** Parameters of a statement: positional values, or one object of named values (`@name`). */
export type SqlParameters = SqlValue[] | [Record<string, SqlValue>];

/** A prepared statement (better-sqlite3's `Statement`). */
export interface CatalogStatement<Row = unknown> {
  /** Runs a statement that returns no rows (INSERT, UPDATE, DELETE, DDL). */
  run(...params: SqlParameters): { changes: number; lastInsertRowid: number | bigint };
  /** The first row, or undefined when there is none. */
  get(...params: SqlParameters): Row | undefined;
  /** Every row. */
  all(...params: SqlParameters): Row[];
  /** The rows one at a time. */
  iterate(...params: SqlParameters): IterableIterator<Row>;
}

/** The catalog's SQLite connection inside `store.transaction(fn)`. */
export interface CatalogDatabase {
  /** Runs SQL text (one or more statements, no parameters). */
  exec(sql: string): CatalogDatabase;
  /** Compiles one statement; `Row` is the shape the application expects its rows to have. */
  prepare<Row = unknown>(sql: string): CatalogStatement<Row>;
  /** True inside a transaction (always, within `fn`). */
  readonly inTransaction: boolean;
}
