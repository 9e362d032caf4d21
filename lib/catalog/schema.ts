/**
 * The catalog's schema, as migrations keyed on `PRAGMA user_version`: migration i takes a
 * catalog from version i to i + 1, in one transaction. docs/format.md describes the tables.
 */
import type Database from 'better-sqlite3';
import { LogStoreError } from '../errors.js';

export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
   CREATE TABLE topics (
     name TEXT PRIMARY KEY,
     partitions INTEGER NOT NULL,
     config TEXT NOT NULL,
     created_at INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE TABLE partitions (
     topic TEXT NOT NULL,
     partition INTEGER NOT NULL,
     log_start_offset INTEGER NOT NULL DEFAULT 0,
     recovery_segment INTEGER NOT NULL DEFAULT 0,
     recovery_position INTEGER NOT NULL DEFAULT 0,
     recovery_offset INTEGER NOT NULL DEFAULT 0,
     PRIMARY KEY (topic, partition)
   ) WITHOUT ROWID;
   CREATE TABLE segments (
     topic TEXT NOT NULL,
     partition INTEGER NOT NULL,
     base_offset INTEGER NOT NULL,
     capacity INTEGER NOT NULL,
     end_offset INTEGER,
     size INTEGER,
     max_timestamp INTEGER,
     PRIMARY KEY (topic, partition, base_offset)
   ) WITHOUT ROWID;
   CREATE TABLE group_offsets (
     group_id TEXT NOT NULL,
     topic TEXT NOT NULL,
     partition INTEGER NOT NULL,
     next_offset INTEGER NOT NULL,
     committed_at INTEGER NOT NULL,
     PRIMARY KEY (group_id, topic, partition)
   ) WITHOUT ROWID;`,
  // 2: compaction swaps in flight (see storage/compaction.ts): rows here name segments whose
  // `.cleaned` file must replace the `.log` at the next open if the process died mid-swap.
  `CREATE TABLE pending_swaps (
     topic TEXT NOT NULL,
     partition INTEGER NOT NULL,
     base_offset INTEGER NOT NULL,
     PRIMARY KEY (topic, partition, base_offset)
   ) WITHOUT ROWID;`,
  // 3: the active segment's largest timestamp at the recovery point, so that an open after a
  // clean close reads nothing from the segment itself.
  `ALTER TABLE partitions ADD COLUMN recovery_max_timestamp INTEGER NOT NULL DEFAULT -1;`,
  // 4: idempotent producers (ids handed out, and each partition's producer state as of its
  // recovery point) and Kafka clients' metadata strings on committed offsets.
  `ALTER TABLE group_offsets ADD COLUMN metadata TEXT NOT NULL DEFAULT '';
   CREATE TABLE producers (
     producer_id INTEGER PRIMARY KEY,
     epoch INTEGER NOT NULL
   );
   CREATE TABLE producer_state (
     topic TEXT NOT NULL,
     partition INTEGER NOT NULL,
     producer_id INTEGER NOT NULL,
     epoch INTEGER NOT NULL,
     last_timestamp INTEGER NOT NULL,
     batches TEXT NOT NULL,
     PRIMARY KEY (topic, partition, producer_id)
   ) WITHOUT ROWID;`,
  // 5: mirrors' positions (catalog/mirror-positions.ts): per link to a Kafka cluster and
  // partition, which local offset matches which offset on the cluster.
  `CREATE TABLE mirror_positions (
     link TEXT NOT NULL,
     topic TEXT NOT NULL,
     partition INTEGER NOT NULL,
     local_offset INTEGER NOT NULL,
     remote_offset INTEGER NOT NULL,
     producer_id INTEGER NOT NULL DEFAULT -1,
     producer_epoch INTEGER NOT NULL DEFAULT -1,
     next_sequence INTEGER NOT NULL DEFAULT 0,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (link, topic, partition, local_offset)
   ) WITHOUT ROWID;`,
];

/**
 * Refuses a catalog written by a newer logstore (LOGSTORE_VERSION), and in a read-only open one
 * from an older logstore (only a writer migrates it).
 */
export function checkSchemaVersion(db: Database.Database, path: string, readOnly: boolean): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > MIGRATIONS.length) {
    throw new LogStoreError(
      'LOGSTORE_VERSION',
      `The store's catalog ${path} was written by a newer logstore (schema version ${version}; this ` +
        `logstore knows versions up to ${MIGRATIONS.length}). Upgrade logstore to open it.`,
    );
  }
  if (readOnly && version < MIGRATIONS.length) {
    throw new LogStoreError(
      'LOGSTORE_VERSION',
      `The store's catalog ${path} was written by an older logstore (schema version ${version}; this ` +
        `logstore reads version ${MIGRATIONS.length}). Open it once as a writer with this logstore: that upgrades it.`,
    );
  }
}

/** Brings a writer's catalog to the current schema. */
export function migrate(db: Database.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  for (let v = version; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
