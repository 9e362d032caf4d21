/**
 * One segment: a memory-mapped `.log` file of Kafka record batches named by its 20-digit base
 * offset, plus its sparse `.index`/`.timeindex` (see sparse-index.ts).
 *
 * Layout and invariants:
 * - The file is preallocated with real blocks (fallocate) in chunks ahead of the write position,
 *   so writes through the mapping never fault on a full disk: a full disk is an error from
 *   `ensureAllocated`, before any byte is written. Bytes in [size, fileSize) are zeros.
 * - The mapping spans `capacity` (the segment size limit) but only [0, fileSize) is ever touched.
 * - `size` is the end of the last whole batch; batches are appended only by the writer process.
 * - A segment file is never shrunk: it may be mapped by a reader here or in another process, and
 *   touching a page past the end of a file is SIGBUS. A rolled segment's unused preallocation is
 *   released with a hole punch (size unchanged); a torn tail is zeroed, not truncated.
 * - `release()` unmaps at once (detaching every view), so deleting a segment frees its disk space
 *   when the call returns, whatever still refers to it.
 *
 * Only the owning PartitionLog calls a Segment; all calls happen on the JS thread.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ioError, LogStoreError } from '../errors.js';
import {
  batchBaseOffset,
  batchLastOffsetDelta,
  batchMaxTimestamp,
  batchProblem,
  batchSize,
  BATCH_HEADER_BYTES,
} from '../format/record-batch.js';
import * as native from './native.js';
import { SparseIndex } from './sparse-index.js';

const MiB = 1024 * 1024;
/** First preallocation of a new segment: small, so that many near-empty partitions stay small. */
const INITIAL_ALLOCATION = 1 * MiB;
/** Preallocation grows by doubling, at most this much at a time. */
const MAX_ALLOCATION_STEP = 64 * MiB;
const PAGE = 4096;
/**
 * Mapped pages count in the process's RSS for as long as they stay mapped. Every this many bytes
 * written or read through a segment, the pages behind are dropped from the mapping (madvise
 * DONTNEED: for a shared file mapping the data stays in the page cache, dirty pages included),
 * so streaming through a large store keeps RSS flat.
 */
const RESIDENT_TRIM_BYTES = 16 * MiB;
const ZERO_PAGE = Buffer.alloc(PAGE);

/**
 * Whether the bytes at `pos` are zeros where a batch header would start (up to 12 bytes, fewer
 * at the very end of a full file): the end of the data. No batch starts with 12 zero bytes (its
 * length field would be 0).
 */
function zeroHeader(buf: Buffer, pos: number, limit: number): boolean {
  const end = Math.min(limit, pos + 12);
  for (let i = pos; i < end; i++) if (buf[i] !== 0) return false;
  return true;
}

export function segmentFileName(baseOffset: number, ext: 'log' | 'index' | 'timeindex'): string {
  return `${String(baseOffset).padStart(20, '0')}.${ext}`;
}

/** Result of walking batches: where valid data ends and why it stopped. */
export interface ScanResult {
  end: number;
  nextOffset: number;
  maxTimestamp: number;
  /** Why the walk stopped before `limit`, if it did. */
  problem?: string;
}

export class Segment {
  readonly logPath: string;
  private fd: number;
  private mapping: Buffer | null = null;
  /** Bytes of whole batches. */
  size: number;
  /** Current length of the file (all of it preallocated). */
  fileSize: number;
  nextOffset: number;
  maxTimestamp: number;
  /** null until first needed (built from the files or by walking the batches). */
  private sparseIndex: SparseIndex | null = null;
  /** True while the index files on disk may be used. */
  private indexFilesTrusted: boolean;
  released = false;
  /** Bytes written or read through the mapping since the pages behind were last dropped. */
  private touched = 0;

  private constructor(
    readonly dir: string,
    readonly baseOffset: number,
    readonly capacity: number,
    readonly writable: boolean,
    fd: number,
    fileSize: number,
    state: { size: number; nextOffset: number; maxTimestamp: number; indexTrusted: boolean },
  ) {
    this.logPath = path.join(dir, segmentFileName(baseOffset, 'log'));
    this.fd = fd;
    this.fileSize = fileSize;
    this.size = state.size;
    this.nextOffset = state.nextOffset;
    this.maxTimestamp = state.maxTimestamp;
    this.indexFilesTrusted = state.indexTrusted;
  }

