/**
 * Mirrors' positions in the catalog (`mirror_positions`, schema 5). A row says "when this
 * partition of the store is at `local_offset`, the cluster's partition is at `remote_offset`",
 * per link (`to <cluster id>` or `from <cluster id>`), topic and partition:
 *
 * - `to` (store -> cluster): one row per partition. `local_offset` is the next offset to send
 *   (everything below it was acknowledged by the cluster), `remote_offset` the cluster
 *   partition's end after that acknowledgement (where a restart looks for batches that were in
 *   flight), and the idempotent producer (id, epoch, next sequence) the next batch uses.
 * - `from` (cluster -> store): rows written before each append (write-ahead), one per batch
 *   appended: `local_offset` is the store partition's end once the batch is in, `remote_offset` the
 *   next cluster offset to fetch from then. After a crash the row whose `local_offset` equals the
 *   partition's end is the position, whatever the crash cut; rows older than the last flush are
 *   trimmed.
 *
 * Every call is one transaction, durable when it returns (synchronous=FULL).
 */
import type Database from 'better-sqlite3';
import { guardAll, inTransaction } from './errors.js';

export interface MirrorPosition {
  link: string;
  topic: string;
  partition: number;
  localOffset: number;
  remoteOffset: number;
  /** The idempotent producer of a `to` link (-1: none yet). */
  producerId: number;
  producerEpoch: number;
  nextSequence: number;
  updatedAt: number;
}

/** A row to write: the producer fields default to none. */
export type PositionInput = Omit<
  MirrorPosition,
  'updatedAt' | 'producerId' | 'producerEpoch' | 'nextSequence'
> &
  Partial<Pick<MirrorPosition, 'producerId' | 'producerEpoch' | 'nextSequence'>>;

interface Raw {
  link: string;
  topic: string;
  partition: number;
  local_offset: number;
  remote_offset: number;
  producer_id: number;
  producer_epoch: number;
  next_sequence: number;
  updated_at: number;
}

const COLUMNS =
  'link, topic, partition, local_offset, remote_offset, producer_id, producer_epoch, next_sequence, updated_at';

export class MirrorPositions {
  private readonly stmts;

  constructor(private readonly db: Database.Database) {
    this.stmts = guardAll(db.name, {
      put: db.prepare(
        `INSERT INTO mirror_positions (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (link, topic, partition, local_offset) DO UPDATE SET
         remote_offset = excluded.remote_offset, producer_id = excluded.producer_id,
         producer_epoch = excluded.producer_epoch, next_sequence = excluded.next_sequence,
         updated_at = excluded.updated_at`,
      ),
      rows: db.prepare(
        `SELECT ${COLUMNS} FROM mirror_positions WHERE link = ? AND topic = ? AND partition = ?
         ORDER BY local_offset`,
      ),
      clearPartition: db.prepare(
        'DELETE FROM mirror_positions WHERE link = ? AND topic = ? AND partition = ?',
      ),
      trim: db.prepare(
        `DELETE FROM mirror_positions WHERE link = ? AND topic = ? AND partition = ?
         AND (local_offset < ? OR local_offset > ?)`,
      ),
      latestAll: db.prepare(
        `SELECT ${COLUMNS} FROM mirror_positions m WHERE local_offset = (SELECT MAX(local_offset)
         FROM mirror_positions WHERE link = m.link AND topic = m.topic AND partition = m.partition)
         ORDER BY link, topic, partition`,
      ),
      forgetTopic: db.prepare('DELETE FROM mirror_positions WHERE link = ? AND topic = ?'),
      deleteTopic: db.prepare('DELETE FROM mirror_positions WHERE topic = ?'),
    });
  }

  /** A partition's rows, by local offset. */
  rows(link: string, topic: string, partition: number): MirrorPosition[] {
    return (this.stmts.rows.all(link, topic, partition) as Raw[]).map(position);
  }

  /** The partition's row with the highest local offset. */
  latest(link: string, topic: string, partition: number): MirrorPosition | undefined {
    const rows = this.rows(link, topic, partition);
    return rows[rows.length - 1];
  }

  /** Every link's latest row per partition (for inspection). */
  all(): MirrorPosition[] {
    return (this.stmts.latestAll.all() as Raw[]).map(position);
  }

  /** Replaces each named partition's rows by the one given (`to` links). */
  set(entries: readonly PositionInput[], now = Date.now()): void {
    inTransaction(this.db, () => {
      for (const e of entries) {
        this.stmts.clearPartition.run(e.link, e.topic, e.partition);
        this.put(e, now);
      }
    });
  }

  /** Adds rows, replacing any with the same local offset (`from` links, before an append). */
  record(entries: readonly PositionInput[], now = Date.now()): void {
    inTransaction(this.db, () => {
      for (const e of entries) this.put(e, now);
    });
  }

  /** Drops a partition's rows with a local offset outside [from, to]. */
  trim(link: string, topic: string, partition: number, from: number, to: number): void {
    inTransaction(this.db, () => this.stmts.trim.run(link, topic, partition, from, to));
  }

  /** Forgets a link's positions on `topics` (the next run starts over). */
  forget(link: string, topics: readonly string[]): void {
    inTransaction(this.db, () => {
      for (const topic of topics) this.stmts.forgetTopic.run(link, topic);
    });
  }

  /** Forgets every link's positions on a topic (the topic is being deleted). */
  deleteTopic(topic: string): void {
    this.stmts.deleteTopic.run(topic);
  }

  private put(e: PositionInput, now: number): void {
    this.stmts.put.run(
      e.link,
      e.topic,
      e.partition,
      e.localOffset,
      e.remoteOffset,
      e.producerId ?? -1,
      e.producerEpoch ?? -1,
      e.nextSequence ?? 0,
      now,
    );
  }
}

function position(r: Raw): MirrorPosition {
  return {
    link: r.link,
    topic: r.topic,
    partition: r.partition,
    localOffset: r.local_offset,
    remoteOffset: r.remote_offset,
    producerId: r.producer_id,
    producerEpoch: r.producer_epoch,
    nextSequence: r.next_sequence,
    updatedAt: r.updated_at,
  };
}
