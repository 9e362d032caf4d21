import { expect } from 'chai';
import { LogStore, type LogRecord } from '../../lib/index.js';
import { LIB, startChild } from '../helpers/child.js';
import { expectCode, removeTempDirs, tempDir } from '../helpers/temp.js';

const values = (records: LogRecord[]) => records.map((r) => r.value!.toString());

describe('Reader', () => {
  after(removeTempDirs);

  it('should keep three readers at different positions independent', async () => {
    const store = LogStore.open(tempDir(), { segmentBytes: 4096 });
    store.createTopic('t');
    for (let i = 0; i < 200; i++) store.append('t', { value: `v${i}` });
    const a = store.reader('t', { from: 'earliest' });
    const b = store.reader('t', { from: 100 });
    const c = store.reader('t', { from: 'latest' });
    expect(values(a.read(3))).to.deep.equal(['v0', 'v1', 'v2']);
    expect(values(b.read(2))).to.deep.equal(['v100', 'v101']);
    expect(c.read(5)).to.deep.equal([]);
    expect(values(a.read(1))).to.deep.equal(['v3']);
    store.append('t', { value: 'v200' });
    expect(values(c.read(5))).to.deep.equal(['v200']);
    expect(values(b.read(1))).to.deep.equal(['v102']);
    expect([a.position, b.position, c.position]).to.deep.equal([4, 103, 201]);
    await store.close();
  });

  it("should land { timestamp } on the first record at or after it (Kafka's offsetsForTimes)", async () => {
    const store = LogStore.open(tempDir(), { segmentBytes: 4096 });
    store.createTopic('t');
    // Timestamps 1000, 1010, ... with one out-of-order record at offset 50.
    for (let i = 0; i < 300; i++)
      store.append('t', { value: `v${i}`, timestamp: i === 50 ? 5000 : 1000 + i * 10 });
    expect(store.reader('t', { from: { timestamp: 0 } }).position).to.equal(0);
    expect(store.reader('t', { from: { timestamp: 1000 } }).position).to.equal(0);
    expect(store.reader('t', { from: { timestamp: 1001 } }).position).to.equal(1);
    expect(store.reader('t', { from: { timestamp: 1495 } }).position).to.equal(50); // 5000 >= 1495
    expect(store.reader('t', { from: { timestamp: 2500 } }).position).to.equal(50);
    expect(store.reader('t', { from: { timestamp: 3000 } }).position).to.equal(50);
    expect(store.reader('t', { from: { timestamp: 5001 } }).position).to.equal(300); // none: the end
    const r = store.reader('t');
    r.seek({ timestamp: 3990 }); // v299 has 3990, but v50 (5000) comes first
    expect(r.position).to.equal(50);
    expect(values(r.read(1))).to.deep.equal(['v50']);
    await store.close();
  });

  it('should iterate synchronously over what is there now, then end', async () => {
    const store = LogStore.open(tempDir());
    store.createTopic('t');
    store.append('t', [{ value: 'a' }, { value: 'b' }]);
    const reader = store.reader('t');
    expect(values([...reader])).to.deep.equal(['a', 'b']);
    store.append('t', { value: 'c' });
    expect(values([...reader])).to.deep.equal(['c']);
    await store.close();
  });

  it('should deliver records appended later to a live iterator, and end on close()', async () => {
    const store = LogStore.open(tempDir());
    store.createTopic('t');
    store.append('t', { value: 'before' });
    const reader = store.reader('t');
    const got: string[] = [];
    const loop = (async () => {
      for await (const rec of reader) {
        got.push(rec.value!.toString());
        if (got.length === 3) setImmediate(() => reader.close());
      }
    })();
    await new Promise((r) => setTimeout(r, 20));
    store.append('t', { value: 'later-1' });
    await new Promise((r) => setTimeout(r, 5));
    store.append('t', { value: 'later-2' });
    await loop;
    expect(got).to.deep.equal(['before', 'later-1', 'later-2']);
    expect(reader.isClosed).to.equal(true);
    await store.close();
  });

  it('should wake a live iterator within a few milliseconds of an append', async () => {
    const store = LogStore.open(tempDir());
    store.createTopic('t');
    const reader = store.reader('t', { from: 'latest' });
    const delays: number[] = [];
    const loop = (async () => {
      for await (const rec of reader) {
        delays.push(Number(process.hrtime.bigint() - rec.value!.readBigUInt64BE()) / 1e6);
        if (delays.length === 50) break;
      }
    })();
    for (let i = 0; i < 50; i++) {
      await new Promise((r) => setTimeout(r, 1));
      const v = Buffer.alloc(8);
      v.writeBigUInt64BE(process.hrtime.bigint());
      store.append('t', { value: v });
    }
    await loop;
    expect(delays).to.have.length(50);
    // Correctness, not a benchmark: woken by the append itself, not by a slow poll.
    expect(delays.sort((x, y) => x - y)[25]).to.be.lessThan(5);
    await store.close();
  });

  it('should end a live iteration when its AbortSignal fires, and when the store closes', async () => {
    const store = LogStore.open(tempDir());
    store.createTopic('t');
    const controller = new AbortController();
    const aborted = (async () => {
      const seen: string[] = [];
      for await (const rec of store.reader('t', { signal: controller.signal }))
        seen.push(rec.value!.toString());
      return seen;
    })();
    const closedByStore = (async () => {
      let n = 0;
      for await (const _ of store.reader('t')) n++;
      return n;
    })();
    store.append('t', { value: 'x' });
    await new Promise((r) => setTimeout(r, 10));
    controller.abort();
    expect(await aborted).to.deep.equal(['x']);
    await store.close();
    expect(await closedByStore).to.equal(1);
  });

  it('should give LOGSTORE_OFFSET_OUT_OF_RANGE for an offset beyond the end and nothing past the end', async () => {
    const store = LogStore.open(tempDir());
    store.createTopic('t');
    store.append('t', { value: 'a' });
    expectCode(() => store.reader('t', { from: 2 }), 'LOGSTORE_OFFSET_OUT_OF_RANGE');
    const r = store.reader('t', { from: 1 });
    expect(r.read()).to.deep.equal([]);
    await store.close();
  });

  it('should let a read-only follower in another process see appends and rolls, live', async function () {
    this.timeout(30000);
    const dir = tempDir();
    const writer = LogStore.open(dir, { segmentBytes: 4096 });
    writer.createTopic('t');
    writer.append('t', { value: 'first' });
    await writer.flush();
    const lines: string[] = [];
    let ready!: () => void;
    const started = new Promise<void>((r) => (ready = r));
    let finished!: () => void;
    const allSeen = new Promise<void>((r) => (finished = r));
    const { child, exited } = startChild(
      `
      import { LogStore } from ${JSON.stringify(LIB)};
      const store = LogStore.open(${JSON.stringify(dir)}, { readOnly: true });
      const reader = store.reader('t');
      console.log('ready');
      for await (const rec of reader) {
        console.log(rec.offset + ' ' + rec.value.toString());
        if (rec.offset === 300) break;
      }
      await store.close();
    `,
      {
        onLine: (l) => {
          if (l === 'ready') return ready();
          lines.push(l);
          if (l.startsWith('300 ')) finished();
        },
      },
    );
    await started;
    for (let i = 1; i <= 300; i++) {
      writer.append('t', { value: `v${i}`.padEnd(60, '.') });
      if (i % 50 === 0) await new Promise((r) => setTimeout(r, 10));
    }
    expect(writer.describeTopic('t').partitions[0]!.segments).to.be.greaterThan(3);
    await Promise.race([allSeen, new Promise((r) => setTimeout(r, 10000))]);
    child.kill();
    const { stderr } = await exited;
    expect(stderr).to.equal('');
    expect(lines).to.deep.equal([
      '0 first',
      ...Array.from({ length: 300 }, (_, k) => `${k + 1} ${`v${k + 1}`.padEnd(60, '.')}`),
    ]);
    await writer.close();
  });
});

