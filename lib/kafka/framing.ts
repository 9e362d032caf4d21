/**
 * Splits a byte stream into Kafka frames (int32 size + body). A size below the smallest request
 * header or above `maxFrameBytes` (socket.request.max.bytes) is refused before any of the body is
 * buffered, and a frame is only assembled once all its bytes have arrived: memory held for a
 * connection never exceeds what the peer actually sent, up to one frame.
 */
export class FrameSplitter {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private expected = -1;

  constructor(private readonly maxFrameBytes: number) {}

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
        if (size < 0) return `negative frame size ${size}`;
        if (size > this.maxFrameBytes) {
          return `frame of ${size} bytes exceeds socket.request.max.bytes (${this.maxFrameBytes})`;
        }
        this.expected = size;
      }
      if (this.buffered < this.expected) break;
      frames.push(this.take(this.expected));
      this.expected = -1;
    }
    return frames;
  }

  private take(n: number): Buffer {
    const first = this.chunks[0];
    let out: Buffer;
    if (first && first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
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
