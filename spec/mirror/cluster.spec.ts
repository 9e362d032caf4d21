/**
 * What a healthy cluster does to a running mirror, on librdkafka's mock cluster (3 brokers)
 * driven through its C API: partition leaders move (NOT_LEADER_OR_FOLLOWER: metadata refresh,
 * retry at the new leader), a broker goes down and comes back (backoff, reconnect), and a refusal
 * that retrying does not fix. Every record ends up on the other side exactly once.
 */
import { expect } from 'chai';
import { LogStore, type Mirror } from '../../lib/index.js';
import { expectCodeAsync, tempDir } from '../helpers/temp.js';
import { appendRange, byPartition, followTo, fromKcat, storeRecords } from './helpers.js';
import { useControlledMock, type ControlledMock } from './mock-control.js';
import { kcatProduce, kcatRead } from './mock-cluster.js';

/** Counts what a mirror reports: records copied, retry reasons, its failure. */
function watch(mirror: Mirror): { records: number; lag: number; retries: string[]; failure: unknown } {
  const seen = { records: 0, lag: -1, retries: [] as string[], failure: undefined as unknown };
  mirror.on('progress', (e) => {
    seen.records = e.records;
    seen.lag = e.lag;
  });
  mirror.on('retry', (e) => seen.retries.push(e.reason));
  mirror.done.catch((err: unknown) => (seen.failure = err));
  return seen;
}

async function until(
  seen: { failure: unknown },
  condition: () => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (seen.failure) throw seen.failure as Error;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * `topic` with 4 partitions on the mock (led by `leader` when given) and in a new store, and a
 * mirror following the store to the mock.
 */
async function followingTo(mock: ControlledMock, topic: string, leader?: number) {
  await mock.command(`topic ${topic} 4`);
  if (leader !== undefined) for (let p = 0; p < 4; p++) await mock.command(`leader ${topic} ${p} ${leader}`);
  const dir = tempDir();
  const store = LogStore.open(dir);
  store.createTopic(topic, { partitions: 4 });
  const { mirror, stop } = followTo(store, mock.bootstrap);
  return { dir, store, mirror, seen: watch(mirror), stop };
}

/** Every record of `topic` on the mock, as kcat reads it, equals the store's (closed) `topic`. */
async function expectSameRecords(
  mock: ControlledMock,
  dir: string,
  topic: string,
  count: number,
): Promise<void> {
  const copied = byPartition((await kcatRead(mock.bootstrap, topic)).map(fromKcat));
  expect(copied).to.have.length(count);
  expect(copied).to.deep.equal(storeRecords(dir, topic));
}

describe('mirror and a changing cluster (librdkafka mock cluster through its C API, 3 brokers)', function () {
  this.timeout(120_000);
  const cluster = useControlledMock(3);

  it('should follow partition leaders that move (--to), each record on the cluster once', async () => {
    const { mock } = cluster;
    const { dir, store, mirror, seen, stop } = await followingTo(mock, 'moving');
    for (let round = 0; round < 4; round++) {
      appendRange(store, 'moving', round * 1000, (round + 1) * 1000, 50);
      await until(seen, () => seen.records === (round + 1) * 1000 && seen.lag === 0, `round ${round}`);
      // Every partition's leader moves to another broker between rounds 1, 2 and 3.
      for (let p = 0; p < 4; p++) await mock.command(`leader moving ${p} ${((round + p) % 3) + 1}`);
    }
    stop();
    expect((await mirror.done).records).to.equal(4000);
    await store.close();
    expect(seen.retries.filter((r) => r.endsWith('NOT_LEADER_OR_FOLLOWER')).length).to.be.at.least(4);
    await expectSameRecords(mock, dir, 'moving', 4000);
  });

  it('should follow partition leaders that move (--from), each record in the store once', async () => {
    const { mock } = cluster;
    await mock.command('topic source 4');
    const dir = tempDir();
    const store = LogStore.open(dir);
    const controller = new AbortController();
    const mirror = store.mirror({
      from: mock.bootstrap,
      topics: ['source'],
      follow: true,
      signal: controller.signal,
      progressIntervalMs: 20,
    });
    const seen = watch(mirror);
    for (let round = 0; round < 4; round++) {
      for (let p = 0; p < 4; p++) {
        const lines = Array.from({ length: 100 }, (_, i) => `k${i % 9}\tround ${round} partition ${p} #${i}`);
        await kcatProduce(mock.bootstrap, 'source', p, lines);
      }
      await until(seen, () => seen.records === (round + 1) * 400, `round ${round}`);
      for (let p = 0; p < 4; p++) await mock.command(`leader source ${p} ${((round + p) % 3) + 1}`);
    }
    controller.abort();
    expect((await mirror.done).records).to.equal(1600);
    await store.close();
    expect(seen.retries.filter((r) => r.endsWith('NOT_LEADER_OR_FOLLOWER')).length).to.be.at.least(4);
    const pulled = storeRecords(dir, 'source');
    expect(pulled).to.have.length(1600);
    expect(pulled).to.deep.equal(byPartition((await kcatRead(mock.bootstrap, 'source')).map(fromKcat)));
  });

  it('should wait out a leader that goes down and comes back (--to), with retries and no duplicate', async () => {
    const { mock } = cluster;
    const { dir, store, mirror, seen, stop } = await followingTo(mock, 'orders', 1);
    appendRange(store, 'orders', 0, 1000);
    await until(seen, () => seen.records === 1000 && seen.lag === 0, 'the first copy');
    await mock.command('down 1');
    appendRange(store, 'orders', 1000, 2000);
    await until(seen, () => seen.retries.length >= 3, 'retries while the leader is down');
    expect(seen.records, 'nothing acknowledged while the leader is down').to.equal(1000);
    await mock.command('up 1');
    await until(seen, () => seen.records === 2000 && seen.lag === 0, 'the copy after the leader is back');
    stop();
    await mirror.done;
    await store.close();
    await expectSameRecords(mock, dir, 'orders', 2000);
  });

  it('should fail at once on a refusal retrying does not fix (LOGSTORE_REMOTE, kind), and resume exactly when run again', async () => {
    const { mock } = cluster;
    await mock.command('topic orders 4');
    const dir = tempDir();
    const store = LogStore.open(dir);
    store.createTopic('orders', { partitions: 4 });
    appendRange(store, 'orders', 0, 2000);
    await mock.command('errors 0 29 1'); // the next Produce: TOPIC_AUTHORIZATION_FAILED
    const started = Date.now();
    const err = await expectCodeAsync(() => store.mirror({ to: mock.bootstrap }).done, 'LOGSTORE_REMOTE');
    expect(Date.now() - started, 'no retries').to.be.below(10_000);
    expect((err as unknown as { details: { kind: string } }).details.kind).to.equal(
      'TOPIC_AUTHORIZATION_FAILED',
    );
    await store.mirror({ to: mock.bootstrap }).done;
    await store.close();
    await expectSameRecords(mock, dir, 'orders', 2000);
  });
});