describe('Reader in a read-only follower', () => {
  after(removeTempDirs);

  it('should see segments the writer deleted by retention, and keep reading', async function () {
    this.timeout(30000);
    const dir = tempDir();
    const writer = LogStore.open(dir, { segmentBytes: 4096, cleanupIntervalMs: 0 });
    writer.createTopic('t', { retentionBytes: 8192 });
    for (let i = 0; i < 20; i++) writer.append('t', { value: `v${i}`.padEnd(200, '.') });
    await writer.flush();
    const lines: string[] = [];
    let next!: (line: string) => void;
    const { child, exited } = startChild(
      `
      import { LogStore } from ${JSON.stringify(LIB)};
      import readline from 'node:readline';
      const store = LogStore.open(${JSON.stringify(dir)}, { readOnly: true });
      const reader = store.reader('t');
      console.log('first ' + reader.read(1)[0].offset);
      for await (const line of readline.createInterface({ input: process.stdin })) {
        const d = store.describeTopic('t').partitions[0];
        let code = 'none';
        try { reader.read(1000); } catch (e) { code = e.code; }
        const fresh = store.reader('t').read(1)[0];
        console.log(['start', d.startOffset, 'end', d.endOffset, 'old-reader', code, 'earliest', fresh.offset, fresh.value.toString().slice(0, 4)].join(' '));
        if (line === 'quit') break;
      }
      await store.close();
    `,
      { onLine: (l) => (lines.push(l), next?.(l)) },
    );
    const line = () => new Promise<string>((r) => (next = r));
    const ready = line();
    expect(await ready).to.equal('first 0');
    // The writer moves on: retention deletes the segments the follower's reader was in.
    for (let i = 20; i < 200; i++) writer.append('t', { value: `v${i}`.padEnd(200, '.') });
    const start = writer.describeTopic('t').partitions[0]!.startOffset;
    expect(start).to.be.greaterThan(100);
    const answer = line();
    child.stdin!.end('quit\n');
    expect(await answer).to.equal(
      `start ${start} end 200 old-reader LOGSTORE_OFFSET_OUT_OF_RANGE earliest ${start} v${start}`,
    );
    const { code, stderr } = await exited;
    expect(stderr).to.equal('');
    expect(code).to.equal(0);
    await writer.close();
  });
});
