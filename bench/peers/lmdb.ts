/**
 * Peer: LMDB (lmdb-js) with sequential integer keys and raw binary values (`encoding: 'binary'`,
 * so values are stored as given rather than wrapped in MessagePack).
 *
 * `noSync: true`: lmdb takes part only in the throughput cases, where no subject syncs per
 * commit (logstore 'interval', SQLite synchronous=NORMAL, LevelDB sync=false). With lmdb's
 * default, every putSync waits for an fdatasync (about 3k/s on the dev VM), which would make
 * single-append a sync benchmark for lmdb alone.
 */
import { join } from 'node:path';
import { open, type Database } from 'lmdb';

export function openDb(dir: string): Database<Buffer, number> {
  return open<Buffer, number>({ path: join(dir, 'lmdb'), encoding: 'binary', noSync: true });
}

/** Reads every entry in key order; returns entries and value bytes seen. */
export function readAll(db: Database<Buffer, number>): { ops: number; bytes: number } {
  let ops = 0;
  let bytes = 0;
  for (const { value } of db.getRange()) {
    bytes += value.length;
    ops++;
  }
  return { ops, bytes };
}
