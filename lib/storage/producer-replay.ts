/**
 * Idempotent producers' state at open: the catalog's (saved with the recovery point), moved
 * forward by the producer batches the log holds after that point (Kafka's
 * `ProducerStateManager` rebuilt by `LogLoader`).
 *
 * After a crash the loader walks those batches anyway to verify them, so it feeds them here as it
 * walks (`feed`) rather than walking the log a second time: on a large log that second walk read
 * every page again after recovery had dropped it (a page fault per page, and the whole log
 * resident at the end). `finish` walks only what no recovery walk fed: segments adopted after
 * recovery, and everything after a clean close. Replays must come in log order (a replay only
 * moves a producer forward), so a segment left unfed before a fed one makes `finish` start over
 * from the catalog's state and walk everything after the point.
 */
import type { BatchWalker } from '../format/batches.js';
import { batchBaseSequence, batchProducerEpoch, batchProducerId } from '../format/record-batch.js';
import type { ProducerStateRow } from './partition-catalog.js';
import { ProducerStates } from './producer-state.js';
import type { Segment } from './segment.js';

export class ProducerReplay {
  private states: ProducerStates;
  /** Segments whose every batch, as the segment now ends, was fed by a recovery walk. */
  private readonly fed = new Set<Segment>();

  constructor(
    private readonly name: string,
    private readonly saved: readonly ProducerStateRow[],
    /** Batches ending before this offset are in the saved state already. */
    readonly from: number,
  ) {
    this.states = ProducerStates.from(name, saved);
  }

  /** Whether the batch the walker accepted moves the state (a producer's batch after `from`). */
  wants(walker: BatchWalker): boolean {
    return walker.lastOffset >= this.from && batchProducerId(walker.buf, walker.position) >= 0;
  }

  /** Replays the batch the walker just accepted, if it is a producer's batch after `from`. */
  feed(walker: BatchWalker): void {
    if (!this.wants(walker)) return;
    const buf = walker.buf;
    const position = walker.position;
    const batch = {
      producerId: batchProducerId(buf, position),
      epoch: batchProducerEpoch(buf, position),
      firstSequence: batchBaseSequence(buf, position),
      count: walker.lastOffset - walker.baseOffset + 1,
    };
    this.states.replay(batch, walker.baseOffset, walker.lastOffset, walker.batchMaxTimestamp);
  }

  /** Every batch of `segment`, as it now ends, was fed (in order, after those of the segments before). */
  fedAll(segment: Segment): void {
    this.fed.add(segment);
  }

  /** The state once `segments` (the partition's, in order) are final: what no walk fed is walked now. */
  finish(segments: readonly Segment[]): ProducerStates {
    let pending = segments.filter((s) => s.nextOffset > this.from && !this.fed.has(s));
    if (pending.length === 0) return this.states;
    const firstPending = segments.indexOf(pending[0]!);
    if (segments.some((s, i) => i > firstPending && this.fed.has(s))) {
      this.states = ProducerStates.from(this.name, this.saved);
      pending = segments.filter((s) => s.nextOffset > this.from);
    }
    for (const segment of pending) {
      const walker = segment.walker(0, -1, true);
      while (walker.next()) this.feed(walker);
    }
    return this.states;
  }
}
