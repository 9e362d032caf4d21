/**
 * Peer and ceiling: what appending to a plain file costs with no storage engine at all. Each
 * record is a frame [u32 LE length][value]; no checksum, no index, no offsets. Batched writes
 * build a chunk of frames and issue one `writeSync`; single writes issue one `writeSync` each.
 * Reads use large `readSync` calls and walk the frames, handing out views (no copy).
 */
import { closeSync, fdatasyncSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** The file a FrameWriter of `dir` writes. */
export function framesPath(dir: string): string {
  return join(dir, 'frames.log');
}

export class FrameWriter {
  readonly path: string;
  private readonly fd: number;
  private chunk = Buffer.allocUnsafe(1 << 20);

  constructor(dir: string) {
    this.path = framesPath(dir);
    this.fd = openSync(this.path, 'a');
  }

  /** One write for all of `values`. */
  appendBatch(values: Buffer[]): void {
    let size = 0;
    for (const v of values) size += 4 + v.length;
    if (size > this.chunk.length) this.chunk = Buffer.allocUnsafe(size);
    let pos = 0;
    for (const v of values) {
      this.chunk.writeUInt32LE(v.length, pos);
      v.copy(this.chunk, pos + 4);
      pos += 4 + v.length;
    }
    writeSync(this.fd, this.chunk, 0, pos);
  }

  /** One write for one record. */
  appendOne(value: Buffer): void {
    this.chunk.writeUInt32LE(value.length, 0);
    value.copy(this.chunk, 4);
    writeSync(this.fd, this.chunk, 0, 4 + value.length);
  }

  sync(): void {
    fdatasyncSync(this.fd);
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** Walks every frame of the file; returns frames and value bytes seen. */
export function readAll(path: string): { ops: number; bytes: number } {
  const fd = openSync(path, 'r');
  const buf = Buffer.allocUnsafe(4 << 20);
  let ops = 0;
  let bytes = 0;
  let have = 0; // bytes of buf in use; a frame cut by the chunk end is moved to the front
  try {
    for (;;) {
      const n = readSync(fd, buf, have, buf.length - have, null);
      if (n === 0) break;
      const end = have + n;
      let pos = 0;
      while (pos + 4 <= end) {
        const len = buf.readUInt32LE(pos);
        if (pos + 4 + len > end) break;
        const value = buf.subarray(pos + 4, pos + 4 + len);
        bytes += value.length;
        ops++;
        pos += 4 + len;
      }
      buf.copy(buf, 0, pos, end);
      have = end - pos;
    }
  } finally {
    closeSync(fd);
  }
  if (have !== 0) throw new Error(`${path}: ${have} bytes of a torn frame at the end`);
  return { ops, bytes };
}
