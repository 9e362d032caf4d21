/** The shapes of records going in (`append`) and coming out (`read`). */

/** Bytes as users give them: strings are stored as UTF-8. */
export type Bytes = Buffer | Uint8Array | string;

export interface AppendRecord {
  /** Decides the partition (Kafka's murmur2) when none is given; `null`/absent for none. */
  key?: Bytes | null;
  /** `null` is a tombstone on a compacted topic. */
  value: Bytes | null;
  /** Header values are bytes; keys are strings. */
  headers?: Record<string, Bytes>;
  /** Milliseconds since the epoch (CreateTime); defaults to `Date.now()` at append. */
  timestamp?: number;
  /** Explicit partition; overrides the key. */
  partition?: number;
}

export interface LogRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer>;
}

/** What `append` returns for each partition it wrote: the offsets of that partition's batch. */
export interface AppendResult {
  partition: number;
  baseOffset: number;
  lastOffset: number;
}
