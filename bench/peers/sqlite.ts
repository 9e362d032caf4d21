/**
 * Peer: a queue table in SQLite (better-sqlite3), the way an application would keep a log in it
 * without a broker: `q(id INTEGER PRIMARY KEY, v BLOB)`, WAL journal. `synchronous = NORMAL` for
 * the throughput cases (syncs only at checkpoints, like logstore's 'interval'); `FULL` for the
 * durable case (syncs the WAL at every commit, like logstore's 'always').
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';

export type Synchronous = 'NORMAL' | 'FULL';

export function openQueue(dir: string, synchronous: Synchronous): Database.Database {
  const db = new Database(join(dir, 'queue.sqlite'));
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous}`);
  db.exec('CREATE TABLE IF NOT EXISTS q(id INTEGER PRIMARY KEY, v BLOB)');
  return db;
}

/** One statement per record; call it inside `db.transaction` to batch, alone for autocommit. */
export function inserter(db: Database.Database): (value: Buffer) => void {
  const insert = db.prepare('INSERT INTO q(v) VALUES (?)');
  return (value) => {
    insert.run(value);
  };
}

/** Reads the whole queue in id order; returns records and value bytes seen. */
export function readAll(db: Database.Database): { ops: number; bytes: number } {
  let ops = 0;
  let bytes = 0;
  for (const row of db.prepare('SELECT id, v FROM q ORDER BY id').raw().iterate()) {
    bytes += ((row as unknown[])[1] as Buffer).length;
    ops++;
  }
  return { ops, bytes };
}
