/**
 * A file mapped into memory (MAP_SHARED) through the native addon, preallocated with real blocks
 * ahead of what is written. What a segment's `.log` is made of.
 *
 * What it costs (docs/many-partitions.md has the measurements): a mapping spans what the file
 * holds, never the segment's capacity, so V8 counts only that as external memory; no descriptor
 * is kept open; preallocation starts at 16 KiB and doubles, so a nearly empty file takes 16 KiB
 * of disk (file-blocks.ts: growth, hole punching, syncs of an unmapped file). Closed files are mapped on first use and may be unmapped again by the process's
 * mapping cache (mapping-cache.ts); `buf` maps them again.
 *
 * Invariants:
 * - A mapping never reaches past the end of the file (touching a page there is SIGBUS): it is
 *   made of the whole file as it is (mapPath), or of exactly what `ensureAllocated` just
 *   preallocated. [0, fileSize) is backed by real blocks, so stores through the mapping never
 *   fault on a full disk: a full disk is an error from `ensureAllocated`, before any byte is
 *   written.
 * - The file is never shrunk: it may be mapped by a reader here or in another process.
 * - No descriptor outlives a call (but the process's one of write-handle.ts, for large appends,
 *   closed at `release`): the kernel's mapping holds the open file. Growth, hole punching and a
 *   sync of an unmapped file open the file, do their one thing, and close it.
 * - Growth maps the file again. The old mapping is unmapped at once (detaching every view of
 *   it), unless views of it were lent out (`pin`): then it stays valid until the last `unpin`
 *   or `release`. Views stay correct either way: both mappings show the same page cache.
 * - `release()` unmaps at once, detaching every view of every mapping of the file, so the file's
 *   blocks are free when a deleted file is released, whatever still refers to the mapping.
 * - Pages read or written are dropped from the process's resident set now and then, and pages
 *   about to be written made writable ahead (resident-pages.ts).
 */
import fs from 'node:fs';
import { ioError, LogStoreError } from '../errors.js';
import {
  allocateBlocks,
  dataEnd,
  datasyncFile,
  datasyncFileAsync,
  diskBytes,
  INITIAL_ALLOCATION,
  preallocationTarget,
  releaseBlocksFrom,
} from './file-blocks.js';
import { currentSize, OpenedFile, type Sharing } from './file-sharing.js';
import { mappingCache, mapMakingRoom, type Evictable } from './mapping-cache.js';
import * as native from './native.js';
import { ResidentPages } from './resident-pages.js';
import { missingSegment, shortSegment } from './segment-file-errors.js';
import { forgetWriteHandle, writeThrough } from './write-handle.js';

const EMPTY = Buffer.alloc(0);

export class MappedFile implements Evictable {
  private mapping: Buffer | null = null;
  /** Which pages of the mapping are resident, and which are writable without a fault. */
  private readonly pages = new ResidentPages();
  /** The end of zeros written past the data (a cut) since the last sync: a ranged sync covers them. */
  private zeroedTo = 0;
  released = false;
  /** The mapping cache's clock at the last use (see mapping-cache.ts). */
  lastUse = 0;
  /** Views of the mapping lent out beyond the call that made them (see `pin`). */
  private pins = 0;
  /** Older mappings views may still be held of: unmapped at the last `unpin` or at `release`. */
  private retired: WeakRef<ArrayBuffer>[] = [];
  /** Active (being written): never unmapped by the cache. */
  private active = false;
  /** The file at open, for `Sharing.gone`. */
  private opened: OpenedFile | null = null;
  private held = false;

  private constructor(
    readonly path: string,
    /** The most the file may grow to. */
    readonly capacity: number,
    readonly writable: boolean,
    /** Current length of the file (all of it backed by blocks, or by holes that read as zeros). */
    public fileSize: number,
  ) {}

