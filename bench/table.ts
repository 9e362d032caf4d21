/**
 * The results table's cells, and how they print on a terminal (markdown.ts prints the same
 * cells for RESULTS.md). Ratios read "logstore is N× better than this peer" (higher rec/s, or lower
 * latency/ms); a blank ratio cell means the peer does not take part in that case.
 */
import { LOGSTORE, type TodoCase, type Unit } from './case.js';
import { peersIn, type Summary } from './summary.js';

/** A case the runner did not run here, and why (a program it needs is missing, ...). */
export interface SkippedCase {
  case: string;
  reason: string;
}

export function tableCells(summaries: Summary[], todos: TodoCase[], skipped: SkippedCase[] = []): string[][] {
  const peers = peersIn(summaries);
  const header = [
    'case',
    'subject',
    'median',
    'min–max',
    'MB/s',
    'peak RSS MiB',
    ...peers.map((p) => `vs ${p}`),
  ];
  const blank = peers.map(() => '');
  const rows = summaries.map((s) => {
    if (s.error !== undefined) {
      if (s.missing) return [s.case, s.subject, 'not installed', '', '', '', ...blank, 'a devDependency'];
      return [s.case, s.subject, 'FAILED', '', '', '', ...blank, firstLine(s.error)];
    }
    return [
      s.case,
      s.subject,
      figure(s.unit, s.median),
      `${number(s.unit, s.min)}–${number(s.unit, s.max)}`,
      Number.isNaN(s.mbPerSec) ? '' : s.mbPerSec.toFixed(s.mbPerSec < 10 ? 2 : 0),
      s.peakRssMiB.toFixed(0),
      ...peers.map((p) => {
        const ratio = s.ratios[p];
        return ratio === undefined ? '' : `${ratio.toFixed(2)}×`;
      }),
      note(s),
    ];
  });
  for (const k of skipped) rows.push([k.case, '', 'skipped', '', '', '', ...blank, k.reason]);
  for (const t of todos) rows.push([t.name, LOGSTORE, 'not yet measured', '', '', '', ...blank, t.todo]);
  return [[...header, 'note'], ...rows];
}

/**
 * Padded columns under a dashed rule: the first `leftColumns` columns and the last one (names,
 * notes) aligned left, the figures between them right.
 */
export function renderText(cells: string[][], leftColumns = 2): string {
  const widths = cells[0]!.map((_, col) => Math.max(...cells.map((row) => (row[col] ?? '').length)));
  const line = (row: string[]) =>
    row
      .map((cell, col) =>
        col < leftColumns || col === row.length - 1 ? cell.padEnd(widths[col]!) : cell.padStart(widths[col]!),
      )
      .join('  ')
      .trimEnd();
  const [header, ...body] = cells;
  return [line(header!), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

export const LEGEND = [
  'median and min–max are over the runs; rec/s cases count records, latency cases show p99.',
  'MB/s is value payload (100-byte values; 1 MB = 1e6 bytes), not bytes written to disk.',
  'peak RSS is the child process high-water mark (setup included; mapped file pages count).',
  'vs <peer>: logstore median / peer median (for latency and ms: peer / logstore); > 1 means logstore is ahead.',
];

export function figure(unit: Unit, v: number): string {
  if (unit === 'rec/s') return `${number(unit, v)} rec/s`;
  if (unit === 'latency') return `p99 ${number(unit, v)} ms`;
  return `${number(unit, v)} ms`;
}

/** A figure without its unit: 9.01M, 240.4k, 0.025, 507. */
export function number(unit: Unit, v: number): string {
  if (unit !== 'rec/s') return v < 10 ? v.toFixed(3) : v.toFixed(0);
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
  return v.toFixed(0);
}

function note(s: Summary): string {
  const parts: string[] = [];
  if (s.latencyMs) {
    const { p50, p99, p999 } = s.latencyMs;
    parts.push(`p50 ${p50.toFixed(3)} / p99 ${p99.toFixed(3)} / p99.9 ${p999.toFixed(3)} ms`);
  }
  if (s.note !== undefined) parts.push(s.note);
  return parts.join('; ');
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.slice(0, 160);
}
