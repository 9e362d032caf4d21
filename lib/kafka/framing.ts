/**
 * Splits a byte stream into Kafka frames (int32 size + body). A size below the smallest request
 * header or above `maxFrameBytes` (socket.request.max.bytes) is refused before any of the body is
 * buffered, and a frame is only assembled once all its bytes have arrived: memory held for a
 * connection never exceeds what the peer actually sent, up to one frame.
 *
 * A frame that arrived in one read is a view of it; one spread over several reads (a producer's
 * request of a megabyte comes in 64 KiB reads) is copied into one buffer. Fresh memory for each
 * such frame costs page faults and garbage collection at every request, so the owner of a frame
 * may hand it back (`recycle`) once nothing refers to its bytes any more, and a later large frame
 * of any connection is assembled in the same memory (FramePool).
 */

/** Frames up to this size are assembled in memory that `recycle` can give back for reuse. */
export const REUSABLE_FRAME_BYTES = 2 * 1024 * 1024;
/** Smallest pooled buffer: frames of different sizes can share buffers. */
const MIN_POOLED_BYTES = 64 * 1024;
/** Buffers the process keeps for reuse, whatever the number of connections. */
const POOLED_BUFFERS = 4;

/** Memory for frames that span reads, shared by every connection of the process. */
export class FramePool {
  private readonly free: Buffer[] = [];
  /** The memory of frames handed out and not given back (weakly: a frame never given back is garbage). */
  private readonly lent = new WeakSet<ArrayBufferLike>();

  /** `n` (at most REUSABLE_FRAME_BYTES) bytes from a free buffer, or from a new one. */
  take(n: number): Buffer {
    const i = this.free.findIndex((b) => b.length >= n);
    const memory =
      i >= 0
        ? this.free.splice(i, 1)[0]!
        : // Its own ArrayBuffer (never Node's shared slab), so that `give` can tell it apart.
          Buffer.allocUnsafeSlow(Math.max(MIN_POOLED_BYTES, 2 ** Math.ceil(Math.log2(n))));
    this.lent.add(memory.buffer);
    return memory.subarray(0, n);
  }

  /** Takes back the memory of a frame `take` made; anything else is ignored. */
  give(frame: Buffer): void {
    const memory = frame.buffer;
    if (!this.lent.has(memory)) return;
    this.lent.delete(memory);
    if (this.free.length < POOLED_BUFFERS) this.free.push(Buffer.from(memory, 0, memory.byteLength));
  }

  /** Buffers waiting for reuse (for specs). */
  get freeCount(): number {
    return this.free.length;
  }
}

/** Why a frame's declared size is refused (the connection is then closed), or undefined. */
export function frameSizeProblem(size: number, maxFrameBytes: number): string | undefined {
  if (size < 0) return `negative frame size ${size}`;
  if (size > maxFrameBytes)
    return `frame of ${size} bytes exceeds socket.request.max.bytes (${maxFrameBytes})`;
  return undefined;
}

/** The pool of the process's connections. */
export const sharedFramePool = new FramePool();

export class FrameSplitter {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private expected = -1;

  constructor(
    private readonly maxFrameBytes: number,
    private readonly pool: FramePool = sharedFramePool,
  ) {}

  /**
   * Adds received bytes; returns the frames completed (bodies without the size prefix), or a
   * string saying why the stream is invalid (the caller closes the connection).
   */
  push(data: Buffer): Buffer[] | string {
    this.chunks.push(data);
    this.buffered += data.length;
    const frames: Buffer[] = [];
    for (;;) {
      if (this.expected < 0) {
        if (this.buffered < 4) break;
        const head = this.take(4);
        const size = head.readInt32BE(0);
        const problem = frameSizeProblem(size, this.maxFrameBytes);
        if (problem !== undefined) return problem;
        this.expected = size;
      }
      if (this.buffered < this.expected) break;
      frames.push(this.take(this.expected));
      this.expected = -1;
    }
    return frames;
  }

  /**
   * Hands back the memory of `frame` (one `push` returned) for later frames: the caller promises
   * that nothing refers to its bytes any more. Frames that are views of a read are left alone.
   */
  recycle(frame: Buffer): void {
    this.pool.give(frame);
  }

  private take(n: number): Buffer {
    const first = this.chunks[0];
    let out: Buffer;
    if (first && first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = n > 4 && n <= REUSABLE_FRAME_BYTES ? this.pool.take(n) : Buffer.allocUnsafe(n);
      let filled = 0;
      while (filled < n) {
        const c = this.chunks[0]!;
        const k = Math.min(c.length, n - filled);
        c.copy(out, filled, 0, k);
        filled += k;
        if (k === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(k);
      }
    }
    this.buffered -= n;
    return out;
  }
}
