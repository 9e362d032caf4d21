/**
 * A segment's sparse index and its two files (Kafka's `LazyIndex` pair): built on first use,
 * from the `.index`/`.timeindex` files when they can be trusted, else by walking the segment's
 * batches (and then written again by the process that writes them).
 *
 * The files are a cache: losing or distrusting them costs one walk of the segment. They are
 * trusted only when written at a roll or a clean close, and forgotten whenever the segment's
 * extent changes other than by an append (recovery, truncation).
 *
 * An index without offset entries (a segment whose batches all start within its first
 * INDEX_INTERVAL_BYTES: every nearly empty partition's) has no files: a walk of those few KiB
 * rebuilds it for less than reading two files costs, and creating two files per partition at
 * every close is what made closing thousands of partitions slow (file creation in thousands of
 * directories costs more the more there are).
 */
import fs from 'node:fs';
import { BatchWalker } from '../format/batches.js';
import { segmentPath } from './layout.js';
import { INDEX_INTERVAL_BYTES, SparseIndex } from './sparse-index.js';

/** What the index reads of its segment: the mapping and the extent of its whole batches. */
export interface IndexedSegment {
  readonly buf: Buffer;
  readonly size: number;
  readonly nextOffset: number;
  /** Raised when a walk finds a larger batch max timestamp than the segment knew of. */
  maxTimestamp: number;
  readonly released: boolean;
}

export class SegmentIndex {
  /** null until first needed. */
  private sparse: SparseIndex | null = null;
  /** True while the index files on disk may be used. */
  private filesTrusted: boolean;
  /** Batches were added since the index files were last written or found trusted. */
  private changed = false;

  constructor(
    private readonly dir: string,
    private readonly baseOffset: number,
    filesTrusted: boolean,
    /** Whether this process writes the index files (the writer does, a follower never). */
    private readonly writesFiles: boolean,
    /** Whether index files may exist on disk (false: known to be absent, nothing to read or remove). */
    private filesPresent = true,
  ) {
    this.filesTrusted = filesTrusted;
  }

  /** A new, empty segment: an empty index, nothing to load. */
  startEmpty(): void {
    this.sparse = new SparseIndex(this.baseOffset);
  }

  /** An index built by a walk of the segment's batches as they now are (recovery's own walk). */
  install(sparse: SparseIndex): void {
    this.sparse = sparse;
    this.filesTrusted = false; // the files are written again at the next roll or clean close
  }

  /** The index if it was built already (a follower extends only a built one). */
  get built(): SparseIndex | null {
    return this.sparse;
  }

  /** The caller added a batch to the index: the files no longer say everything. */
  markChanged(): void {
    this.changed = true;
  }

  /** Forgets the index and its files: the next use walks the log. */
  forget(): void {
    this.sparse = null;
    this.filesTrusted = false;
  }

  /**
   * The sparse index, loaded from its files when they can be trusted, else rebuilt by a walk (and
   * its files written again).
   */
  load(segment: IndexedSegment): SparseIndex {
    if (this.sparse) return this.sparse;
    if (this.filesTrusted && this.filesPresent && segment.size > INDEX_INTERVAL_BYTES) {
      try {
        const index = fs.readFileSync(segmentPath(this.dir, this.baseOffset, 'index'));
        const timeIndex = fs.readFileSync(segmentPath(this.dir, this.baseOffset, 'timeindex'));
        this.sparse = SparseIndex.load(
          this.baseOffset,
          index,
          timeIndex,
          segment.size,
          segment.nextOffset - 1,
          segment.maxTimestamp,
        );
      } catch {
        this.sparse = null;
      }
    }
    if (!this.sparse) {
      this.sparse = this.walk(segment);
      if (this.writesFiles) {
        this.filesTrusted = false; // what they hold was not usable: written again
        this.save(segment);
      }
    }
    return this.sparse;
  }

  /**
   * Builds the index by walking the batches. It stops at the first invalid batch: reads that get
   * there report it.
   */
  private walk(segment: IndexedSegment): SparseIndex {
    const index = new SparseIndex(this.baseOffset);
    const walker = new BatchWalker(segment.buf, 0, {
      limit: segment.size,
      nextOffset: -1,
      gaps: true,
      minOffset: this.baseOffset,
    });
    while (walker.next()) index.onBatch(walker.position, walker.lastOffset, walker.batchMaxTimestamp);
    if (walker.maxTimestamp > segment.maxTimestamp) segment.maxTimestamp = walker.maxTimestamp;
    return index;
  }

  /**
   * Writes the index files (a cache; losing them costs a walk), with the segment's max timestamp
   * as the time index's last entry, as Kafka does when it closes or recovers a segment. An index
   * without offset entries gets no files (see above); older ones are removed.
   */
  save(segment: IndexedSegment): void {
    if (!this.writesFiles || segment.released) return;
    if (this.filesTrusted && !this.changed) return; // the files say it already
    try {
      const sparse = this.load(segment);
      if (sparse.offsets.count === 0) {
        if (this.filesPresent) {
          for (const kind of ['index', 'timeindex'] as const)
            fs.rmSync(segmentPath(this.dir, this.baseOffset, kind), { force: true });
          this.filesPresent = false;
        }
      } else {
        sparse.seal();
        const { index, timeIndex } = sparse.serialize();
        this.filesPresent = true; // from the first write on: a failure may leave one of them
        fs.writeFileSync(segmentPath(this.dir, this.baseOffset, 'index'), index);
        fs.writeFileSync(segmentPath(this.dir, this.baseOffset, 'timeindex'), timeIndex);
      }
      this.filesTrusted = true;
      this.changed = false;
    } catch {
      // The index is only a cache; the next open rebuilds it.
    }
  }
}
