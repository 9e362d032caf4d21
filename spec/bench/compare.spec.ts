import { expect } from 'chai';
import { COMPARE_LEGEND, compareNotes, compareSummaries, renderComparison } from '../../bench/compare.js';
import type { ResultsJson } from '../../bench/results-json.js';
import { MACHINE, subject, summaries } from './fixtures.js';

/** An earlier run and a later one of the same cases. */
function runs() {
  const before = summaries(
    subject('single-append', 'rec/s', 'logstore', [90, 100, 110], [100, 100, 100]),
    subject('single-append', 'rec/s', 'sqlite', [100, 100, 100]),
    subject('single-append', 'rec/s', 'fs-framing', [100, 100, 100]),
    subject('live-latency', 'latency', 'logstore', [1, 1, 1], [60, 60, 60]),
  );
  const now = summaries(
    // Median 80, runs 70–85: the earlier 100 is above them all, so a regression.
    subject('single-append', 'rec/s', 'logstore', [70, 80, 85], [120, 130, 125]),
    // Median 130, runs 120–140: faster beyond the spread.
    subject('single-append', 'rec/s', 'sqlite', [120, 130, 140]),
    // Median 98, runs 95–105: the earlier 100 is inside them.
    subject('single-append', 'rec/s', 'fs-framing', [95, 105, 98]),
    // p99 up from 1 ms to 1.6 ms: lower is better, so a regression.
    subject('live-latency', 'latency', 'logstore', [1.5, 1.6, 1.7], [60, 61, 59]),
  );
  return { before, now };
}

const json = (over: Partial<ResultsJson>): ResultsJson => ({
  machine: MACHINE,
  quick: false,
  runs: 3,
  wallSeconds: 60,
  results: [],
  targets: [],
  ...over,
});

