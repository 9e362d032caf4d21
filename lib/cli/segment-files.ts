/**
 * Reading segment files from the CLI without the store: what `verify` and `dump` use to look at
 * the bytes as they are on disk, whatever state the store is in (no mapping, no lock, no
 * recovery). A segment file is read through a window of plain reads, so memory stays bounded by
 * the window and the largest batch; a batch is walked by the same checks the store uses
 * (`batchProblem` and the field readers of format/record-batch.ts).
 *
 * Segment file layout (SPEC section 3): Kafka record batches from position 0, back to back, then
 * zeros to the end of the file (segments are preallocated; a rolled segment's tail is a hole).
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  batchBaseOffset,
  batchBaseTimestamp,
  batchLastOffsetDelta,
  batchMaxTimestamp,
  batchProblem,
  batchRecordCount,
  batchSize,
  BATCH_HEADER_BYTES,
  LOG_OVERHEAD,
  readInt32,
  readInt64,
} from '../format/record-batch.js';
import { segmentFileName } from '../storage/segment.js';

const WINDOW = 8 * 1024 * 1024;
const ZEROS = Buffer.alloc(1024 * 1024);

export function partitionDir(dir: string, topic: string, partition: number): string {
  return path.join(dir, `${topic}-${partition}`);
}

export function segmentPath(
  dir: string,
  topic: string,
  partition: number,
  baseOffset: number,
  ext: 'log' | 'index' | 'timeindex' = 'log',
): string {
  return path.join(partitionDir(dir, topic, partition), segmentFileName(baseOffset, ext));
}

/** A read-only segment file, read through a window. */
export class SegmentFile {
  readonly size: number;
  private readonly fd: number;
  private buf = Buffer.alloc(0);
  private start = 0;

  constructor(readonly path: string) {
    this.fd = fs.openSync(path, 'r');
    this.size = fs.fstatSync(this.fd).size;
  }

  /** A buffer and the index in it of file position `pos`, holding at least `length` bytes (fewer at the end). */
  view(pos: number, length: number): { buf: Buffer; at: number; available: number } {
    const want = Math.min(length, this.size - pos);
    if (pos < this.start || pos + want > this.start + this.buf.length) {
      const size = Math.min(Math.max(want, WINDOW), this.size - pos);
      if (this.buf.length < size || this.buf.length > Math.max(size, WINDOW))
        this.buf = Buffer.allocUnsafe(size);
      let read = 0;
      while (read < size) {
        const n = fs.readSync(this.fd, this.buf, read, size - read, pos + read);
        if (n === 0) break;
        read += n;
      }
      this.buf.fill(0, read);
      this.start = pos;
    }
    return {
      buf: this.buf,
      at: pos - this.start,
      available: Math.max(0, Math.min(want, this.start + this.buf.length - pos)),
    };
  }