  /** Creates an empty segment file (the caller fsyncs the directory and records it). */
  static create(dir: string, baseOffset: number, capacity: number): Segment {
    const file = path.join(dir, segmentFileName(baseOffset, 'log'));
    let fd: number;
    try {
      // An interrupted earlier roll may have left an unrecorded empty file with this name.
      fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_TRUNC, 0o644);
    } catch (err) {
      throw ioError(err, `Cannot create segment ${file}`);
    }
    const segment = new Segment(dir, baseOffset, capacity, true, fd, 0, {
      size: 0,
      nextOffset: baseOffset,
      maxTimestamp: -1,
      indexTrusted: false,
    });
    try {
      segment.ensureAllocated(Math.min(capacity, INITIAL_ALLOCATION));
    } catch (err) {
      segment.release();
      fs.rmSync(file, { force: true });
      throw err;
    }
    segment.sparseIndex = new SparseIndex(baseOffset);
    return segment;
  }

  /** Opens an existing segment whose extent the caller knows (or will find by `scan`). */
  static open(
    dir: string,
    baseOffset: number,
    capacity: number,
    writable: boolean,
    state: { size: number; nextOffset: number; maxTimestamp: number; indexTrusted: boolean },
  ): Segment {
    const file = path.join(dir, segmentFileName(baseOffset, 'log'));
    let fd: number;
    try {
      fd = fs.openSync(file, writable ? 'r+' : 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new LogStoreError(
          'LOGSTORE_CORRUPT',
          `Segment ${file} is in the catalog but missing on disk. Restore it from a backup, or run \`logstore verify --repair\`.`,
        );
      }
      throw ioError(err, `Cannot open segment ${file}`);
    }
    const fileSize = fs.fstatSync(fd).size;
    if (state.size > fileSize) {
      fs.closeSync(fd);
      throw new LogStoreError(
        'LOGSTORE_CORRUPT',
        `Segment ${file} is ${fileSize} bytes but the catalog records ${state.size} bytes of batches in it.`,
      );
    }
    return new Segment(dir, baseOffset, Math.max(capacity, fileSize), writable, fd, fileSize, state);
  }

  /** The mapping, created on first use (closed segments of a big store are mapped lazily). */
  get buf(): Buffer {
    if (this.mapping) return this.mapping;
    if (this.released) throw new LogStoreError('LOGSTORE_CLOSED', `Segment ${this.logPath} was closed.`);
    try {
      this.mapping = native.mapFile(this.fd, this.capacity, this.writable);
    } catch (err) {
      throw ioError(err, `Cannot map segment ${this.logPath}`);
    }
    return this.mapping;
  }

  /** Makes sure [0, end) is backed by real blocks; throws LOGSTORE_DISK_FULL when it cannot be. */
  ensureAllocated(end: number): void {
    if (end <= this.fileSize) return;
    const step = Math.min(Math.max(this.fileSize, INITIAL_ALLOCATION), MAX_ALLOCATION_STEP);
    const target = Math.min(this.capacity, Math.max(end, this.fileSize + step));
    try {
      native.fallocate(this.fd, this.fileSize, target - this.fileSize);
    } catch (err) {
      throw ioError(err, `Cannot extend segment ${this.logPath} to ${target} bytes`);
    }
    this.fileSize = target;
  }

  /** Records a batch just written at `size` (by the encoder, straight into the mapping). */
  appended(bytes: number, lastOffset: number, batchMaxTimestamp: number): void {
    const position = this.size;
    this.touch(bytes, position);
    if (batchMaxTimestamp > this.maxTimestamp) this.maxTimestamp = batchMaxTimestamp;
    this.sparseIndex?.onBatch(this.nextOffset, position, bytes, this.maxTimestamp);
    this.size = position + bytes;
    this.nextOffset = lastOffset + 1;
  }

  /** Counts bytes moved through the mapping at `position`; drops the pages before it now and then. */
  touch(bytes: number, position: number): void {
    this.touched += bytes;
    if (this.touched < RESIDENT_TRIM_BYTES || !this.mapping) return;
    this.touched = 0;
    const end = Math.floor(position / PAGE) * PAGE;
    if (end > 0) native.madvise(this.mapping, 0, end, 'dontneed');
  }

  /** Drops every resident page of the mapping (a reader or the writer left this segment). */
  dropResident(): void {
    this.touched = 0;
    if (this.mapping && this.fileSize > 0)
      native.madvise(this.mapping, 0, Math.min(this.fileSize, this.capacity), 'dontneed');
  }

  get index(): SparseIndex {
    return this.sparseIndex ?? this.loadIndex();
  }

  /** The sparse index, loaded from its files when they can be trusted, else rebuilt by a walk. */
  loadIndex(): SparseIndex {
    if (this.sparseIndex) return this.sparseIndex;
    if (this.indexFilesTrusted) {
      try {
        const index = fs.readFileSync(path.join(this.dir, segmentFileName(this.baseOffset, 'index')));
        const timeIndex = fs.readFileSync(path.join(this.dir, segmentFileName(this.baseOffset, 'timeindex')));
        this.sparseIndex = SparseIndex.load(this.baseOffset, index, timeIndex, this.size);
      } catch {
        this.sparseIndex = null;
      }
    }
    if (!this.sparseIndex) {
      this.sparseIndex = this.walkIndex();
      if (this.writable) this.saveIndex();
    }
    return this.sparseIndex;
  }

  /** Sets `maxTimestamp` from the batch headers. */
  walkMaxTimestamp(): void {
    const buf = this.buf;
    for (let pos = 0; pos + BATCH_HEADER_BYTES <= this.size; pos += batchSize(buf, pos)) {
      if (batchSize(buf, pos) < BATCH_HEADER_BYTES) break;
      this.maxTimestamp = Math.max(this.maxTimestamp, batchMaxTimestamp(buf, pos));
    }
  }

  /** Whether a batch with base offset `offset` starts at `position` (is an index entry right?). */
  batchAt(position: number, offset: number): boolean {
    return position + BATCH_HEADER_BYTES <= this.size && batchBaseOffset(this.buf, position) === offset;
  }

  /** Forgets the index and its files: the next use walks the log (a damaged index file). */
  dropIndex(): void {
    this.sparseIndex = null;
    this.indexFilesTrusted = false;
  }

  /** Builds the index from the batch headers (no CRC check: reads check each batch anyway). */
  private walkIndex(): SparseIndex {
    const index = new SparseIndex(this.baseOffset);
    const buf = this.buf;
    let maxTs = -1;
    let next = this.baseOffset;
    for (let pos = 0; pos + BATCH_HEADER_BYTES <= this.size;) {
      const bytes = batchSize(buf, pos);
      if (bytes < BATCH_HEADER_BYTES || pos + bytes > this.size) break;
      // Offsets are not covered by the CRC: stop at one that cannot be right (reads report it).
      const base = batchBaseOffset(buf, pos);
      if (base < next || base - this.baseOffset > 0x7fffffff) break;
      next = base + batchLastOffsetDelta(buf, pos) + 1;
      const ts = batchMaxTimestamp(buf, pos);
      if (ts > maxTs) maxTs = ts;
      index.onBatch(base, pos, bytes, maxTs);
      pos += bytes;
    }
    if (maxTs > this.maxTimestamp) this.maxTimestamp = maxTs;
    return index;
  }

  /** Writes the index files (a cache; losing them costs a walk). */
  saveIndex(): void {
    if (!this.writable || this.released) return;
    try {
      const { index, timeIndex } = this.index.serialize();
      fs.writeFileSync(path.join(this.dir, segmentFileName(this.baseOffset, 'index')), index);
      fs.writeFileSync(path.join(this.dir, segmentFileName(this.baseOffset, 'timeindex')), timeIndex);
      this.indexFilesTrusted = true;
    } catch {
      // The index is only a cache; the next open rebuilds it.
    }
  }

  /**
   * Walks whole valid batches from `position` (expected to start at `nextOffset`) up to `limit`,
   * checking each CRC and that base offsets continue the sequence (exactly, or just increasing
   * where compaction leaves gaps).
   */
  scan(
    position: number,
    nextOffset: number,
    maxTimestamp: number,
    limit: number,
    gapsAllowed: boolean,
    maxNextOffset = Number.POSITIVE_INFINITY,
  ): ScanResult {
    const buf = this.buf;
    let pos = position;
    let next = nextOffset;
    let maxTs = maxTimestamp;
    while (pos < limit) {
      if (zeroHeader(buf, pos, limit)) return { end: pos, nextOffset: next, maxTimestamp: maxTs }; // the preallocated end
      const problem = batchProblem(buf, pos, limit);
      if (problem) return { end: pos, nextOffset: next, maxTimestamp: maxTs, problem };
      const base = batchBaseOffset(buf, pos);
      if (gapsAllowed ? base < next : base !== next) {
        return {
          end: pos,
          nextOffset: next,
          maxTimestamp: maxTs,
          problem: `batch base offset ${base}, expected ${next}`,
        };
      }
      const after = base + batchLastOffsetDelta(buf, pos) + 1;
      if (after > maxNextOffset) {
        return {
          end: pos,
          nextOffset: next,
          maxTimestamp: maxTs,
          problem: `batch offsets ${base}..${after - 1} run into the next segment (${maxNextOffset})`,
        };
      }
      const ts = batchMaxTimestamp(buf, pos);
      if (ts > maxTs) maxTs = ts;
      next = after;
      pos += batchSize(buf, pos);
    }
    return { end: pos, nextOffset: next, maxTimestamp: maxTs };
  }

  /** End of the non-zero bytes in [from, fileSize): what a torn tail left behind. */
  dataEnd(from: number): number {
    const buf = this.buf;
    let end = this.fileSize;
    while (end > from) {
      const pageStart = Math.max(from, Math.floor((end - 1) / PAGE) * PAGE);
      if (buf.compare(ZERO_PAGE, 0, end - pageStart, pageStart, end) !== 0) {
        while (buf[end - 1] === 0) end--;
        return end;
      }
      end = pageStart;
    }
    return from;
  }

  /**
   * Cuts the segment to `position`: zeroes [position, dataEnd) in place (never shrinking the file)
   * and forgets the index. Returns the bytes cut.
   */
  truncateTo(position: number, nextOffset: number, maxTimestamp: number): number {
    const end = this.dataEnd(position);
    if (end > position) this.buf.fill(0, position, end);
    this.size = position;
    this.nextOffset = nextOffset;
    this.maxTimestamp = maxTimestamp;
    this.sparseIndex = null;
    this.indexFilesTrusted = false;
    return end - position;
  }

  /** After a roll: release the preallocated blocks past the data, keeping the file's length. */
  trimPreallocation(): void {
    const from = Math.ceil(this.size / PAGE) * PAGE;
    if (from < this.fileSize) {
      try {
        native.punchHole(this.fd, from, this.fileSize - from);
      } catch {
        // Only space is at stake; the zeros read the same either way.
      }
    }
  }

  /** Blocks the log file takes on disk, in bytes. */
  diskBytes(): number {
    return this.released ? 0 : fs.fstatSync(this.fd).blocks * 512;
  }

  /** Re-reads the file length (a follower learns how far the writer preallocated). */
  refreshFileSize(): number {
    this.fileSize = fs.fstatSync(this.fd).size;
    return this.fileSize;
  }

  /** fdatasync: makes the batches written through the mapping durable. */
  syncSync(): void {
    if (!this.released) fs.fdatasyncSync(this.fd);
  }

  /** A segment released meanwhile (deleted, compacted) has nothing left to sync. */
  sync(): Promise<void> {
    if (this.released) return Promise.resolve();
    return new Promise((resolve, reject) =>
      fs.fdatasync(this.fd, (err) => (err && !this.released ? reject(err) : resolve())),
    );
  }

  /** Unmaps and closes now; every view of the mapping becomes empty. */
  release(): void {
    if (this.released) return;
    this.released = true;
    if (this.mapping) native.unmap(this.mapping);
    this.mapping = null;
    try {
      fs.closeSync(this.fd);
    } catch {
      // Already closed: nothing left to release.
    }
    this.fd = -1;
  }

  /** Releases and removes the segment's files. */
  delete(): void {
    this.release();
    for (const ext of ['log', 'index', 'timeindex'] as const) {
      fs.rmSync(path.join(this.dir, segmentFileName(this.baseOffset, ext)), { force: true });
    }
  }
}
