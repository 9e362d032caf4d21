import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { LogStore, type AppendRecord, type LogRecord } from '../../lib/index.js';
import { Segment } from '../../lib/storage/segment.js';
import { LIB, runChild } from '../helpers/child.js';
import { expectCode, expectCodeAsync, removeTempDirs, tempDir } from '../helpers/temp.js';

/** A record whose content is derived from its number, so any mix-up shows. */
function numbered(i: number): AppendRecord {
  return {
    key: `key-${i % 7}`,
    value: i % 11 === 0 ? null : Buffer.from(`value-${i}-`.padEnd(40 + (i % 50), 'x')),
    headers: i % 3 === 0 ? { n: String(i), bin: Buffer.from([i & 0xff, 0, 255]) } : undefined,
    timestamp: 1_700_000_000_000 + i * 10,
  };
}

function expectRecord(rec: LogRecord, i: number, offset: number, partition = 0): void {
  const want = numbered(i);
  expect(rec.offset).to.equal(offset);
  expect(rec.partition).to.equal(partition);
  expect(rec.timestamp).to.equal(want.timestamp);
  expect(rec.key?.toString()).to.equal(want.key);
  if (want.value === null) expect(rec.value).to.equal(null);
  else expect(rec.value?.equals(want.value as Buffer)).to.equal(true);
  const headers = Object.fromEntries(Object.entries(rec.headers).map(([k, v]) => [k, [...(v as Buffer)]]));
  if (want.headers) {
    expect(headers).to.deep.equal({ n: [...Buffer.from(String(i))], bin: [i & 0xff, 0, 255] });
  } else expect(headers).to.deep.equal({});
}

