import { expect } from 'chai';
import { LogStore } from '../../lib/index.js';
import { watchStore, type StoreChange } from '../../lib/read/store-watch.js';
import { PartitionLog } from '../../lib/storage/partition-log.js';
import { LIB, runChild, startChild } from '../helpers/child.js';
import { expectCode, expectCodeAsync, removeTempDirs, tempDir } from '../helpers/temp.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A program whose only pending work is a live loop: the append that ends it comes from a timer
 * that does not hold the process open (unref), so only the iterator can keep Node running.
 */
const LIVE_LOOP = (iterate: string) => `
import { LogStore } from ${JSON.stringify(LIB)};
const store = LogStore.open(process.env.DIR);
store.createTopic('t');
store.append('t', { value: 'first' });
setTimeout(() => store.append('t', { value: 'later' }), 300).unref();
const source = ${iterate};
for await (const rec of source) {
  console.log(rec.value.toString());
  if (rec.value.toString() === 'later') break;
}
console.log('after the loop');
await store.close();
`;

describe('Live iteration', () => {
  after(removeTempDirs);

  it('should keep the process alive while a consumer loop waits, until the loop ends', async () => {
    const r = await runChild(LIVE_LOOP("store.consumer('t', { group: 'g' })"), { DIR: tempDir() });
    expect({ code: r.code, stdout: r.stdout }, r.stderr).to.deep.equal({
      code: 0,
      stdout: 'first\nlater\nafter the loop',
    });
  });

  it('should keep the process alive while a reader loop waits, until the loop ends', async () => {
    const r = await runChild(LIVE_LOOP("store.reader('t')"), { DIR: tempDir() });
    expect({ code: r.code, stdout: r.stdout }, r.stderr).to.deep.equal({
      code: 0,
      stdout: 'first\nlater\nafter the loop',
    });
  });

  it('should keep a read-only follower process alive while it waits for another process to append', async () => {
    const dir = tempDir();
    const writer = LogStore.open(dir);
    writer.createTopic('t');
    writer.append('t', { value: 'first' });
    const lines: string[] = [];
    const { exited } = startChild(
      `
      import { LogStore } from ${JSON.stringify(LIB)};
      const store = LogStore.open(process.env.DIR, { readOnly: true });
      console.log('ready');
      for await (const rec of store.reader('t')) {
        console.log(rec.value.toString());
        if (rec.value.toString() === 'later') break;
      }
      await store.close();
      `,
      { env: { DIR: dir }, onLine: (line) => lines.push(line) },
    );
    while (!lines.includes('first')) await sleep(20);
    await sleep(200);
    writer.append('t', { value: 'later' });
    const r = await exited;
    expect({ code: r.code, lines }, r.stderr).to.deep.equal({ code: 0, lines: ['ready', 'first', 'later'] });
    await writer.close();
  });

  it('should answer committed() and lag() after its for await loop ended (and closed it)', async () => {
    const store = LogStore.open(tempDir());
    store.createTopic('t', { partitions: 2 });
    for (let i = 0; i < 3; i++) store.append('t', { value: `v${i}` }, { partition: 0 });
    store.append('t', { value: 'p1' }, { partition: 1 });
    const consumer = store.consumer('t', { group: 'g', autoCommit: false });
    for await (const rec of consumer) {
      if (rec.partition === 0 && rec.offset === 1) {
        consumer.commit(rec);
        break;
      }
    }
    expect(consumer.isClosed).to.equal(true);
    expect(consumer.committed()).to.deep.equal([
      { partition: 0, offset: 2 },
      { partition: 1, offset: null },
    ]);
    const lag = consumer.lag();
    expect(lag.map((l) => [l.partition, l.committed, l.endOffset])).to.deep.equal([
      [0, 2, 3],
      [1, null, 1],
    ]);
    expect(lag[0]!.position).to.equal(2); // where it stopped on partition 0
    expect(lag[0]!.lag).to.equal(1);
    // Reading again needs a new consumer; it starts at the committed offset.
    expectCode(() => consumer.read(), 'LOGSTORE_CLOSED');
    await expectCodeAsync(async () => {
      for await (const rec of consumer) void rec;
    }, 'LOGSTORE_CLOSED');
    const again = store.consumer('t', { group: 'g', autoCommit: false });
    expect(again.read().map((r) => `${r.partition}:${r.offset}`)).to.deep.equal(['0:2', '1:0']);
    await store.close();
    expectCode(() => consumer.lag(), 'LOGSTORE_CLOSED');
    expectCode(() => consumer.committed(), 'LOGSTORE_CLOSED');
  });

  describe('waitForRecords()', () => {
    it('should resolve at once when records are there, at the next append, and on abort or close', async () => {
      const store = LogStore.open(tempDir());
      store.createTopic('t');
      store.append('t', { value: 'a' });
      const reader = store.reader('t');
      const consumer = store.consumer('t', { group: 'g' });
      await reader.waitForRecords(); // 'a' is there
      await consumer.waitForRecords();
      expect(reader.read().length).to.equal(1);
      expect(consumer.read().length).to.equal(1);
      let woke = 0;
      const waits = [reader.waitForRecords(), consumer.waitForRecords()].map((p) => p.then(() => woke++));
      await sleep(20);
      expect(woke).to.equal(0);
      store.append('t', { value: 'b' });
      await Promise.all(waits);
      expect(reader.read().map((r) => r.value!.toString())).to.deep.equal(['b']);
      expect(consumer.read().map((r) => r.value!.toString())).to.deep.equal(['b']);
      const controller = new AbortController();
      const aborted = reader.waitForRecords(controller.signal);
      controller.abort();
      await aborted;
      const closing = [reader.waitForRecords(), consumer.waitForRecords()];
      await store.close();
      await Promise.all(closing);
      expectCode(() => reader.waitForRecords(), 'LOGSTORE_CLOSED');
    });
  });

  describe('a read-only follower', () => {
    it("should be woken by the writer's appends through the store directory's watch", async () => {
      const dir = tempDir();
      const writer = LogStore.open(dir);
      writer.createTopic('t');
      const changes: StoreChange[] = [];
      const unsubscribe = watchStore(dir).subscribe((change) => changes.push(change));
      try {
        await sleep(50);
        changes.length = 0;
        writer.append('t', { value: 'x' });
        for (let i = 0; i < 200 && !changes.includes('appended'); i++) await sleep(10);
        expect(changes).to.include('appended');
      } finally {
        unsubscribe();
        await writer.close();
      }
    });

    it('should see a roll the writer made while nobody waited, at the start of its next wait', async () => {
      const dir = tempDir();
      const writer = LogStore.open(dir, { durability: 'none' });
      writer.createTopic('t', { segmentBytes: 4096 });
      const follower = LogStore.open(dir, { readOnly: true });
      const reader = follower.reader('t');
      try {
        const first = reader.waitForRecords();
        writer.append('t', { value: 'x'.repeat(3000) });
        await first;
        expect(reader.read().map((r) => r.offset)).to.deep.equal([0]);
        // Nobody waits now: the roll's catalog event passes unheard (as while tail prints).
        writer.append('t', { value: 'y'.repeat(3000) }); // does not fit: a new segment
        expect(writer.describeTopic('t').partitions[0]!.segments).to.equal(2);
        await sleep(100);
        const started = performance.now();
        await reader.waitForRecords(); // not at the 5 s fallback poll
        expect(performance.now() - started).to.be.below(1000);
        expect(reader.read().map((r) => r.offset)).to.deep.equal([1]);
      } finally {
        reader.close();
        await follower.close();
        await writer.close();
      }
    });

    it('should not read the catalog while it waits on an idle writer', async () => {
      const dir = tempDir();
      const writer = LogStore.open(dir, { durability: 'none' });
      writer.createTopic('t');
      writer.append('t', { value: 'a' });
      const follower = LogStore.open(dir, { readOnly: true });
      const refresh = PartitionLog.prototype.refresh;
      let looks = 0;
      PartitionLog.prototype.refresh = function (this: PartitionLog) {
        looks++;
        return refresh.call(this);
      };
      const controller = new AbortController();
      const got: string[] = [];
      const loop = (async () => {
        for await (const rec of follower.reader('t', { signal: controller.signal }))
          got.push(rec.value!.toString());
      })();
      try {
        while (got.length < 1) await sleep(10);
        await sleep(100);
        looks = 0;
        await sleep(1000); // a 5 ms poll would have looked 200 times
        expect(looks).to.equal(0);
        writer.append('t', { value: 'b' });
        while (got.length < 2) await sleep(10);
        expect(got).to.deep.equal(['a', 'b']);
      } finally {
        PartitionLog.prototype.refresh = refresh;
        controller.abort();
        await loop;
        await follower.close();
        await writer.close();
      }
    });
  });
});
