/**
 * The disk blocks behind a mapped file (mapped-file.ts): how far a file is preallocated when it
 * grows, releasing the preallocation a rolled segment will not use, what the file takes on disk,
 * a data sync of a file that is not mapped, and where the data ends before the zeros (the pwrite
 * of large appends is write-handle.ts's).
 *
 * None of these keeps a descriptor: each opens the file for its one call and closes it, so a
 * store of many segments holds no descriptor per segment.
 */
import fs from 'node:fs';
import { ioError } from '../errors.js';
import * as native from './native.js';

const KiB = 1024;
const MiB = 1024 * KiB;
export const PAGE = 4096;
/** First preallocation of a new file: 4 pages, so that a nearly empty partition stays small. */
export const INITIAL_ALLOCATION = 16 * KiB;
/** Preallocation doubles the file, at most this much at a time. */
export const MAX_ALLOCATION_STEP = 64 * MiB;
const ZERO_PAGE = Buffer.alloc(PAGE);

/**
 * The length a file of `fileSize` bytes grows to so that [0, end) is allocated: by a step of its
 * own size (16 KiB at first, at most 64 MiB), or to `end` if that is further, never past
 * `capacity`. Doubling keeps growth to about a dozen steps (new mappings) per 128 MiB segment
 * while a nearly empty file stays 16 KiB. A step that would leave less room than itself before
 * the capacity goes to the capacity: a last short step would make every reader of the file map
 * it once more (a 43 MiB file went to 107 MiB, then to 128: a reader ~110 MB behind the writer
 * mapped each segment twice, and V8 counts each mapping's length as external memory, which
 * starts its collections).
 */
export function preallocationTarget(fileSize: number, end: number, capacity: number): number {
  const step = Math.min(Math.max(fileSize, INITIAL_ALLOCATION), MAX_ALLOCATION_STEP);
  const target = Math.max(end, fileSize + step);
  return capacity - target < step ? capacity : target;
}

/** Backs [from, target) of the open file with real blocks; a full disk is LOGSTORE_DISK_FULL. */
export function allocateBlocks(fd: number, file: string, from: number, target: number): void {
  try {
    native.fallocate(fd, from, target - from);
  } catch (err) {
    throw ioError(err, `Cannot extend ${file} to ${target} bytes`);
  }
}

/** Releases the blocks of [position (page-aligned up), fileSize), keeping the file's length. */
export function releaseBlocksFrom(file: string, position: number, fileSize: number): void {
  const from = Math.ceil(position / PAGE) * PAGE;
  if (from >= fileSize) return;
  try {
    const fd = fs.openSync(file, 'r+');
    try {
      native.punchHole(fd, from, fileSize - from);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // Only space is at stake; the zeros read the same either way.
  }
}

/** Blocks the file takes on disk, in bytes. */
export function diskBytes(file: string): number {
  try {
    return fs.statSync(file).blocks * 512;
  } catch (err) {
    throw ioError(err, `Cannot stat ${file}`);
  }
}

/** fdatasync of a file that is not mapped (a mapped one is synced with msync). */
export function datasyncFile(file: string): void {
  const fd = fs.openSync(file, 'r');
  try {
    fs.fdatasyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** The same off the JS thread. */
export async function datasyncFileAsync(file: string): Promise<void> {
  const handle = await fs.promises.open(file, 'r');
  try {
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

/** End of the non-zero bytes of `buf` in [from, end): pages of zeros are skipped a page at a time. */
export function dataEnd(buf: Buffer, from: number, end: number): number {
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
