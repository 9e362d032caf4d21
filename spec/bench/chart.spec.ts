import { expect } from 'chai';
import { axis, caption, LAYOUT, renderChart, tickLabel } from '../../bench/chart.js';
import { findAll, parseXml, type XmlElement } from '../helpers/xml.js';
import { MACHINE, subject, summaries } from './fixtures.js';

const BATCHED = {
  name: 'batched-append',
  measures: 'append 100-byte values, 1000 per call',
  unit: 'rec/s' as const,
  target: '>= 5M rec/s',
  goal: { of: 'median' as const, atLeast: 5e6 },
};

/** The batched-append chart of three subjects, given ceiling first to check the drawing order. */
function batchedChart(): XmlElement {
  const rows = summaries(
    subject('batched-append', 'rec/s', 'fs-framing', [15e6, 16e6, 17e6]),
    subject('batched-append', 'rec/s', 'sqlite', [1.3e6, 1.4e6, 1.5e6]),
    subject('batched-append', 'rec/s', 'logstore', [8e6, 9e6, 9.5e6]),
  );
  return parseXml(renderChart({ bench: BATCHED, summaries: rows, machine: MACHINE, quick: false }));
}

const bars = (svg: XmlElement) => findAll(svg, (el) => el.name === 'rect' && el.attributes.class === 'bar');
const texts = (svg: XmlElement) => findAll(svg, (el) => el.name === 'text').map((el) => el.text);
const num = (el: XmlElement, attr: string) => Number(el.attributes[attr]);
/** Coordinates are written with two decimals. */
const at = (v: number) => Math.round(v * 100) / 100;

