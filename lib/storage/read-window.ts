/**
 * How a copying read gets a segment's bytes: `pread` of the part it is about to decode into one
 * buffer the process reuses, rather than through the segment's mapping.
 *
 * Why: a copying read copies each batch's records anyway, and the first touch of a mapped page
 * costs a page fault (a hypervisor call on a paravirtualized VM: reading 1M records of 100 bytes
 * through a fresh mapping spent ~90 ms in faults, as much as the CRCs and the copies together).
 * The kernel's copy into a buffer that stays resident takes no fault; the batch walker checks the
 * CRC on that buffer (BatchWalker.origin), and the decoder copies each batch's records out of it.
 *
 * Each copying reader has a window (its cursor's). It stays valid from one `read()` call to the
 * next while the reader stays in the same segment and no other reader has read into the shared
 * buffer since: a log's bytes below its end never change, so a read of 1000 records of 100 bytes
 * takes one `pread` every few calls. The descriptor is closed when each call ends: a deleted
 * segment's blocks are freed at once, and a store of many partitions holds no descriptor per
 * reader.
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
/** The reused buffer's size; a batch larger than it is read into a buffer of its own. */
const KEPT_BYTES = 1024 * 1024;

let kept: Buffer | null = null;
/** The `id` of the window whose bytes `kept` holds now. */
let keptFor = 0;
let windows = 0;

/** Something whose file can be read: a segment. */
export interface WindowSource {
  readonly logPath: string;
  /** Bytes of batches in the file. */
  readonly size: number;
}

export class ReadWindow {
  /** The window's bytes: `buf[i]` is the file's byte at `origin + i`, up to `end`. */
  buf: Buffer = kept ?? (kept = Buffer.allocUnsafeSlow(KEPT_BYTES));
  origin = 0;
  end = 0;
  private source: WindowSource | null = null;
  private fd = -1;
  private readonly id = ++windows;

  /**
   * Makes the file's bytes [from, to) of `source` available in `buf` (to <= source.size). False
   * when the file cannot be opened (descriptors exhausted, say): the caller reads through the
   * mapping instead. Fewer bytes than asked for (a file shorter than its batches) leave `end` below
   * `to`; the walker then stops at a truncated batch.
   */
  cover(source: WindowSource, from: number, to: number): boolean {
    if (this.buf === kept && keptFor !== this.id) this.end = this.origin; // another reader's bytes now
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
    this.buf = length > KEPT_BYTES ? Buffer.allocUnsafeSlow(length) : kept!;
    if (this.buf === kept) keptFor = this.id;
    let read = 0;
    try {
      while (read < length) {
        const n = fs.readSync(this.fd, this.buf, read, length - read, from + read);
        if (n === 0) break;
        read += n;
      }
    } catch (err) {
      this.end = this.origin;
      throw ioError(err, `Cannot read ${source.logPath}`);
    }
    this.origin = from;
    this.end = from + read;
    return true;
  }

  /** Ends a `read()` call: closes the file, and drops a buffer larger than the shared one. */
  release(): void {
    this.closeFile();
    if (this.buf !== kept) {
      this.buf = kept!;
      this.end = this.origin;
    }
  }

  private closeFile(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }
}
