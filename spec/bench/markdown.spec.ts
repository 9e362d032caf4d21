import { expect } from 'chai';
import { renderMarkdown, type MarkdownReport } from '../../bench/markdown.js';
import { MACHINE } from './fixtures.js';

const report = (over: Partial<MarkdownReport>): MarkdownReport => ({
  cells: [
    ['case', 'subject', 'median', 'note'],
    ['batched-append', 'logstore', '9.00M rec/s', ''],
  ],
  targets: [['target', 'case', 'met']],
  machine: MACHINE,
  quick: false,
  runs: 5,
  wallSeconds: 754,
  cases: [{ name: 'batched-append', measures: 'append in batches' }],
  charts: [{ case: 'batched-append', path: 'charts/batched-append.svg' }],
  ...over,
});

describe('bench RESULTS.md (renderMarkdown)', () => {
  it('should embed each chart by a relative link and say how long the run took and under what load', () => {
    const lines = renderMarkdown(report({ loadAverageAfter: 1.2 })).split('\n');
    expect(lines).to.include('![batched-append](charts/batched-append.svg)');
    expect(lines).to.include(
      '- Date: 2026-11-24T18:10:56.804Z; load average 0.42 when it began, 1.2 when it ended; took 12 min 34 s',
    );
    expect(lines.filter((l) => l.includes('A loaded machine'))).to.deep.equal([]);
    expect(lines.indexOf('## Charts')).to.be.below(lines.indexOf('## All figures'));
  });

  it('should link the side-by-side of the Node majors when there is one, and only then', () => {
    const link =
      '- The same bench on each supported Node major, side by side: [RESULTS-by-node.md](RESULTS-by-node.md)';
    expect(renderMarkdown(report({ byNode: 'RESULTS-by-node.md' })).split('\n')).to.include(link);
    expect(
      renderMarkdown(report({}))
        .split('\n')
        .filter((l) => l.includes('side by side')),
    ).to.deep.equal([]);
  });

  it('should warn when the load average reached the core count', () => {
    const lines = renderMarkdown(report({ loadAverageAfter: 2 })).split('\n');
    expect(lines.filter((l) => l.startsWith('- **A loaded machine:**')).length).to.equal(1);
    expect(renderMarkdown(report({ charts: [] })).split('\n')).to.not.include('## Charts');
  });
});
