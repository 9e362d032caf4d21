/**
 * One segment (Kafka's `LogSegment`): a `.log` file of record batches, memory-mapped
 * (mapped-file.ts), named by its 20-digit base offset, with its sparse `.index`/`.timeindex`
 * (sparse-index.ts).
 *
 * A segment costs what it holds: its file is mapped on first use (the active segment stays
 * mapped; closed ones may be unmapped again by the process's mapping cache), no descriptor is
 * kept, and its index is built on first use (from the index files when they can be trusted).
 *
 * Invariants: `size` is the end of the last whole batch and `nextOffset` the offset after its
 * last record; the bytes after `size` are zeros. Only the segment writes into its mapping:
 * batches through `append`, zeros through `recover`'s cut and `truncateTo`. A segment file is
 * never shrunk (see mapped-file.ts); a rolled segment's unused preallocation is released with a
 * hole punch, a torn tail is zeroed.
 *
 * Only the owning partition log (and its loader, follower and cleaner) calls a Segment; all calls
 * happen on the JS thread.
 */
import fs from 'node:fs';
import { ioError, LogStoreError } from '../errors.js';
import { BatchWalker, corruptAt, isTornTail, type StopKind } from '../format/batches.js';
import type { BatchEncoder } from '../format/batch-encoder.js';
import { writeInt32, writeInt64 } from '../format/record-batch.js';
import { segmentPath } from './layout.js';
import { MappedFile, type Sharing } from './mapped-file.js';
import { SparseIndex } from './sparse-index.js';

/**
 * A batch of at least this many bytes is encoded into a scratch buffer and written with pwrite
 * (MappedFile.write) rather than stored through the mapping: one call instead of a page fault per
 * new page, which is what large appends spend most of their time on.
 */
export const WRITE_THROUGH_FILE_BYTES = 16 * 1024;
/** The batches written with pwrite are encoded here first (one buffer, reused). */
let scratch = Buffer.alloc(0);

/** What a segment knows of its extent when opened (from the catalog, or to be found by recovery). */
export interface SegmentState {
  size: number;
  nextOffset: number;
  maxTimestamp: number;
  /** Whether the index files on disk may be used (written at roll or clean close). */
  indexTrusted: boolean;
  /** Whether this process may write the index files (the writer's; default: a writable segment). */
  writesIndex?: boolean;
  /**
   * A follower's view of a file another process writes: that writer may delete the file
   * (retention, topic deletion) or rename a rewritten one over it (compaction). `hold` maps it
   * now and keeps it mapped, so the view stays the file as it was (compacted topics); otherwise
   * a mapping made later that finds the file gone throws LOGSTORE_OFFSET_OUT_OF_RANGE.
   */
  follower?: { hold: boolean };
}

/** How `recover` walks: from a point known to be whole, to a limit, with the offsets expected. */
export interface RecoverFrom {
  /** Position, offset and max timestamp known to be right (the recovery point, or the start). */
  position: number;
  nextOffset: number;
  maxTimestamp: number;
  /** Where the batches must end: the size the catalog recorded (closed), or null (to the zeros). */
  recordedSize: number | null;
  /** Compacted topic: gaps allowed before `denseFrom` (what compaction rewrote), dense after. */
  gaps: boolean;
  denseFrom: number;
  /** The next segment's base offset: no batch may reach it. */
  maxNextOffset: number;
  /** Everything before this position was synced: a stop before it is damage, not a torn tail. */
  syncedTo: number;
}

/**
 * Where recovery stops a segment: a walk's stop, `short` (a closed segment's batches end before
 * its recorded size) or `segment-gap` (the next segment does not continue its offsets).
 */
export type CutKind = StopKind | 'short' | 'segment-gap';

/** What `recover` found: whether the data ran to its proper end, else where and why it stopped. */
export interface RecoverResult {
  complete: boolean;
  stop: CutKind;
  position: number;
  detail: string;
  bytesCut: number;
}