  /**
   * Creates (or empties) the file, preallocates its first 16 KiB and maps them: a new file is
   * the active segment, about to be appended to. The first page is written once now, so that
   * the first append does not take the page fault.
   */
  static create(file: string, capacity: number): MappedFile {
    const mapped = new MappedFile(file, capacity, true, 0);
    mapped.active = true;
    let fd: number;
    try {
      fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_TRUNC, 0o644);
    } catch (err) {
      throw ioError(err, `Cannot create ${file}`);
    }
    try {
      mapped.grow(fd, Math.min(capacity, INITIAL_ALLOCATION));
      mapped.buf[0] = 0;
    } catch (err) {
      mapped.release();
      fs.rmSync(file, { force: true });
      throw err;
    } finally {
      fs.closeSync(fd);
    }
    return mapped;
  }

  /**
   * An existing file, mapped on first use (a stat now, no descriptor); `notFound` makes the
   * error for a missing one.
   */
  static open(
    file: string,
    capacity: number,
    writable: boolean,
    notFound: () => LogStoreError,
    sharing: Sharing = {},
  ): MappedFile {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw notFound();
      throw ioError(err, `Cannot open ${file}`);
    }
    const mapped = new MappedFile(file, Math.max(capacity, stat.size), writable, stat.size);
    if (sharing.gone) mapped.opened = new OpenedFile(file, stat, sharing.gone);
    if (sharing.hold) {
      mapped.held = true;
      if (stat.size > 0) mapped.map();
    }
    return mapped;
  }

  /** The mapping of the whole file, made on first use (and again after the cache unmapped it). */
  get buf(): Buffer {
    const mapping = this.mapping;
    if (mapping !== null && mapping.length >= this.fileSize) {
      if (!this.active && !this.held) mappingCache.use(this);
      return mapping;
    }
    return this.map();
  }

  /** Whether the file is mapped now (for tests and figures). */
  get mapped(): boolean {
    return this.mapping !== null;
  }

  /**
   * An active file (the one appends go to) stays mapped; a closed one may be unmapped by the
   * mapping cache when others are used more recently.
   */
  setActive(active: boolean): void {
    if (this.active === active || this.released) return;
    this.active = active;
    if (active || this.held) mappingCache.remove(this);
    else if (this.mapping !== null) mappingCache.add(this);
  }

  /**
   * Lends out views of the mapping beyond the current call (a zero-copy read, a socket write):
   * until the returned function is called, growth keeps the old mapping alive and the cache
   * does not unmap the file. `release()` still unmaps everything.
   */
  pin(): () => void {
    this.pins++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      if (--this.pins === 0) this.unmapRetired();
    };
  }

  private map(): Buffer {
    if (this.released) throw new LogStoreError('LOGSTORE_CLOSED', `${this.path} was closed.`);
    if (this.fileSize === 0) return EMPTY; // nothing to read (and mmap cannot map 0 bytes)
    let mapping: Buffer;
    try {
      mapping = mapMakingRoom(this.path, this.writable);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (this.opened && code === 'ENOENT') throw this.opened.gone();
      if (code === 'ENOENT') {
        throw missingSegment(this.path, false, err);
      }
      throw ioError(err, `Cannot map ${this.path}`);
    }
    if (this.opened && !this.opened.stillNamed()) {
      native.unmap(mapping);
      throw this.opened.gone();
    }
    if (mapping.length < this.fileSize) {
      native.unmap(mapping);
      throw shortSegment(this.path, mapping.length, `, shorter than the ${this.fileSize} bytes it had`);
    }
    this.replaceMapping(mapping);
    // A follower may map more than it knew of: the writer preallocated further meanwhile.
    this.fileSize = mapping.length;
    return mapping;
  }

  /** Installs a new mapping: the old one is unmapped first (so V8 never counts both), or retired. */
  private replaceMapping(next: Buffer | null): void {
    const old = this.mapping;
    this.mapping = null;
    this.pages.forgetWritable();
    if (old !== null) {
      if (this.pins > 0) this.retired.push(new WeakRef(old.buffer as ArrayBuffer));
      else native.unmap(old);
    }
    this.mapping = next;
    if (next === null || this.active || this.held) mappingCache.remove(this);
    else if (old === null) mappingCache.add(this);
    else mappingCache.use(this);
  }

  /**
   * Unmaps now (the mapping cache's choice; munmap drops the pages from the resident set too);
   * false while views are lent out.
   */
  evict(): boolean {
    if (this.mapping === null) return true;
    if (this.pins > 0) return false;
    native.unmap(this.mapping);
    this.mapping = null;
    this.pages.forgetWritable();
    return true;
  }

  /** Makes sure [0, end) is backed by real blocks; throws LOGSTORE_DISK_FULL when it cannot be. */
  ensureAllocated(end: number): void {
    if (end <= this.fileSize) return;
    let fd: number;
    try {
      fd = fs.openSync(this.path, 'r+');
    } catch (err) {
      throw ioError(err, `Cannot open ${this.path} to extend it`);
    }
    try {
      this.grow(fd, preallocationTarget(this.fileSize, end, this.capacity));
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Extends the file to `target` bytes of real blocks; `buf` maps all of it at its next use. */
  private grow(fd: number, target: number): void {
    allocateBlocks(fd, this.path, this.fileSize, target);
    this.fileSize = target;
    // Mapped again at the next use of `buf`: a file only large appends write (with pwrite) is
    // not mapped at each growth, which spares V8 the external memory and the collections it starts.
    this.replaceMapping(null);
  }

  /** Counts bytes moved through the mapping at `position`; drops the pages before it now and then. */
  touch(bytes: number, position: number): void {
    this.pages.touch(this.mapping, bytes, position);
  }

  /** Drops every resident page of the mapping. */
  dropResident(): void {
    this.pages.dropAll(this.mapping);
  }

  /** End of the non-zero bytes in [from, fileSize). */
  dataEnd(from: number): number {
    return dataEnd(this.buf, from, this.fileSize);
  }

  /** Zeroes [from, dataEnd) in place (never shrinking the file); returns the bytes zeroed. */
  zeroFrom(from: number): number {
    const end = this.dataEnd(from);
    if (end > from) {
      this.buf.fill(0, from, end);
      this.zeroedTo = Math.max(this.zeroedTo, end);
    }
    return end - from;
  }

  /** Releases the preallocated blocks from `position` (page-aligned up) on, keeping the length. */
  releaseBlocksFrom(position: number): void {
    releaseBlocksFrom(this.path, position, this.fileSize);
  }

  /** Blocks the file takes on disk, in bytes. */
  diskBytes(): number {
    return this.released ? 0 : diskBytes(this.path);
  }

  /**
   * Re-reads the file's length (a follower learns how far the writer preallocated). A file
   * deleted or replaced since it was opened keeps the length it had: what was mapped of it stays
   * readable, and the follower's next look at the catalog drops it.
   */
  refreshSize(): number {
    const size = currentSize(this.path, this.opened);
    if (size !== null && size > this.fileSize) this.fileSize = size;
    return this.fileSize;
  }

  /**
   * Makes what was written through the mapping durable: msync of [0, end) of the mapping (all of
   * it by default) and any zeros a cut wrote past it (on Linux the same vfs_fsync_range(datasync)
   * as fdatasync), or fdatasync of the file opened for the call when the cache unmapped it
   * meanwhile. Pages past that which `prepareWrite` or `prefault` dirtied (zeros) stay dirty and
   * writable: a durable append would otherwise write them all back at every sync.
   */
  syncSync(end = Number.POSITIVE_INFINITY): void {
    if (this.released) return;
    const zeroed = this.zeroedTo;
    if (this.mapping !== null && this.mapping.length > 0) {
      const synced = Math.min(Math.max(end, zeroed), this.mapping.length);
      native.msync(this.mapping, 0, synced);
      this.pages.cleaned(synced);
    } else {
      datasyncFile(this.path);
    }
    this.zeroedTo = 0;
  }

  /**
   * The same off the JS thread, for [0, end) of the mapping (all of it by default) and any zeros
   * a cut wrote past it: pages past that which `prefault` dirtied stay dirty and writable. A file
   * released meanwhile (deleted, compacted) has nothing left to sync.
   */
  async sync(end = Number.POSITIVE_INFINITY): Promise<void> {
    if (this.released) return;
    const zeroed = this.zeroedTo;
    try {
      if (this.mapping !== null && this.mapping.length > 0) {
        const synced = Math.min(Math.max(end, zeroed), this.mapping.length);
        await native.msyncAsync(this.mapping, 0, synced);
        if (this.zeroedTo === zeroed) this.zeroedTo = 0;
        this.pages.cleaned(synced);
        return;
      }
      await datasyncFileAsync(this.path);
      if (this.zeroedTo === zeroed) this.zeroedTo = 0;
    } catch (err) {
      if (!this.released) throw err;
    }
  }

  /**
   * Writes `length` bytes of `data` from `start` at `position` with pwrite (through the one
   * descriptor write-handle.ts keeps), not through the mapping, which shows it all the same.
   * [position, position + length) must be allocated (`ensureAllocated`).
   */
  write(data: Uint8Array, start: number, length: number, position: number): void {
    writeThrough(this, this.path, data, start, length, position);
  }

  /**
   * Takes now the page faults that appends to the pages from `from` (rounded up) to `to` would
   * take (see resident-pages.ts): only the active file, and only within the mapping (never a
   * hole: the active file's preallocation is real blocks).
   */
  prefault(from: number, to: number): void {
    const mapping = this.mapping;
    if (this.active && this.writable && mapping !== null) this.pages.prefault(mapping, from, to);
  }

  /**
   * Called before an append stores [position, end) through the mapping: prefaults ahead of it
   * when it reaches past the pages made writable (see resident-pages.ts).
   */
  prepareWrite(position: number, end: number): void {
    this.pages.prepareWrite(this.prefaultBound, position, end);
  }

  private readonly prefaultBound = (from: number, to: number): void => this.prefault(from, to);

  /** Unmaps now, and every mapping still retired; every view of them becomes empty. */
  release(): void {
    if (this.released) return;
    this.released = true;
    forgetWriteHandle(this);
    mappingCache.remove(this);
    if (this.mapping) native.unmap(this.mapping);
    this.mapping = null;
    this.unmapRetired();
  }

  private unmapRetired(): void {
    for (const ref of this.retired) {
      const buffer = ref.deref();
      if (buffer) native.unmap(buffer);
    }
    this.retired = [];
  }
}
