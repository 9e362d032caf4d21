/**
 * The one descriptor that large appends keep between calls. A batch of 16 KiB or more is written
 * with pwrite (segment.ts); opening and closing the file for each such batch cost ~7% of a batched
 * append. A descriptor per active segment would hold thousands for thousands of partitions, so
 * the process keeps one: that of the file last written, closed when another file is written or
 * when that file is released (closed, deleted).
 */
import fs from 'node:fs';
import { ioError } from '../errors.js';

/** Whom the kept descriptor belongs to (a MappedFile: one per opened file, never reused). */
let owner: object | null = null;
let fd = -1;

/**
 * Writes `length` bytes of `data` from `start` at `position` of `file` (opened as `owner`'s unless
 * it is the kept one). A range rather than a view: a batched append then allocates no Buffer to
 * write its batch.
 */
export function writeThrough(
  writer: object,
  file: string,
  data: Uint8Array,
  start: number,
  length: number,
  position: number,
): void {
  if (owner !== writer) {
    forgetWriteHandle(owner);
    try {
      fd = fs.openSync(file, 'r+');
    } catch (err) {
      throw ioError(err, `Cannot open ${file} to write to it`);
    }
    owner = writer;
  }
  try {
    for (let done = 0; done < length;) {
      done += fs.writeSync(fd, data, start + done, length - done, position + done);
    }
  } catch (err) {
    forgetWriteHandle(writer);
    throw ioError(err, `Cannot write ${length} bytes to ${file} at ${position}`);
  }
}

/** Closes the kept descriptor if it is `writer`'s. */
export function forgetWriteHandle(writer: object | null): void {
  if (writer === null || owner !== writer) return;
  owner = null;
  const kept = fd;
  fd = -1;
  try {
    fs.closeSync(kept);
  } catch {
    // A write-back error shows at the next sync of the file (msync/fdatasync), which poisons.
  }
}
