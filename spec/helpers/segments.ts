/**
 * Byte-level tools for specs that build or damage segment files: where the batches of a `.log`
 * file are (walking the length fields, as Kafka's FileRecords does, without trusting anything
 * else), where a record's value lies inside its batch, a segment file built from batches, and
 * in-place patches of a file that may be mapped by a store (written through a file descriptor, so
 * the mapping sees them).
 *
 * These read the format independently of lib/ (positions from the RecordBatch v2 layout, record
 * fields from spec/format/tools.ts), so a bug in the library's walker cannot hide itself here.
 */
import fs from 'node:fs';
import { encodeBatch } from '../../lib/index.js';
import type { AppendRecord } from '../../lib/record.js';
import {
  HEADER_BYTES,
  LAST_OFFSET_DELTA_AT,
  LENGTH_AT,
  RECORD_COUNT_AT,
  recordFields,
} from '../format/tools.js';

/** A batch found in a segment file. */
export interface BatchAt {
  position: number;
  /** Bytes, header included (12 + batchLength). */
  size: number;
  baseOffset: number;
  lastOffset: number;
  recordCount: number;
}

/**
 * The batches of a segment file's bytes, in order, up to the first length that cannot be a batch
 * (the zeros after the data, or damage).
 */
export function batchesIn(bytes: Buffer): BatchAt[] {
  const batches: BatchAt[] = [];
  for (let pos = 0; pos + HEADER_BYTES <= bytes.length;) {
    const length = bytes.readInt32BE(pos + LENGTH_AT);
    if (length < HEADER_BYTES - 12 || pos + 12 + length > bytes.length) break;
    const baseOffset = Number(bytes.readBigInt64BE(pos));
    batches.push({
      position: pos,
      size: 12 + length,
      baseOffset,
      lastOffset: baseOffset + bytes.readInt32BE(pos + LAST_OFFSET_DELTA_AT),
      recordCount: bytes.readInt32BE(pos + RECORD_COUNT_AT),
    });
    pos += 12 + length;
  }
  return batches;
}

/** Where the batches of `bytes` end (the position after the last one `batchesIn` finds). */
export function dataEnd(bytes: Buffer): number {
  const last = batchesIn(bytes).at(-1);
  return last ? last.position + last.size : 0;
}

/** The batch holding byte `position` of the file, if any. */
export function batchHolding(batches: readonly BatchAt[], position: number): BatchAt | undefined {
  return batches.find((b) => position >= b.position && position < b.position + b.size);
}

/**
 * The value bytes of each record of the (uncompressed) batch at `batch.position`: their position
 * in the file and length; null for a null value.
 */
export function recordValues(bytes: Buffer, batch: BatchAt): ({ position: number; length: number } | null)[] {
  const fields = recordFields(bytes, batch.position);
  return fields
    .filter((f) => f.kind === 'valueLength')
    .map((f) => (f.value < 0 ? null : { position: f.pos + f.size, length: f.value }));
}

/**
 * A segment file's bytes: one batch per entry of `batches`, at consecutive offsets from
 * `baseOffset`, then `slack` zero bytes (a preallocated tail).
 */
export function segmentOf(
  baseOffset: number,
  batches: readonly (readonly AppendRecord[])[],
  slack = 0,
  now = 1_700_000_000_000,
): Buffer {
  const parts: Buffer[] = [];
  let offset = baseOffset;
  for (const records of batches) {
    parts.push(encodeBatch(offset, records, now));
    offset += records.length;
  }
  parts.push(Buffer.alloc(slack));
  return Buffer.concat(parts);
}

/** Overwrites `bytes.length` bytes of `file` at `position`, in place. */
export function patch(file: string, position: number, bytes: Uint8Array): void {
  const fd = fs.openSync(file, 'r+');
  try {
    fs.writeSync(fd, bytes, 0, bytes.length, position);
  } finally {
    fs.closeSync(fd);
  }
}

/** Flips bit `bit` (0 = least significant) of the byte at `position` of `file`, in place. */
export function flipBit(file: string, position: number, bit: number): void {
  const fd = fs.openSync(file, 'r+');
  try {
    const b = Buffer.alloc(1);
    if (fs.readSync(fd, b, 0, 1, position) !== 1) throw new Error(`${file} has no byte at ${position}`);
    b[0] = b[0]! ^ (1 << bit);
    fs.writeSync(fd, b, 0, 1, position);
  } finally {
    fs.closeSync(fd);
  }
}
