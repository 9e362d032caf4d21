/**
 * Options of `LogStore.open` and topic configs: their types, defaults (a comment on each) and the
 * one place they are checked. Everything is validated once at the public entry; unknown keys are
 * refused with a hint, so a misspelling (`readonly` for `readOnly`) never passes silently.
 */
import { LogStoreError } from './errors.js';

export type Durability = 'always' | 'interval' | 'none';
export type CleanupPolicy = 'delete' | 'compact';
/** Kafka's `compression.type` of a topic: 'producer' keeps what each producer sent. */
export type CompressionType = 'producer' | 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
export const COMPRESSION_TYPES: readonly CompressionType[] = [
  'producer',
  'none',
  'gzip',
  'snappy',
  'lz4',
  'zstd',
];

export interface StoreOptions {
  /**
   * When appended records reach stable storage. `always`: before `append` returns;
   * `interval`: every `flushIntervalMs` and on `flush()`; `none`: only on `flush()`/`close()`.
   * Every mode survives a crash of the process (`kill -9`) once `append` returned.
   * @default 'interval'
   */
  durability?: Durability;
  /** @default 1000 */
  flushIntervalMs?: number;
  /** Segment size for topics that do not set their own. @default 134217728 (128 MiB) */
  segmentBytes?: number;
  /** Open without the lock, write nothing, follow a live writer. @default false */
  readOnly?: boolean;
  /** How often retention and compaction run; 0 disables the timer. @default 60000 */
  cleanupIntervalMs?: number;
}

export interface TopicConfig {
  /** @default 1 */
  partitions?: number;
  /** Delete closed segments whose newest record is older than this; -1 keeps forever. @default -1 */
  retentionMs?: number;
  /** Delete the oldest closed segments while a partition is larger than this; -1: no limit. @default -1 */
  retentionBytes?: number;
  /** Roll to a new segment at this size. @default the store's segmentBytes */
  segmentBytes?: number;
  /** @default 'delete' */
  cleanupPolicy?: CleanupPolicy;
  /** How long a tombstone survives compaction. @default 86400000 (1 day) */
  deleteRetentionMs?: number;
  /** Largest encoded record accepted. @default 1048588 (Kafka's max.message.bytes) */
  maxRecordBytes?: number;
  /** Keep segments a consumer group has not committed past, up to `retentionBytes`. @default false */
  retainForGroups?: boolean;
  /**
   * The codec of stored batches (Kafka's compression.type): 'producer' keeps the codec each
   * producer sent (and means none for `append`); any other re-encodes batches with that codec.
   * @default 'producer'
   */
  compressionType?: CompressionType;
}

export type ResolvedStoreOptions = Required<StoreOptions>;
export type ResolvedTopicConfig = Required<TopicConfig>;
/** A topic's settings as `topics()` and `describeTopic()` report them (the count is `partitionCount`). */
export type TopicSettings = Omit<ResolvedTopicConfig, 'partitions'>;

export const STORE_DEFAULTS: ResolvedStoreOptions = {
  durability: 'interval',
  flushIntervalMs: 1000,
  segmentBytes: 128 * 1024 * 1024,
  readOnly: false,
  cleanupIntervalMs: 60_000,
};

export const TOPIC_DEFAULTS: Omit<ResolvedTopicConfig, 'segmentBytes'> = {
  partitions: 1,
  retentionMs: -1,
  retentionBytes: -1,
  cleanupPolicy: 'delete',
  deleteRetentionMs: 86_400_000,
  maxRecordBytes: 1_048_588,
  retainForGroups: false,
  compressionType: 'producer',
};

/** Segments are mapped whole and positions are 32-bit (as in Kafka's index files). */
export const MIN_SEGMENT_BYTES = 4096;
export const MAX_SEGMENT_BYTES = 2 ** 31 - 1;
export const MAX_PARTITIONS = 10_000;

export function invalidArgument(message: string): LogStoreError {
  return new LogStoreError('LOGSTORE_INVALID_ARGUMENT', message);
}

function describe(value: unknown): string {
  return `\`${typeof value === 'string' ? JSON.stringify(value) : String(value)}\` (${typeof value})`;
}

/** The known name `name` is most likely a misspelling of (same letters in another case, or at most two edits away). */
export function closestName(name: string, known: readonly string[]): string | undefined {
  return known.find((k) => k.toLowerCase() === name.toLowerCase() || editDistance(k, name) <= 2);
}