export class Segment {
  readonly logPath: string;
  /** Bytes of whole batches. */
  size: number;
  nextOffset: number;
  maxTimestamp: number;
  /** null until first needed (built from the files or by walking the batches). */
  private sparseIndex: SparseIndex | null = null;
  /** True while the index files on disk may be used. */
  private indexFilesTrusted: boolean;
  /** Whether this process writes the index files (the writer does, a follower never). */
  private readonly writesIndex: boolean;
  /** Batches were added since the index files were last written or found trusted. */
  private indexChanged = false;

  private constructor(
    readonly dir: string,
    readonly baseOffset: number,
    private readonly file: MappedFile,
    state: SegmentState,
    logPath = file.path,
  ) {
    this.logPath = logPath;
    this.size = state.size;
    this.nextOffset = state.nextOffset;
    this.maxTimestamp = state.maxTimestamp;
    this.indexFilesTrusted = state.indexTrusted;
    this.writesIndex = state.writesIndex ?? file.writable;
  }

  /** Creates an empty segment file (the caller fsyncs the directory and records it). */
  static create(dir: string, baseOffset: number, capacity: number): Segment {
    // An interrupted earlier roll may have left an unrecorded empty file with this name: emptied.
    const file = MappedFile.create(segmentPath(dir, baseOffset, 'log'), capacity);
    const segment = new Segment(dir, baseOffset, file, {
      size: 0,
      nextOffset: baseOffset,
      maxTimestamp: -1,
      indexTrusted: false,
    });
    segment.sparseIndex = new SparseIndex(baseOffset);
    return segment;
  }

  /** Opens an existing segment whose extent the caller knows (or will find by `recover`). */
  static open(
    dir: string,
    baseOffset: number,
    capacity: number,
    writable: boolean,
    state: SegmentState,
    path?: string,
  ): Segment {
    const logPath = segmentPath(dir, baseOffset, 'log');
    path ??= logPath;
    const sharing: Sharing = state.follower
      ? {
          hold: state.follower.hold,
          gone: () =>
            new LogStoreError(
              'LOGSTORE_OFFSET_OUT_OF_RANGE',
              `Segment ${path} was deleted or replaced by the writer (retention, compaction or a topic ` +
                "deletion) since this follower listed it. Seek again (for example to 'earliest').",
              { details: { file: path, kind: 'segment-gone' } },
            ),
        }
      : {};
    const file = MappedFile.open(
      path,
      capacity,
      writable,
      () =>
        new LogStoreError(
          'LOGSTORE_CORRUPT',
          `Segment ${path} is in the catalog but missing on disk. Restore it from a backup, or run \`logstore verify --repair\`.`,
          { details: { file: path, kind: 'missing-segment' } },
        ),
      sharing,
    );
    if (state.size > file.fileSize) {
      file.release();
      throw new LogStoreError(
        'LOGSTORE_CORRUPT',
        `Segment ${path} is ${file.fileSize} bytes but the catalog records ${state.size} bytes of batches in it.`,
        { details: { file: path, position: file.fileSize, kind: 'short-file' } },
      );
    }
    return new Segment(dir, baseOffset, file, state, logPath);
  }

  /** The mapping (created on first use, and again after the mapping cache released it). */
  get buf(): Buffer {
    return this.file.buf;
  }

  /** Whether the file is mapped now. */
  get mapped(): boolean {
    return this.file.mapped;
  }

  /** The segment appends go to stays mapped; a closed one is left to the mapping cache. */
  setActive(active: boolean): void {
    this.file.setActive(active);
  }

  /** Keeps views of the mapping valid beyond the current call until the returned function runs. */
  pin(): () => void {
    return this.file.pin();
  }

  get capacity(): number {
    return this.file.capacity;
  }

  get fileSize(): number {
    return this.file.fileSize;
  }

  get writable(): boolean {
    return this.file.writable;
  }

  get released(): boolean {
    return this.file.released;
  }

