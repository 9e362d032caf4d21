/**
 * Idempotent producers in the catalog: the producer ids handed out (`producers`: id -> latest
 * epoch; `meta.next_producer_id`), and each partition's producer state as of its recovery point
 * (`producer_state`: per producer, its epoch, the time of its last batch and its last few
 * batches' sequence ranges and offsets, as JSON). The state rows are written together with the
 * recovery points; an open replays the batches after the recovery point onto them.
 */
import type { ProducerStateRow } from '../storage/partition-catalog.js';
import type Database from 'better-sqlite3';
import { guardAll, inTransaction } from './errors.js';

/** One producer's state on one partition (see storage/producer-state.ts). */

interface RawState {
  producer_id: number;
  epoch: number;
  last_timestamp: number;
  batches: string;
}

function stateRow(r: RawState): ProducerStateRow {
  return {
    producerId: r.producer_id,
    epoch: r.epoch,
    lastTimestamp: r.last_timestamp,
    batches: JSON.parse(r.batches) as ProducerStateRow['batches'],
  };
}

export class ProducerCatalog {
  private readonly stmts;

  constructor(private readonly db: Database.Database) {
    this.stmts = guardAll(db.name, {
      nextId: db.prepare("SELECT value FROM meta WHERE key = 'next_producer_id'"),
      setNextId: db.prepare(
        "INSERT INTO meta (key, value) VALUES ('next_producer_id', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      ),
      epoch: db.prepare('SELECT epoch FROM producers WHERE producer_id = ?'),
      setEpoch: db.prepare(
        'INSERT INTO producers (producer_id, epoch) VALUES (?, ?) ON CONFLICT (producer_id) DO UPDATE SET epoch = excluded.epoch',
      ),
      states: db.prepare(
        'SELECT producer_id, epoch, last_timestamp, batches FROM producer_state WHERE topic = ? AND partition = ?',
      ),
      topicStates: db.prepare(
        'SELECT partition, producer_id, epoch, last_timestamp, batches FROM producer_state WHERE topic = ?',
      ),
      allStates: db.prepare(
        'SELECT topic, partition, producer_id, epoch, last_timestamp, batches FROM producer_state ORDER BY topic, partition',
      ),
      clearStates: db.prepare('DELETE FROM producer_state WHERE topic = ? AND partition = ?'),
      insertState: db.prepare(
        'INSERT INTO producer_state (topic, partition, producer_id, epoch, last_timestamp, batches) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      deleteTopic: db.prepare('DELETE FROM producer_state WHERE topic = ?'),
    });
  }

  /** A new producer id, with epoch 0. */
  newProducer(): { producerId: number; producerEpoch: number } {
    return inTransaction(this.db, () => {
      const row = this.stmts.nextId.get() as { value: string } | undefined;
      const producerId = row ? Number(row.value) : 1000;
      this.stmts.setNextId.run(String(producerId + 1));
      this.stmts.setEpoch.run(producerId, 0);
      return { producerId, producerEpoch: 0 };
    });
  }

  /** The latest epoch handed out for `producerId`, or undefined for an id this store never issued. */
  epoch(producerId: number): number | undefined {
    return (this.stmts.epoch.get(producerId) as { epoch: number } | undefined)?.epoch;
  }

  setEpoch(producerId: number, epoch: number): void {
    this.stmts.setEpoch.run(producerId, epoch);
  }

  states(topic: string, partition: number): ProducerStateRow[] {
    return (this.stmts.states.all(topic, partition) as RawState[]).map(stateRow);
  }

  /** The states of every partition of `topic` (partitions without any are absent). */
  topicStates(topic: string): Map<number, ProducerStateRow[]> {
    const out = new Map<number, ProducerStateRow[]>();
    for (const r of this.stmts.topicStates.all(topic) as (RawState & { partition: number })[]) {
      let rows = out.get(r.partition);
      if (!rows) out.set(r.partition, (rows = []));
      rows.push(stateRow(r));
    }
    return out;
  }

  /** The states of every partition of every topic (partitions without any are absent). */
  allStates(): { topic: string; partition: number; rows: ProducerStateRow[] }[] {
    const out: { topic: string; partition: number; rows: ProducerStateRow[] }[] = [];
    let last: (typeof out)[number] | undefined;
    for (const r of this.stmts.allStates.all() as (RawState & { topic: string; partition: number })[]) {
      if (last?.topic !== r.topic || last.partition !== r.partition) {
        last = { topic: r.topic, partition: r.partition, rows: [] };
        out.push(last);
      }
      last.rows.push(stateRow(r));
    }
    return out;
  }

  /** Replaces a partition's producer state (call inside the recovery points' transaction). */
  saveStates(topic: string, partition: number, rows: readonly ProducerStateRow[]): void {
    this.stmts.clearStates.run(topic, partition);
    for (const r of rows) {
      this.stmts.insertState.run(
        topic,
        partition,
        r.producerId,
        r.epoch,
        r.lastTimestamp,
        JSON.stringify(r.batches),
      );
    }
  }

  deleteTopic(topic: string): void {
    this.stmts.deleteTopic.run(topic);
  }
}
