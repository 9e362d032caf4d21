import { expect } from 'chai';
import type { BenchCase, Goal } from '../../bench/case.js';
import batchedAppend from '../../bench/cases/batched-append.js';
import groupCommit from '../../bench/cases/group-commit.js';
import { targetRows } from '../../bench/targets.js';
import { subject, summaries } from './fixtures.js';

const MOCK = 'librdkafka-mock';

/** A case with `goal` and the two subjects the Kafka cases have (their functions never run here). */
function kafkaCase(goal: Goal): BenchCase {
  const never = () => Promise.reject(new Error('not run in specs'));
  return {
    name: 'kafka-produce',
    measures: 'kcat -P',
    target: '>= 800k msg/s and >= 1x the mock broker',
    goal,
    unit: 'rec/s',
    sizes: { quick: {}, full: {} },
    subjects: { logstore: never, [MOCK]: never },
  };
}

const PRODUCE_GOAL: Goal = { of: 'median', atLeast: 800_000, vsPeers: { [MOCK]: 1 } };

function verdict(goal: Goal, ours: number[], mock: number[] | undefined): boolean | undefined {
  const runs = [subject('kafka-produce', 'rec/s', 'logstore', ours)];
  if (mock) runs.push(subject('kafka-produce', 'rec/s', MOCK, mock));
  const rows = targetRows([kafkaCase(goal)], summaries(...runs), false);
  expect(rows.length).to.equal(1);
  return rows[0]!.met;
}

describe('bench targets (targetRows)', () => {
  it('should not meet "at least N x a peer" when the absolute part holds and the ratio does not', () => {
    // The quiet-machine figures of kafka-produce: 962k msg/s against the mock's 1.31M (0.73x).
    expect(verdict(PRODUCE_GOAL, [950e3, 962e3, 980e3], [1.3e6, 1.31e6, 1.32e6])).to.equal(false);
  });

  it('should meet it when both parts hold, judged on the medians of the same run', () => {
    // Medians 1.32M against 1.31M; logstore's worst run is below the mock's best, which does not count.
    expect(verdict(PRODUCE_GOAL, [1.2e6, 1.32e6, 1.4e6], [1.3e6, 1.31e6, 1.35e6])).to.equal(true);
  });

  it('should not meet it when the ratio holds and the absolute part does not', () => {
    expect(verdict(PRODUCE_GOAL, [700e3, 720e3, 750e3], [600e3, 610e3, 620e3])).to.equal(false);
  });

  it('should take the factor as given (at least 2x) and judge a goal with no absolute part', () => {
    const twice: Goal = { of: 'median', vsPeers: { [MOCK]: 2 } };
    expect(verdict(twice, [300e3, 310e3, 320e3], [150e3, 155e3, 160e3])).to.equal(true);
    expect(verdict(twice, [300e3, 309e3, 320e3], [150e3, 155e3, 160e3])).to.equal(false);
  });

  it('should not meet it when the peer has no figure in that run', () => {
    expect(verdict(PRODUCE_GOAL, [1.5e6, 1.5e6, 1.5e6], undefined)).to.equal(false);
    const failedPeer = summaries(subject('kafka-produce', 'rec/s', 'logstore', [1.5e6]), {
      ...subject('kafka-produce', 'rec/s', MOCK, [1e6]),
      error: 'the mock broker exited',
    });
    expect(targetRows([kafkaCase(PRODUCE_GOAL)], failedPeer, false)[0]!.met).to.equal(false);
  });

  it('should keep judging an absolute goal alone as before', () => {
    const absolute: Goal = { of: 'median', atLeast: 800_000 };
    expect(verdict(absolute, [962e3], [1.31e6])).to.equal(true);
    expect(verdict(absolute, [799e3], [1.31e6])).to.equal(false);
  });
});

describe('bench targets judged against the fs-framing ceiling of the same run', () => {
  /** The met column of `benchCase`'s row, from logstore's and the ceiling's runs. */
  function metVsCeiling(benchCase: BenchCase, ours: number[], ceiling: number[]): boolean | undefined {
    const runs = summaries(
      subject(benchCase.name, 'rec/s', 'logstore', ours),
      subject(benchCase.name, 'rec/s', 'fs-framing', ceiling),
    );
    const rows = targetRows([benchCase], runs, false);
    expect(rows.length).to.equal(1);
    return rows[0]!.met;
  }

  it("should judge group commit by its ratio to the disk's limit, whatever the disk's sync rate", () => {
    // This VM's disk: ~1.4k syncs/s, so the limit is ~143k rec/s; 300k is the figure on a 4.5k-sync/s disk.
    expect(metVsCeiling(groupCommit, [115.9e3, 116e3, 117e3], [143e3, 143e3, 144e3])).to.equal(true);
    expect(metVsCeiling(groupCommit, [95.9e3, 96e3, 97e3], [133e3, 133e3, 134e3])).to.equal(false); // 0.72x
    expect(metVsCeiling(groupCommit, [340e3, 340e3, 340e3], [460e3, 460e3, 460e3])).to.equal(false); // 0.74x
  });

  it('should require batched append to reach both 5M rec/s and 0.75x the ceiling', () => {
    expect(metVsCeiling(batchedAppend, [6.06e6, 6.1e6, 6.2e6], [10.77e6, 10.8e6, 10.9e6])).to.equal(false); // 0.56x
    expect(metVsCeiling(batchedAppend, [8.1e6, 8.1e6, 8.2e6], [10.77e6, 10.8e6, 10.9e6])).to.equal(true);
    expect(metVsCeiling(batchedAppend, [4.9e6, 4.9e6, 4.9e6], [6e6, 6e6, 6e6])).to.equal(false); // 0.82x, under 5M
  });
});
