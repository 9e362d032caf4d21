/**
 * What a running mirror reports: one `start` event, `progress` snapshots (every
 * `progressIntervalMs`), `retry` when the cluster misbehaves and the mirror waits to try again,
 * `warning` for problems that do not stop it, and a last `done` snapshot. The counters are the
 * run's own (a restarted mirror counts from zero); positions and lag are per partition.
 */

export type MirrorDirection = 'to' | 'from';

export interface PartitionProgress {
  topic: string;
  partition: number;
  /**
   * The next offset to copy, on the side copied from: the store's offset for `to`, the
   * cluster's for `from`. Everything below it is on the other side.
   */
  position: number;
  /** The end offset of that side, as last seen. */
  end: number;
  /** `end - position`: records not copied yet. */
  lag: number;
}

export interface MirrorStartEvent {
  type: 'start';
  direction: MirrorDirection;
  /** The cluster's id (Metadata's clusterId), or its bootstrap list when it has none. */
  cluster: string;
  /** The topics copied, their partition counts and whether this run created them. */
  topics: { topic: string; partitions: number; created: boolean }[];
  /** Per partition, where this run starts (`position` as in PartitionProgress). */
  partitions: PartitionProgress[];
}

export interface MirrorProgressEvent {
  type: 'progress' | 'done';
  direction: MirrorDirection;
  cluster: string;
  /** Records copied by this run. */
  records: number;
  /** Batch bytes copied by this run (as sent or appended, compressed where they are). */
  bytes: number;
  elapsedMs: number;
  /** Rates over the last reporting interval (over the whole run for `done`). */
  recordsPerSecond: number;
  bytesPerSecond: number;
  /** Sum of the partitions' lag. */
  lag: number;
  partitions: PartitionProgress[];
}

export interface MirrorRetryEvent {
  type: 'retry';
  /** What failed (a broker unreachable, a leader that moved...). */
  reason: string;
  /** How long the mirror waits before it tries again. */
  delayMs: number;
}

export interface MirrorWarningEvent {
  type: 'warning';
  message: string;
}

export type MirrorEvent = MirrorStartEvent | MirrorProgressEvent | MirrorRetryEvent | MirrorWarningEvent;

/** Counts records and bytes, and makes the snapshots. */
export class ProgressMeter {
  records = 0;
  bytes = 0;
  private readonly started = Date.now();
  private lastAt = this.started;
  private lastRecords = 0;
  private lastBytes = 0;

  constructor(
    readonly direction: MirrorDirection,
    readonly cluster: string,
  ) {}

  add(records: number, bytes: number): void {
    this.records += records;
    this.bytes += bytes;
  }

  snapshot(type: 'progress' | 'done', partitions: PartitionProgress[]): MirrorProgressEvent {
    const now = Date.now();
    const since = type === 'done' ? this.started : this.lastAt;
    const seconds = Math.max(now - since, 1) / 1000;
    const records = this.records - (type === 'done' ? 0 : this.lastRecords);
    const bytes = this.bytes - (type === 'done' ? 0 : this.lastBytes);
    this.lastAt = now;
    this.lastRecords = this.records;
    this.lastBytes = this.bytes;
    return {
      type,
      direction: this.direction,
      cluster: this.cluster,
      records: this.records,
      bytes: this.bytes,
      elapsedMs: now - this.started,
      recordsPerSecond: Math.round(records / seconds),
      bytesPerSecond: Math.round(bytes / seconds),
      lag: partitions.reduce((sum, p) => sum + p.lag, 0),
      partitions,
    };
  }
}
