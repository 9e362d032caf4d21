/**
 * What both mirror directions share about failures (lib/mirror/run.ts): a partition's backoff
 * doubles to its cap and starts again after a success; a failing partition is retried (a `retry`
 * event) until it has kept failing for `retryTimeoutMs`, then the run fails with LOGSTORE_IO.
 */
import { expect } from 'chai';
import { LogStoreError } from '../../lib/errors.js';
import { FIRST_BACKOFF_MS, KafkaCluster, MAX_BACKOFF_MS } from '../../lib/mirror/cluster.js';
import type { MirrorEvent, PartitionProgress } from '../../lib/mirror/events.js';
import type { LocalSide } from '../../lib/mirror/local.js';
import { normalizeMirrorOptions } from '../../lib/mirror/options.js';
import { MirrorPartition, MirrorRun, type TopicShape } from '../../lib/mirror/run.js';

/** A run with no loop of its own: only its failure accounting is used. */
class Probe extends MirrorRun<MirrorPartition> {
  protected topicsToCopy(): Promise<TopicShape[]> {
    return Promise.resolve([]);
  }
  protected ensureTopics(): Promise<Set<string>> {
    return Promise.resolve(new Set());
  }
  protected newPartition(topic: string, partition: number): MirrorPartition {
    return new MirrorPartition(topic, partition);
  }
  protected loadPositions(): Promise<void> {
    return Promise.resolve();
  }
  protected loop(): Promise<void> {
    return Promise.resolve();
  }
  protected progress(): PartitionProgress[] {
    return [];
  }
  failed(p: MirrorPartition, reason: string): boolean {
    return this.retryLater(p, 'Sending to', reason);
  }
  get error(): unknown {
    return this.failure;
  }
}

function probe(retryTimeoutMs: number): { run: Probe; events: MirrorEvent[] } {
  const options = normalizeMirrorOptions({ to: 'broker.example:9092', retryTimeoutMs });
  // Only what `unreachable()` and the run's names read: the bootstrap list and the cluster id.
  const cluster = Object.assign(Object.create(KafkaCluster.prototype) as KafkaCluster, {
    clusterId: 'cluster-a',
    options: { brokers: options.brokers },
  });
  const events: MirrorEvent[] = [];
  const run = new Probe({} as LocalSide, options, (e) => events.push(e), cluster);
  return { run, events };
}

describe('MirrorPartition', () => {
  it('should double its backoff up to the cap, and start again from the first after a success', () => {
    const p = new MirrorPartition('t', 3);
    expect(p.name).to.equal('t-3');
    const waits = Array.from({ length: 7 }, () => p.takeBackoff());
    expect(waits).to.deep.equal([100, 200, 400, 800, 1600, 2000, 2000]);
    expect([FIRST_BACKOFF_MS, MAX_BACKOFF_MS]).to.deep.equal([100, 2000]);
    p.failingSince = 12345;
    p.succeeded();
    expect([p.failingSince, p.backoffMs]).to.deep.equal([0, FIRST_BACKOFF_MS]);
  });
});

describe('MirrorRun#retryLater', () => {
  it('should report a retry with the partition, the reason and the backoff while within retryTimeoutMs', () => {
    const { run, events } = probe(60_000);
    const p = new MirrorPartition('orders', 1);
    p.takeBackoff();
    const before = Date.now();
    expect(run.failed(p, 'NOT_LEADER_OR_FOLLOWER')).to.equal(true);
    expect(run.failed(p, 'NOT_LEADER_OR_FOLLOWER')).to.equal(true);
    expect(p.failingSince).to.be.within(before, Date.now());
    expect(events).to.deep.equal([
      { type: 'retry', reason: 'orders-1: NOT_LEADER_OR_FOLLOWER', delayMs: 200 },
      { type: 'retry', reason: 'orders-1: NOT_LEADER_OR_FOLLOWER', delayMs: 200 },
    ]);
    expect(run.error).to.equal(null);
    expect(run.link).to.equal('to cluster-a');
  });

  it('should fail the run with LOGSTORE_IO, and report no retry, once the partition has failed for longer', () => {
    const { run, events } = probe(1000);
    const p = new MirrorPartition('orders', 0);
    p.failingSince = Date.now() - 1500;
    expect(run.failed(p, 'ECONNREFUSED')).to.equal(false);
    expect(events).to.deep.equal([]);
    const err = run.error as LogStoreError;
    expect(err).to.be.instanceOf(LogStoreError);
    expect(err.code).to.equal('LOGSTORE_IO');
    expect(err.details).to.deep.equal({ kind: 'unreachable' });
  });
});