describe('LogStore', () => {
  after(removeTempDirs);

  describe('append() and read back', () => {
    it("should load none of Node's modules for its first append and read (perf_hooks took 2 ms of the first append)", async () => {
      const dir = tempDir();
      const { stdout, stderr, code } = await runChild(`
        import { LogStore } from ${JSON.stringify(LIB)};
        const store = LogStore.open(${JSON.stringify(dir)});
        store.createTopic('t');
        const before = new Set(process.moduleLoadList);
        store.append('t', { value: 'a' });
        await new Promise((resolve) => setTimeout(resolve, 20)); // the append signal's touch ran
        const values = [...store.reader('t')].map((r) => r.value.toString());
        console.log(JSON.stringify([values, process.moduleLoadList.filter((m) => !before.has(m))]));
        await store.close();
      `);
      expect(code, stderr).to.equal(0);
      expect(JSON.parse(stdout)).to.deep.equal([['a'], []]);
    });

    it('should return exact records across rolled segments, before and after reopen', async () => {
      const dir = tempDir();
      let store = LogStore.open(dir, { segmentBytes: 8192 });
      store.createTopic('events');
      let next = 0;
      for (let call = 0; call < 120; call++) {
        const batch = Array.from({ length: 1 + (call % 9) }, () => numbered(next++));
        const [result] = store.append('events', batch);
        expect(result).to.deep.equal({ partition: 0, baseOffset: next - batch.length, lastOffset: next - 1 });
      }
      const single = store.append('events', numbered(next++));
      expect(single).to.deep.equal({ partition: 0, baseOffset: next - 1, lastOffset: next - 1 });
      const described = store.describeTopic('events').partitions[0]!;
      expect(described.startOffset).to.equal(0);
      expect(described.endOffset).to.equal(next);
      expect(described.segments).to.be.greaterThan(3);

      const check = (s: LogStore) => {
        const all = [...s.reader('events')];
        expect(all.length).to.equal(next);
        all.forEach((rec, i) => expectRecord(rec, i, i));
      };
      check(store);
      await store.close();
      const segmentFiles = fs.readdirSync(path.join(dir, 'events-0')).filter((f) => f.endsWith('.log'));
      expect(segmentFiles.length).to.equal(described.segments);
      expect(segmentFiles[0]).to.equal('00000000000000000000.log');
      store = LogStore.open(dir);
      expect(store.recovery).to.deep.equal({
        clean: true,
        truncated: [],
        bytesCut: 0,
        files: [],
        catalog: [],
      });
      expect(store.describeTopic('events').partitions[0]).to.deep.equal(described);
      check(store);
      // The active segment's max timestamp and index survive the clean close: time lookups land.
      const lastTs = numbered(next - 1).timestamp!;
      expect(store.reader('events', { from: { timestamp: lastTs } }).position).to.equal(next - 1);
      expect(store.reader('events', { from: { timestamp: lastTs + 1 } }).position).to.equal(next);
      // Appends continue the offsets after reopen.
      expect(store.append('events', numbered(next))).to.deep.equal({
        partition: 0,
        baseOffset: next,
        lastOffset: next,
      });
      await store.close();
    });

    it('should read from any offset with read(max), seek and position', async () => {
      const store = LogStore.open(tempDir(), { segmentBytes: 4096 });
      store.createTopic('t');
      for (let i = 0; i < 300; i += 3) store.append('t', [numbered(i), numbered(i + 1), numbered(i + 2)]);
      const reader = store.reader('t', { from: 137 });
      expect(reader.position).to.equal(137);
      const first = reader.read(5);
      expect(first.map((r) => r.offset)).to.deep.equal([137, 138, 139, 140, 141]);
      first.forEach((rec) => expectRecord(rec, rec.offset, rec.offset));
      expect(reader.position).to.equal(142);
      reader.seek(299);
      expect(reader.read(10).map((r) => r.offset)).to.deep.equal([299]);
      expect(reader.read(10)).to.deep.equal([]);
      reader.seek('earliest');
      expect(reader.read(1)[0]!.offset).to.equal(0);
      reader.seek('latest');
      expect(reader.position).to.equal(300);
      expectCode(() => reader.seek(301), 'LOGSTORE_OFFSET_OUT_OF_RANGE');
      await store.close();
    });

    it('should accept strings, Uint8Arrays, null values and explicit timestamps', async () => {
      const store = LogStore.open(tempDir());
      store.createTopic('t');
      store.append('t', [
        { key: 'ü-key', value: 'héllo', timestamp: 5 },
        { key: null, value: new Uint8Array([1, 2, 3]), timestamp: 6 },
        { value: null, headers: { h: 'v' }, timestamp: 7 },
        { key: Buffer.alloc(0), value: '', timestamp: 8 },
      ]);
      const recs = store.reader('t').read();
      expect(
        recs.map((r) => [r.key?.toString() ?? null, r.value === null ? null : [...r.value], r.timestamp]),
      ).to.deep.equal([
        ['ü-key', [...Buffer.from('héllo')], 5],
        [null, [1, 2, 3], 6],
        [null, null, 7],
        ['', [], 8],
      ]);
      expect(recs[2]!.headers.h!.toString()).to.equal('v');
      await store.close();
    });

    it('should keep returned records valid after the segment is unmapped', async () => {
      const store = LogStore.open(tempDir());
      store.createTopic('t');
      store.append('t', { value: 'kept' });
      const [rec] = store.reader('t').read();
      await store.close();
      expect(rec!.value!.toString()).to.equal('kept');
    });

    it('should spread keyed records with Kafka murmur2 and return one result per partition in order', async () => {
      const store = LogStore.open(tempDir());
      store.createTopic('orders', { partitions: 4 });
      // Partitions of these keys under Kafka's default partitioner (murmur2 & 0x7fffffff % 4).
      const results = store.append('orders', [
        { key: 'a', value: '1' },
        { key: 'b', value: '2' },
        { key: 'a', value: '3' },
        { key: 'c', value: '4' },
      ]);
      const placed = new Map<string, number>();
      for (const p of [0, 1, 2, 3]) {
        for (const rec of store.reader('orders', { partition: p })) placed.set(rec.value!.toString(), p);
      }
      expect(placed.get('1')).to.equal(placed.get('3'));
      expect(results.map((r) => r.partition)).to.deep.equal([...results.map((r) => r.partition)].sort());
      const total = results.reduce((n, r) => n + r.lastOffset - r.baseOffset + 1, 0);
      expect(total).to.equal(4);
      expect(store.append('orders', { key: 'x', value: 'y' }, { partition: 3 }).partition).to.equal(3);
      expect(store.append('orders', { key: 'x', value: 'y', partition: 2 }).partition).to.equal(2);
      await store.close();
    });
  });

  describe('errors', () => {
    it('should refuse unknown and misspelled options with LOGSTORE_INVALID_ARGUMENT', () => {
      const dir = tempDir();
      const err = expectCode(
        () => LogStore.open(dir, { readonly: true } as never),
        'LOGSTORE_INVALID_ARGUMENT',
      );
      expect(err.message).to.contain('readOnly');
      expectCode(() => LogStore.open(dir, { durability: 'sometimes' } as never), 'LOGSTORE_INVALID_ARGUMENT');
      expectCode(() => LogStore.open(dir, { flushIntervalMs: -1 }), 'LOGSTORE_INVALID_ARGUMENT');
      expectCode(() => LogStore.open(dir, { segmentBytes: 10 }), 'LOGSTORE_INVALID_ARGUMENT');
    });

    it('should give each misuse its code', async () => {
      const dir = tempDir();
      const store = LogStore.open(dir);
      expectCode(() => store.createTopic('bad/name'), 'LOGSTORE_INVALID_ARGUMENT');
      expectCode(() => store.createTopic('x'.repeat(250)), 'LOGSTORE_INVALID_ARGUMENT');
      expectCode(() => store.createTopic('t', { partitons: 2 } as never), 'LOGSTORE_INVALID_ARGUMENT');
      store.createTopic('t', { partitions: 2, maxRecordBytes: 100 });
      expectCode(() => store.createTopic('t'), 'LOGSTORE_TOPIC_EXISTS');
      expectCode(() => store.append('nope', { value: 'v' }), 'LOGSTORE_TOPIC_NOT_FOUND');
      expectCode(() => store.reader('nope'), 'LOGSTORE_TOPIC_NOT_FOUND');
      expectCode(() => store.append('t', { value: 'v' }, { partition: 2 }), 'LOGSTORE_INVALID_ARGUMENT');
      expectCode(() => store.append('t', { value: 42 } as never), 'LOGSTORE_INVALID_ARGUMENT');
      expectCode(() => store.append('t', { value: 'v', timestamp: -5 }), 'LOGSTORE_INVALID_ARGUMENT');
      expectCode(() => store.append('t', []), 'LOGSTORE_INVALID_ARGUMENT');
      expectCode(() => store.append('t', { value: 'x'.repeat(200) }), 'LOGSTORE_RECORD_TOO_LARGE');
      // A bad record anywhere in the call writes nothing.
      expectCode(
        () => store.append('t', [{ key: 'a', value: 'ok' }, { key: 'b', value: 7 } as never]),
        'LOGSTORE_INVALID_ARGUMENT',
      );
      expect(store.describeTopic('t').partitions.map((p) => p.endOffset)).to.deep.equal([0, 0]);
      expectCode(() => store.reader('t', { from: 1 }), 'LOGSTORE_OFFSET_OUT_OF_RANGE');
      expectCode(() => store.reader('t', { form: 0 } as never), 'LOGSTORE_INVALID_ARGUMENT');
      const reader = store.reader('t');
      reader.close();
      expectCode(() => reader.read(), 'LOGSTORE_CLOSED');
      await store.close();
      expectCode(() => store.append('t', { value: 'v' }), 'LOGSTORE_CLOSED');
      await expectCodeAsync(() => store.flush(), 'LOGSTORE_CLOSED');
      const ro = LogStore.open(dir, { readOnly: true });
      expectCode(() => ro.append('t', { value: 'v' }), 'LOGSTORE_READ_ONLY');
      expectCode(() => ro.createTopic('u'), 'LOGSTORE_READ_ONLY');
      await ro.close();
      expectCode(() => LogStore.open(tempDir(), { readOnly: true }), 'LOGSTORE_INVALID_ARGUMENT');
    });

    it('should refuse a batch larger than a segment with LOGSTORE_RECORD_TOO_LARGE', async () => {
      const store = LogStore.open(tempDir(), { segmentBytes: 4096 });
      store.createTopic('t');
      const big = Array.from({ length: 100 }, () => ({ value: Buffer.alloc(100) }));
      expectCode(() => store.append('t', big), 'LOGSTORE_RECORD_TOO_LARGE');
      expect(store.describeTopic('t').partitions[0]!.endOffset).to.equal(0);
      await store.close();
    });
  });

  describe('locking', () => {
    it('should refuse a second writer in the same process with LOGSTORE_LOCKED, and allow it after close', async () => {
      const dir = tempDir();
      const store = LogStore.open(dir);
      expectCode(() => LogStore.open(dir), 'LOGSTORE_LOCKED');
      const follower = LogStore.open(dir, { readOnly: true });
      await follower.close();
      await store.close();
      const again = LogStore.open(dir);
      await again.close();
    });
  });

  describe('disk usage', () => {
    it('should keep 16 nearly empty partitions under 64 MiB of real blocks', async () => {
      const dir = tempDir();
      const store = LogStore.open(dir);
      store.createTopic('many', { partitions: 16 });
      for (let p = 0; p < 16; p++) {
        for (let i = 0; i < 10; i++) store.append('many', { value: `r${i}` }, { partition: p });
      }
      await store.close();
      let blocks = 0;
      for (let p = 0; p < 16; p++) {
        for (const f of fs.readdirSync(path.join(dir, `many-${p}`)))
          blocks += fs.statSync(path.join(dir, `many-${p}`, f)).blocks;
      }
      const bytes = blocks * 512;
      expect(bytes).to.be.greaterThan(16 * 10 * 60); // the records are really there
      expect(bytes).to.be.lessThan(64 * 1024 * 1024);
    });

    it('should preallocate real (not sparse) blocks ahead of the write position', async () => {
      const dir = tempDir();
      const store = LogStore.open(dir);
      store.createTopic('t');
      store.append('t', { value: 'v' });
      const file = path.join(dir, 't-0', '00000000000000000000.log');
      const st = fs.statSync(file);
      expect(st.size).to.equal(16 * 1024); // the first step: 4 pages
      expect(st.blocks * 512).to.be.at.least(st.size);
      await store.close();
    });
  });

  describe('flush()', () => {
    it('should share one sync among concurrent calls and resolve all of them', async () => {
      const store = LogStore.open(tempDir(), { durability: 'none' });
      store.createTopic('t');
      let syncs = 0;
      const sync = Segment.prototype.sync;
      Segment.prototype.sync = function (this: Segment) {
        syncs++;
        return sync.call(this);
      };
      try {
        const flushes: Promise<void>[] = [];
        for (let i = 0; i < 50; i++) {
          store.append('t', { value: `v${i}` });
          flushes.push(store.flush());
        }
        await Promise.all(flushes);
        expect(syncs).to.equal(1);
        // Writers that append and flush in a loop keep sharing syncs (no writer starves the others).
        syncs = 0;
        let acked = 0;
        await Promise.all(
          Array.from({ length: 20 }, async (_, w) => {
            for (let i = 0; i < 10; i++) {
              store.append('t', { value: `w${w}-${i}` });
              await store.flush();
              acked++;
            }
          }),
        );
        expect(acked).to.equal(200);
        expect(syncs).to.be.at.most(21);
        // Nothing new: flush resolves without a sync.
        syncs = 0;
        await store.flush();
        expect(syncs).to.equal(0);
      } finally {
        Segment.prototype.sync = sync;
      }
      await store.close();
    });
  });
});
