/**
 * The parent's side of the writer protocol (writer-child.ts): what the child acknowledged, in the
 * order it printed it, and how to hold a store read back after a crash against it.
 */
import type { Inspection } from './inspect.js';
import { COMPACT_KEYS, expectedRecord, isCompacted, parseEnds, type Ends } from './records.js';

export class Ledger {
  /** Per partition, the end of the acknowledged appends. */
  readonly acked: Ends = new Map();
  /** Ends covered by the last flush() that resolved. */
  flushed: Ends = new Map();
  /** Ends when the last flush() was called. */
  flushStarted: Ends = new Map();
  /** The last snapshot the child completed: its number and the ends it holds (durable). */
  snapshot: { n: number; ends: Ends } | null = null;
  readonly commitIntent = new Map<number, number>();
  readonly committed = new Map<number, number>();
  readonly opens: { ms: number; clean: boolean; bytesCut: number }[] = [];
  /** Failed steps; a failed open also carries the time it took. */
  readonly errors: { step: string; code: string; ms?: number }[] = [];
  /**
   * Acknowledgements (`a`, `f` lines) printed after the first `err`: a poisoned writer must have
   * none (a writer refused for a full disk may go on). They count in `acked` all the same.
   */
  readonly ackedAfterError: string[] = [];
  /** Compactions (`x` lines): segments each one rewrote. */
  readonly compactions: number[] = [];
  /** Catalog transactions held (`hs`), and whether one is held now. */
  holds = 0;
  holding = false;
  readonly bad: string[] = [];
  /** Records acknowledged (sum over appends). */
  recordsAcked = 0;
  done = false;
  closes = 0;
  /** Ends when the last close() was called, and when the last one resolved. */
  closeStarted: Ends = new Map();
  closed: Ends = new Map();
  lastLine = '';

  feed(line: string): void {
    this.lastLine = line;
    const parts = line.split(' ');
    if (this.errors.length > 0 && (parts[0] === 'a' || parts[0] === 'f')) this.ackedAfterError.push(line);
    switch (parts[0]) {
      case 'a': {
        const key = `${parts[1]}:${parts[2]}`;
        const end = Number(parts[3]) + 1;
        if (parts[1] !== 'd') {
          this.recordsAcked += end - Math.max(this.acked.get(key) ?? 0, 0);
          this.acked.set(key, Math.max(end, this.acked.get(key) ?? 0));
        }
        break;
      }
      case 'cs':
        this.closeStarted = parseEnds(parts[1]!);
        break;
      case 'open':
        this.opens.push({ ms: Number(parts[1]), clean: parts[2] === '1', bytesCut: Number(parts[3]) });
        break;
      case 'fs':
        this.flushStarted = parseEnds(parts[1]!);
        break;
      case 'f':
        this.flushed = parseEnds(parts[1]!);
        break;
      case 'snap':
        this.snapshot = { n: Number(parts[1]), ends: parseEnds(parts[2]!) };
        break;
      case 'ci':
        this.commitIntent.set(Number(parts[1]), Number(parts[2]));
        break;
      case 'cm':
        this.committed.set(Number(parts[1]), Number(parts[2]));
        break;
      case 'err':
        this.errors.push({
          step: parts[1]!,
          code: parts[2]!,
          ...(parts[3] !== undefined ? { ms: Number(parts[3]) } : {}),
        });
        break;
      case 'x':
        this.compactions.push(Number(parts[1]));
        break;
      case 'hs':
        this.holds++;
        this.holding = true;
        break;
      case 'hold':
        this.holding = false;
        break;
      case 'bad':
        this.bad.push(line);
        break;
      case 'done':
        this.done = true;
        break;
      case 'closed':
        this.closed = this.closeStarted;
        this.closes++;
        break;
    }
  }
}

export interface Verdict {
  /** Records that had to be there and are not. */
  lost: number;
  garbage: number;
  outOfOrder: number;
  problems: string[];
}

/**
 * Holds `ins` against `required` (per partition, every offset below must be readable): dense
 * topics must hold [0, end) exactly; compacted topics the latest record of every key written
 * below the end (or a later one), tombstones aside. Garbage and ordering count on every partition.
 */
export function judge(ins: Inspection, required: Ends): Verdict {
  const verdict: Verdict = { lost: 0, garbage: 0, outOfOrder: 0, problems: [] };
  const note = (p: string) => verdict.problems.length < 8 && verdict.problems.push(p);
  for (const state of ins.partitions.values()) {
    verdict.garbage += state.check.garbage;
    verdict.outOfOrder += state.check.outOfOrder;
    for (const p of state.check.problems) note(p);
  }
  // A seek that lands on the wrong record (or fails on intact data) is as bad as a wrong record.
  verdict.garbage += ins.seekProblems.length;
  for (const p of ins.seekProblems) note(p);
  for (const [key, end] of required) {
    if (end <= 0) continue;
    const state = ins.partitions.get(key);
    if (!state) {
      verdict.lost += end;
      note(`${key}: partition missing, ${end} records required`);
      continue;
    }
    const { check } = state;
    if (!isCompacted(state.topic)) {
      const lost = check.count === 0 ? end : Math.min(check.first, end) + Math.max(0, end - check.end);
      if (lost > 0) note(`${key}: read ${check.first}..${check.end - 1}, ${end} required: ${lost} lost`);
      verdict.lost += lost;
      continue;
    }
    for (let k = 0; k < COMPACT_KEYS; k++) {
      const last = end - 1 - ((((end - 1 - k) % COMPACT_KEYS) + COMPACT_KEYS) % COMPACT_KEYS);
      if (last < 0 || expectedRecord(state.topic, state.partition, last).value === null) continue;
      if ((state.keyLast.get(`k${k}`) ?? -1) < last) {
        verdict.lost++;
        note(`${key}: key k${k} last written at ${last}, read up to ${state.keyLast.get(`k${k}`) ?? 'none'}`);
      }
    }
    if (state.endOffset < end) {
      verdict.lost += end - state.endOffset;
      note(`${key}: end offset ${state.endOffset}, ${end} required`);
    }
  }
  return verdict;
}
