import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { LogStore } from '../../lib/index.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';

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

  it('should rebuild garbled index files instead of trusting them', async () => {
    const { dir, partitionDir } = await storeWithSegments();
    for (const f of fs.readdirSync(partitionDir)) {
      if (f.endsWith('index')) {
        const bytes = fs.readFileSync(path.join(partitionDir, f));
        bytes.fill(0x41, 0, Math.min(bytes.length, 24)); // positions and offsets now nonsense
        fs.writeFileSync(path.join(partitionDir, f), bytes);
      }
    }
    await expectSeeksCorrect(dir);
  });

  it('should rebuild missing or truncated index files', async () => {
    const { dir, partitionDir } = await storeWithSegments();
    const files = fs.readdirSync(partitionDir).filter((f) => f.endsWith('index'));
    files.forEach((f, i) => {
      if (i % 2 === 0) fs.rmSync(path.join(partitionDir, f));
      else fs.truncateSync(path.join(partitionDir, f), 5);
    });
    await expectSeeksCorrect(dir);
  });
});