  /** The first non-zero byte in [from, size), or -1 when there is none. */
  firstNonZero(from: number, onProgress?: (pos: number) => void): number {
    for (let pos = from; pos < this.size;) {
      const n = Math.min(ZEROS.length, this.size - pos);
      const { buf, at } = this.view(pos, n);
      if (buf.compare(ZEROS, 0, n, at, at + n) !== 0) {
        for (let i = 0; i < n; i++) if (buf[at + i] !== 0) return pos + i;
      }
      pos += n;
      onProgress?.(pos);
    }
    return -1;
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

/** A batch's header fields, as Kafka's DumpLogSegments prints them. */
export interface BatchHeader {
  position: number;
  baseOffset: number;
  lastOffset: number;
  count: number;
  size: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
}

export function readHeader(buf: Buffer, at: number, position: number): BatchHeader {
  const baseOffset = batchBaseOffset(buf, at);
  return {
    position,
    baseOffset,
    lastOffset: baseOffset + batchLastOffsetDelta(buf, at),
    count: batchRecordCount(buf, at),
    size: batchSize(buf, at),
    partitionLeaderEpoch: readInt32(buf, at + 12),
    magic: buf[at + 16]!,
    crc: readInt32(buf, at + 17) >>> 0,
    attributes: (buf[at + 21]! << 8) | buf[at + 22]!,
    baseTimestamp: batchBaseTimestamp(buf, at),
    maxTimestamp: batchMaxTimestamp(buf, at),
    producerId: readInt64(buf, at + 43),
    producerEpoch: buf.readInt16BE(at + 51),
    baseSequence: readInt32(buf, at + 53),
  };
}

export interface WalkResult {
  /** Where the batches end: the first byte that is not part of a valid batch. */
  end: number;
  /** Why the walk stopped before the zeros (or the end of the file), if it did. */
  problem?: string;
}

export interface WalkedBatch {
  header: BatchHeader;
  /** The batch is at `buf[at]`, whole, until the walk moves on. */
  buf: Buffer;
  at: number;
}

/**
 * Yields the batches of `file` from position 0 while they are valid (`batchProblem`); stops at 12
 * zero bytes (the preallocated end) or at the first problem, and leaves where and why in
 * `result`. A caller that refuses a batch (offset order, say) breaks out and sets `result` itself.
 * `maxBatchBytes` bounds the bytes read for one batch: a damaged length field is not trusted.
 * `limit`: where the batches must end (a closed segment's size in the catalog), if known.
 */
export function* walkBatches(
  file: SegmentFile,
  maxBatchBytes: number,
  result: WalkResult,
  limit = file.size,
): Generator<WalkedBatch> {
  let pos = 0;
  result.end = 0;
  delete result.problem;
  limit = Math.min(limit, file.size);
  while (pos < limit) {
    let { buf, at, available } = file.view(pos, Math.min(BATCH_HEADER_BYTES, limit - pos));
    if (available >= LOG_OVERHEAD && readInt32(buf, at + 8) === 0 && batchBaseOffset(buf, at) === 0) {
      return; // zeros: the preallocated end
    }
    if (available < BATCH_HEADER_BYTES) {
      result.problem = `truncated batch header (${available} bytes before the end of the ${limit < file.size ? 'data' : 'file'})`;
      return;
    }
    const length = readInt32(buf, at + 8);
    if (length + LOG_OVERHEAD > maxBatchBytes) {
      result.problem = `impossible batch length ${length} (the topic's segments hold ${maxBatchBytes} bytes)`;
      return;
    }
    ({ buf, at, available } = file.view(pos, Math.min(LOG_OVERHEAD + Math.max(0, length), limit - pos)));
    const problem = batchProblem(buf, at, at + available);
    if (problem) {
      result.problem = problem;
      return;
    }
    const header = readHeader(buf, at, pos);
    yield { header, buf, at };
    pos += header.size;
    result.end = pos;
  }
}

/** One entry of a segment's sparse `.index` joined with its `.timeindex` entry. */
export interface IndexEntry {
  offset: number;
  position: number;
  timestamp: number;
}

/**
 * Reads a segment's index files; null when there are none (they are a cache, rebuilt on demand).
 * Throws an Error describing what is wrong with their shape.
 */
export function readIndex(
  dir: string,
  topic: string,
  partition: number,
  baseOffset: number,
): IndexEntry[] | null {
  let index: Buffer;
  let timeIndex: Buffer;
  try {
    index = fs.readFileSync(segmentPath(dir, topic, partition, baseOffset, 'index'));
    timeIndex = fs.readFileSync(segmentPath(dir, topic, partition, baseOffset, 'timeindex'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  if (index.length % 8 !== 0) throw new Error(`.index is ${index.length} bytes, not a multiple of 8`);
  const n = index.length / 8;
  if (timeIndex.length !== n * 12)
    throw new Error(`.timeindex is ${timeIndex.length} bytes, expected ${n * 12} for ${n} entries`);
  const entries: IndexEntry[] = [];
  for (let i = 0; i < n; i++) {
    const rel = index.readInt32BE(i * 8);
    if (timeIndex.readInt32BE(i * 12 + 8) !== rel)
      throw new Error(`.timeindex entry ${i} names another offset than .index`);
    entries.push({
      offset: baseOffset + rel,
      position: index.readInt32BE(i * 8 + 4),
      timestamp: Number(timeIndex.readBigInt64BE(i * 12)),
    });
  }
  return entries;
}