  /** Whether a batch of `bytes` fits after the data. */
  fits(bytes: number): boolean {
    return this.size + bytes <= this.capacity;
  }

  /**
   * Writes the batch last measured by `encoder` (`count` records, `bytes` long) after the data,
   * with the next offset as its base; returns the base offset. Nothing is written when the disk
   * is full (the preallocation fails first).
   */
  append(encoder: BatchEncoder, bytes: number, count: number): number {
    const index = this.index; // built before the batch is added (after an open it may not be yet)
    this.file.ensureAllocated(this.size + bytes);
    const baseOffset = this.nextOffset;
    const position = this.size;
    if (bytes < WRITE_THROUGH_FILE_BYTES) encoder.write(this.buf, position, baseOffset);
    else {
      if (scratch.length < bytes) scratch = Buffer.allocUnsafe(Math.max(bytes, 2 * scratch.length));
      encoder.write(scratch, 0, baseOffset);
      this.file.write(scratch.subarray(0, bytes), position);
    }
    this.file.touch(bytes, position);
    if (encoder.lastMaxTimestamp > this.maxTimestamp) this.maxTimestamp = encoder.lastMaxTimestamp;
    index.onBatch(position, baseOffset + count - 1, encoder.lastMaxTimestamp);
    this.indexChanged = true;
    this.size = position + bytes;
    this.nextOffset = baseOffset + count;
    return baseOffset;
  }

  /**
   * Copies a batch a producer sent (checked by the caller) after the data, with the next offset
   * as its base offset and leader epoch 0 (both outside the CRC): the producer's bytes otherwise
   * stay as they are. Returns the base offset.
   */
  appendRaw(
    src: Uint8Array,
    start: number,
    size: number,
    lastOffsetDelta: number,
    maxTimestamp: number,
  ): number {
    const index = this.index;
    this.file.ensureAllocated(this.size + size);
    const baseOffset = this.nextOffset;
    const position = this.size;
    const buf = this.buf;
    buf.set(src.subarray(start, start + size), position);
    writeInt64(buf, position, baseOffset);
    writeInt32(buf, position + 12, 0);
    this.file.touch(size, position);
    if (maxTimestamp > this.maxTimestamp) this.maxTimestamp = maxTimestamp;
    index.onBatch(position, baseOffset + lastOffsetDelta, maxTimestamp);
    this.indexChanged = true;
    this.size = position + size;
    this.nextOffset = baseOffset + lastOffsetDelta + 1;
    return baseOffset;
  }

  /** A walker over this segment's batches from `position`, expecting `nextOffset` there (-1: any). */
  walker(position: number, nextOffset: number, gaps: boolean, limit = this.size): BatchWalker {
    return new BatchWalker(this.buf, position, {
      limit,
      nextOffset,
      gaps,
      minOffset: this.baseOffset,
      maxNextOffset: this.nextOffset > this.baseOffset ? this.nextOffset : undefined,
    });
  }

