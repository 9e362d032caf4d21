import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { LogStore } from '../../lib/index.js';
import { batchesIn, patch } from '../helpers/segments.js';
import { expectCode, removeTempDirs, tempDir } from '../helpers/temp.js';

/** A store with one topic over several closed segments, closed cleanly (index files written). */
async function storeWithSegments(): Promise<{ dir: string; partitionDir: string }> {
  const dir = tempDir();
  const store = LogStore.open(dir, { segmentBytes: 16384 });
  store.createTopic('t');
  for (let i = 0; i < 2000; i += 4) {
    store.append(
      't',
      [0, 1, 2, 3].map((k) => ({ value: `v${i + k}`.padEnd(30, '-'), timestamp: 10_000 + i + k })),
    );
  }
  await store.close();
  return { dir, partitionDir: path.join(dir, 't-0') };
}

async function expectSeeksCorrect(dir: string): Promise<void> {
  const store = LogStore.open(dir);
  for (const offset of [0, 1, 777, 1234, 1999]) {
    const [rec] = store.reader('t', { from: offset }).read(1);
    expect(rec!.offset).to.equal(offset);
    expect(rec!.value!.toString()).to.equal(`v${offset}`.padEnd(30, '-'));
  }
  expect(store.reader('t', { from: { timestamp: 11_500 } }).position).to.equal(1500);
  await store.close();
}

/**
 * Seeks, by offset and by timestamp, into the middle of every segment (a lookup that needs its
 * index), then closes the store cleanly.
 */
async function seekIntoEverySegment(dir: string, partitionDir: string): Promise<void> {
  const store = LogStore.open(dir);
  try {
    for (const f of fs.readdirSync(partitionDir).filter((name) => name.endsWith('.log'))) {
      const batches = batchesIn(fs.readFileSync(path.join(partitionDir, f)));
      const middle = batches[Math.floor(batches.length / 2)]!.baseOffset + 1;
      expect(store.reader('t', { from: middle }).read(1)[0]!.offset).to.equal(middle);
      expect(store.reader('t', { from: { timestamp: 10_000 + middle } }).position).to.equal(middle);
    }
  } finally {
    await store.close();
  }
}

/** The index files of a partition directory and their bytes. */
function indexFiles(partitionDir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const f of fs.readdirSync(partitionDir).sort()) {
    if (f.endsWith('index')) files.set(f, fs.readFileSync(path.join(partitionDir, f)));
  }
  return files;
}

/**
 * After lookups that found them unusable and a clean close, the index files are back: the same
 * bytes the writer wrote at roll and close, and every offset entry names a batch start that holds
 * its offset.
 */
function expectRebuilt(partitionDir: string, written: Map<string, Buffer>): void {
  expect([...indexFiles(partitionDir).keys()]).to.deep.equal([...written.keys()]);
  for (const [f, bytes] of written) {
    expect(
      fs.readFileSync(path.join(partitionDir, f)).equals(bytes),
      `${f} written again as it was`,
    ).to.equal(true);
  }
  for (const [f, index] of written) {
    if (!f.endsWith('.index')) continue;
    const base = Number(f.slice(0, 20));
    const entries = index.length / 8;
    // Timestamps here only increase: a time entry per offset entry, plus the closing entry with the
    // segment's largest timestamp (Kafka's meaning, docs/format.md).
    expect(written.get(f.replace('.index', '.timeindex'))!.length / 12, `${f}: time entries`).to.equal(
      entries + 1,
    );
    // 16 KiB segments: an entry after every 4 KiB of log, none at position 0 (Kafka's rule).
    expect(entries, `${f}: entries`).to.be.at.least(1);
    const batches = new Map(
      batchesIn(fs.readFileSync(path.join(partitionDir, `${f.slice(0, 20)}.log`))).map((b) => [
        b.position,
        b,
      ]),
    );
    for (let i = 0; i < entries; i++) {
      const offset = base + index.readInt32BE(i * 8);
      const batch = batches.get(index.readInt32BE(i * 8 + 4));
      expect(
        batch !== undefined && offset >= batch.baseOffset && offset <= batch.lastOffset,
        `${f} entry ${i}: offset ${offset}`,
      ).to.equal(true);
    }
  }
}

