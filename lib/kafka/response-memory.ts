/**
 * Memory for the records of one Fetch response, reused once the response is written. A consumer
 * catching up gets responses of megabytes; copied into fresh memory, each costs a page fault per
 * 4 KiB and then garbage. The records are copied (once) out of the log's mapping, which an append
 * may replace before the socket has sent them, into buffers of a FramePool (framing.ts) that
 * `release` hands back when the socket is done with them.
 */
import { FramePool, REUSABLE_FRAME_BYTES } from './framing.js';

/** Below this the writer copies the bytes into the response's own buffer anyway (codec/writer.ts). */
const POOLED_FROM = 16 * 1024;

const sharedPool = new FramePool();

export class ResponseMemory {
  private lent: Buffer[] = [];

  constructor(private readonly pool: FramePool = sharedPool) {}

  /** A copy of `view` that stays valid until `release`. */
  readonly copy = (view: Buffer): Buffer => {
    if (view.length < POOLED_FROM || view.length > REUSABLE_FRAME_BYTES) return Buffer.from(view);
    const out = this.pool.take(view.length);
    out.set(view);
    this.lent.push(out);
    return out;
  };

  /** Gives the copies back for later responses: nothing may refer to them any more. */
  release(): void {
    for (const b of this.lent) this.pool.give(b);
    this.lent = [];
  }
}