  /**
   * Kafka's `LogSegment.recover`: validates every batch from `from` on and makes the segment end
   * at the last valid one. A stop at or after `from.syncedTo` is the torn tail of a crash: the
   * bytes from there to the end of the data are zeroed (the file keeps its length) and counted in
   * `bytesCut`. A stop before it is damage to synced data: LOGSTORE_CORRUPT, nothing changed.
   */
  recover(from: RecoverFrom): RecoverResult {
    const limit = from.recordedSize === null ? this.fileSize : Math.min(from.recordedSize, this.fileSize);
    const walker = new BatchWalker(
      this.buf,
      from.position,
      {
        limit,
        nextOffset: from.nextOffset,
        gaps: from.gaps && from.position < from.denseFrom,
        minOffset: this.baseOffset,
        maxNextOffset: from.maxNextOffset,
      },
      from.maxTimestamp,
    );
    while (walker.next()) {
      if (walker.gaps && walker.end >= from.denseFrom) walker.gaps = false;
    }
    let stop: CutKind = walker.stop!;
    let detail = walker.detail;
    // A closed segment's batches end at its recorded size, a live one's at the zeros (but not
    // before the recovery point: synced batches are missing there).
    let complete =
      stop === 'end' || (stop === 'zeros' && from.recordedSize === null && walker.end >= from.syncedTo);
    if (stop === 'zeros' && from.recordedSize !== null) {
      stop = 'short';
      detail = `the batches end before the recorded size ${from.recordedSize}`;
    }
    const position = walker.end;
    if (!complete && !isTornTail(walker.stop!, position, from.syncedTo)) {
      throw corruptAt(
        this.logPath,
        position,
        stop,
        `${detail}, before the last recovery point (${from.syncedTo})`,
        'Run `logstore verify` to see the damage and `logstore verify --repair` to cut the log there.',
      );
    }
    this.size = position;
    this.nextOffset = walker.nextOffset;
    this.maxTimestamp = walker.maxTimestamp;
    this.sparseIndex = null;
    this.indexFilesTrusted = false;
    let bytesCut = 0;
    // Bytes after the last whole batch of the data still being written are a torn tail too.
    if (from.recordedSize === null || !complete) bytesCut = this.file.zeroFrom(position);
    if (bytesCut > 0 && complete) {
      complete = false;
      stop = 'truncated';
      detail = 'bytes after the last whole batch';
    }
    return { complete, stop, position, detail, bytesCut };
  }

  /**
   * Follower: extends the segment over the whole valid batches the writer added since, up to
   * `limit`; stops quietly at the first batch that is not (yet) whole. Returns true if it grew.
   */
  catchUp(limit: number, gaps: boolean): boolean {
    if (this.size >= limit) return false;
    const walker = new BatchWalker(
      this.buf,
      this.size,
      { limit, nextOffset: this.nextOffset, gaps, minOffset: this.baseOffset },
      this.maxTimestamp,
    );
    const index = this.sparseIndex;
    while (walker.next()) index?.onBatch(walker.position, walker.lastOffset, walker.batchMaxTimestamp);
    if (walker.end === this.size) return false;
    this.size = walker.end;
    this.nextOffset = walker.nextOffset;
    this.maxTimestamp = walker.maxTimestamp;
    return true;
  }

  /** Drops everything after `position` (repair, or a tail found torn by the loader). */
  truncateTo(position: number, nextOffset: number, maxTimestamp: number): number {
    const cut = this.file.zeroFrom(position);
    this.size = position;
    this.nextOffset = nextOffset;
    this.maxTimestamp = maxTimestamp;
    this.sparseIndex = null;
    this.indexFilesTrusted = false;
    return cut;
  }

  /** End of the non-zero bytes from `from` on: what a torn tail left behind. */
  dataEnd(from: number): number {
    return this.file.dataEnd(from);
  }

  /** Counts bytes moved through the mapping at `position` (pages behind are dropped now and then). */
  touch(bytes: number, position: number): void {
    this.file.touch(bytes, position);
  }

  /** Drops every resident page of the mapping (a reader or the writer left this segment). */
  dropResident(): void {
    this.file.dropResident();
  }

  get index(): SparseIndex {
    return this.sparseIndex ?? this.loadIndex();
  }

  /**
   * The sparse index, loaded from its files when they can be trusted, else rebuilt by a walk (and
   * its files written again).
   */
  loadIndex(): SparseIndex {
    if (this.sparseIndex) return this.sparseIndex;
    if (this.indexFilesTrusted) {
      try {
        const index = fs.readFileSync(segmentPath(this.dir, this.baseOffset, 'index'));
        const timeIndex = fs.readFileSync(segmentPath(this.dir, this.baseOffset, 'timeindex'));
        this.sparseIndex = SparseIndex.load(
          this.baseOffset,
          index,
          timeIndex,
          this.size,
          this.nextOffset - 1,
          this.maxTimestamp,
        );
      } catch {
        this.sparseIndex = null;
      }
    }
    if (!this.sparseIndex) {
      this.sparseIndex = this.walkIndex();
      if (this.writesIndex) {
        this.indexFilesTrusted = false; // what they hold was not usable: written again
        this.saveIndex();
      }
    }
    return this.sparseIndex;
  }

