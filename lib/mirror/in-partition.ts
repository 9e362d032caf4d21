/**
 * One partition of a mirror in: the next cluster offset to fetch (its position, saved write-ahead
 * by in-positions.ts), what the cluster last said of its end, and the fetch loop's state.
 */
import { MirrorPartition } from './run.js';

export class InPartition extends MirrorPartition {
  /** The next cluster offset to fetch. */
  remote = 0;
  /** The cluster's high watermark, as last seen. */
  highWatermark = 0;
  fetching = false;
  /** After a failure: no fetch before this time. */
  retryAt = 0;
  /** The position last committed to the consumer group. */
  groupOffset = -1;
}
