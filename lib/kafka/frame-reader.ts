/**
 * Reads a plain TCP connection's Kafka frames straight into the memory they are handled from.
 *
 * A socket's ordinary 'data' events bring each read in a fresh 64 KiB buffer, which a frame of a
 * megabyte (a producer's request) then has to be copied out of: the kernel's copy lands in cold
 * memory, the second copy doubles it, and the garbage collector runs for the read buffers. Here a
 * connection reads into one buffer of its own (64 KiB, reused) until a frame's size is known; a
 * frame of more than `DIRECT_FROM` bytes then gets its own memory (from the FramePool, which
 * `recycle` gives back after a Produce), and the rest of it is read straight into that memory, in
 * reads as large as the socket holds. Small frames are copied out of the connection's buffer.
 *
 * Memory held for a connection: its 64 KiB buffer and at most one frame, allocated at its declared
 * size once the size has arrived (as Kafka's own broker does), up to REUSABLE_FRAME_BYTES; a frame
 * declared larger (up to socket.request.max.bytes) grows with what arrives, to at most twice that.
 */
import { FramePool, frameSizeProblem, REUSABLE_FRAME_BYTES, sharedFramePool } from './framing.js';

/** The connection's own read buffer: small requests, and the start of each large one. */
const READ_BUFFER_BYTES = 64 * 1024;
/** A frame larger than this is read into memory of its own rather than copied out. */
const DIRECT_FROM = 16 * 1024;

export class FrameReader {
  private readonly buf = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  /** Received bytes not yet taken as frames are buf[start, end). */
  private start = 0;
  private end = 0;
  /** The frame being read straight into its memory, its bytes so far, and its declared size. */
  private frame: Buffer | null = null;
  private filled = 0;
  private size = 0;

  constructor(
    private readonly maxFrameBytes: number,
    private readonly pool: FramePool = sharedFramePool,
  ) {}

  /** Where the next read goes. */
  next(): Buffer {
    if (this.frame) return this.frame.subarray(this.filled);
    return this.buf.subarray(this.end);
  }

  /**
   * `n` bytes were read into the memory `next()` gave: returns the frames completed (bodies
   * without the size prefix), or why the stream is invalid (the caller closes the connection).
   */
  received(n: number): Buffer[] | string {
    if (this.frame) {
      this.filled += n;
      if (this.filled < this.frame.length) return [];
      if (this.frame.length < this.size) {
        // A frame above the pooled sizes: twice the memory, at most its declared size.
        const grown = Buffer.allocUnsafe(Math.min(this.size, 2 * this.frame.length));
        this.frame.copy(grown);
        this.frame = grown;
        return [];
      }
      const done = this.frame;
      this.frame = null;
      return [done];
    }
    this.end += n;
    const frames: Buffer[] = [];
    while (this.end - this.start >= 4) {
      const size = this.buf.readInt32BE(this.start);
      const problem = frameSizeProblem(size, this.maxFrameBytes);
      if (problem !== undefined) return problem;
      const body = this.start + 4;
      const have = this.end - body;
      if (have >= size) {
        frames.push(Buffer.from(this.buf.subarray(body, body + size)));
        this.start = body + size;
        continue;
      }
      if (size > DIRECT_FROM || body + size > this.buf.length) {
        this.frame =
          size <= REUSABLE_FRAME_BYTES
            ? this.pool.take(size)
            : Buffer.allocUnsafe(Math.min(size, Math.max(REUSABLE_FRAME_BYTES, 2 * have)));
        this.size = size;
        this.filled = this.buf.copy(this.frame, 0, body, this.end);
        this.start = this.end = 0;
        return frames;
      }
      break;
    }
    if (this.start === this.end) {
      this.start = this.end = 0;
    } else if (this.buf.length - this.end < DIRECT_FROM) {
      // Keep room for the rest of a small frame: move the unread bytes to the front.
      this.buf.copyWithin(0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
    }
    return frames;
  }

  /** Hands the memory of a frame `received` returned back for later frames (see FrameSplitter). */
  recycle(frame: Buffer): void {
    this.pool.give(frame);
  }
}
