/**
 * Frames and their memory: frames spread over several reads are assembled in pooled buffers that
 * the listener hands back after a Produce (whose records are copied into the log), and responses
 * leave as few buffers as the records allow. The end-to-end check pipelines large produce requests
 * of distinct contents, so a buffer reused while its frame was still needed would store wrong bytes.
 */
import { expect } from 'chai';
import net from 'node:net';
import { encodeRequest, frame } from '../../lib/kafka/codec/messages.js';
import { FrameReader } from '../../lib/kafka/frame-reader.js';
import { FramePool, FrameSplitter, REUSABLE_FRAME_BYTES } from '../../lib/kafka/framing.js';
import { readIntoOwnMemory } from '../../lib/kafka/socket-reads.js';
import { ApiKey, apiByKey } from '../../lib/kafka/schema/index.js';
import { batch } from './batches.js';
import { startBroker } from './clients.js';

/** `body` as a size-prefixed frame cut into `piece`-byte reads. */
function reads(body: Buffer, piece: number): Buffer[] {
  const whole = Buffer.concat([Buffer.alloc(4), body]);
  whole.writeInt32BE(body.length, 0);
  const out: Buffer[] = [];
  for (let i = 0; i < whole.length; i += piece) out.push(whole.subarray(i, i + piece));
  return out;
}

function pushAll(splitter: FrameSplitter, data: Buffer[]): Buffer[] {
  const frames: Buffer[] = [];
  for (const d of data) {
    const got = splitter.push(d);
    if (typeof got === 'string') throw new Error(got);
    frames.push(...got);
  }
  return frames;
}

/** Size-prefixed frames of `bodies`, back to back. */
function stream(bodies: Buffer[]): Buffer {
  return Buffer.concat(
    bodies.flatMap((b) => {
      const size = Buffer.alloc(4);
      size.writeInt32BE(b.length, 0);
      return [size, b];
    }),
  );
}

/**
 * Feeds `bytes` to `reader` as a socket would: each read fills at most `readSize(i)` bytes of the
 * memory `next()` gives. Returns the frames, or the reason the reader gave up.
 */
function readAll(reader: FrameReader, bytes: Buffer, readSize: (i: number) => number): Buffer[] | string {
  const frames: Buffer[] = [];
  for (let pos = 0, i = 0; pos < bytes.length; i++) {
    const into = reader.next();
    expect(into.length).to.be.greaterThan(0);
    const n = bytes.copy(into, 0, pos, pos + Math.min(readSize(i), into.length));
    pos += n;
    const got = reader.received(n);
    if (typeof got === 'string') return got;
    frames.push(...got);
  }
  return frames;
}

/** A deterministic generator of integers in [0, n) (specs must repeat). */
function numbers(seed: number): (n: number) => number {
  let x = seed;
  return (n) => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return (x >>> 8) % n;
  };
}

