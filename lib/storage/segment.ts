/**
 * One segment (Kafka's `LogSegment`): a `.log` file of record batches, memory-mapped
 * (mapped-file.ts), named by its 20-digit base offset, with its sparse `.index`/`.timeindex`
 * (sparse-index.ts, loaded or rebuilt by segment-index.ts).
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
import { ioError } from '../errors.js';
import { BatchWalker } from '../format/batches.js';
import type { BatchEncoder } from '../format/batch-encoder.js';
import { segmentPath } from './layout.js';
import type { Sharing } from './file-sharing.js';
import { MappedFile } from './mapped-file.js';
import { missingSegment, segmentGone, shortSegment } from './segment-file-errors.js';
import { SegmentIndex } from './segment-index.js';
import { writeEncoded, writeRaw } from './segment-writes.js';
import { findRecoveredEnd, type OnBatch, type RecoverFrom, type RecoverResult } from './segment-recovery.js';
import { SparseIndex } from './sparse-index.js';

/** The bytes of a detached walker until its user points it at a batch's. */
const DETACHED = new Uint8Array(0);

/** What a segment knows of its extent when opened (from the catalog, or to be found by recovery). */
export interface SegmentState {
  size: number;
  nextOffset: number;
  maxTimestamp: number;
  /** Whether the index files on disk may be used (written at roll or clean close). */
  indexTrusted: boolean;
  /** Whether index files may exist (false: the directory listing has none). Default true. */
  indexFiles?: boolean;
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

export class Segment {
  readonly logPath: string;
  /** Bytes of whole batches. */
  size: number;
  nextOffset: number;
  maxTimestamp: number;
  /** Built on first use, from the index files or by walking the batches. */
  private readonly indexes: SegmentIndex;

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
    this.indexes = new SegmentIndex(
      dir,
      baseOffset,
      state.indexTrusted,
      state.writesIndex ?? file.writable,
      state.indexFiles ?? true,
    );
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
      indexFiles: false, // a new base offset: the loader removed the index files of segments it did not keep
    });
    segment.indexes.startEmpty();
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
      ? { hold: state.follower.hold, gone: () => segmentGone(path) }
      : {};
    const file = MappedFile.open(path, capacity, writable, () => missingSegment(path, true), sharing);
    if (state.size > file.fileSize) {
      file.release();
      throw shortSegment(
        path,
        file.fileSize,
        ` but the catalog records ${state.size} bytes of batches in it`,
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
    writeEncoded(this.file, encoder, bytes, position, baseOffset);
    this.file.touch(bytes, position);
    if (encoder.lastMaxTimestamp > this.maxTimestamp) this.maxTimestamp = encoder.lastMaxTimestamp;
    index.onBatch(position, baseOffset + count - 1, encoder.lastMaxTimestamp);
    this.indexes.markChanged();
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
    writeRaw(this.file, src, start, size, position, baseOffset);
    this.file.touch(size, position);
    if (maxTimestamp > this.maxTimestamp) this.maxTimestamp = maxTimestamp;
    index.onBatch(position, baseOffset + lastOffsetDelta, maxTimestamp);
    this.indexes.markChanged();
    this.size = position + size;
    this.nextOffset = baseOffset + lastOffsetDelta + 1;
    return baseOffset;
  }

  /** A walker over this segment's batches from `position`, expecting `nextOffset` there (-1: any). */
  walker(position: number, nextOffset: number, gaps: boolean, limit = this.size): BatchWalker {
    return this.walkerOver(this.buf, position, nextOffset, gaps, limit);
  }

  /**
   * A walker as `walker()` makes, over no bytes yet: its user points `buf` (and `origin`) at the
   * bytes of each batch before `next()` (cursor-read.ts: a window read from the file, or the
   * mapping). Making it maps nothing: V8 counts a mapping's whole length as external memory, and
   * mapping a segment of more than 64 MiB starts a full collection (~20 ms).
   */
  detachedWalker(position: number, nextOffset: number, gaps: boolean): BatchWalker {
    return this.walkerOver(DETACHED, position, nextOffset, gaps, this.size);
  }

  private walkerOver(
    buf: Uint8Array,
    position: number,
    nextOffset: number,
    gaps: boolean,
    limit: number,
  ): BatchWalker {
    return new BatchWalker(buf, position, {
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
   * `onBatch` sees each batch the walk accepted; with `index`, the walk also builds the sparse
   * index (as Kafka's recover does), so the segment that will be appended to needs no second walk.
   */
  recover(from: RecoverFrom, walk: { onBatch?: OnBatch; index?: boolean } = {}): RecoverResult {
    const index = walk.index && from.position === 0 ? new SparseIndex(this.baseOffset) : null;
    const { onBatch } = walk;
    const end = findRecoveredEnd(this, from, (walker) => {
      index?.onBatch(walker.position, walker.lastOffset, walker.batchMaxTimestamp);
      onBatch?.(walker);
    });
    let { complete, stop, detail } = end;
    const position = end.position;
    this.keepWalked(end);
    if (index !== null) this.indexes.install(index);
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
   * The segment ends where a walk of it found its valid batches end (`recover`'s, or the caller's
   * own walk of a closed segment it found whole: nothing to zero then). Its index is built again.
   */
  keepWalked(end: { position: number; nextOffset: number; maxTimestamp: number }): void {
    this.size = end.position;
    this.nextOffset = end.nextOffset;
    this.maxTimestamp = end.maxTimestamp;
    this.indexes.forget();
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
    const index = this.indexes.built;
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
    this.indexes.forget();
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
    return this.indexes.load(this);
  }

  /**
   * The sparse index, loaded from its files when they can be trusted, else rebuilt by a walk (and
   * its files written again).
   */
  loadIndex(): SparseIndex {
    return this.indexes.load(this);
  }

  /** Forgets the index and its files: the next use walks the log (a damaged index file). */
  dropIndex(): void {
    this.indexes.forget();
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

  /** Writes the index files (a cache), sealed with the segment's max timestamp, as Kafka does. */
  saveIndex(): void {
    this.indexes.save(this);
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

  /**
   * msync of [0, size) (or fdatasync when unmapped): makes the batches durable, however written
   * (mapping or pwrite); pages prepared past the data stay writable.
   */
  syncSync(): void {
    this.file.syncSync(this.size);
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
