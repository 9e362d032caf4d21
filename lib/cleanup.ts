/**
 * Running retention and compaction over a store's topics: now (`store.cleanup()`), after a roll,
 * and on a timer (`cleanupIntervalMs`). Retention is cleaner.ts's `applyRetention` with the floor
 * the consumer groups set (`retainForGroups`); compaction is `compactLog`.
 *
 * A damaged segment stops its own partition's cleanup with LOGSTORE_CORRUPT (nothing is
 * rewritten from damaged bytes); the other partitions are cleaned first, then the error is thrown.
 */
import type { Groups } from './read/groups.js';
import { applyRetention, compactLog, type RetentionResult } from './storage/cleaner.js';
import type { PartitionLog } from './storage/partition-log.js';
import type { TopicState } from './topics.js';

/** What a cleanup run did. */
export interface CleanupResult {
  deletedSegments: number;
  compactedSegments: number;
  bytesFreed: number;
}

/** @internal */
export class Cleanup {
  /** The last error of a timer-driven run (the timer has nobody to throw to). */
  lastError: unknown = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly groups: Groups) {}

  /** Runs every `intervalMs` (0: never); the timer never keeps the process alive. */
  start(intervalMs: number, run: () => void): void {
    if (intervalMs <= 0) return;
    this.timer = setInterval(() => {
      try {
        run();
      } catch (err) {
        this.lastError = err;
      }
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Cleans every partition of `states` now. */
  run(states: readonly TopicState[]): CleanupResult {
    const total: CleanupResult = { deletedSegments: 0, compactedSegments: 0, bytesFreed: 0 };
    const now = Date.now();
    let failure: unknown;
    for (const state of states) {
      for (const log of state.logs) {
        try {
          if (state.config.cleanupPolicy === 'compact') {
            const r = compactLog(log, now);
            total.compactedSegments += r.compactedSegments;
            total.bytesFreed += r.bytesFreed;
          } else {
            const r = this.retain(state, log, now);
            total.deletedSegments += r.deletedSegments;
            total.bytesFreed += r.bytesFreed;
          }
        } catch (err) {
          failure ??= err;
        }
      }
    }
    if (failure) throw failure;
    return total;
  }

  /** Retention of one partition (also run after each roll). */
  retain(state: TopicState, log: PartitionLog, now = Date.now()): RetentionResult {
    if (state.config.cleanupPolicy !== 'delete') return { deletedSegments: 0, bytesFreed: 0 };
    const floor = state.config.retainForGroups ? this.groups.retentionFloor(state, log) : null;
    return applyRetention(log, now, floor);
  }
}
