/**
 * What opening a store found beyond torn tails, and what it did about it: files the catalog does
 * not list (adopted into a log, set aside in the quarantine folder, or removed as leftovers of
 * the store's own crash-safe operations), and places where the catalog is older than the files
 * or disagrees with them. `store.recovery` carries both; `logstore verify` reports the same
 * findings before any open acts on them.
 */
import type { Truncation } from './log-loader.js';
import type { PartitionLog } from './partition-log.js';
import type { RecoverResult } from './segment-recovery.js';
import type { Segment } from './segment.js';

/** What an open did with a file or directory the catalog does not list. */
export type FileActionKind = 'adopted' | 'quarantined' | 'removed';

export interface FileAction {
  action: FileActionKind;
  /** The file or directory where the open found it. */
  file: string;
  /** Where a quarantined file is now. */
  movedTo?: string;
  topic: string;
  partition: number;
  /** The offsets of its valid batches from its start, [firstOffset, nextOffset), when it has any. */
  firstOffset?: number;
  nextOffset?: number;
  reason: string;
}

/**
 * How the catalog disagreed with the files. Every one but `offset-beyond-end` is repaired from the
 * files (or, for `topic-lost`, the files are set aside); none is acted on from the catalog's view.
 */
export type CatalogProblemCode =
  /** Segment files continue the log past the catalog's last segment: adopted. */
  | 'segments-behind'
  /** After a clean close, batches follow the end the catalog recorded: the partition is recovered from its files. */
  | 'recovery-point-behind'
  /** The recorded end is not where a batch ends, or names other offsets: recovered from the files. */
  | 'recovery-point-wrong'
  /** A closed segment's recorded size or end offset disagrees with its batches, which are whole and continue the log: the row is corrected. */
  | 'extent-wrong'
  /** Segments the catalog lists are gone from disk where retention or compaction would have removed them: their rows are dropped. */
  | 'segments-missing'
  /** The log start offset is past the first segment's first offset: moved back to it. */
  | 'log-start-ahead'
  /** A partition directory holding records, for a topic or partition the catalog does not list: quarantined. */
  | 'topic-lost'
  /** A group's committed offset is past the log end: reported (a consumer resets by its policy). */
  | 'offset-beyond-end';

export interface CatalogProblem {
  code: CatalogProblemCode;
  topic: string;
  partition: number;
  /** The file concerned, when there is one. */
  file?: string;
  /** What was found and what the open did. */
  message: string;
}

/** What the loaders add to while a store opens. */
export interface OpenReport {
  truncated: Truncation[];
  files: FileAction[];
  catalog: CatalogProblem[];
}

export function emptyOpenReport(): OpenReport {
  return { truncated: [], files: [], catalog: [] };
}

/** The report of a torn tail that recovery cut in `segment`. */
export function truncation(log: PartitionLog, segment: Segment, result: RecoverResult): Truncation {
  return {
    topic: log.topic,
    partition: log.partition,
    file: segment.logPath,
    position: result.position,
    bytesCut: result.bytesCut,
    kind: result.stop,
    reason: result.detail,
  };
}
