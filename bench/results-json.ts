/**
 * The JSON a run writes with `--json FILE`, and reading it back: `--merge` keeps an earlier run's
 * cases, `--from` redraws the table and charts of a run, `--compare` compares against one, and
 * `--by-node` sets runs on several Node versions side by side. `machine.node` says which Node
 * ran it.
 */
import { readFileSync } from 'node:fs';
import type { TodoCase } from './case.js';
import type { Machine } from './machine.js';
import type { Summary } from './summary.js';
import type { SkippedCase } from './table.js';
import type { TargetRow } from './targets.js';

export interface ResultsJson {
  machine: Machine;
  quick: boolean;
  /** Runs per subject asked for (cases with `maxRuns` may have done fewer: see each result). */
  runs: number;
  /** Wall time of the whole run, and of each case (children, setup and all), in seconds. */
  wallSeconds: number;
  caseSeconds?: Record<string, number>;
  /** 1-minute load average when the run ended (`machine.loadAverage`: when it began). */
  loadAverageAfter?: number;
  /** Set when some cases were rerun and merged into an earlier run's results. */
  rerun?: Rerun;
  results: Summary[];
  targets: TargetRow[];
  todo?: TodoCase[];
  skipped?: SkippedCase[];
}

export interface Rerun {
  date: string;
  /** 1-minute load average when the rerun began. */
  loadAverage: number;
  cases: string[];
}

/** Reads a --json file; throws an Error naming the file if it is not one. */
export function readResults(file: string): ResultsJson {
  let json: Partial<ResultsJson>;
  try {
    json = JSON.parse(readFileSync(file, 'utf8')) as Partial<ResultsJson>;
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as Error).message}`);
  }
  if (
    typeof json.machine?.node !== 'string' ||
    !Array.isArray(json.results) ||
    typeof json.quick !== 'boolean'
  )
    throw new Error(`${file} is not the --json output of logstore bench (no machine.node, quick or results)`);
  return { targets: [], ...json } as ResultsJson;
}

/** The major version of a `process.version` string: 'v22.11.0' -> 22. */
export function nodeMajor(version: string): number {
  return Number(/^v?(\d+)/.exec(version)?.[1] ?? NaN);
}
