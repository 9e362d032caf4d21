/**
 * Which pages of a file's mapping the process holds, and which of them a store can write without
 * a page fault: the mapped file's (mapped-file.ts) memory upkeep, apart from the mapping itself.
 *
 * - Pages read or written are dropped from the resident set now and then (madvise DONTNEED keeps
 *   a shared file mapping's data, dirty pages included, in the page cache), so that walking a
 *   large file costs the pages around the walk, not the file.
 * - Before an append stores through the mapping, the pages it will write are made writable in
 *   one call (MADV_POPULATE_WRITE), rather than one page fault per new page.
 *
 * Only memory and time are at stake: a failed madvise leaves the pages as they were.
 */
import { PAGE } from './file-blocks.js';
import * as native from './native.js';

const MiB = 1024 * 1024;
/** Every this many bytes moved through the mapping, the pages behind are dropped from RSS. */
const RESIDENT_TRIM_BYTES = 16 * MiB;
/**
 * The most an append prepares ahead of itself (see `prepareWrite`): 64 pages, one call every
 * ~1,500 single appends of 170 bytes.
 */
const PREPARE_AHEAD_MAX = 256 * 1024;
/** Whether madvise(MADV_POPULATE_WRITE) works here (Linux 5.14+); cleared at its first EINVAL. */
let populateWorks = process.platform === 'linux';

export class ResidentPages {
  /** Bytes moved through the mapping since the pages behind were last dropped. */
  private touched = 0;
  /**
   * Pages of the mapping below this position that appends write take no page fault: `prepareWrite`
   * or `prefault` made them writable, and no sync has cleaned them since (0: none known).
   */
  private writableTo = 0;

  /** The mapping was made again or unmapped: none of its pages is known to be writable. */
  forgetWritable(): void {
    this.writableTo = 0;
  }

  /** A sync of [0, synced) cleaned those pages: they fault at their next store, the ones past it do not. */
  cleaned(synced: number): void {
    this.writableTo = Math.min(this.writableTo, Math.floor(synced / PAGE) * PAGE);
  }

  /** Counts bytes moved through `mapping` at `position`; drops the pages before it now and then. */
  touch(mapping: Buffer | null, bytes: number, position: number): void {
    this.touched += bytes;
    if (this.touched < RESIDENT_TRIM_BYTES || !mapping) return;
    this.touched = 0;
    const end = Math.min(Math.floor(position / PAGE) * PAGE, mapping.length);
    if (end > 0) advise(mapping, end);
  }

  /** Drops every resident page of `mapping`. */
  dropAll(mapping: Buffer | null): void {
    this.touched = 0;
    this.writableTo = 0;
    if (mapping && mapping.length > 0) advise(mapping, mapping.length);
  }

  /**
   * Takes now the page faults that appends to the pages of `mapping` from `from` (rounded up) to
   * `to` would take: each page there becomes dirty and writable, its content unchanged. Only for
   * the pages of real blocks (the active file's preallocation), never a hole. On this kind of VM
   * a first store into a page of a shared file mapping costs 10-50 µs, while
   * MADV_POPULATE_WRITE does the same for 1.5-2.5 µs a page in one call; where it is missing,
   * each page gets its own first byte stored back.
   */
  prefault(mapping: Buffer, from: number, to: number): void {
    const start = Math.ceil(from / PAGE) * PAGE;
    const end = Math.min(Math.ceil(to / PAGE) * PAGE, mapping.length);
    if (end <= start) return;
    if (populateWorks) {
      try {
        native.madvise(mapping, start, end - start, 'populate-write');
      } catch (err) {
        // Older kernels: EINVAL. Anything else (EINTR, ENOMEM) leaves the stores to fault as usual.
        if ((err as NodeJS.ErrnoException).code === 'EINVAL') populateWorks = false;
      }
    } else {
      for (let p = start; p < end; p += PAGE) mapping[p] = mapping[p]!;
    }
    if (start <= this.writableTo && end > this.writableTo) this.writableTo = end;
  }

  /**
   * Called before an append stores [position, end) through the mapping: when that reaches past
   * the pages made writable, prefaults from `position` on (with `prefault`, which may do
   * nothing), as far ahead as the file holds data (a partition that wrote little prepares little)
   * and at most PREPARE_AHEAD_MAX.
   */
  prepareWrite(prefault: (from: number, to: number) => void, position: number, end: number): void {
    if (end <= this.writableTo) return;
    const ahead = Math.min(PREPARE_AHEAD_MAX, Math.max(position, end - position));
    if (this.writableTo < position) this.writableTo = Math.floor(position / PAGE) * PAGE;
    prefault(this.writableTo, end + ahead);
    // Whatever prefault did (or could not do), the next call comes only once appends pass `end`.
    if (this.writableTo < end) this.writableTo = end;
  }
}

/** madvise(DONTNEED) of [0, end): only memory is at stake, so a failure is ignored. */
function advise(mapping: Buffer, end: number): void {
  try {
    native.madvise(mapping, 0, end, 'dontneed');
  } catch {
    // The pages stay resident a little longer; nothing else depends on it.
  }
}