describe('bench chart (renderChart)', () => {
  it('should write a well-formed, self-contained SVG document', () => {
    const source = renderChart({
      bench: BATCHED,
      summaries: summaries(subject('batched-append', 'rec/s', 'logstore', [1e6])),
      machine: MACHINE,
      quick: false,
    });
    const svg = parseXml(source);
    expect(svg.name).to.equal('svg');
    expect(svg.attributes.xmlns).to.equal('http://www.w3.org/2000/svg');
    expect(svg.attributes.viewBox).to.equal(`0 0 ${svg.attributes.width} ${svg.attributes.height}`);
    const all = findAll(svg, () => true);
    expect(
      all.filter((el) => ['script', 'image', 'style', 'foreignObject', 'use'].includes(el.name)),
    ).to.deep.equal([]);
    const attrs = all.flatMap((el) => Object.entries(el.attributes));
    expect(
      attrs.filter(([k, v]) => k.includes('href') || v.includes('url(') || k.startsWith('on')),
    ).to.deep.equal([]);
  });

  it('should draw each bar at the length of its median, logstore first and the ceiling last', () => {
    // Largest figure 17M (fs-framing's max): steps of 5M, so the axis ends at 20M.
    const drawn = bars(batchedChart());
    expect(drawn.map((b) => b.attributes['data-subject'])).to.deep.equal([
      'logstore',
      'sqlite',
      'fs-framing',
    ]);
    const length = (v: number) => at((v / 20e6) * LAYOUT.plotWidth);
    expect(drawn.map((b) => num(b, 'width'))).to.deep.equal([length(9e6), length(1.4e6), length(16e6)]);
    expect(length(9e6)).to.equal(175.5);
    expect(drawn.map((b) => num(b, 'x'))).to.deep.equal([LAYOUT.plotLeft, LAYOUT.plotLeft, LAYOUT.plotLeft]);
    expect(num(drawn[0]!, 'width') / num(drawn[2]!, 'width')).to.equal(9 / 16);
    expect(drawn[0]!.children[0]!.text).to.equal(
      'logstore: median 9.00M rec/s, min 8.00M, max 9.50M over 3 runs',
    );
  });

  it('should draw the min–max of the runs across each bar', () => {
    const svg = batchedChart();
    const whiskers = findAll(svg, (el) => el.name === 'line' && el.attributes['stroke-width'] === '1.5');
    const x = (v: number) => at(LAYOUT.plotLeft + (v / 20e6) * LAYOUT.plotWidth);
    // Per subject: the span, then a cap at each end.
    const spans = whiskers.filter((l) => l.attributes.y1 === l.attributes.y2);
    expect(spans.map((l) => [num(l, 'x1'), num(l, 'x2')])).to.deep.equal([
      [x(8e6), x(9.5e6)],
      [x(1.3e6), x(1.5e6)],
      [x(15e6), x(17e6)],
    ]);
    expect(whiskers.length).to.equal(9);
  });

  it('should label each bar with its figure and logstore’s ratio to that peer', () => {
    const labels = texts(batchedChart());
    expect(labels).to.include.members([
      '9.00M rec/s',
      `1.40M rec/s · logstore ${(9 / 1.4).toFixed(2)}×`,
      `16.00M rec/s · logstore ${(9 / 16).toFixed(2)}×`,
      'fs-framing (ceiling)',
      'records per second (higher is better)',
    ]);
  });

  it('should draw the target as a line at its value on the same scale, and say whether it is met', () => {
    const svg = batchedChart();
    const target = findAll(svg, (el) => el.name === 'line' && el.attributes.stroke === '#cf222e');
    expect(target.length).to.equal(1);
    const x = at(LAYOUT.plotLeft + (5e6 / 20e6) * LAYOUT.plotWidth);
    expect([num(target[0]!, 'x1'), num(target[0]!, 'x2')]).to.deep.equal([x, x]);
    expect(texts(svg)).to.include.members([
      'target >= 5M rec/s',
      'target >= 5M rec/s: median 9.00M rec/s, met',
    ]);
  });

  it('should name a target far beyond every figure at the edge rather than squash the bars', () => {
    const rows = summaries(
      subject('durable-single-append', 'rec/s', 'logstore', [60, 64, 70]),
      subject('durable-single-append', 'rec/s', 'sqlite', [150, 153, 160]),
    );
    const svg = parseXml(
      renderChart({
        bench: {
          ...BATCHED,
          name: 'durable-single-append',
          target: '>= 7k rec/s',
          goal: { of: 'median', atLeast: 7e3 },
        },
        summaries: rows,
        machine: MACHINE,
        quick: true,
      }),
    );
    // 160 is the largest figure: steps of 50 up to 200, and no line at 7000.
    expect(findAll(svg, (el) => el.name === 'line' && el.attributes.stroke === '#cf222e')).to.deep.equal([]);
    expect(bars(svg).map((b) => num(b, 'width'))).to.deep.equal([
      at((64 / 200) * LAYOUT.plotWidth),
      at((153 / 200) * LAYOUT.plotWidth),
    ]);
    expect(texts(svg)).to.include.members([
      'target >= 7k rec/s off the scale →',
      'target >= 7k rec/s: median 64 rec/s, NOT met',
    ]);
  });

  it('should say which peer a ratio target falls short of, even when the absolute part is met', () => {
    const rows = summaries(
      subject('kafka-produce', 'rec/s', 'logstore', [950e3, 962e3, 980e3]),
      subject('kafka-produce', 'rec/s', 'librdkafka-mock', [1.3e6, 1.31e6, 1.32e6]),
    );
    const svg = parseXml(
      renderChart({
        bench: {
          ...BATCHED,
          name: 'kafka-produce',
          target: '>= 800k msg/s and >= 1x the mock broker',
          goal: { of: 'median', atLeast: 800e3, vsPeers: { 'librdkafka-mock': 1 } },
        },
        summaries: rows,
        machine: MACHINE,
        quick: false,
      }),
    );
    expect(texts(svg)).to.include(
      'target >= 800k msg/s and >= 1x the mock broker: median 962.0k rec/s, NOT met ' +
        '(0.73× librdkafka-mock, needs >= 1×)',
    );
  });

  it('should state a peak-RSS target in words, without a line on the throughput scale', () => {
    const rows = summaries(subject('streaming-rss', 'rec/s', 'logstore', [2e6, 3e6, 2.5e6], [180, 300, 200]));
    const svg = parseXml(
      renderChart({
        bench: {
          name: 'streaming-rss',
          measures: 'stream GiBs',
          unit: 'rec/s',
          target: 'peak RSS < 256 MiB',
          goal: { of: 'peak-rss', below: 256 },
        },
        summaries: rows,
        machine: MACHINE,
        quick: true,
      }),
    );
    expect(findAll(svg, (el) => el.attributes.stroke === '#cf222e')).to.deep.equal([]);
    expect(texts(svg)).to.include('target peak RSS < 256 MiB: peak RSS 300 MiB (largest run), NOT met');
  });

  it('should caption the Node version, CPU model, core count, date and how the figures were taken', () => {
    const captionLines = caption(MACHINE, false, 5);
    expect(captionLines).to.deep.equal([
      'Node v22.11.0 · Test CPU Model 3000 · 2 cores · 8 GiB · 2026-11-24',
      'median of 5 runs per subject, each in a fresh process; load average 0.42 when the run began',
    ]);
    expect(caption(MACHINE, true, 1, 2.5)[1]).to.equal(
      '--quick (smaller sizes), median of 1 run per subject, each in a fresh process; ' +
        'load average 0.42 when the run began, 2.5 when it ended',
    );
    expect(texts(batchedChart())).to.include.members(captionLines.map((l) => l.replace('5 runs', '3 runs')));
  });

  it('should escape text so that names and descriptions with <, & and quotes stay well formed', () => {
    const measures = `append -> \`tail\` <fast> & "quoted" 'too'`;
    const svg = parseXml(
      renderChart({
        bench: { name: 'a&b', measures, unit: 'ms' },
        summaries: summaries(subject('a&b', 'ms', 'logstore', [12, 10, 11])),
        machine: { ...MACHINE, cpu: 'CPU <R> & co' },
        quick: false,
      }),
    );
    expect(texts(svg)).to.include.members(['a&b', measures]);
    expect(texts(svg).some((t) => t.includes('CPU <R> & co'))).to.equal(true);
  });

  it('should show a peer that is not installed or failed as words, without a bar', () => {
    const missing = {
      ...subject('single-append', 'rec/s', 'lmdb', []),
      error: 'Cannot find package',
      missing: true,
    };
    const failed = { ...subject('single-append', 'rec/s', 'sqlite', [5]), error: 'Error: disk full\n at x' };
    const svg = parseXml(
      renderChart({
        bench: { name: 'single-append', measures: 'one per call', unit: 'rec/s' },
        summaries: summaries(subject('single-append', 'rec/s', 'logstore', [100, 200, 300]), missing, failed),
        machine: MACHINE,
        quick: false,
      }),
    );
    expect(bars(svg).map((b) => b.attributes['data-subject'])).to.deep.equal(['logstore']);
    expect(texts(svg)).to.include.members(['not installed', 'failed: Error: disk full']);
  });
});

describe('bench chart axis', () => {
  it('should end at a multiple of a 1-2-5 step at or above the largest figure', () => {
    expect(axis(17e6)).to.deep.equal({ max: 20e6, ticks: [0, 5e6, 10e6, 15e6, 20e6] });
    expect(axis(0.176)).to.deep.equal({ max: 0.2, ticks: [0, 0.05, 0.1, 0.15, 0.2] });
    expect(axis(50)).to.deep.equal({ max: 50, ticks: [0, 10, 20, 30, 40, 50] });
    expect(axis(0.3)).to.deep.equal({ max: 0.3, ticks: [0, 0.1, 0.2, 0.3] });
    expect(axis(0)).to.deep.equal({ max: 1, ticks: [0, 0.5, 1] });
  });

  it('should label ticks with no more digits than they need', () => {
    expect([0, 2.5e6, 5e6, 500e3, 1500].map((v) => tickLabel('rec/s', v))).to.deep.equal([
      '0',
      '2.5M',
      '5M',
      '500k',
      '1.5k',
    ]);
    expect([0, 0.05, 0.15, 40].map((v) => tickLabel('latency', v))).to.deep.equal([
      '0',
      '0.05',
      '0.15',
      '40',
    ]);
  });
});
