/**
 * Consumer groups' committed offsets in the catalog (`group_offsets`): the next offset to read
 * per group, topic and partition, with the time of the commit and the client's metadata string
 * (Kafka's OffsetCommit metadata; '' for the library's own consumers). Every commit is one
 * transaction, durable when it returns (synchronous=FULL) unless asked otherwise (`sync: false`).
 */
import type Database from 'better-sqlite3';
import { guardAll, inTransaction, inUnsyncedTransaction } from './errors.js';

export interface CommittedOffset {
  group: string;
  topic: string;
  partition: number;
  offset: number;
  committedAt: number;
  metadata: string;
}

export interface OffsetCommit {
  group: string;
  topic: string;
  partition: number;
  offset: number;
  metadata?: string;
}

interface Raw {
  group_id: string;
  topic: string;
  partition: number;
  next_offset: number;
  committed_at: number;
  metadata: string;
}

const COLUMNS = 'group_id, topic, partition, next_offset, committed_at, metadata';

export class GroupOffsets {
  private readonly stmts;

  constructor(private readonly db: Database.Database) {
    this.stmts = guardAll(db.name, {
      commit: db.prepare(
        `INSERT INTO group_offsets (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (group_id, topic, partition) DO UPDATE SET next_offset = excluded.next_offset,
         committed_at = excluded.committed_at, metadata = excluded.metadata`,
      ),
      ofGroupTopic: db.prepare(
        `SELECT ${COLUMNS} FROM group_offsets WHERE group_id = ? AND topic = ? ORDER BY partition`,
      ),
      ofGroup: db.prepare(
        `SELECT ${COLUMNS} FROM group_offsets WHERE group_id = ? ORDER BY topic, partition`,
      ),
      all: db.prepare(`SELECT ${COLUMNS} FROM group_offsets ORDER BY group_id, topic, partition`),
      deleteGroup: db.prepare('DELETE FROM group_offsets WHERE group_id = ?'),
      deleteTopic: db.prepare('DELETE FROM group_offsets WHERE topic = ?'),
    });
  }

  /**
   * Commits `entries` in one transaction. With `sync: false` the commit is written to the WAL but
   * not synced (synchronous=NORMAL for this one transaction): it survives a crash of the process
   * at once, and power loss once the next synced commit or checkpoint syncs the WAL.
   */
  commit(entries: readonly OffsetCommit[], now: number, { sync = true }: { sync?: boolean } = {}): void {
    const write = (): void => {
      for (const e of entries)
        this.stmts.commit.run(e.group, e.topic, e.partition, e.offset, now, e.metadata ?? '');
    };
    if (sync) inTransaction(this.db, write);
    else inUnsyncedTransaction(this.db, write);
  }

  /** A group's offsets: on one topic, or on every topic it committed on. */
  of(group: string, topic?: string): CommittedOffset[] {
    const rows =
      topic === undefined ? this.stmts.ofGroup.all(group) : this.stmts.ofGroupTopic.all(group, topic);
    return (rows as Raw[]).map(row);
  }

  all(): CommittedOffset[] {
    return (this.stmts.all.all() as Raw[]).map(row);
  }

  /** Forgets a group's offsets; returns how many there were. */
  deleteGroup(group: string): number {
    return this.stmts.deleteGroup.run(group).changes;
  }

  /** Forgets every group's offsets on a topic (the topic is being deleted). */
  deleteTopic(topic: string): void {
    this.stmts.deleteTopic.run(topic);
  }
}

function row(r: Raw): CommittedOffset {
  return {
    group: r.group_id,
    topic: r.topic,
    partition: r.partition,
    offset: r.next_offset,
    committedAt: r.committed_at,
    metadata: r.metadata,
  };
}
