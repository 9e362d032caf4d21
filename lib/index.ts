/** The public API: `import { LogStore, LogStoreError } from 'logstore'`. */
export { LogStore } from './store.js';
export type { TopicInfo, TopicDescription, PartitionDescription } from './topics.js';
export type { RecoveryReport } from './recovery.js';
export type { GroupDescription } from './read/groups.js';
export type { ServeOptions } from './store-services.js';
export type { KafkaServer } from './kafka/server.js';
export type { GenerationEvent } from './kafka/group.js';
export { Consumer } from './read/consumer.js';
export type { ConsumerOptions, PartitionLag, ResetPolicy } from './read/consumer.js';
export { LogStoreError, ErrorCodes } from './errors.js';
export type { ErrorCode } from './errors.js';
export { Reader } from './read/reader.js';
export type { ReaderOptions, StartSpec } from './read/reader.js';
export type { AppendRecord, AppendResult, LogRecord, Bytes } from './record.js';
export type {
  StoreOptions,
  TopicConfig,
  TopicSettings,
  Durability,
  CleanupPolicy,
  CompressionType,
} from './options.js';
export type { Truncation } from './storage/log-loader.js';
export type {
  CatalogProblem,
  CatalogProblemCode,
  FileAction,
  FileActionKind,
} from './storage/open-report.js';
export { encodeBatch } from './format/batch-encoder.js';
export { decodeBatch } from './format/batches.js';
export type { DecodedBatch } from './format/batches.js';
export type { ErrorDetails } from './errors.js';
export type { CatalogDatabase, CatalogStatement, SqlParameters, SqlValue } from './catalog/app-database.js';
export { Mirror } from './mirror/mirror.js';
export type { MirrorOptions } from './mirror/options.js';
export type {
  MirrorEvent,
  MirrorStartEvent,
  MirrorProgressEvent,
  MirrorRetryEvent,
  MirrorWarningEvent,
  PartitionProgress,
  MirrorDirection,
} from './mirror/events.js';
