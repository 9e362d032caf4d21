/**
 * A file mapped into memory (MAP_SHARED) through the native addon, preallocated with real blocks
 * ahead of what is written. What a segment's `.log` is made of.
 *
 * Invariants:
 * - Only [0, fileSize) of the mapping is ever touched (past the end of a file is SIGBUS), and
 *   [0, fileSize) is backed by real blocks, so stores through the mapping never fault on a full
 *   disk: a full disk is an error from `ensureAllocated`, before any byte is written.
 * - The file is never shrunk: it may be mapped by a reader here or in another process.
 * - `release()` unmaps at once, detaching every view of the mapping, so the file's blocks are
 *   free when a deleted file is released, whatever still refers to the mapping.
 * - Pages read or written are dropped from the process's resident set now and then (madvise
 *   DONTNEED keeps a shared file mapping's data, dirty pages included, in the page cache).
 */
import fs from 'node:fs';
import { ioError, LogStoreError } from '../errors.js';
import * as native from './native.js';

const MiB = 1024 * 1024;
/** First preallocation of a new file: small, so that many near-empty partitions stay small. */
const INITIAL_ALLOCATION = 1 * MiB;
/** Preallocation grows by doubling, at most this much at a time. */
const MAX_ALLOCATION_STEP = 64 * MiB;
const PAGE = 4096;
/** Every this many bytes moved through the mapping, the pages behind are dropped from RSS. */
const RESIDENT_TRIM_BYTES = 16 * MiB;
const ZERO_PAGE = Buffer.alloc(PAGE);

export class MappedFile {
  private mapping: Buffer | null = null;
  /** Bytes moved through the mapping since the pages behind were last dropped. */
  private touched = 0;
  released = false;

  private constructor(
    readonly path: string,
    private fd: number,
    /** The mapping's length: the most the file may grow to. */
    readonly capacity: number,
    readonly writable: boolean,
    /** Current length of the file (all of it backed by blocks, or by holes that read as zeros). */
    public fileSize: number,
  ) {}

  /** Creates (or empties) the file and preallocates its first chunk. */
  static create(file: string, capacity: number): MappedFile {
    let fd: number;
    try {
      fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_TRUNC, 0o644);
    } catch (err) {
      throw ioError(err, `Cannot create ${file}`);
    }
    const mapped = new MappedFile(file, fd, capacity, true, 0);
    try {
      mapped.ensureAllocated(Math.min(capacity, INITIAL_ALLOCATION));
    } catch (err) {
      mapped.release();
      fs.rmSync(file, { force: true });
      throw err;
    }
    return mapped;
  }

  /** Opens an existing file; `notFound` makes the error for a missing one. */
  static open(file: string, capacity: number, writable: boolean, notFound: () => LogStoreError): MappedFile {
    let fd: number;
    try {
      fd = fs.openSync(file, writable ? 'r+' : 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw notFound();
      throw ioError(err, `Cannot open ${file}`);
    }
    let size: number;
    try {
      size = fs.fstatSync(fd).size;
    } catch (err) {
      fs.closeSync(fd);
      throw ioError(err, `Cannot stat ${file}`);
    }
    return new MappedFile(file, fd, Math.max(capacity, size), writable, size);
  }

  /** The mapping, created on first use (closed segments of a big store are mapped lazily). */
  get buf(): Buffer {
    if (this.mapping) return this.mapping;
    if (this.released) throw new LogStoreError('LOGSTORE_CLOSED', `${this.path} was closed.`);
    try {
      this.mapping = native.mapFile(this.fd, this.capacity, this.writable);
    } catch (err) {
      throw ioError(err, `Cannot map ${this.path}`);
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
      throw ioError(err, `Cannot extend ${this.path} to ${target} bytes`);
    }
    this.fileSize = target;
  }

  /** Counts bytes moved through the mapping at `position`; drops the pages before it now and then. */
  touch(bytes: number, position: number): void {
    this.touched += bytes;
    if (this.touched < RESIDENT_TRIM_BYTES || !this.mapping) return;
    this.touched = 0;
    const end = Math.floor(position / PAGE) * PAGE;
    if (end > 0) advise(this.mapping, end);
  }

  /** Drops every resident page of the mapping. */
  dropResident(): void {
    this.touched = 0;
    if (this.mapping && this.fileSize > 0) advise(this.mapping, Math.min(this.fileSize, this.capacity));
  }

  /** End of the non-zero bytes in [from, fileSize). */
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

  /** Zeroes [from, dataEnd) in place (never shrinking the file); returns the bytes zeroed. */
  zeroFrom(from: number): number {
    const end = this.dataEnd(from);
    if (end > from) this.buf.fill(0, from, end);
    return end - from;
  }

  /** Releases the preallocated blocks from `position` (page-aligned up) on, keeping the length. */
  releaseBlocksFrom(position: number): void {
    const from = Math.ceil(position / PAGE) * PAGE;
    if (from >= this.fileSize) return;
    try {
      native.punchHole(this.fd, from, this.fileSize - from);
    } catch {
      // Only space is at stake; the zeros read the same either way.
    }
  }

  /** Blocks the file takes on disk, in bytes. */
  diskBytes(): number {
    if (this.released) return 0;
    try {
      return fs.fstatSync(this.fd).blocks * 512;
    } catch (err) {
      throw ioError(err, `Cannot stat ${this.path}`);
    }
  }

  /** Re-reads the file's length (a follower learns how far the writer preallocated). */
  refreshSize(): number {
    try {
      this.fileSize = fs.fstatSync(this.fd).size;
    } catch (err) {
      throw ioError(err, `Cannot stat ${this.path}`);
    }
    return this.fileSize;
  }

  /** fdatasync: makes what was written through the mapping durable. */
  syncSync(): void {
    if (!this.released) fs.fdatasyncSync(this.fd);
  }

  /** A file released meanwhile (deleted, compacted) has nothing left to sync. */
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
}

/** madvise(DONTNEED) of [0, end): only memory is at stake, so a failure is ignored. */
function advise(mapping: Buffer, end: number): void {
  try {
    native.madvise(mapping, 0, end, 'dontneed');
  } catch {
    // The pages stay resident a little longer; nothing else depends on it.
  }
}