describe('bench --compare', () => {
  it('should give each median and peak RSS as now/before and a percentage, judged against this run’s spread', () => {
    const { before, now } = runs();
    const changes = compareSummaries(before, now);
    expect(
      changes.map((c) => [
        c.case,
        c.subject,
        c.figure,
        c.before,
        c.now,
        c.ratio,
        c.percent,
        c.spread,
        c.verdict,
      ]),
    ).to.deep.equal([
      ['single-append', 'logstore', 'median', 100, 80, 0.8, (0.8 - 1) * 100, [70, 85], 'regressed'],
      ['single-append', 'logstore', 'peak RSS', 100, 130, 1.3, (1.3 - 1) * 100, [120, 130], 'regressed'],
      ['single-append', 'sqlite', 'median', 100, 130, 1.3, (1.3 - 1) * 100, [120, 140], 'improved'],
      ['single-append', 'sqlite', 'peak RSS', 100, 100, 1, 0, [100, 100], 'within spread'],
      ['single-append', 'fs-framing', 'median', 100, 98, 0.98, (0.98 - 1) * 100, [95, 105], 'within spread'],
      ['single-append', 'fs-framing', 'peak RSS', 100, 100, 1, 0, [100, 100], 'within spread'],
      ['live-latency', 'logstore', 'median', 1, 1.6, 1.6, (1.6 - 1) * 100, [1.5, 1.7], 'regressed'],
      [
        'live-latency',
        'logstore',
        'peak RSS',
        60,
        61,
        61 / 60,
        (61 / 60 - 1) * 100,
        [59, 61],
        'within spread',
      ],
    ]);
  });

  it('should call a faster latency an improvement and a slower throughput inside the spread no change', () => {
    const before = summaries(
      subject('open-time', 'ms', 'logstore', [20, 20, 20]),
      subject('batched-append', 'rec/s', 'logstore', [100, 100, 100]),
    );
    const now = summaries(
      subject('open-time', 'ms', 'logstore', [9, 10, 11]),
      subject('batched-append', 'rec/s', 'logstore', [60, 90, 120]),
    );
    const medians = compareSummaries(before, now).filter((c) => c.figure === 'median');
    expect(medians.map((c) => [c.case, c.ratio, c.verdict])).to.deep.equal([
      ['open-time', 0.5, 'improved'],
      ['batched-append', 0.9, 'within spread'],
    ]);
  });

  it('should print markers that read without colour when piped', () => {
    const { before, now } = runs();
    const text = renderComparison(compareSummaries(before, now), []);
    expect(text.split('\n')).to.deep.equal([
      'case           subject     figure          before           now  now/before  change  verdict',
      '-------------  ----------  --------  ------------  ------------  ----------  ------  ---------',
      'single-append  logstore    median       100 rec/s      80 rec/s       0.80×  −20.0%  REGRESSED',
      'single-append  logstore    peak RSS       100 MiB       130 MiB       1.30×  +30.0%  REGRESSED',
      'single-append  sqlite      median       100 rec/s     130 rec/s       1.30×  +30.0%  improved',
      'single-append  sqlite      peak RSS       100 MiB       100 MiB       1.00×   +0.0%  ~',
      'single-append  fs-framing  median       100 rec/s      98 rec/s       0.98×   −2.0%  ~',
      'single-append  fs-framing  peak RSS       100 MiB       100 MiB       1.00×   +0.0%  ~',
      'live-latency   logstore    median    p99 1.000 ms  p99 1.600 ms       1.60×  +60.0%  REGRESSED',
      'live-latency   logstore    peak RSS        60 MiB        61 MiB       1.02×   +1.7%  ~',
      '',
      COMPARE_LEGEND,
    ]);
  });

  it('should colour regressed rows red and improved rows green on a terminal, and nothing else', () => {
    const { before, now } = runs();
    const paint = { red: (s: string) => `<red>${s}</red>`, green: (s: string) => `<green>${s}</green>` };
    const lines = renderComparison(compareSummaries(before, now), [], paint).split('\n');
    const colour = (line: string) => /^<(red|green)>/.exec(line)?.[1] ?? 'none';
    expect(lines.slice(0, 10).map(colour)).to.deep.equal([
      'none',
      'none',
      'red',
      'red',
      'green',
      'none',
      'none',
      'none',
      'red',
      'none',
    ]);
    expect(lines[2]).to.equal(
      '<red>single-append  logstore    median       100 rec/s      80 rec/s       0.80×  −20.0%  REGRESSED</red>',
    );
  });

  it('should not mark a change under 2% even where the runs agree more closely than that', () => {
    const before = summaries(
      subject('single-append', 'rec/s', 'logstore', [100, 100, 100], [100, 100, 100]),
      subject('single-append', 'rec/s', 'lmdb', [100, 100, 100], [100, 100, 100]),
    );
    const now = summaries(
      subject('single-append', 'rec/s', 'logstore', [101.5, 101.5, 101.5], [101, 101, 101]),
      subject('single-append', 'rec/s', 'lmdb', [98, 98, 98], [100, 100, 100]),
    );
    expect(compareSummaries(before, now).map((c) => [c.subject, c.figure, c.verdict])).to.deep.equal([
      ['logstore', 'median', 'within spread'],
      ['logstore', 'peak RSS', 'within spread'],
      ['lmdb', 'median', 'regressed'],
      ['lmdb', 'peak RSS', 'within spread'],
    ]);
  });

  it('should say when the runs differ in mode, Node, machine, sizes or cases', () => {
    const before = summaries(
      subject('single-append', 'rec/s', 'logstore', [100], [100], { records: 100_000 }),
      subject('group-commit', 'rec/s', 'logstore', [100]),
    );
    const now = summaries(
      subject('single-append', 'rec/s', 'logstore', [100], [100], { records: 1_000_000 }),
      subject('single-append', 'rec/s', 'lmdb', [50]),
    );
    const changes = compareSummaries(before, now);
    expect(changes.map((c) => c.sizesDiffer)).to.deep.equal([true, true]);
    const notes = compareNotes(
      json({ quick: true, results: before, machine: { ...MACHINE, node: 'v20.20.2', cores: 4 } }),
      json({ results: now }),
      changes,
    );
    expect(notes).to.deep.equal([
      'the earlier run was --quick, this one full',
      'Node v20.20.2 then, v22.11.0 now',
      'machine: Test CPU Model 3000, 4 cores then; Test CPU Model 3000, 2 cores now',
      'other sizes than before: single-append',
      'not in the earlier run: single-append · lmdb',
      'not in this run: group-commit · logstore',
    ]);
    expect(renderComparison(changes, notes).split('\n')[0]).to.equal(
      'note: the earlier run was --quick, this one full',
    );
    expect(renderComparison(changes, notes).split('\n')[8]).to.match(/ {2}~ \(other sizes\)$/);
  });
});
