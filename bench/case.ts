/**
 * What a benchmark case is. A case is data: a name, what it measures, its unit, the sizes it runs
 * at, and one function per subject (logstore and the peers that do the same work). The runner
 * (run.ts) never calls a subject itself: it forks child.ts once per run, which looks the case up
 * by name and calls the subject there, so every run starts from a cold process with only that
 * subject's libraries loaded (which keeps peak RSS and JIT state per subject honest).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Who does the work: `logstore`, and peers that do the same work. A case names its own subjects,
 * so a case with a new peer (a mock broker, another client) is still one file; the table gets a
 * "vs <peer>" column for every peer that took part in the run.
 */
export type SubjectName = string;

/** The subject every ratio is taken from. */
export const LOGSTORE = 'logstore';

/**
 * The peer that marks the ceiling: length-prefixed frames written with plain `fs`, no checksum.
 * Shown last, and apart from the "best peer" in the targets summary.
 */
export const CEILING = 'fs-framing';

/**
 * How a run's headline number is read:
 * - `rec/s`: ops / seconds, higher is better;
 * - `latency`: the run's p99 in ms (p50 and p99.9 shown beside it), lower is better;
 * - `ms`: the timed section's duration in ms, lower is better.
 */
export type Unit = 'rec/s' | 'latency' | 'ms';

/** Sizes a case runs at; plain numbers so they travel to the child as JSON on its command line. */
export type Params = Record<string, number>;

/** What one subject reports for one run (the child adds peak RSS). */
export interface Measurement {
  /** Records written or read (or samples taken) in the timed section. */
  ops: number;
  /** Wall time of the timed section only: setup and data generation are outside it. */
  seconds: number;
  /** Value payload bytes moved in the timed section (MB/s is bytes / seconds / 1e6). */
  bytes: number;
  /** For `latency` cases. */
  latencyMs?: { p50: number; p99: number; p999: number };
  /** Set when the figure that matters was taken in another process (open-time's probe). */
  peakRssBytes?: number;
  /** A short fact shown beside the figures, e.g. the bytes on disk. */
  note?: string;
  /**
   * Named figures beside the headline, for the case's `goals` (e.g. `appendUsPerRecord`): a
   * case that promises several things reports each, and each is judged on its median of the runs.
   */
  figures?: Record<string, number>;
}

/** Runs inside the child, in a fresh temp directory that the child removes afterwards. */
export type SubjectFn<P extends Params> = (params: P, dir: string) => Promise<Measurement>;

/**
 * A performance target in a form the runner can check: on the median of the runs' headline
 * figures (`median`), or on the largest peak RSS of the runs in MiB (`peak-rss`, conservative).
 */
export interface Goal {
  of: 'median' | 'peak-rss';
  /** Met when the figure is >= this. */
  atLeast?: number;
  /** Met when the figure is < this. */
  below?: number;
  /**
   * Met when logstore's median is at least this many times each named peer's median, both from
   * the same run (with `atLeast`/`below`, all parts must hold). A peer without a figure in that
   * run leaves the goal unmet: a ratio that was not measured is not a pass.
   */
  vsPeers?: Record<SubjectName, number>;
}

/**
 * A further goal of a case, judged on the median of the runs of one of its `figures`
 * (`Measurement.figures`), each in a row of its own in the targets summary:
 * - `figure` with `below` / `atLeast`: an absolute bound (met when < `below`, >= `atLeast`);
 * - `growth`: each of `figures` (a short label for each figure's name) is at most `atMost` times
 *   the same figure's median in the case `vsCase` of the same run (a cost that must not grow
 *   with the size, e.g. per partition). A figure missing from either case (that case not run,
 *   or failed) leaves it unmet.
 */
export type FigureGoal =
  | { target: string; figure: string; unit: string; below?: number; atLeast?: number }
  | { target: string; growth: { figures: Record<string, string>; vsCase: string; atMost: number } };

export interface BenchCase<P extends Params = Params> {
  name: string;
  /** One sentence: the work done and what is timed. */
  measures: string;
  /** The figure the project promises for this case, if any (shown in RESULTS.md and the chart). */
  target?: string;
  /** `target` as a check, for the targets summary (met or not). */
  goal?: Goal;
  /** More goals on the figures the runs report, each a row of the targets summary. */
  goals?: FigureGoal[];
  unit: Unit;
  sizes: { quick: P; full: P };
  /**
   * At most this many runs per subject (for cases that write gigabytes per run, so that a full
   * bench does not spend most of its time, and the shared disk, on them). Default: no cap.
   */
  maxRuns?: { quick?: number; full?: number };
  /**
   * Programs the case runs (looked up on PATH, e.g. `kcat`): when one is missing the case is
   * skipped, and the table and JSON say why, instead of every run failing.
   */
  requires?: string[];
  /**
   * Any other precondition: returns why the case cannot run here (it is then skipped with that
   * reason), or undefined. Runs in the runner, before any child is forked; keep it cheap.
   */
  skipUnless?: () => string | undefined;
  /**
   * Each run's directory is moved aside and removed when the whole bench ends, rather than at the
   * end of the run. For cases that create tens of thousands of files: ext4 without a journal (this
   * VM's root filesystem) skips, at every inode it allocates, over the inodes freed in the last 60 s
   * (300 s while their inode table block is dirty), one buffer lookup each, so a run right after
   * another run's 20,000 files were removed pays for them in every file it creates (`createTopic`
   * of 5,000 partitions: 0.21 ms per partition at rest, 0.6-1.4 ms right after such removals).
   */
  keepFilesUntilEnd?: boolean;
  /** `logstore` first; the others are peers (the ceiling, if present, is shown last). */
  subjects: Record<SubjectName, SubjectFn<P>>;
}

/** A figure the spec asks for that the harness cannot measure yet; printed as "not yet measured". */
export interface TodoCase {
  name: string;
  measures: string;
  target?: string;
  todo: string;
}

/**
 * Erases a case's own parameter type so cases of different shapes fit in one list. Safe because
 * a case's subjects only ever receive that same case's `sizes`.
 */
export function defineCase<P extends Params>(c: BenchCase<P>): BenchCase {
  return c as unknown as BenchCase;
}

/** Seconds since `start` (from `process.hrtime.bigint()`). */
export function since(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** Names, for the children, the runner's directory of keepFilesUntilEnd runs (execute.ts, child.ts). */
export const SPENT_ENV = 'LOGSTORE_BENCH_SPENT';

/**
 * Starts a timed section: collects the garbage first, then reads the clock (for `since`).
 *
 * Why: a subject's setup builds its inputs (64Ki value views and their record objects, ~8 MB)
 * in the young generation, and the first scavenge after it copies all of them. A subject that
 * allocates nothing in its timed section (the fs-framing ceiling reuses one buffer) never runs
 * that scavenge; one that allocates a few hundred bytes a call (a store's append) runs it inside
 * the timed section: ~18 ms of a ~140 ms batched append, for garbage the bench made. Collecting
 * before every subject's timed section, the ceiling's and the peers' alike, leaves each one the
 * cost of its own allocations only, as in an application whose inputs are not all born at once.
 */
export function startTimer(): bigint {
  collectGarbage();
  return process.hrtime.bigint();
}

let gc: (() => void) | undefined;

/** A full collection, without starting node with `--expose-gc` (the flag given at run time). */
function collectGarbage(): void {
  if (gc === undefined) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
}
