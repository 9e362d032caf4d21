/**
 * The read-only inspection API: what the CLI (and tools) use to look at a store as it is on
 * disk, beside a live writer or on a damaged store, without opening it as a store.
 */
export { StoreFiles } from './store-files.js';
export type { TopicRow, PartitionRow, SegmentRow, CommittedOffset } from './store-files.js';
export { verifyStore } from './verify.js';
export type { VerifyOptions, VerifyResult } from './verify.js';
export type { Finding, Severity } from './finding.js';
export { dumpSegment } from './dump.js';
export type { DumpedBatch, DumpEnd } from './dump.js';
export type { BatchHeader } from '../format/batches.js';
export { partitionForKey } from '../format/murmur2.js';
export { CATALOG_FILE, LOCK_FILE, checkIsDirectory, partitionDir } from '../storage/layout.js';
