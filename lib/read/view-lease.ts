/**
 * What a zero-copy reader (`copy: false`) has lent out since its last read. Most records are
 * views into the reader's own window buffers (read with `pread`, lib/storage/read-window.ts): a
 * buffer lent is not read into again until the lease is released. Records near the end of a
 * segment's data (a live reader's) and a follower's are views into the segment's mapping: each
 * such segment is pinned once (mapped-file.ts), so that neither the mapping cache nor a growth of
 * the file unmaps memory the application may still be reading. The reader releases the lease when
 * those records stop being valid (its next read, a seek, close). A segment deleted by retention or
 * replaced by compaction is still unmapped at once: views of its mapping then read as empty
 * (detached), never as freed memory; views of a window buffer keep the bytes they were read with
 * until the buffer is read into again, when they detach too.
 */
import { LendingBuffers } from '../storage/read-window.js';

/** Something whose memory can be kept mapped while views of it are out (a segment). */
export interface Pinnable {
  pin(): () => void;
}

export class ViewLease {
  private readonly pins = new Map<Pinnable, () => void>();
  /** The window buffers of this reader's cursors. */
  readonly buffers = new LendingBuffers();

  /** Keeps `segment` mapped until `release()`; once per segment however many records it lent. */
  lend(segment: Pinnable): void {
    if (!this.pins.has(segment)) this.pins.set(segment, segment.pin());
  }

  /** The records lent so far are no longer promised: their segments may be unmapped again. */
  release(): void {
    this.buffers.release();
    if (this.pins.size === 0) return;
    for (const unpin of this.pins.values()) unpin();
    this.pins.clear();
  }

  /** The reader or consumer closed: as release(), and its read buffers are freed. */
  close(): void {
    this.release();
    this.buffers.drop();
  }

  /** How many segments are pinned now (for tests). */
  get size(): number {
    return this.pins.size;
  }
}
