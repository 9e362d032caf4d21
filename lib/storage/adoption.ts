/**
 * What the log loader does with the files of a partition directory that the catalog does not
 * list (the rules are unlisted-files.ts's): adopts the segments that continue the log, removes
 * the recognised leftovers of the store's own operations, and moves everything else to the
 * quarantine folder. Every action is reported.
 *
 * Adoption is catalog first, like a roll: one transaction closes the active segment at the extent
 * its batches show and lists the adopted file as the new active segment, which is then verified
 * like any active segment after a crash (its torn tail cut and reported). A segment that is not
 * the last one found must be whole: damage there stops the adoption, and it and the files after
 * it are set aside as they are.
 */
import fs from 'node:fs';
import { segmentPath } from './layout.js';
import { truncation, type OpenReport } from './open-report.js';
import type { PartitionLog } from './partition-log.js';
import type { Quarantine } from './quarantine.js';
import { Segment } from './segment.js';
import { surveyOpen, surveySegment, unadoptedFate, type DirListing } from './unlisted-files.js';

/**
 * Adopts, in order, the segment files in `bases` (sorted, all past the last listed segment) that
 * continue the log. Returns those not adopted.
 */
export function adopt(log: PartitionLog, bases: readonly number[], report: OpenReport): number[] {
  let k = 0;
  for (; k < bases.length; k++) {
    const base = bases[k]!;
    const isLast = k === bases.length - 1;
    const next = isLast ? Number.POSITIVE_INFINITY : bases[k + 1]!;
    const active = log.active;
    // A compacted topic's closed segments may end below the next one's base (compaction keeps
    // offsets, and may drop a segment's last records).
    if (log.gaps ? base < active.nextOffset : base !== active.nextOffset) break;
    const segment = Segment.open(log.dir, base, log.config.segmentBytes, true, {
      size: 0,
      nextOffset: base,
      maxTimestamp: -1,
      indexTrusted: false,
    });
    const gaps = log.gaps && !isLast;
    const survey = surveyOpen(segment, gaps, next);
    if (survey.firstOffset < 0 || (!isLast && !survey.whole)) {
      segment.release();
      break;
    }
    log.catalog.roll(
      {
        baseOffset: active.baseOffset,
        endOffset: log.gaps ? base : active.nextOffset,
        size: active.size,
        maxTimestamp: active.maxTimestamp,
      },
      { baseOffset: base, capacity: segment.capacity },
    );
    active.nextOffset = log.gaps ? base : active.nextOffset;
    active.trimPreallocation();
    active.dropResident();
    active.saveIndex();
    const result = segment.recover({
      position: 0,
      nextOffset: base,
      maxTimestamp: -1,
      recordedSize: null,
      gaps,
      denseFrom: gaps ? Number.POSITIVE_INFINITY : 0,
      maxNextOffset: next,
      syncedTo: 0,
    });
    log.segments.push(segment);
    log.unsynced.add(segment);
    segment.loadIndex();
    const what = `offsets ${survey.firstOffset} to ${segment.nextOffset - 1}`;
    report.files.push({
      action: 'adopted',
      file: segment.logPath,
      topic: log.topic,
      partition: log.partition,
      firstOffset: survey.firstOffset,
      nextOffset: segment.nextOffset,
      reason: `continues the log (${what}) past the segments the catalog lists`,
    });
    report.catalog.push({
      code: 'segments-behind',
      topic: log.topic,
      partition: log.partition,
      file: segment.logPath,
      message: `the catalog did not list this segment, whose batches continue the log (${what}): its commit was lost; adopted`,
    });
    if (result.bytesCut > 0) report.truncated.push(truncation(log, segment, result));
    if (!result.complete) {
      k++;
      break;
    }
  }
  return bases.slice(k);
}

/**
 * `.cleaned` files without a pending swap (finished before this runs): a compaction's rewrite
 * before its commit. Beside their `.log` they are redundant and removed; alone, removed if empty,
 * else set aside.
 */
export function settleCleaned(
  log: PartitionLog,
  listing: DirListing,
  report: OpenReport,
  quarantine: Quarantine,
): void {
  for (const base of listing.cleaned) {
    const file = segmentPath(log.dir, base, 'cleaned');
    if (!fs.existsSync(file)) continue;
    let fate: { action: 'removed' | 'quarantined'; reason: string };
    if (listing.logs.has(base)) {
      fate = {
        action: 'removed',
        reason:
          "a compaction's rewrite before its commit: the segment it rewrites holds every record it holds",
      };
    } else {
      const survey = surveySegment(log.dir, base, true, Number.POSITIVE_INFINITY, file);
      fate = survey.empty
        ? { action: 'removed', reason: 'holds no data' }
        : { action: 'quarantined', reason: "a compaction's rewrite whose segment is gone" };
    }
    settle(log, file, fate, report, quarantine);
  }
}

/** The unlisted segment files in `bases` that were not adopted: removed or set aside. */
export function settleUnlisted(
  log: PartitionLog,
  bases: readonly number[],
  report: OpenReport,
  quarantine: Quarantine,
): void {
  for (const base of bases) {
    const file = segmentPath(log.dir, base, 'log');
    const survey = surveySegment(log.dir, base, log.gaps);
    settle(log, file, unadoptedFate(survey, log.logStartOffset), report, quarantine, survey);
  }
}

function settle(
  log: PartitionLog,
  file: string,
  fate: { action: 'removed' | 'quarantined'; reason: string },
  report: OpenReport,
  quarantine: Quarantine,
  offsets?: { firstOffset: number; nextOffset: number },
): void {
  let movedTo: string | undefined;
  if (fate.action === 'removed') fs.rmSync(file, { force: true });
  else movedTo = quarantine.move(file, log.name);
  report.files.push({
    action: fate.action,
    file,
    ...(movedTo ? { movedTo } : {}),
    topic: log.topic,
    partition: log.partition,
    ...(offsets && offsets.firstOffset >= 0
      ? { firstOffset: offsets.firstOffset, nextOffset: offsets.nextOffset }
      : {}),
    reason: fate.reason,
  });
}
