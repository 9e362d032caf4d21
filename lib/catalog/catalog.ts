/**
 * The catalog: `catalog.sqlite` (better-sqlite3, WAL, synchronous=FULL) is the source of truth for
 * topics, their configs, each partition's segment list, log start offset and recovery point, and
 * consumer groups' committed offsets. Records live in the segment files, never here.
 *
 * This class opens the database and owns the `topics` and `meta` tables; each other table has a
 * class of its own beside it (partitions.ts: partitions, segments and pending swaps, the part the
 * storage layer sees; group-offsets.ts, producers.ts, mirror-positions.ts).
 *
 * Schema changes are migrations keyed on `PRAGMA user_version`. Only the writer (the process that
 * holds LOCK) writes; read-only followers open it with `readonly` and re-query to see changes.
 * Every multi-row change is one transaction, so a crash leaves the old or the new state.
 */
import Database from 'better-sqlite3';
import { LogStoreError } from '../errors.js';
import { guardAll, inTransaction, inUnsyncedTransaction } from './errors.js';
import { GroupOffsets } from './group-offsets.js';
import { MirrorPositions } from './mirror-positions.js';
import { PartitionTables } from './partitions.js';
import { ProducerCatalog } from './producers.js';
import { TOPIC_DEFAULTS, type ResolvedTopicConfig } from '../options.js';
import { checkSchemaVersion, migrate } from './schema.js';
import type { PartitionRow, RecoveryPoint, SegmentRow } from '../storage/partition-catalog.js';

export type { PartitionRow, RecoveryPoint, SegmentRow };

export interface TopicRow {
  name: string;
  partitions: number;
  config: ResolvedTopicConfig;
  createdAt: number;
}

export class Catalog {
  readonly db: Database.Database;
  /** Each partition's row, segment list and pending compaction swaps. */
  readonly partitions: PartitionTables;
  /** Consumer groups' committed offsets. */
  readonly groups: GroupOffsets;
  /** Idempotent producers: ids, epochs and per-partition sequence state. */
  readonly producers: ProducerCatalog;
  /** Mirrors' positions on Kafka clusters. */
  readonly mirrors: MirrorPositions;
  private readonly stmts;

  private constructor(db: Database.Database) {
    this.db = db;
    this.groups = new GroupOffsets(db);
    this.producers = new ProducerCatalog(db);
    this.partitions = new PartitionTables(db, this.producers);
    this.mirrors = new MirrorPositions(db);
    this.stmts = guardAll(db.name, {
      topics: db.prepare('SELECT name, partitions, config, created_at FROM topics ORDER BY name'),
      topic: db.prepare('SELECT name, partitions, config, created_at FROM topics WHERE name = ?'),
      insertTopic: db.prepare(
        'INSERT INTO topics (name, partitions, config, created_at) VALUES (?, ?, ?, ?)',
      ),
      setConfig: db.prepare('UPDATE topics SET config = ? WHERE name = ?'),
      deleteTopic: db.prepare('DELETE FROM topics WHERE name = ?'),
      meta: db.prepare('SELECT value FROM meta WHERE key = ?'),
      setMeta: db.prepare(
        'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      ),
    });
  }

  /** Opens (and for a writer, creates or migrates) `path`. */
  static open(path: string, readOnly: boolean): Catalog {
    let db: Database.Database;
    try {
      db = new Database(path, { readonly: readOnly, fileMustExist: readOnly, timeout: 5000 });
    } catch (err) {
      throw new LogStoreError(
        readOnly ? 'LOGSTORE_INVALID_ARGUMENT' : 'LOGSTORE_IO',
        `Cannot open the catalog ${path}: ${(err as Error).message}.` +
          (readOnly ? ' Is this a logstore directory? A read-only open needs an existing store.' : ''),
        { cause: err },
      );
    }
    try {
      checkSchemaVersion(db, path, readOnly);
      if (!readOnly) {
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = FULL');
        migrate(db);
      }
      return new Catalog(db);
    } catch (err) {
      db.close();
      if (err instanceof LogStoreError) throw err;
      throw new LogStoreError(
        'LOGSTORE_CORRUPT',
        `The catalog ${path} cannot be read: ${(err as Error).message}.`,
        {
          cause: err,
        },
      );
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** Runs logstore's own multi-row change in one transaction; any failure is a LogStoreError. */
  transaction<T>(fn: () => T): T {
    return inTransaction(this.db, fn);
  }

  /**
   * `transaction` whose commit is written to the WAL but not synced (synchronous=NORMAL for this
   * one): it survives a crash of the process at once, and power loss once the next synced commit
   * or checkpoint syncs the WAL. For records whose loss only costs work, never data (recovery
   * points): a synced commit holds the event loop, and every request of a Kafka client with it,
   * for a whole fsync.
   */
  unsyncedTransaction<T>(fn: () => T): T {
    return inUnsyncedTransaction(this.db, fn);
  }

  getMeta(key: string): string | undefined {
    return (this.stmts.meta.get(key) as { value: string } | undefined)?.value;
  }

  setMeta(key: string, value: string): void {
    this.stmts.setMeta.run(key, value);
  }

  topics(): TopicRow[] {
    return (this.stmts.topics.all() as RawTopic[]).map(topicRow);
  }

  topic(name: string): TopicRow | undefined {
    const row = this.stmts.topic.get(name) as RawTopic | undefined;
    return row && topicRow(row);
  }

  /** Inserts a topic with its partitions, each with an empty first segment at offset 0. */
  createTopic(name: string, config: ResolvedTopicConfig, now: number): void {
    this.transaction(() => {
      this.stmts.insertTopic.run(name, config.partitions, JSON.stringify(config), now);
      this.partitions.createTopic(name, config.partitions, config.segmentBytes);
    });
  }

  setTopicConfig(name: string, config: ResolvedTopicConfig): void {
    this.stmts.setConfig.run(JSON.stringify(config), name);
  }

  /** Removes a topic's rows, its segments and the offsets groups committed on it. */
  deleteTopic(name: string): void {
    this.transaction(() => {
      this.stmts.deleteTopic.run(name);
      this.partitions.deleteTopic(name);
      this.groups.deleteTopic(name);
      this.producers.deleteTopic(name);
      this.mirrors.deleteTopic(name);
    });
  }

  /** Records recovery points (durability.ts, after a sync); see PartitionTables. */
  setRecoveryPoints(points: readonly RecoveryPoint[]): void {
    this.partitions.setRecoveryPoints(points);
  }
}

interface RawTopic {
  name: string;
  partitions: number;
  config: string;
  created_at: number;
}

function topicRow(r: RawTopic): TopicRow {
  let config: ResolvedTopicConfig;
  try {
    // Settings added since the topic was created take their defaults.
    config = { ...TOPIC_DEFAULTS, ...(JSON.parse(r.config) as ResolvedTopicConfig) };
  } catch (err) {
    throw new LogStoreError(
      'LOGSTORE_CORRUPT',
      `The catalog holds an unreadable config for topic '${r.name}'.`,
      {
        cause: err,
      },
    );
  }
  return { name: r.name, partitions: r.partitions, config, createdAt: r.created_at };
}