describe('Kafka framing', () => {
  describe('FrameReader', () => {
    it('reads a large frame straight into pooled memory after its size, handed back by recycle', () => {
      const pool = new FramePool();
      const reader = new FrameReader(1 << 30, pool);
      const body = Buffer.alloc(300_000);
      for (let i = 0; i < body.length; i++) body[i] = i % 251;
      const bytes = stream([body]);
      const first = reader.next();
      bytes.copy(first, 0, 0, 1000);
      expect(reader.received(1000)).to.deep.equal([]);
      const into = reader.next();
      expect(into.length).to.equal(300_000 - 996); // the rest of the frame, and no more
      bytes.copy(into, 0, 1000);
      const got = reader.received(into.length);
      expect(got).to.have.length(1);
      const frame = (got as Buffer[])[0]!;
      expect(frame).to.deep.equal(body);
      expect(frame.buffer).to.equal(into.buffer); // read in place: no copy after the first read
      reader.recycle(frame);
      expect(pool.freeCount).to.equal(1);
      expect(reader.next().buffer).to.not.equal(frame.buffer); // the connection's own buffer again
    });

    it('copies small frames out of the reused read buffer, many in one read or split across reads', () => {
      const bodies = Array.from({ length: 200 }, (_, i) => Buffer.alloc(1 + ((i * 37) % 900), i));
      const reader = new FrameReader(1 << 30, new FramePool());
      const frames = readAll(reader, stream(bodies), (i) => [7, 5000, 3, 65_536][i % 4]!);
      expect(frames).to.deep.equal(bodies); // earlier frames untouched by later reads
    });

    it('gives back every frame byte for byte for random frame sizes and read lengths', () => {
      const next = numbers(13);
      for (let round = 0; round < 12; round++) {
        const sizes = Array.from(
          { length: 20 },
          () => [0, 1, 100, 16_380, 16_400, 70_000, 200_000, REUSABLE_FRAME_BYTES + 5][next(8)]! + next(3),
        );
        const bodies = sizes.map((n, i) => Buffer.alloc(n, (round * 31 + i) % 256));
        const reader = new FrameReader(1 << 30, new FramePool());
        const frames = readAll(reader, stream(bodies), () => 1 + next(200_000));
        expect(typeof frames).to.equal('object');
        expect((frames as Buffer[]).map((f) => f.length)).to.deep.equal(sizes);
        expect((frames as Buffer[]).map((f, i) => f.equals(bodies[i]!))).to.deep.equal(
          bodies.map(() => true),
        );
      }
    });

    it('refuses a negative size and one above socket.request.max.bytes, before reading the body', () => {
      const negative = Buffer.alloc(4);
      negative.writeInt32BE(-2, 0);
      expect(readAll(new FrameReader(1000), negative, () => 4)).to.equal('negative frame size -2');
      const big = Buffer.alloc(8);
      big.writeInt32BE(1001, 4);
      expect(readAll(new FrameReader(1000), big, () => 8)).to.equal(
        'frame of 1001 bytes exceeds socket.request.max.bytes (1000)',
      );
    });

    it('is how an accepted plain TCP connection reads on this Node', async () => {
      const server = net.createServer({ pauseOnConnect: true });
      const received: Buffer[] = [];
      const accepted = new Promise<boolean>((resolve) =>
        server.on('connection', (socket: net.Socket) => {
          const memory = Buffer.alloc(64);
          resolve(
            readIntoOwnMemory(
              socket,
              () => memory,
              (n) => {
                received.push(Buffer.from(memory.subarray(0, n)));
                socket.end();
                return true;
              },
            ),
          );
        }),
      );
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const client = net.connect({ port: (server.address() as net.AddressInfo).port, host: '127.0.0.1' });
      client.write('hello');
      const closed = new Promise((resolve) => client.on('close', resolve));
      client.resume();
      try {
        expect(await accepted).to.equal(true);
        await closed;
        expect(Buffer.concat(received).toString()).to.equal('hello');
      } finally {
        client.destroy();
        server.close();
      }
    });
  });

  describe('FrameSplitter and FramePool', () => {
    it('assembles a frame spread over reads in pooled memory, reused only once recycled', () => {
      const pool = new FramePool();
      const splitter = new FrameSplitter(1 << 30, pool);
      const a = Buffer.alloc(100_000, 1);
      const b = Buffer.alloc(90_000, 2);
      const c = Buffer.alloc(80_000, 3);
      const [fa] = pushAll(splitter, reads(a, 65_536));
      const [fb] = pushAll(splitter, reads(b, 65_536));
      expect(fa).to.deep.equal(a);
      expect(fb).to.deep.equal(b);
      expect(fb!.buffer).to.not.equal(fa!.buffer); // fa is still lent out
      splitter.recycle(fa!);
      expect(pool.freeCount).to.equal(1);
      const [fc] = pushAll(splitter, reads(c, 65_536));
      expect(fc!.buffer).to.equal(fa!.buffer);
      expect(fc).to.deep.equal(c);
      expect(fb).to.deep.equal(b); // untouched by the reuse
      expect(pool.freeCount).to.equal(0);
      splitter.recycle(fc!);
      splitter.recycle(fc!); // a second hand-back of the same memory is ignored
      expect(pool.freeCount).to.equal(1);
    });

    it('leaves frames that arrived in one read, and frames above the reusable size, out of the pool', () => {
      const pool = new FramePool();
      const splitter = new FrameSplitter(1 << 30, pool);
      const small = Buffer.from('one read');
      const [whole] = pushAll(splitter, reads(small, 1 << 20));
      expect(whole).to.deep.equal(small);
      splitter.recycle(whole!);
      const big = Buffer.alloc(REUSABLE_FRAME_BYTES + 1, 7);
      const [fbig] = pushAll(splitter, reads(big, 65_536));
      expect(fbig).to.deep.equal(big);
      splitter.recycle(fbig!);
      expect(pool.freeCount).to.equal(0);
    });

    it('keeps at most 4 buffers for reuse', () => {
      const pool = new FramePool();
      const splitter = new FrameSplitter(1 << 30, pool);
      const frames = pushAll(
        splitter,
        Array.from({ length: 6 }, (_, i) => reads(Buffer.alloc(70_000, i), 65_536)).flat(),
      );
      expect(frames.map((f) => f[0])).to.deep.equal([0, 1, 2, 3, 4, 5]);
      for (const f of frames) splitter.recycle(f);
      expect(pool.freeCount).to.equal(4);
    });
  });

  describe('frame()', () => {
    it('joins the size prefix and small chunks into one buffer, passes large ones on by reference', () => {
      const small1 = Buffer.from('head');
      const large = Buffer.alloc(20_000, 9);
      const small2 = Buffer.from('tail');
      expect(frame([small1, Buffer.from('er')])).to.deep.equal([Buffer.from('\0\0\0\x06header')]);
      const parts = frame([small1, large, small2]);
      expect(parts).to.have.length(3);
      expect(parts[0]).to.deep.equal(Buffer.from([0, 0, 0x4e, 0x28, ...Buffer.from('head')]));
      expect(parts[1]).to.equal(large);
      expect(parts[2]).to.deep.equal(small2);
    });
  });

  it('stores pipelined large produce requests (each spread over many reads) byte for byte', async () => {
    const b = await startBroker();
    try {
      b.backend.createTopic('big', 1, {});
      const api = apiByKey(ApiKey.Produce)!;
      // ~150 KB batches of distinct values: every request spans several reads.
      const sent = Array.from({ length: 8 }, (_, i) =>
        batch(
          Array.from({ length: 1500 }, (_, j) => ({
            key: `k${j}`,
            value: `request ${i} record ${j} `.padEnd(100, String.fromCharCode(97 + i)),
            timestamp: 1_700_000_000_000 + j,
          })),
        ),
      );
      expect(sent[0]!.length).to.be.greaterThan(100_000);
      const socket = net.connect({ port: b.port, host: '127.0.0.1' });
      await new Promise((resolve) => socket.once('connect', resolve));
      let received = Buffer.alloc(0);
      socket.on('data', (d: Buffer) => (received = Buffer.concat([received, d])));
      for (const [i, records] of sent.entries()) {
        const body = {
          transactionalId: null,
          acks: -1,
          timeoutMs: 1000,
          topicData: [{ name: 'big', partitionData: [{ index: 0, records }] }],
        };
        for (const c of frame(encodeRequest(api, 7, i + 1, 'spec', body))) socket.write(c);
      }
      const answered = () => {
        let n = 0;
        for (let pos = 0; pos + 4 <= received.length; pos += 4 + received.readInt32BE(pos)) n++;
        return n;
      };
      for (let i = 0; i < 500 && answered() < 8; i++) await new Promise((r) => setTimeout(r, 10));
      socket.destroy();
      const stored = b.backend.storedBatches('big', 0);
      expect(stored).to.have.length(8);
      for (const [i, s] of stored.entries()) {
        expect(s.subarray(8)).to.deep.equal(sent[i]!.subarray(8));
        expect(s.readBigInt64BE(0)).to.equal(BigInt(i * 1500));
      }
      const ids: number[] = [];
      for (let pos = 0; pos < received.length; pos += 4 + received.readInt32BE(pos))
        ids.push(received.readInt32BE(pos + 4));
      expect(ids).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8]);
    } finally {
      await b.server.close();
    }
  });
});
