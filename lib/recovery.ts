/**
 * What a writer's open does before it serves anything: it records that the store is open (the
 * catalog's `clean_shutdown` is 0 until a clean close), loads every topic (topics.ts), verifying
 * what the last writer may not have synced after an unclean stop, and makes what it recovered
 * durable. The result is `store.recovery`.
 */
import type { Catalog } from './catalog/catalog.js';
import type { Durability } from './durability.js';
import type { Truncation } from './storage/log-loader.js';
import type { CatalogProblem, FileAction } from './storage/open-report.js';
import type { Topics } from './topics.js';

/** What opening the store found and did. */
export interface RecoveryReport {
  /** Whether the previous writer closed the store cleanly (nothing had to be verified). */
  clean: boolean;
  /** Torn tails cut, one entry per partition that had one (and per adopted segment that had one). */
  truncated: Truncation[];
  /** Sum of `truncated[].bytesCut`. */
  bytesCut: number;
  /**
   * Files and directories the catalog does not list, and what the open did with each: `adopted`
   * (a segment continuing its log), `quarantined` (moved into `<dir>/quarantine/`, never
   * deleted) or `removed` (a leftover of the store's own crash-safe operations, holding nothing
   * the log still needs). Empty after a clean close.
   */
  files: FileAction[];
  /**
   * Where the catalog was older than the files (a lost SQLite commit, e.g. a damaged `-wal`) or
   * disagreed with them, each with its `code`; the open repaired each from the files (or set the
   * files aside) instead of acting on the catalog's view. Empty for a healthy store.
   */
  catalog: CatalogProblem[];
}

/** @internal The report of an open that recovered nothing (a clean close before it, or a read-only open). */
export function cleanReport(): RecoveryReport {
  return { clean: true, truncated: [], bytesCut: 0, files: [], catalog: [] };
}

/**
 * @internal
 * Loads the topics of a writer's open, recovering each partition; `repair` verifies every batch
 * (and cuts each log at its first damage) whether or not the last close was clean.
 */
export function recoverOnOpen(
  catalog: Catalog,
  topics: Topics,
  durability: Durability,
  repair: boolean,
): RecoveryReport {
  const recovery = cleanReport();
  const clean = !repair && catalog.getMeta('clean_shutdown') !== '0';
  recovery.clean = clean;
  catalog.setMeta('clean_shutdown', '0');
  const report = topics.loadAll(clean, repair);
  for (const cut of report.truncated) {
    recovery.truncated.push(cut);
    recovery.bytesCut += cut.bytesCut;
  }
  recovery.files.push(...report.files);
  recovery.catalog.push(...report.catalog);
  // Make the recovered state durable and move the recovery points.
  if (!clean || report.files.length > 0 || report.catalog.length > 0) durability.syncNow(true);
  return recovery;
}