  /** Forgets the index and its files: the next use walks the log (a damaged index file). */
  dropIndex(): void {
    this.sparseIndex = null;
    this.indexFilesTrusted = false;
  }

  /**
   * Builds the index by walking the batches. It stops at the first invalid batch: reads that get
   * there report it.
   */
  private walkIndex(): SparseIndex {
    const index = new SparseIndex(this.baseOffset);
    const walker = new BatchWalker(this.buf, 0, {
      limit: this.size,
      nextOffset: -1,
      gaps: true,
      minOffset: this.baseOffset,
    });
    while (walker.next()) index.onBatch(walker.position, walker.lastOffset, walker.batchMaxTimestamp);
    if (walker.maxTimestamp > this.maxTimestamp) this.maxTimestamp = walker.maxTimestamp;
    return index;
  }

  /** Sets `maxTimestamp` from the batches (a catalog from before it was recorded). */
  walkMaxTimestamp(): void {
    const walker = new BatchWalker(
      this.buf,
      0,
      { limit: this.size, nextOffset: -1, gaps: true },
      this.maxTimestamp,
    );
    walker.walkAll();
    this.maxTimestamp = walker.maxTimestamp;
  }

  /**
   * Writes the index files (a cache; losing them costs a walk), with the segment's max timestamp
   * as the time index's last entry, as Kafka does when it closes or recovers a segment.
   */
  saveIndex(): void {
    if (!this.writesIndex || this.released) return;
    if (this.indexFilesTrusted && !this.indexChanged) return; // the files say it already
    try {
      const sparse = this.index;
      sparse.seal();
      const { index, timeIndex } = sparse.serialize();
      fs.writeFileSync(segmentPath(this.dir, this.baseOffset, 'index'), index);
      fs.writeFileSync(segmentPath(this.dir, this.baseOffset, 'timeindex'), timeIndex);
      this.indexFilesTrusted = true;
      this.indexChanged = false;
    } catch {
      // The index is only a cache; the next open rebuilds it.
    }
  }

  /** After a roll: release the preallocated blocks past the data, keeping the file's length. */
  trimPreallocation(): void {
    this.file.releaseBlocksFrom(this.size);
  }

  /** Blocks the log file takes on disk, in bytes. */
  diskBytes(): number {
    return this.file.diskBytes();
  }

  /** Re-reads the file length (a follower learns how far the writer preallocated). */
  refreshFileSize(): number {
    return this.file.refreshSize();
  }

  /** msync (or fdatasync when unmapped): makes the batches written through the mapping durable. */
  syncSync(): void {
    this.file.syncSync();
  }

  /**
   * The batches, off the JS thread: msync of [0, size) only, so that pages `prefault` prepared
   * past the data stay writable. A segment released meanwhile has nothing left to sync.
   */
  sync(): Promise<void> {
    return this.file.sync(this.size);
  }

  /** Takes now the page faults of the next `bytes` of appends (see MappedFile.prefault). */
  prefault(bytes: number): void {
    this.file.prefault(this.size, this.size + bytes);
  }

  /** Unmaps and closes now; every view of the mapping becomes empty. */
  release(): void {
    this.file.release();
  }

  /** Releases and removes the segment's files. */
  delete(): void {
    this.release();
    try {
      for (const kind of ['log', 'index', 'timeindex'] as const) {
        fs.rmSync(segmentPath(this.dir, this.baseOffset, kind), { force: true });
      }
    } catch (err) {
      throw ioError(err, `Cannot delete segment ${this.logPath}`);
    }
  }
}
