/**
 * The copying read (the default) in the writer's process reads the segment file with `pread`
 * into a reused buffer instead of through the mapping (lib/storage/read-window.ts). What must
 * hold: the records are those appended, independent copies (still readable after the store
 * closed and unmapped everything); batches larger than the reused buffer and reads that stop
 * inside a batch come back whole; damage made on disk after the store opened is refused; and an
 * error names positions in the file, not in the buffer.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { LogStore, type LogRecord } from '../../lib/index.js';
import { crc32c } from '../../lib/format/crc32c.js';
import { ReadWindow, SHARED_BUFFER } from '../../lib/storage/read-window.js';
import { expectCode, removeTempDirs, tempDir } from '../helpers/temp.js';

const segmentFile = (dir: string) => path.join(dir, 't-0', '00000000000000000000.log');

/** Bytes of the batch at `pos` of `buf`. */
const batchBytes = (buf: Buffer, pos: number) => 12 + buf.readInt32BE(pos + 8);

/** Reads everything from the reader, `max` at a time. */
function readAll(store: LogStore, max: number): LogRecord[] {
  const reader = store.reader('t');
  const all: LogRecord[] = [];
  for (;;) {
    const got = reader.read(max);
    if (got.length === 0) break;
    all.push(...got);
  }
  reader.close();
  return all;
}

/**
 * A store whose topic t holds `batches` batches of 10 100-byte values; its segment's bytes. The
 * last 64 KiB of a mapped segment's data are read through the mapping (a live reader's records;
 * the appends mapped this one): the specs read from further back.
 */
function storeOfBatches(batches: number): { store: LogStore; file: string; bytes: Buffer } {
  const dir = tempDir();
  const store = LogStore.open(dir);
  store.createTopic('t');
  for (let b = 0; b < batches; b++) {
    store.append(
      't',
      Array.from({ length: 10 }, (_, i) => ({ value: `v${b * 10 + i}`.padEnd(100, '.') })),
    );
  }
  const file = segmentFile(dir);
  return { store, file, bytes: fs.readFileSync(file) };
}

/** Writes `bytes[from, from + length)` over the same place of `file` (the store stays open). */
function overwrite(file: string, bytes: Buffer, from: number, length: number): void {
  const fd = fs.openSync(file, 'r+');
  try {
    fs.writeSync(fd, bytes, from, length, from);
  } finally {
    fs.closeSync(fd);
  }
}

