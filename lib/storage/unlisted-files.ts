/**
 * Files in a partition directory that the catalog does not list, and what they are. The catalog
 * can be older than the files (SQLite drops a damaged `-wal` frame and every frame after it, so
 * the catalog silently goes back to an older commit), and the store's own crash-safe operations
 * leave files whose rows are gone or not yet written. The open (log-loader.ts) and `verify`
 * classify them with the rules here:
 *
 *   - a segment whose batches continue the log (its base offset is the log's end offset) is
 *     adopted into the catalog, as Kafka's LogLoader, which knows segments only from the
 *     directory, would see it;
 *   - a segment holding no byte at all is removed: a roll's new file before its catalog row (or
 *     any file with nothing in it);
 *   - a segment whose records all lie below the log start offset is removed: retention deleted
 *     its row (catalog first) and the crash came before the file went;
 *   - a `.cleaned` file beside its `.log` is removed: a compaction's rewrite before its commit,
 *     and the `.log` still holds every record it holds;
 *   - anything else is moved to the quarantine folder (quarantine.ts), never deleted.
 * Index files are a cache: those of a segment that is not kept go with it.
 */
import fs from 'node:fs';
import type { BatchWalker, StopKind } from '../format/batches.js';
import { parseSegmentFileName, segmentPath } from './layout.js';
import { Segment } from './segment.js';

/** The segment files of a partition directory, by base offset. */
export interface DirListing {
  logs: Set<number>;
  cleaned: Set<number>;
  /** Base offsets that have an `.index` or `.timeindex` file. */
  indexes: Set<number>;
}

export function listPartitionDir(dir: string): DirListing {
  const listing: DirListing = { logs: new Set(), cleaned: new Set(), indexes: new Set() };
  for (const name of fs.readdirSync(dir)) {
    const parsed = parseSegmentFileName(name);
    if (!parsed) continue;
    if (parsed.kind === 'log') listing.logs.add(parsed.baseOffset);
    else if (parsed.kind === 'cleaned') listing.cleaned.add(parsed.baseOffset);
    else listing.indexes.add(parsed.baseOffset);
  }
  return listing;
}

/** What a segment file holds, walked from its start with the store's own batch checks. */
export interface SegmentSurvey {
  /** Offsets of the valid batches from position 0: [firstOffset, nextOffset); -1 and the base offset when none. */
  firstOffset: number;
  nextOffset: number;
  /** End of the valid batches (bytes). */
  end: number;
  maxTimestamp: number;
  /** Why the walk stopped (`zeros` or `end`: the data ended properly). */
  stop: StopKind;
  /** Nothing but zeros follows the valid batches. */
  whole: boolean;
  /** No byte of the file is non-zero. */
  empty: boolean;
}

/**
 * Walks a segment file read-only (`path` for a `.cleaned` file). `gaps`: base offsets may skip (a
 * compacted topic's closed segment). `maxNextOffset`: no batch may reach it (the next segment).
 */
export function surveySegment(
  dir: string,
  baseOffset: number,
  gaps: boolean,
  maxNextOffset = Number.POSITIVE_INFINITY,
  path = segmentPath(dir, baseOffset, 'log'),
): SegmentSurvey {
  const segment = Segment.open(
    dir,
    baseOffset,
    0,
    false,
    { size: 0, nextOffset: baseOffset, maxTimestamp: -1, indexTrusted: false },
    path,
  );
  try {
    return surveyOpen(segment, gaps, maxNextOffset);
  } finally {
    segment.release();
  }
}

/**
 * surveySegment of a segment already open (its mapping is read, never written). `onBatch` sees
 * each valid batch the walk accepts (the loader's recovery feeds what it needs from this one walk).
 */
export function surveyOpen(
  segment: Segment,
  gaps: boolean,
  maxNextOffset: number,
  onBatch?: (walker: BatchWalker) => void,
): SegmentSurvey {
  const base = segment.baseOffset;
  if (segment.fileSize === 0) {
    return {
      firstOffset: -1,
      nextOffset: base,
      end: 0,
      maxTimestamp: -1,
      stop: 'zeros',
      whole: true,
      empty: true,
    };
  }
  const walker = segment.walker(0, gaps ? -1 : base, gaps, segment.fileSize);
  walker.maxNextOffset = maxNextOffset;
  let firstOffset = -1;
  while (walker.next()) {
    if (firstOffset < 0) firstOffset = walker.baseOffset;
    onBatch?.(walker);
  }
  const stop = walker.stop!;
  const end = walker.end;
  const dataEnd = segment.dataEnd(end);
  return {
    firstOffset,
    nextOffset: firstOffset < 0 ? base : walker.nextOffset,
    end,
    maxTimestamp: walker.maxTimestamp,
    stop,
    whole: (stop === 'zeros' || stop === 'end') && dataEnd === end,
    empty: end === 0 && dataEnd === 0,
  };
}

/** What happens to an unlisted segment file that was not adopted. */
export function unadoptedFate(
  survey: SegmentSurvey,
  logStartOffset: number,
): { action: 'removed' | 'quarantined'; reason: string } {
  if (survey.empty) {
    return {
      action: 'removed',
      reason: "holds no data (a roll's new segment, created before its catalog row)",
    };
  }
  if (survey.firstOffset >= 0 && survey.nextOffset <= logStartOffset) {
    return {
      action: 'removed',
      reason: `all its records lie below the log start offset ${logStartOffset} (retention deleted its row before the file)`,
    };
  }
  return {
    action: 'quarantined',
    reason:
      survey.firstOffset < 0
        ? 'holds no valid batch from its start'
        : "its batches do not continue the log where the catalog's segments end",
  };
}
