/**
 * How a read gets a segment's bytes: `pread` of the part it is about to decode into a buffer the
 * process reuses, rather than through the segment's mapping.
 *
 * Why: the first touch of a mapped page costs a page fault (a hypervisor call on a
 * paravirtualized VM: reading 1M records of 100 bytes through a fresh mapping spent ~90 ms in
 * faults, as much as the CRCs and the copies together). The kernel's copy into a buffer that
 * stays resident takes no fault; the batch walker checks the CRC on that buffer
 * (BatchWalker.origin), and the decoder builds the records from it.
 *
 * Copying readers share one buffer (SHARED_BUFFER): their records are copied out of it before
 * `read()` returns. A zero-copy reader's records are views into its buffers (LendingBuffers, one
 * set per reader or consumer): a buffer lent is not read into again before the reader's next read,
 * seek or close, however many buffers one read fills; then the same memory is read into again,
 * under a new buffer (the views kept of the old one detach).
 *
 * Each reader has a window (its cursor's). It stays valid from one `read()` call to the next while
 * the reader stays in the same segment and no other window has read into its buffer since: a
 * log's bytes below its end never change, so a read of 1000 records of 100 bytes takes one
 * `pread` every few calls. The descriptor is closed when each call ends: a deleted segment's
 * blocks are freed at once, and a store of many partitions holds no descriptor per reader.
 *
 * Only the writer's process reads this way: there the file under a segment's path is the
 * segment's own for as long as the segment is in the log (retention releases a segment before it
 * deletes its file; compaction renames a rewritten file over a segment's in the same synchronous
 * call that swaps in a new Segment, whose window starts empty; should that call fail in between,
 * the walker still refuses bytes that are not the next valid batch). A file that cannot be opened
 * is read through the mapping. A read-only follower's files may be replaced by the writer at any
 * time, so it reads through the mapping, which holds the file it mapped.
 */
import fs from 'node:fs';
import { ioError } from '../errors.js';

/** The least a read asks the kernel for: several batches of 1000 small records. */
const MIN_READ = 512 * 1024;
/** A window buffer's size; a batch larger than it is read into a buffer of its own. */
const KEPT_BYTES = 1024 * 1024;
/**
 * The most buffers a lending reader keeps between reads: one read of many records across
 * partitions may fill more, which are then dropped rather than kept for the reader's lifetime.
 */
const MAX_LENDING_BUFFERS = 4;

let windows = 0;

/** Where a window's buffers come from. */
export interface WindowBuffers {
  /**
   * A buffer of KEPT_BYTES that window `id` may read into, `current` (its present one) if that
   * may be overwritten.
   */
  take(id: number, current: Buffer | null): Buffer;
  /** Whether `buf` still holds what window `id` read into it (no other window took it since). */
  holds(id: number, buf: Buffer): boolean;
}

/**
 * The one buffer copying readers share: their records are copied out of it before `read()`
 * returns, so the next window to read may overwrite it.
 */
class SharedBuffer implements WindowBuffers {
  private buf: Buffer | null = null;
  private holder = 0;

  take(id: number): Buffer {
    this.holder = id;
    return (this.buf ??= Buffer.allocUnsafeSlow(KEPT_BYTES));
  }

  holds(id: number, buf: Buffer): boolean {
    return buf !== this.buf || this.holder === id; // a buffer not the shared one is its window's own
  }
}

export const SHARED_BUFFER: WindowBuffers = new SharedBuffer();

/**
 * The buffers of a zero-copy reader or consumer (its lease's): the records it returns are views
 * into them, so a buffer lent since the reader's last read is not overwritten until the next read
 * (`release()`); the reader's windows then read into the same memory again, which the process
 * has touched already (fresh memory costs a page fault per 4 KiB on first touch). Before a buffer
 * whose views are past their lifetime is read into again, its memory is moved to a new buffer
 * (an ArrayBuffer transfer: no copy, ~5 µs per MiB): every view the application kept of the old
 * one detaches (`length` 0) rather than showing another record's bytes.
 */
export class LendingBuffers implements WindowBuffers {
  private readonly kept: Buffer[] = [];
  private readonly holders: number[] = [];
  /** Lent since the reader's last read: not to be read into. */
  private readonly lent = new Set<Buffer>();
  /** Lent before it: may be read into once their views are detached. */
  private expired = new WeakSet<Buffer>();