/** Refuses keys of `given` that are not in `known`, suggesting the closest known one. */
export function checkKeys(given: object, known: readonly string[], what: string): void {
  for (const key of Object.keys(given)) {
    if (known.includes(key)) continue;
    const close = closestName(key, known);
    throw invalidArgument(
      `Unknown ${what} \`${key}\`${close ? `; did you mean \`${close}\`?` : '.'} Known: ${known.join(', ')}.`,
    );
  }
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(above + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

export function checkInteger(
  name: string,
  value: unknown,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    throw invalidArgument(`Expected \`${name}\` to be an integer ${range}, got ${describe(value)}.`);
  }
  return value;
}

export function checkOneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) {
    throw invalidArgument(
      `Expected \`${name}\` to be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${describe(value)}.`,
    );
  }
  return value as T;
}

function checkBoolean(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean')
    throw invalidArgument(`Expected \`${name}\` to be a boolean, got ${describe(value)}.`);
  return value;
}

function checkObject(what: string, value: unknown): Record<string, unknown> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalidArgument(`Expected ${what} to be an object, got ${describe(value)}.`);
  }
  return value as Record<string, unknown>;
}

export function normalizeStoreOptions(options: unknown): ResolvedStoreOptions {
  const o = checkObject('the options of LogStore.open', options);
  checkKeys(o, Object.keys(STORE_DEFAULTS), 'option');
  const r = { ...STORE_DEFAULTS };
  if (o.durability !== undefined)
    r.durability = checkOneOf('durability', o.durability, ['always', 'interval', 'none']);
  if (o.flushIntervalMs !== undefined)
    r.flushIntervalMs = checkInteger('flushIntervalMs', o.flushIntervalMs, 1);
  if (o.segmentBytes !== undefined) {
    r.segmentBytes = checkInteger('segmentBytes', o.segmentBytes, MIN_SEGMENT_BYTES, MAX_SEGMENT_BYTES);
  }
  if (o.readOnly !== undefined) r.readOnly = checkBoolean('readOnly', o.readOnly);
  if (o.cleanupIntervalMs !== undefined)
    r.cleanupIntervalMs = checkInteger('cleanupIntervalMs', o.cleanupIntervalMs, 0);
  return r;
}

const TOPIC_KEYS = [...Object.keys(TOPIC_DEFAULTS), 'segmentBytes'];

/** Validates `config` over `base` (defaults for a new topic, the current config for alterTopic). */
export function normalizeTopicConfig(
  config: unknown,
  base: ResolvedTopicConfig,
  keys = TOPIC_KEYS,
): ResolvedTopicConfig {
  const o = checkObject('the topic config', config);
  checkKeys(o, keys, 'topic config');
  const r = { ...base };
  if (o.partitions !== undefined) r.partitions = checkInteger('partitions', o.partitions, 1, MAX_PARTITIONS);
  if (o.retentionMs !== undefined) r.retentionMs = checkInteger('retentionMs', o.retentionMs, -1);
  if (o.retentionBytes !== undefined) r.retentionBytes = checkInteger('retentionBytes', o.retentionBytes, -1);
  if (o.segmentBytes !== undefined) {
    r.segmentBytes = checkInteger('segmentBytes', o.segmentBytes, MIN_SEGMENT_BYTES, MAX_SEGMENT_BYTES);
  }
  if (o.cleanupPolicy !== undefined)
    r.cleanupPolicy = checkOneOf('cleanupPolicy', o.cleanupPolicy, ['delete', 'compact']);
  if (o.deleteRetentionMs !== undefined)
    r.deleteRetentionMs = checkInteger('deleteRetentionMs', o.deleteRetentionMs, 0);
  if (o.maxRecordBytes !== undefined) r.maxRecordBytes = checkInteger('maxRecordBytes', o.maxRecordBytes, 1);
  if (o.retainForGroups !== undefined) r.retainForGroups = checkBoolean('retainForGroups', o.retainForGroups);
  if (o.compressionType !== undefined)
    r.compressionType = checkOneOf('compressionType', o.compressionType, COMPRESSION_TYPES);
  return r;
}

/** Kafka's rule: 1-249 characters of [a-zA-Z0-9._-], and not `.` or `..`. */
export function checkTopicName(name: unknown): string {
  if (typeof name !== 'string' || !/^[a-zA-Z0-9._-]{1,249}$/.test(name) || name === '.' || name === '..') {
    throw invalidArgument(
      `Invalid topic name ${describe(name)}: use 1 to 249 characters of letters, digits, '.', '_' and '-' (not '.' or '..').`,
    );
  }
  return name;
}
