/**
 * The index files mean what Kafka's mean. This spec carries its own implementation of Kafka's
 * algorithms (LogSegment.recover's index building; TimeIndex.lookup, OffsetIndex.lookup and the
 * scan of LogSegment.findOffsetByTimestamp) and holds logstore's files and reader to them.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { LogStore, type AppendRecord } from '../../lib/index.js';
import { decodeBatch } from '../../lib/format/batches.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';

const INTERVAL = 4096;

interface FileBatch {
  position: number;
  lastOffset: number;
  maxTimestamp: number;
  bytes: Buffer;
}

/** The batches of a segment file, by their length fields (up to the zeros). */
function batchesOf(file: string): FileBatch[] {
  const buf = fs.readFileSync(file);
  const out: FileBatch[] = [];
  for (let pos = 0; pos + 12 <= buf.length && buf.readInt32BE(pos + 8) !== 0;) {
    const size = 12 + buf.readInt32BE(pos + 8);
    const bytes = buf.subarray(pos, pos + size);
    out.push({
      position: pos,
      lastOffset: Number(buf.readBigInt64BE(pos)) + buf.readInt32BE(pos + 23),
      maxTimestamp: Number(buf.readBigInt64BE(pos + 35)),
      bytes,
    });
    pos += size;
  }
  return out;
}

/** Kafka's LogSegment.recover: the index entries it builds, then its final time index entry. */
function kafkaIndexes(batches: FileBatch[]): { offsets: [number, number][]; times: [number, number][] } {
  const offsets: [number, number][] = [];
  const times: [number, number][] = [];
  let maxTs = -1;
  let maxTsOffset = -1;
  let lastIndexEntry = 0;
  const maybeAppend = (ts: number, offset: number) => {
    if (times.length === 0 || ts > times[times.length - 1]![0]) times.push([ts, offset]);
  };
  for (const b of batches) {
    if (b.maxTimestamp > maxTs) {
      maxTs = b.maxTimestamp;
      maxTsOffset = b.lastOffset;
    }
    if (b.position - lastIndexEntry > INTERVAL) {
      offsets.push([b.lastOffset, b.position]);
      maybeAppend(maxTs, maxTsOffset);
      lastIndexEntry = b.position;
    }
  }
  if (maxTs >= 0) maybeAppend(maxTs, maxTsOffset);
  return { offsets, times };
}

function readIndexFiles(file: string, base: number) {
  const index = fs.readFileSync(file.replace(/\.log$/, '.index'));
  const timeIndex = fs.readFileSync(file.replace(/\.log$/, '.timeindex'));
  const offsets: [number, number][] = [];
  for (let i = 0; i < index.length; i += 8)
    offsets.push([base + index.readInt32BE(i), index.readInt32BE(i + 4)]);
  const times: [number, number][] = [];
  for (let i = 0; i < timeIndex.length; i += 12)
    times.push([Number(timeIndex.readBigInt64BE(i)), base + timeIndex.readInt32BE(i + 8)]);
  return { offsets, times };
}

/**
 * Kafka's lookup over one partition's files: the first segment whose largest timestamp reaches
 * the target; its time index's last entry at or below the target (else the segment's base);
 * the offset index's last entry at or below that offset (else position 0); then a scan of the
 * batches from there for the first record at or after the target.
 */
function kafkaFindOffsetByTimestamp(partitionDir: string, target: number): number | null {
  const logs = fs
    .readdirSync(partitionDir)
    .filter((f) => f.endsWith('.log'))
    .sort();
  for (const log of logs) {
    const file = path.join(partitionDir, log);
    const base = Number(log.slice(0, 20));
    const batches = batchesOf(file);
    if (batches.length === 0 || Math.max(...batches.map((b) => b.maxTimestamp)) < target) continue;
    const { offsets, times } = readIndexFiles(file, base);
    const time = [...times].reverse().find(([ts]) => ts <= target);
    const offset = time ? time[1] : base;
    const entry = [...offsets].reverse().find(([o]) => o <= offset);
    const position = entry ? entry[1] : 0;
    for (const b of batches) {
      if (b.position < position || b.maxTimestamp < target) continue;
      const hit = decodeBatch(b.bytes).records.find((r) => r.timestamp >= target);
      if (hit) return hit.offset;
    }
  }
  return null;
}

async function storeWith(batches: AppendRecord[][], segmentBytes = 1 << 20): Promise<string> {
  const dir = tempDir();
  const store = LogStore.open(dir, { cleanupIntervalMs: 0 });
  store.createTopic('t', { segmentBytes });
  for (const records of batches) store.append('t', records);
  await store.close();
  return dir;
}

