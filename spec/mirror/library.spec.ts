/**
 * `store.mirror()` as a library: options checked at the call, events through `for await`,
 * `on()` and `done`, following live appends until the signal aborts, stopping with the store,
 * and a cluster that cannot be reached.
 */
import { expect } from 'chai';
import { LogStore, type MirrorEvent, type MirrorProgressEvent } from '../../lib/index.js';
import { expectCode, expectCodeAsync, removeTempDirs, tempDir } from '../helpers/temp.js';
import { appendRange, byPartition, closedPort, followTo, fromKcat, storeRecords } from './helpers.js';
import { kcatRead, useMockCluster } from './mock-cluster.js';

describe('LogStore#mirror()', function () {
  this.timeout(60_000);
  after(removeTempDirs);

  describe('options', () => {
    let store: LogStore;
    before(() => {
      store = LogStore.open(tempDir());
      store.createTopic('t', { partitions: 1 });
    });
    after(() => store.close());

    it('should refuse wrong options at the call with LOGSTORE_INVALID_ARGUMENT', () => {
      const cases: [unknown, RegExp][] = [
        [{}, /exactly one of `to`/],
        [{ to: '127.0.0.1:9092', from: '127.0.0.1:9092' }, /exactly one of `to`/],
        [{ to: 'nohost' }, /host:port/],
        [{ to: ['a:1', 'b:99999'] }, /host:port/],
        [{ to: 'a:1', topic: ['t'] }, /did you mean `topics`/],
        [{ to: 'a:1', topics: [] }, /topics/],
        [{ to: 'a:1', group: 'g' }, /`group` is for mirrors `from`/],
        [{ to: 'a:1', follow: 'yes' }, /follow/],
        [{ to: 'a:1', signal: {} }, /AbortSignal/],
        [{ to: 'a:1', sasl: { mechanism: 'GSSAPI', username: 'u', password: 'p' } }, /sasl.mechanism/],
        [{ to: 'a:1', retryTimeoutMs: -1 }, /retryTimeoutMs/],
      ];
      for (const [options, message] of cases) {
        const err = expectCode(() => store.mirror(options as never), 'LOGSTORE_INVALID_ARGUMENT');
        expect(err.message, JSON.stringify(options)).to.match(message);
      }
    });

    it('should refuse a closed store (LOGSTORE_CLOSED)', async () => {
      const closed = LogStore.open(tempDir());
      await closed.close();
      expectCode(() => closed.mirror({ to: '127.0.0.1:1' }), 'LOGSTORE_CLOSED');
    });
  });

  describe('against librdkafka mock cluster', () => {
    const mock = useMockCluster(3);

    it('should name a topic the store lacks (LOGSTORE_TOPIC_NOT_FOUND)', async () => {
      const store = LogStore.open(tempDir());
      store.createTopic('t', { partitions: 4 });
      const err = await expectCodeAsync(
        () => store.mirror({ to: mock.bootstrap, topics: ['t', 'nope'] }).done,
        'LOGSTORE_TOPIC_NOT_FOUND',
      );
      expect(err.message).to.include("'nope'");
      await store.close();
    });

    it('should report start, progress and done through for await, on() and done', async () => {
      const dir = tempDir();
      const store = LogStore.open(dir);
      store.createTopic('events', { partitions: 4 });
      appendRange(store, 'events', 0, 2000);
      const mirror = store.mirror({ to: mock.bootstrap, progressIntervalMs: 10 });
      const heard: string[] = [];
      mirror.on('done', (e: MirrorProgressEvent) => heard.push(`done ${e.records}`));
      const events: MirrorEvent[] = [];
      for await (const e of mirror) events.push(e);
      const done = await mirror.done;
      await store.close();
      expect(events[0]!.type).to.equal('start');
      const start = events[0] as Extract<MirrorEvent, { type: 'start' }>;
      expect(start.topics).to.deep.equal([{ topic: 'events', partitions: 4, created: true }]);
      expect(start.partitions.map((p) => p.position)).to.deep.equal([0, 0, 0, 0]);
      expect(start.partitions.reduce((s, p) => s + p.lag, 0)).to.equal(2000);
      expect(events[events.length - 1]).to.equal(done);
      expect(done).to.include({ type: 'done', direction: 'to', records: 2000, lag: 0 });
      expect(done.cluster).to.match(/^mockCluster/);
      expect(done.partitions.map((p) => p.position)).to.deep.equal(done.partitions.map((p) => p.end));
      expect(heard).to.deep.equal(['done 2000']);
    });

    it('should follow appends until its signal aborts, then end with everything copied', async () => {
      const dir = tempDir();
      const store = LogStore.open(dir);
      store.createTopic('live', { partitions: 4 });
      appendRange(store, 'live', 0, 100);
      const { mirror, stop } = followTo(store, mock.bootstrap);
      let appended = 100;
      const timer = setInterval(() => {
        if (appended < 1000) {
          appendRange(store, 'live', appended, appended + 50, 10);
          appended += 50;
        }
      }, 5);
      for await (const e of mirror) {
        if (e.type === 'progress' && appended >= 1000 && e.records === 1000 && e.lag === 0) stop();
      }
      clearInterval(timer);
      const done = await mirror.done;
      expect(done.records).to.equal(1000);
      await store.close();
      expect(byPartition((await kcatRead(mock.bootstrap, 'live')).map(fromKcat))).to.deep.equal(
        storeRecords(dir, 'live'),
      );
    });

    it('should stop a following mirror when the store closes, with its position saved', async () => {
      const dir = tempDir();
      let store = LogStore.open(dir);
      store.createTopic('t', { partitions: 4 });
      appendRange(store, 't', 0, 300);
      const mirror = store.mirror({ to: mock.bootstrap, follow: true, progressIntervalMs: 10 });
      await new Promise<void>((resolve) =>
        mirror.on('progress', (e: MirrorProgressEvent) => e.lag === 0 && resolve()),
      );
      await store.close();
      expect((await mirror.done).records).to.equal(300);
      store = LogStore.open(dir);
      appendRange(store, 't', 300, 400);
      expect((await store.mirror({ to: mock.bootstrap }).done).records).to.equal(100);
      await store.close();
      expect(byPartition((await kcatRead(mock.bootstrap, 't')).map(fromKcat))).to.deep.equal(
        storeRecords(dir, 't'),
      );
    });
  });

  it('should fail with LOGSTORE_IO after retryTimeoutMs when no broker answers, reporting its retries', async () => {
    const store = LogStore.open(tempDir());
    store.createTopic('t', { partitions: 1 });
    const port = await closedPort();
    const mirror = store.mirror({ to: `127.0.0.1:${port}`, retryTimeoutMs: 400 });
    const retries: string[] = [];
    mirror.on('retry', (e: { reason: string }) => retries.push(e.reason));
    const started = Date.now();
    const err = await expectCodeAsync(() => mirror.done, 'LOGSTORE_IO');
    expect(Date.now() - started).to.be.below(10_000);
    expect(err.message).to.match(new RegExp(`kept failing .*127\\.0\\.0\\.1:${port}.*ECONNREFUSED`));
    expect(err.message).to.include('run it again to resume');
    expect(retries.length).to.be.greaterThan(0);
    expect(retries[0]).to.include('ECONNREFUSED');
    // An iterator started after the end gets the events kept for it, then the error.
    const seen: string[] = [];
    const failure = await (async () => {
      try {
        for await (const e of mirror) seen.push(e.type);
      } catch (e) {
        return e as { code: string };
      }
    })();
    expect(failure?.code).to.equal('LOGSTORE_IO');
    expect(seen.every((t) => t === 'retry')).to.equal(true);
    await store.close();
  });
});
