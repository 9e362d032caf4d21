/**
 * Idempotent producers' state on one partition (Kafka's `ProducerStateManager`): per producer id,
 * its epoch and its last `MAX_CACHED_BATCHES` batches (sequence range and offsets). A batch with a
 * producer id is checked against it before it is written:
 *   - an epoch older than the producer's is fenced (LOGSTORE_INVALID_PRODUCER_EPOCH);
 *   - a batch already appended (same epoch and sequence range) is a duplicate: acknowledged again
 *     with the offsets it got, not stored twice;
 *   - otherwise the sequence must continue the last batch's (a new epoch, or a producer this
 *     partition has not seen, starts at 0), else LOGSTORE_OUT_OF_ORDER_SEQUENCE.
 * Sequences are int32 and wrap from 2^31 - 1 to 0, as Kafka's.
 *
 * The state is saved in the catalog with the recovery points and rebuilt at open by replaying
 * the batches after the recovery point (`replay`, which only moves forward), so it survives a
 * crash between an append and its acknowledgement. Producers idle longer than Kafka's
 * `producer.id.expiration.ms` (a day) are forgotten when the state is saved.
 */
import { LogStoreError } from '../errors.js';
import type { ProducerStateRow } from './partition-catalog.js';

export const MAX_CACHED_BATCHES = 5;
export const PRODUCER_ID_EXPIRATION_MS = 86_400_000;
const MAX_SEQUENCE = 0x7fffffff;

/** A batch's producer fields. */
export interface ProducerBatch {
  producerId: number;
  epoch: number;
  firstSequence: number;
  count: number;
}

interface Entry {
  epoch: number;
  lastTimestamp: number;
  /** [first sequence, last sequence, base offset, last offset], oldest first. */
  batches: [number, number, number, number][];
}

/** The last sequence of a batch of `count` records from `first` (wrapping as Kafka's). */
export function lastSequence(first: number, count: number): number {
  const delta = count - 1;
  return first > MAX_SEQUENCE - delta ? delta - (MAX_SEQUENCE - first) - 1 : first + delta;
}

function follows(next: number, last: number): boolean {
  return last === MAX_SEQUENCE ? next === 0 : next === last + 1;
}

export class ProducerStates {
  private readonly entries = new Map<number, Entry>();
  /** Counts changes; `savedVersion` is the version the catalog holds. */
  private version = 0;
  private savedVersion = 0;

  constructor(private readonly where: string) {}

  static from(where: string, rows: readonly ProducerStateRow[]): ProducerStates {
    const states = new ProducerStates(where);
    for (const r of rows) {
      states.entries.set(r.producerId, {
        epoch: r.epoch,
        lastTimestamp: r.lastTimestamp,
        batches: r.batches,
      });
    }
    return states;
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * Checks `batch` (and, with `issuedEpoch`, the latest epoch the store handed out for its id):
   * returns the offsets of the earlier append it duplicates, or null when it is new and in order.
   */
  check(batch: ProducerBatch, issuedEpoch?: number): { baseOffset: number; lastOffset: number } | null {
    const { producerId, epoch, firstSequence } = batch;
    const entry = this.entries.get(producerId);
    const current = Math.max(entry?.epoch ?? -1, issuedEpoch ?? -1);
    if (epoch < current) {
      throw new LogStoreError(
        'LOGSTORE_INVALID_PRODUCER_EPOCH',
        `Producer ${producerId} sent epoch ${epoch} to ${this.where}, but its epoch is ${current}: a newer ` +
          'instance of the producer fenced this one.',
      );
    }
    const last = lastSequence(firstSequence, batch.count);
    if (entry && entry.epoch === epoch) {
      const duplicate = entry.batches.find(([first, lastSeq]) => first === firstSequence && lastSeq === last);
      if (duplicate) return { baseOffset: duplicate[2], lastOffset: duplicate[3] };
      const newest = entry.batches[entry.batches.length - 1];
      if (newest ? !follows(firstSequence, newest[1]) : firstSequence !== 0) {
        throw this.outOfOrder(
          producerId,
          firstSequence,
          newest ? String(newest[1] === MAX_SEQUENCE ? 0 : newest[1] + 1) : '0',
        );
      }
      return null;
    }
    if (firstSequence !== 0) throw this.outOfOrder(producerId, firstSequence, '0 (a new producer or epoch)');
    return null;
  }

  private outOfOrder(producerId: number, got: number, expected: string): LogStoreError {
    return new LogStoreError(
      'LOGSTORE_OUT_OF_ORDER_SEQUENCE',
      `Producer ${producerId} sent sequence ${got} to ${this.where}, expected ${expected}: a batch is missing ` +
        'between the last one appended and this one.',
    );
  }

  /** Records a batch just appended at `baseOffset`..`lastOffset`. */
  record(batch: ProducerBatch, baseOffset: number, lastOffset: number, timestamp: number): void {
    let entry = this.entries.get(batch.producerId);
    if (!entry || entry.epoch !== batch.epoch) {
      entry = { epoch: batch.epoch, lastTimestamp: timestamp, batches: [] };
      this.entries.set(batch.producerId, entry);
    }
    entry.batches.push([
      batch.firstSequence,
      lastSequence(batch.firstSequence, batch.count),
      baseOffset,
      lastOffset,
    ]);
    if (entry.batches.length > MAX_CACHED_BATCHES) entry.batches.shift();
    entry.lastTimestamp = Math.max(entry.lastTimestamp, timestamp);
    this.version++;
  }

  /**
   * Applies a batch found in the log after the saved state's point (recovery): only a batch the
   * state does not already hold moves it forward.
   */
  replay(batch: ProducerBatch, baseOffset: number, lastOffset: number, timestamp: number): void {
    const entry = this.entries.get(batch.producerId);
    if (entry) {
      if (batch.epoch < entry.epoch) return;
      const newest = entry.batches[entry.batches.length - 1];
      if (batch.epoch === entry.epoch && newest && newest[3] >= lastOffset) return;
    }
    this.record(batch, baseOffset, lastOffset, timestamp);
  }

  /**
   * The state as catalog rows if it changed since it was last saved (forgetting producers idle
   * since before `now - expiration`), with the version to pass to `saved` once written.
   */
  unsaved(now: number): { rows: ProducerStateRow[]; version: number } | null {
    if (this.version === this.savedVersion) return null;
    const rows: ProducerStateRow[] = [];
    for (const [producerId, e] of this.entries) {
      if (e.lastTimestamp < now - PRODUCER_ID_EXPIRATION_MS) {
        this.entries.delete(producerId);
        continue;
      }
      rows.push({
        producerId,
        epoch: e.epoch,
        lastTimestamp: e.lastTimestamp,
        batches: e.batches.map((b) => [...b]),
      });
    }
    return { rows, version: this.version };
  }

  /** The catalog now holds the state as of `version`. */
  saved(version: number): void {
    this.savedVersion = Math.max(this.savedVersion, version);
  }
}
