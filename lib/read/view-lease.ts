/**
 * What a zero-copy reader (`copy: false`) has lent out: the segments whose mappings hold the
 * bytes of the records it returned last. Each is pinned once (mapped-file.ts), so that neither
 * the mapping cache nor a growth of the file unmaps memory the application may still be reading;
 * the reader releases the lease when those records stop being valid (its next read, a seek,
 * close). A segment deleted by retention or replaced by compaction is still unmapped at once:
 * the views then read as empty (detached), never as freed memory or another record's bytes.
 */

/** Something whose memory can be kept mapped while views of it are out (a segment). */
export interface Pinnable {
  pin(): () => void;
}

export class ViewLease {
  private readonly pins = new Map<Pinnable, () => void>();

  /** Keeps `segment` mapped until `release()`; once per segment however many records it lent. */
  lend(segment: Pinnable): void {
    if (!this.pins.has(segment)) this.pins.set(segment, segment.pin());
  }

  /** The records lent so far are no longer promised: their segments may be unmapped again. */
  release(): void {
    if (this.pins.size === 0) return;
    for (const unpin of this.pins.values()) unpin();
    this.pins.clear();
  }

  /** How many segments are pinned now (for tests). */
  get size(): number {
    return this.pins.size;
  }
}
