/** The shapes of records going in (`append`) and coming out (`read`). */
import type { HeaderList, Headers, HeadersInput } from './format/headers.js';

export type { HeaderList, Headers, HeadersInput, HeaderValue } from './format/headers.js';

/** Bytes as users give them: strings are stored as UTF-8. */
export type Bytes = Buffer | Uint8Array | string;

export interface AppendRecord {
  /** Decides the partition (Kafka's murmur2) when none is given; `null`/absent for none. */
  key?: Bytes | null;
  /** `null` is a tombstone on a compacted topic. */
  value: Bytes | null;
  /**
   * Kafka headers: `{ k: v, k2: [v1, v2] }`, a list `[['k', v], ['k', v2]]` or a Map, in order;
   * values are bytes or null.
   */
  headers?: HeadersInput;
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
  /** kafkajs's shape: a key seen twice gives an array of its values, a null value stays null. */
  headers: Headers;
  /** The headers exactly as stored: the ordered list of (key, value) pairs. */
  headerList: HeaderList;
}

/** What `append` returns for each partition it wrote: the offsets of that partition's batch. */
export interface AppendResult {
  partition: number;
  baseOffset: number;
  lastOffset: number;
}