/**
 * The next clean open looks offsets up through the rebuilt files: with the header of the first
 * batch of a segment destroyed (a walk of that segment from its start ends there), a seek to the
 * last indexed batch of the segment still lands on its record, by offset and by timestamp.
 */
async function expectLookupsUseIndexFiles(dir: string, partitionDir: string): Promise<void> {
  const f = [...indexFiles(partitionDir).keys()].filter((name) => name.endsWith('.index'))[1]!;
  const base = Number(f.slice(0, 20));
  const index = fs.readFileSync(path.join(partitionDir, f));
  const position = index.readInt32BE(index.length - 4);
  const batch = batchesIn(fs.readFileSync(path.join(partitionDir, `${f.slice(0, 20)}.log`))).find(
    (b) => b.position === position,
  )!;
  expect(batch.baseOffset).to.be.greaterThan(base);
  patch(path.join(partitionDir, `${f.slice(0, 20)}.log`), 0, Buffer.alloc(12)); // the first batch's base offset and length
  const store = LogStore.open(dir);
  try {
    expect(store.recovery.clean).to.equal(true);
    const [byOffset] = store.reader('t', { from: batch.baseOffset }).read(1);
    expect([byOffset!.offset, byOffset!.value!.toString()]).to.deep.equal([
      batch.baseOffset,
      `v${batch.baseOffset}`.padEnd(30, '-'),
    ]);
    const [byTime] = store.reader('t', { from: { timestamp: 10_000 + batch.baseOffset } }).read(1);
    expect(byTime!.offset).to.equal(batch.baseOffset);
    expectCode(() => store.reader('t', { from: base }).read(1), 'LOGSTORE_CORRUPT');
  } finally {
    await store.close();
  }
}

describe('Segment indexes', () => {
  after(removeTempDirs);

  it('should write .index and .timeindex files in Kafka layout for closed segments', async () => {
    const { partitionDir } = await storeWithSegments();
    const logs = fs.readdirSync(partitionDir).filter((f) => f.endsWith('.log'));
    expect(logs.length).to.be.greaterThan(3);
    for (const log of logs.slice(0, -1)) {
      const base = log.slice(0, 20);
      const index = fs.readFileSync(path.join(partitionDir, `${base}.index`));
      const timeIndex = fs.readFileSync(path.join(partitionDir, `${base}.timeindex`));
      expect(index.length % 8).to.equal(0);
      expect(timeIndex.length % 12).to.equal(0);
      expect(index.length).to.be.greaterThan(0);
      // Kafka never indexes position 0: the first entry comes after INDEX_INTERVAL_BYTES of log.
      expect(index.readInt32BE(4)).to.be.greaterThan(4096);
      // A closed segment's time index ends with its largest timestamp.
      expect(timeIndex.length).to.be.greaterThan(0);
    }
  });

  it('should look offsets and timestamps up through the index files of closed segments', async () => {
    const { dir, partitionDir } = await storeWithSegments();
    await expectLookupsUseIndexFiles(dir, partitionDir);
  });

  it('should rebuild garbled index files instead of trusting them', async () => {
    const { dir, partitionDir } = await storeWithSegments();
    const written = indexFiles(partitionDir);
    for (const f of written.keys()) {
      const bytes = fs.readFileSync(path.join(partitionDir, f));
      bytes.fill(0x41, 0, Math.min(bytes.length, 24)); // positions and offsets now nonsense
      fs.writeFileSync(path.join(partitionDir, f), bytes);
    }
    await expectSeeksCorrect(dir);
    await seekIntoEverySegment(dir, partitionDir);
    expectRebuilt(partitionDir, written);
    await expectLookupsUseIndexFiles(dir, partitionDir);
  });

  it('should rebuild missing or truncated index files', async () => {
    const { dir, partitionDir } = await storeWithSegments();
    const written = indexFiles(partitionDir);
    [...written.keys()].forEach((f, i) => {
      if (i % 2 === 0) fs.rmSync(path.join(partitionDir, f));
      else fs.truncateSync(path.join(partitionDir, f), 5);
    });
    await expectSeeksCorrect(dir);
    await seekIntoEverySegment(dir, partitionDir);
    expectRebuilt(partitionDir, written);
    await expectLookupsUseIndexFiles(dir, partitionDir);
  });
});
