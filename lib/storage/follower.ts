/**
 * A read-only view of a partition that another process writes: it opens the segments the
 * catalog lists and catches up with the writer's appends, rolls, retention and compaction by
 * looking at the catalog and the files again (`refresh`). It never writes and never waits: a
 * look that finds files and catalog out of step (the writer is between two steps of a change)
 * changes nothing, and the next look tries again.
 *
 * What the writer does, in the order a follower may see it: a roll creates the new file, then
 * records it; retention records the deletion, then unlinks; compaction writes `.cleaned` files,
 * records new sizes with pending swaps, renames them over the `.log` files, clears the swaps.
 *
 * Segments are opened without a descriptor and mapped on first use. A file the writer may
 * rename another over (a compacted topic's) is mapped when it is listed and kept mapped, so the
 * view stays the file as it was until the catalog says otherwise; any other file that is gone
 * when it is first mapped was deleted (retention, a topic deletion): LOGSTORE_OFFSET_OUT_OF_RANGE.
 */
import fs from 'node:fs';
import { LogStoreError } from '../errors.js';
import { segmentPath } from './layout.js';
import type { SegmentRow } from './partition-catalog.js';
import type { PartitionLog } from './partition-log.js';
import { Segment } from './segment.js';

/** Immediate attempts at a consistent first view (each re-reads the catalog; nothing sleeps). */
const OPEN_ATTEMPTS = 20;
/** Refreshes in a row that may find files and catalog out of step before it counts as damage. */
const MAX_REFRESH_FAILURES = 200;

export class Follower {
  private failures = 0;

  constructor(private readonly log: PartitionLog) {}

  /** Opens the segments the catalog lists, up to the writer's newest whole batch. */
  load(): void {
    for (let attempt = 1; ; attempt++) {
      try {
        const { row, rows } = this.log.catalog.snapshot();
        if (!row || rows.length === 0) {
          throw new LogStoreError('LOGSTORE_CORRUPT', `The catalog has no segments for ${this.log.name}.`, {
            details: { kind: 'no-segments' },
          });
        }
        if (!fs.existsSync(this.log.dir)) {
          throw new LogStoreError(
            'LOGSTORE_CORRUPT',
            `The catalog lists ${this.log.name}, but its directory ${this.log.dir} is missing.`,
            { details: { file: this.log.dir, kind: 'missing-directory' } },
          );
        }
        const segments: Segment[] = [];
        try {
          for (const r of rows) segments.push(this.openListed(r));
        } catch (err) {
          for (const s of segments) s.release();
          throw err;
        }
        this.log.segments = segments;
        this.log.logStartOffset = row.logStartOffset;
        this.log.active.setActive(true);
        this.catchUpActive();
        return;
      } catch (err) {
        if (!(err instanceof LogStoreError) || attempt >= OPEN_ATTEMPTS) throw err;
      }
    }
  }

  /**
   * A segment as the catalog lists it. A closed one has a known extent; the active one is found
   * by walking. Between a compaction's catalog commit and its rename, a rewritten segment's new
   * bytes are still in its `.cleaned` file: open that one (the rename keeps its inode).
   */
  private openListed(r: SegmentRow): Segment {
    const log = this.log;
    const follower = { hold: log.gaps };
    if (r.endOffset === null) {
      return Segment.open(log.dir, r.baseOffset, r.capacity, false, {
        size: 0,
        nextOffset: r.baseOffset,
        maxTimestamp: -1,
        indexTrusted: false,
        follower,
      });
    }
    const state = {
      size: r.size ?? 0,
      nextOffset: r.endOffset,
      maxTimestamp: r.maxTimestamp ?? -1,
      indexTrusted: true,
      follower,
    };
    const cleaned = segmentPath(log.dir, r.baseOffset, 'cleaned');
    if (fs.existsSync(cleaned)) {
      try {
        return Segment.open(
          log.dir,
          r.baseOffset,
          r.capacity,
          false,
          { ...state, indexTrusted: false, follower: { hold: true } },
          cleaned,
        );
      } catch {
        // Renamed meanwhile: the .log is the new file now.
      }
    }
    return Segment.open(log.dir, r.baseOffset, r.capacity, false, state);
  }

  /** Applies what the writer did since the last look; true if the log changed or grew. */
  refresh(): boolean {
    const grew = this.catchUpActive();
    return this.refreshSegments() || grew;
  }

  /** The writer's rolls, deletions and compactions recorded in the catalog. */
  private refreshSegments(): boolean {
    const log = this.log;
    const { row, rows, swapsPending } = log.catalog.snapshot();
    if (!row || rows.length === 0) return false; // the topic is being deleted
    // A compaction between its catalog commit and its renames: look again next time.
    if (swapsPending) return false;
    const last = rows[rows.length - 1]!;
    const active = log.active;
    const byBase = new Map(rows.map((r) => [r.baseOffset, r]));
    // Build the new list aside: opening a file can fail when the writer changed it after the
    // catalog was read (a later compaction or retention); then nothing changes and the next
    // refresh tries again, instead of leaving this log half updated.
    const opened: Segment[] = [];
    const next: Segment[] = [];
    try {
      for (const s of log.segments) {
        const r = byBase.get(s.baseOffset);
        if (!r) continue; // gone: retention, compaction or deletion
        const rewritten = s !== active && r.endOffset !== null && r.size !== null && r.size !== s.size;
        if (rewritten) opened.push(this.openListed(r));
        next.push(rewritten ? opened[opened.length - 1]! : s);
      }
      // New segments after the active one (rolls), or all of them if none is left (a topic
      // deleted and created again under the same name).
      const after = next.length === 0 ? -1 : active.baseOffset;
      for (const r of rows) {
        if (r.baseOffset <= after) continue;
        opened.push(this.openListed(r));
        next.push(opened[opened.length - 1]!);
      }
    } catch (err) {
      for (const s of opened) s.release();
      // Files that keep disagreeing with the catalog are damage, not a race.
      if (++this.failures < MAX_REFRESH_FAILURES) return false;
      throw err;
    }
    this.failures = 0;
    const changed = next.length !== log.segments.length || next.some((s, k) => s !== log.segments[k]);
    // The writer rolled: finish the old active segment at its recorded end.
    const closedRow = byBase.get(active.baseOffset);
    if (last.baseOffset > active.baseOffset && closedRow?.size != null && next.includes(active)) {
      active.catchUp(closedRow.size, log.gaps);
    }
    for (const s of log.segments) if (!next.includes(s)) s.release();
    log.segments = next;
    log.logStartOffset = row.logStartOffset;
    if (next.length > 0 && log.active !== active) {
      if (next.includes(active)) active.setActive(false);
      log.active.setActive(true);
    }
    if (changed) this.catchUpActive();
    return changed;
  }

  /** Extends the active segment over whole valid batches written since. */
  private catchUpActive(): boolean {
    const segment = this.log.active;
    if (!segment || segment.released) return false;
    return segment.catchUp(segment.refreshFileSize(), this.log.gaps);
  }
}
