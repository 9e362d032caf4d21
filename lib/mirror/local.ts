/**
 * The store's side of a mirror: the public store, its partition logs (end offsets, and a wake-up
 * when a writer in this process appends), and the positions table. A store opened read-only (the
 * CLI mirroring beside a live writer) is followed by polling its files, and its positions are
 * written through a connection of the mirror's own that touches only `mirror_positions` (SQLite
 * serializes it with the writer's transactions).
 */
import Database from 'better-sqlite3';
import { MirrorPositions } from '../catalog/mirror-positions.js';
import { catalogError } from '../catalog/errors.js';
import type { PartitionLog } from '../storage/partition-log.js';
import type { LogStore } from '../store.js';

export interface LocalSide {
  store: LogStore;
  positions: MirrorPositions;
  readOnly: boolean;
  /** The partition's log (throws LOGSTORE_TOPIC_NOT_FOUND when it is gone). */
  log(topic: string, partition: number): PartitionLog;
  /** Releases what the mirror opened for itself. */
  release(): void;
}

/** The positions table through a connection of the mirror's own (for a read-only store). */
export function openPositions(catalogFile: string): { positions: MirrorPositions; close: () => void } {
  let db: Database.Database;
  try {
    db = new Database(catalogFile, { fileMustExist: true, timeout: 5000 });
  } catch (err) {
    throw catalogError(err, catalogFile);
  }
  return { positions: new MirrorPositions(db), close: () => db.close() };
}

/** Polling period for a read-only store's logs (what `tail --follow` does). */
export const FOLLOW_POLL_MS = 20;

/**
 * Wakes the mirror's loop: `wait(ms)` resolves at the next `kick()` (or one that came since the
 * last wait), or after `ms`.
 */
export class Waker {
  private wakeUp: (() => void) | null = null;
  private kicked = false;

  kick = (): void => {
    const wake = this.wakeUp;
    if (wake) wake();
    else this.kicked = true;
  };

  wait(ms: number): Promise<void> {
    if (this.kicked) {
      this.kicked = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }
}

/**
 * Kicks `waker` at the next append to any of `logs` (a writer's own logs). Returns the cancel
 * function. A read-only store's logs never call back: the loop polls them instead.
 */
export function onAnyAppend(logs: readonly PartitionLog[], waker: Waker): () => void {
  const cancels = logs.map((log) => log.onNextAppend(waker.kick));
  return () => {
    for (const cancel of cancels) cancel();
  };
}
