/**
 * Which closed segments retention deletes (Kafka's semantics): whole segments, oldest first, the
 * active one never. A segment goes when its newest record is older than `retentionMs`, or while
 * the partition without it is still at least `retentionBytes`. With `retainForGroups`, time
 * retention also waits until every group with a committed offset on the topic has committed past
 * the segment; `retentionBytes` stays a hard cap that does not wait.
 */
import type { ResolvedTopicConfig } from '../options.js';
import type { Segment } from './segment.js';

/** How many of the oldest segments to delete. `groupFloor`: the lowest committed offset, or null. */
export function segmentsToDelete(
  segments: readonly Segment[],
  config: ResolvedTopicConfig,
  now: number,
  groupFloor: number | null,
): number {
  let total = 0;
  for (const s of segments) total += s.size;
  let count = 0;
  for (let i = 0; i < segments.length - 1; i++) {
    const segment = segments[i]!;
    const overSize = config.retentionBytes >= 0 && total - segment.size >= config.retentionBytes;
    let expired = config.retentionMs >= 0 && segment.maxTimestamp < now - config.retentionMs;
    if (expired && config.retainForGroups && groupFloor !== null && segment.nextOffset > groupFloor)
      expired = false;
    if (!overSize && !expired) break;
    total -= segment.size;
    count++;
  }
  return count;
}