describe("Index files with Kafka's meaning", () => {
  after(removeTempDirs);

  it("should hold exactly the entries Kafka's LogSegment.recover builds from the same batches", async () => {
    let ts = 10_000;
    const batches: AppendRecord[][] = Array.from({ length: 400 }, (_, i) =>
      Array.from({ length: 1 + (i % 5) }, (_, k) => ({
        value: 'x'.repeat(20 + ((i * 7 + k) % 90)),
        // Repeated, increasing and decreasing timestamps.
        timestamp: (ts += [0, 5, -3, 11, 0, -40, 7][(i + k) % 7]!),
      })),
    );
    const dir = await storeWith(batches, 32 * 1024);
    const partitionDir = path.join(dir, 't-0');
    const logs = fs
      .readdirSync(partitionDir)
      .filter((f) => f.endsWith('.log'))
      .sort();
    expect(logs.length).to.be.greaterThan(3);
    for (const log of logs) {
      const file = path.join(partitionDir, log);
      expect(readIndexFiles(file, Number(log.slice(0, 20))), log).to.deep.equal(
        kafkaIndexes(batchesOf(file)),
      );
    }
  });

  it("should answer Kafka's lookup for 1000 with offset 1 over 900, 1000 (5 KB), 1000, 1000 (5 KB), 1100", async () => {
    const big = 'b'.repeat(5 * 1024);
    const dir = await storeWith([
      [{ value: 'a', timestamp: 900 }],
      [{ value: big, timestamp: 1000 }],
      [{ value: 'c', timestamp: 1000 }],
      [{ value: big, timestamp: 1000 }],
      [{ value: 'e', timestamp: 1100 }],
    ]);
    expect(kafkaFindOffsetByTimestamp(path.join(dir, 't-0'), 1000)).to.equal(1);
    const store = LogStore.open(dir);
    expect(store.reader('t', { from: { timestamp: 1000 } }).position).to.equal(1);
    await store.close();
  });

  it("should give, for every timestamp, the offset Kafka's lookup gives over the same files", async () => {
    const stamps = [500, 400, 400, 900, 300, 900, 901, 100, 1500, 1500, 1200, 1600, 50, 1600, 2000];
    const batches: AppendRecord[][] = [];
    for (let round = 0; round < 30; round++) {
      for (const [i, t] of stamps.entries()) {
        batches.push([
          { value: 'v'.repeat(100 + ((round * 31 + i * 17) % 400)), timestamp: round * 1000 + t },
          { value: 'w', timestamp: round * 1000 + t - (i % 3) },
        ]);
      }
    }
    const dir = await storeWith(batches, 64 * 1024);
    const store = LogStore.open(dir);
    const partitionDir = path.join(dir, 't-0');
    for (let target = 0; target <= 32_000; target += 37) {
      const kafka = kafkaFindOffsetByTimestamp(partitionDir, target);
      const ours = store.reader('t', { from: { timestamp: target } }).position;
      expect(ours, `timestamp ${target}`).to.equal(
        kafka ?? store.describeTopic('t').partitions[0]!.endOffset,
      );
    }
    await store.close();
  });

  it('should rebuild index files of the older meaning (an entry at position 0) at the next writer open', async () => {
    const dir = await storeWith(
      Array.from({ length: 300 }, (_, i) => [{ value: 'x'.repeat(100), timestamp: i }]),
      16 * 1024,
    );
    const partitionDir = path.join(dir, 't-0');
    const first = path.join(partitionDir, '00000000000000000000.log');
    const kafka = kafkaIndexes(batchesOf(first));
    // What logstore 0.1 wrote: base offsets with positions, from position 0.
    fs.writeFileSync(first.replace('.log', '.index'), Buffer.from([0, 0, 0, 0, 0, 0, 0, 0]));
    fs.writeFileSync(first.replace('.log', '.timeindex'), Buffer.alloc(12));
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(path.join(dir, 'catalog.sqlite'));
    db.prepare("DELETE FROM meta WHERE key = 'index_format'").run();
    db.close();
    const store = LogStore.open(dir);
    expect(store.reader('t', { from: 50 }).read(1)[0]!.offset).to.equal(50);
    expect(store.reader('t', { from: { timestamp: 60 } }).position).to.equal(60);
    await store.close();
    expect(readIndexFiles(first, 0)).to.deep.equal(kafka);
  });
});