describe('Copying reads (pread into a reused buffer)', () => {
  after(removeTempDirs);

  it('should return copies of batches larger than the reused buffer, also when a read stops inside one', async () => {
    const dir = tempDir();
    const store = LogStore.open(dir);
    store.createTopic('t');
    const valueOf = (i: number) => `${i}:`.padEnd(1000, String.fromCharCode(97 + (i % 26)));
    // 10 small batches, one of 2,500 records of 1000 bytes (2.5 MB), 10 small ones again.
    let next = 0;
    const append = (n: number) => {
      const batch = [];
      for (let i = 0; i < n; i++, next++) batch.push({ key: `k${next}`, value: valueOf(next) });
      store.append('t', batch);
    };
    for (let i = 0; i < 10; i++) append(3);
    append(2500);
    for (let i = 0; i < 10; i++) append(3);
    for (const max of [333, 1000]) {
      const records = readAll(store, max);
      expect(records.map((r) => r.offset)).to.deep.equal([...Array(next).keys()]);
      expect(records.map((r) => r.value!.toString())).to.deep.equal([...Array(next).keys()].map(valueOf));
      expect(records.map((r) => r.key!.toString())).to.deep.equal(
        [...Array(next).keys()].map((i) => `k${i}`),
      );
    }
    const kept = readAll(store, 1000);
    await store.close();
    // Copies: whole after the store unmapped its files.
    expect(kept.map((r) => r.value!.toString())).to.deep.equal([...Array(next).keys()].map(valueOf));
  });

  it('should copy only the bytes of the records a read returns from inside a batch', async () => {
    const dir = tempDir();
    const store = LogStore.open(dir);
    store.createTopic('t');
    const valueOf = (i: number) => `${i}:`.padEnd(1000, String.fromCharCode(97 + (i % 26)));
    // One batch of 1000 records of ~1 KB: 10 of them are 1% of it.
    store.append(
      't',
      Array.from({ length: 1000 }, (_, i) => ({ value: valueOf(i) })),
    );
    // 100 KB more, so that the first batch is read from the file (not within the last 64 KiB).
    store.append(
      't',
      Array.from({ length: 100 }, (_, i) => ({ value: valueOf(1000 + i) })),
    );
    const reader = store.reader('t');
    reader.seek(500);
    const got = reader.read(10);
    expect(got.map((r) => r.offset)).to.deep.equal([...Array(10).keys()].map((i) => 500 + i));
    expect(got.map((r) => r.value!.toString())).to.deep.equal(
      [...Array(10).keys()].map((i) => valueOf(500 + i)),
    );
    // Each record is 1000 value bytes and 10 of framing (length 2, attributes 1, timestamp delta 1,
    // offset delta 2, key length 1, value length 2, header count 1): the copy holds those 10
    // records, not the 490 after them.
    const memory = got[0]!.value!.buffer;
    expect(got.every((r) => r.value!.buffer === memory)).to.equal(true);
    expect(memory.byteLength).to.equal(10 * (1000 + 10));
    // The rest of the batch, then the next batch, in later reads.
    const rest = reader.read(1000);
    expect(rest.map((r) => r.offset)).to.deep.equal([...Array(590).keys()].map((i) => 510 + i));
    expect(rest[489]!.value!.buffer.byteLength).to.equal(490 * (1000 + 10));
    reader.close();
    await store.close();
  });

  it('should keep readers taking turns apart, though they share one buffer', () => {
    const { store } = storeOfBatches(200);
    const readers = [store.reader('t'), store.reader('t', { from: 150 }), store.reader('t', { from: 7 })];
    const seen: number[][] = [[], [], []];
    for (let round = 0; round < 40; round++) {
      readers.forEach((reader, i) => {
        for (const r of reader.read(3 + i * 4)) {
          expect(r.value!.toString()).to.equal(`v${r.offset}`.padEnd(100, '.'));
          seen[i]!.push(r.offset);
        }
      });
    }
    expect(seen[0]).to.deep.equal([...Array(120).keys()]);
    expect(seen[1]).to.deep.equal([...Array(280).keys()].map((i) => i + 150));
    expect(seen[2]).to.deep.equal([...Array(440).keys()].map((i) => i + 7));
    store.close();
  });

  it('should not read again what a window holds in a buffer of its own (a read larger than the shared buffer)', () => {
    const file = path.join(tempDir(), 'bytes');
    const bytes = Buffer.alloc(3 << 20);
    for (let i = 0; i < bytes.length; i += 4) bytes.writeUInt32BE(i, i);
    fs.writeFileSync(file, bytes);
    const source = { logPath: file, size: bytes.length };
    const window = new ReadWindow(SHARED_BUFFER);
    const other = new ReadWindow(SHARED_BUFFER);
    expect(window.cover(source, 0, 2 << 20)).to.equal(true);
    const own = window.buf;
    expect(own.length).to.equal(2 << 20); // larger than the shared buffer: a buffer of its own
    expect(other.cover(source, 4 << 10, 8 << 10)).to.equal(true); // another window takes the shared one
    expect(window.cover(source, 1 << 20, (1 << 20) + 64)).to.equal(true);
    expect(window.buf).to.equal(own); // not read again into the shared buffer
    expect([window.origin, window.end]).to.deep.equal([0, 2 << 20]);
    expect(window.buf.readUInt32BE(1 << 20)).to.equal(1 << 20);
    window.release();
    other.release();
  });

  it('should read through the mapping when the segment file cannot be opened', () => {
    const { store, file } = storeOfBatches(200);
    // The file's name is gone; the store's mapping still holds the file (as when no descriptor is left).
    fs.renameSync(file, `${file}.away`);
    try {
      const reader = store.reader('t');
      const got = reader.read(50);
      expect(got.map((r) => r.offset)).to.deep.equal([...Array(50).keys()]);
      expect(got.map((r) => r.value!.toString())).to.deep.equal(
        [...Array(50).keys()].map((i) => `v${i}`.padEnd(100, '.')),
      );
    } finally {
      fs.renameSync(`${file}.away`, file);
    }
    store.close();
  });

  it('should refuse a batch damaged on disk after the store opened, naming its position in the file', () => {
    const { store, file, bytes } = storeOfBatches(200);
    const second = batchBytes(bytes, 0);
    const third = second + batchBytes(bytes, second);
    // The third batch: one value byte changed, its CRC left as it was.
    bytes[third + 100] = 0x58;
    overwrite(file, bytes, third + 100, 1);
    const reader = store.reader('t');
    expect(reader.read(10).map((r) => r.offset)).to.deep.equal([...Array(10).keys()]);
    expect(reader.read(10).map((r) => r.offset)).to.deep.equal([...Array(10).keys()].map((i) => i + 10));
    const err = expectCode(() => reader.read(10), 'LOGSTORE_CORRUPT') as unknown as {
      details: { position: number; kind: string };
    };
    expect(err.details).to.include({ position: third, kind: 'bad-crc' });
    store.close();
  });

  it('should name file positions for damage behind a valid CRC in a batch read by a later call', () => {
    const { store, file, bytes } = storeOfBatches(200);
    const second = batchBytes(bytes, 0);
    const size = batchBytes(bytes, second);
    // The second batch's first record: length (2 bytes), attributes, timestamp delta and offset
    // delta (a byte each), then its key length, -1 (no key). Make it 60 and sign the batch again.
    const keyLength = second + 61 + 5;
    expect(bytes[keyLength]).to.equal(0x01);
    bytes[keyLength] = 0x78;
    bytes.writeUInt32BE(crc32c(bytes, second + 21, second + size), second + 17);
    overwrite(file, bytes, second, size);
    const reader = store.reader('t');
    expect(reader.read(10)).to.have.length(10);
    // Another reader takes the shared buffer: the next call reads its window from the second batch on.
    expect(store.reader('t').read(1)).to.have.length(1);
    const err = expectCode(() => reader.read(10), 'LOGSTORE_CORRUPT') as unknown as {
      message: string;
      details: { position: number; kind: string; file: string };
    };
    expect(err.details.kind).to.equal('bad-records');
    expect(err.details.file).to.equal(file);
    expect(err.message).to.contain(`in the batch at ${second}`);
    expect(err.details.position).to.be.within(second + 61, second + size - 1);
    store.close();
  });
});
