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
 * - Pages read or written are dropped from the process's resident set now and then (madvise
 *   DONTNEED keeps a shared file mapping's data, dirty pages included, in the page cache).
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
  PAGE,
  preallocationTarget,
  releaseBlocksFrom,
} from './file-blocks.js';
import { mappingCache, mapMakingRoom, type Evictable } from './mapping-cache.js';
import * as native from './native.js';
import { forgetWriteHandle, writeThrough } from './write-handle.js';

const MiB = 1024 * 1024;
/** Every this many bytes moved through the mapping, the pages behind are dropped from RSS. */
const RESIDENT_TRIM_BYTES = 16 * MiB;
const EMPTY = Buffer.alloc(0);
/**
 * The most an append prepares ahead of itself (see `prepareWrite`): 64 pages, one call every
 * ~1,500 single appends of 170 bytes.
 */
const PREPARE_AHEAD_MAX = 256 * 1024;
/** Whether madvise(MADV_POPULATE_WRITE) works here (Linux 5.14+); cleared at its first EINVAL. */
let populateWorks = process.platform === 'linux';

/** How the file is shared with other processes. */
export interface Sharing {
  /**
   * Another process may delete the file or rename another over it (a follower's view): every
   * mapping made after `open` checks that the path still names the file that was opened, and
   * `gone()` makes the error when it does not.
   */
  gone?: () => LogStoreError;
  /** Map at `open` and never let the cache unmap it: the mapping keeps the file as it was. */
  hold?: boolean;
}

export class MappedFile implements Evictable {
  private mapping: Buffer | null = null;
  /** Bytes moved through the mapping since the pages behind were last dropped. */
  private touched = 0;
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
  /** Device and inode at open, for `Sharing.gone`. */
  private identity: { dev: number; ino: number } | null = null;
  private gone: (() => LogStoreError) | null = null;
  private held = false;
  /**
   * Pages of the mapping below this position that appends write take no page fault: `prepareWrite`
   * or `prefault` made them writable, and no sync has cleaned them since (0: none known).
   */
  private writableTo = 0;

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
    if (sharing.gone) {
      mapped.identity = { dev: stat.dev, ino: stat.ino };
      mapped.gone = sharing.gone;
    }
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
      if (this.gone && code === 'ENOENT') throw this.gone();
      if (code === 'ENOENT') {
        throw new LogStoreError('LOGSTORE_CORRUPT', `Segment ${this.path} is missing on disk.`, {
          cause: err,
          details: { file: this.path, kind: 'missing-segment' },
        });
      }
      throw ioError(err, `Cannot map ${this.path}`);
    }
    if (this.identity && !this.isOpenedFile()) {
      native.unmap(mapping);
      throw this.gone!();
    }
    if (mapping.length < this.fileSize) {
      native.unmap(mapping);
      throw new LogStoreError(
        'LOGSTORE_CORRUPT',
        `Segment ${this.path} is ${mapping.length} bytes, shorter than the ${this.fileSize} bytes it had.`,
        { details: { file: this.path, position: mapping.length, kind: 'short-file' } },
      );
    }
    this.replaceMapping(mapping);
    // A follower may map more than it knew of: the writer preallocated further meanwhile.
    this.fileSize = mapping.length;
    return mapping;
  }

  /** Whether the path still names the file opened (a follower's writer may have replaced it). */
  private isOpenedFile(): boolean {
    try {
      const stat = fs.statSync(this.path);
      return stat.ino === this.identity!.ino && stat.dev === this.identity!.dev;
    } catch {
      return false;
    }
  }

  /** Installs a new mapping: the old one is unmapped first (so V8 never counts both), or retired. */
  private replaceMapping(next: Buffer | null): void {
    const old = this.mapping;
    this.mapping = null;
    this.writableTo = 0;
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
    this.writableTo = 0;
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
    this.touched += bytes;
    if (this.touched < RESIDENT_TRIM_BYTES || !this.mapping) return;
    this.touched = 0;
    const end = Math.min(Math.floor(position / PAGE) * PAGE, this.mapping.length);
    if (end > 0) advise(this.mapping, end);
  }

  /** Drops every resident page of the mapping. */
  dropResident(): void {
    this.touched = 0;
    this.writableTo = 0;
    if (this.mapping && this.mapping.length > 0) advise(this.mapping, this.mapping.length);
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
    try {
      const stat = fs.statSync(this.path);
      const same =
        this.identity === null || (stat.ino === this.identity.ino && stat.dev === this.identity.dev);
      if (same && stat.size > this.fileSize) this.fileSize = stat.size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError(err, `Cannot stat ${this.path}`);
    }
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
      // The pages it cleaned fault at their next store; the ones past it stay writable.
      this.writableTo = Math.min(this.writableTo, Math.floor(synced / PAGE) * PAGE);
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
        // The pages it cleaned fault at their next store; the ones past it stay writable.
        this.writableTo = Math.min(this.writableTo, Math.floor(synced / PAGE) * PAGE);
        return;
      }
      await datasyncFileAsync(this.path);
      if (this.zeroedTo === zeroed) this.zeroedTo = 0;
    } catch (err) {
      if (!this.released) throw err;
    }
  }

  /**
   * Writes `data` at `position` with pwrite (through the one descriptor write-handle.ts keeps), not
   * through the mapping, which shows it all the same. [position, position + length) must be allocated (`ensureAllocated`).
   */
  write(data: Uint8Array, position: number): void {
    writeThrough(this, this.path, data, position);
  }

  /**
   * Takes now the page faults that appends to the pages from `from` (rounded up) to `to` would
   * take: each page there becomes
   * dirty and writable, its content unchanged. Only the active file, and only within the mapping
   * (never a hole: the active file's preallocation is real blocks). On this kind of VM a first
   * store into a page of a shared file mapping costs 10-50 µs, while MADV_POPULATE_WRITE does the
   * same for 1.5-2.5 µs a page in one call; where it is missing, each page gets its own first
   * byte stored back.
   */
  prefault(from: number, to: number): void {
    const mapping = this.mapping;
    if (!this.active || !this.writable || mapping === null) return;
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
   * the pages made writable, prefaults from `position` on, as far ahead as the file holds data
   * (a partition that wrote little prepares little) and at most PREPARE_AHEAD_MAX.
   */
  prepareWrite(position: number, end: number): void {
    if (end <= this.writableTo) return;
    const ahead = Math.min(PREPARE_AHEAD_MAX, Math.max(position, end - position));
    if (this.writableTo < position) this.writableTo = Math.floor(position / PAGE) * PAGE;
    this.prefault(this.writableTo, end + ahead);
    // Whatever prefault did (or could not do), the next call comes only once appends pass `end`.
    if (this.writableTo < end) this.writableTo = end;
  }

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

/** madvise(DONTNEED) of [0, end): only memory is at stake, so a failure is ignored. */
function advise(mapping: Buffer, end: number): void {
  try {
    native.madvise(mapping, 0, end, 'dontneed');
  } catch {
    // The pages stay resident a little longer; nothing else depends on it.
  }
}
