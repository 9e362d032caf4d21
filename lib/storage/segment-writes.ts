/**
 * How a segment's appends (segment.ts) put a batch into its file (mapped-file.ts): a small batch
 * is stored through the mapping, a large one written with pwrite. The segment decides where and
 * with which base offset; this module only writes the bytes there. The file must be allocated
 * that far (`ensureAllocated`) before.
 */
import type { BatchEncoder } from '../format/batch-encoder.js';
import { writeInt32, writeInt64 } from '../format/record-batch.js';
import type { MappedFile } from './mapped-file.js';

/**
 * A batch of at least this many bytes is encoded into a scratch buffer and written with pwrite
 * (MappedFile.write) rather than stored through the mapping: one call instead of a page fault per
 * new page, which is what large appends spend most of their time on.
 */
export const WRITE_THROUGH_FILE_BYTES = 16 * 1024;
/** The batches written with pwrite are encoded here first (one buffer, reused). */
let scratch = Buffer.alloc(0);
/** A raw batch's base offset, length and leader epoch: the bytes writeRaw rewrites. */
const RAW_HEAD_BYTES = 16;
const rawHead = Buffer.alloc(RAW_HEAD_BYTES);

/** Writes the batch last measured by `encoder` (`bytes` long) at `position`, based at `baseOffset`. */
export function writeEncoded(
  file: MappedFile,
  encoder: BatchEncoder,
  bytes: number,
  position: number,
  baseOffset: number,
): void {
  if (bytes < WRITE_THROUGH_FILE_BYTES) {
    const buf = file.buf;
    file.prepareWrite(position, position + bytes);
    encoder.write(buf, position, baseOffset);
    return;
  }
  if (scratch.length < bytes) scratch = Buffer.allocUnsafe(Math.max(bytes, 2 * scratch.length));
  encoder.write(scratch, 0, baseOffset);
  file.write(scratch, 0, bytes, position);
}

/**
 * Writes the `size` bytes of a producer's batch at `start` of `src` at `position`, with
 * `baseOffset` as its base offset and leader epoch 0 (both outside the CRC): the producer's bytes
 * otherwise stay as they are, and `src` is left as it is.
 */
export function writeRaw(
  file: MappedFile,
  src: Uint8Array,
  start: number,
  size: number,
  position: number,
  baseOffset: number,
): void {
  if (size < WRITE_THROUGH_FILE_BYTES) {
    const buf = file.buf;
    buf.set(src.subarray(start, start + size), position);
    writeInt64(buf, position, baseOffset);
    writeInt32(buf, position + 12, 0);
    return;
  }
  // With pwrite (as writeEncoded writes large batches) straight from `src`, with no copy in
  // between: the first 16 bytes go from a small buffer with the new base offset and epoch 0,
  // the rest as the producer sent it.
  rawHead.set(src.subarray(start, start + RAW_HEAD_BYTES));
  writeInt64(rawHead, 0, baseOffset);
  writeInt32(rawHead, 12, 0);
  file.write(rawHead, 0, RAW_HEAD_BYTES, position);
  file.write(src, start + RAW_HEAD_BYTES, size - RAW_HEAD_BYTES, position + RAW_HEAD_BYTES);
}