  take(id: number, current: Buffer | null): Buffer {
    if (current !== null && !this.lent.has(current) && this.holds(id, current)) return this.reusable(current);
    let i = this.kept.findIndex((b) => !this.lent.has(b));
    if (i < 0) {
      const buf = Buffer.allocUnsafeSlow(KEPT_BYTES);
      if (this.kept.length >= MAX_LENDING_BUFFERS) return buf; // used once, then dropped
      i = this.kept.push(buf) - 1;
      this.holders.push(0);
    }
    this.holders[i] = id;
    return this.reusable(this.kept[i]!);
  }

  holds(id: number, buf: Buffer): boolean {
    if (buf.length === 0) return false; // detached, or no buffer yet
    const i = this.kept.indexOf(buf);
    return i < 0 || this.holders[i] === id; // a buffer not kept is its one window's
  }

  /** Records were returned as views into `buf`: it keeps its bytes until `release()`. */
  lend(buf: Uint8Array): void {
    if (!this.lent.has(buf as Buffer)) this.lent.add(buf as Buffer);
  }

  /** The reader's next read, seek or close: the views lent so far are no longer promised. */
  release(): void {
    for (const buf of this.lent) this.expired.add(buf);
    this.lent.clear();
  }

  /** The reader closed: its buffers go (the lent views keep what they hold alive). */
  drop(): void {
    this.lent.clear();
    this.expired = new WeakSet();
    this.kept.length = 0;
    this.holders.length = 0;
  }

  /** How many buffers are kept (for tests). */
  get size(): number {
    return this.kept.length;
  }

  /** `buf`, or its memory under a new buffer once the views lent from it are detached. */
  private reusable(buf: Buffer): Buffer {
    if (!this.expired.has(buf)) return buf;
    this.expired.delete(buf);
    const moved = Buffer.from(structuredClone(buf.buffer, { transfer: [buf.buffer] }));
    const i = this.kept.indexOf(buf);
    if (i >= 0) this.kept[i] = moved;
    return moved;
  }
}

/** Something whose file can be read: a segment. */
export interface WindowSource {
  readonly logPath: string;
  /** Bytes of batches in the file. */
  readonly size: number;
}

const EMPTY = Buffer.alloc(0);

export class ReadWindow {
  /** The window's bytes: `buf[i]` is the file's byte at `origin + i`, up to `end`. */
  buf: Buffer = EMPTY;
  origin = 0;
  end = 0;
  private source: WindowSource | null = null;
  private fd = -1;
  private readonly id = ++windows;

  constructor(private readonly buffers: WindowBuffers = SHARED_BUFFER) {}

  /**
   * Makes the file's bytes [from, to) of `source` available in `buf` (to <= source.size). False
   * when the file cannot be opened (descriptors exhausted, say): the caller reads through the
   * mapping instead. Fewer bytes than asked for (a file shorter than its batches) leave `end` below
   * `to`; the walker then stops at a truncated batch.
   */
  cover(source: WindowSource, from: number, to: number): boolean {
    if (!this.buffers.holds(this.id, this.buf)) this.end = this.origin; // another window's bytes now
    if (source === this.source && from >= this.origin && to <= this.end) return true;
    if (source !== this.source) {
      this.closeFile();
      this.source = source;
      this.end = this.origin;
    }
    if (this.fd < 0) {
      try {
        this.fd = fs.openSync(source.logPath, 'r');
      } catch {
        return false;
      }
    }
    const length = Math.min(Math.max(to - from, MIN_READ), source.size - from);
    this.buf =
      length > KEPT_BYTES
        ? Buffer.allocUnsafeSlow(length)
        : this.buffers.take(this.id, this.buf === EMPTY ? null : this.buf);
    this.end = this.origin = from; // nothing valid until the read succeeds
    let read = 0;
    try {
      while (read < length) {
        const n = fs.readSync(this.fd, this.buf, read, length - read, from + read);
        if (n === 0) break;
        read += n;
      }
    } catch (err) {
      throw ioError(err, `Cannot read ${source.logPath}`);
    }
    this.end = from + read;
    return true;
  }

  /** Ends a `read()` call: closes the file, and drops a buffer larger than the kept ones. */
  release(): void {
    this.closeFile();
    if (this.buf.length > KEPT_BYTES) {
      this.buf = EMPTY;
      this.end = this.origin;
    }
  }

  private closeFile(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }
}
