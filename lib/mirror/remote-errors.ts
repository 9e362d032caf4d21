/**
 * Kafka's error codes as a client meets them: each code's name (for messages and
 * `LogStoreError.details.kind`) and whether it is retriable, i.e. goes away after a metadata
 * refresh and a retry (a leader moved, a broker restarts, a topic is being created), as Kafka's
 * own `RetriableException` subclasses say. Anything else stops the mirror with LOGSTORE_REMOTE.
 */
import { LogStoreError } from '../errors.js';

const NAMES: Record<number, string> = {
  [-1]: 'UNKNOWN_SERVER_ERROR',
  1: 'OFFSET_OUT_OF_RANGE',
  2: 'CORRUPT_MESSAGE',
  3: 'UNKNOWN_TOPIC_OR_PARTITION',
  4: 'INVALID_FETCH_SIZE',
  5: 'LEADER_NOT_AVAILABLE',
  6: 'NOT_LEADER_OR_FOLLOWER',
  7: 'REQUEST_TIMED_OUT',
  8: 'BROKER_NOT_AVAILABLE',
  9: 'REPLICA_NOT_AVAILABLE',
  10: 'MESSAGE_TOO_LARGE',
  13: 'NETWORK_EXCEPTION',
  14: 'COORDINATOR_LOAD_IN_PROGRESS',
  15: 'COORDINATOR_NOT_AVAILABLE',
  16: 'NOT_COORDINATOR',
  17: 'INVALID_TOPIC_EXCEPTION',
  18: 'RECORD_LIST_TOO_LARGE',
  19: 'NOT_ENOUGH_REPLICAS',
  20: 'NOT_ENOUGH_REPLICAS_AFTER_APPEND',
  21: 'INVALID_REQUIRED_ACKS',
  22: 'ILLEGAL_GENERATION',
  24: 'INVALID_GROUP_ID',
  25: 'UNKNOWN_MEMBER_ID',
  27: 'REBALANCE_IN_PROGRESS',
  29: 'TOPIC_AUTHORIZATION_FAILED',
  30: 'GROUP_AUTHORIZATION_FAILED',
  31: 'CLUSTER_AUTHORIZATION_FAILED',
  32: 'INVALID_TIMESTAMP',
  33: 'UNSUPPORTED_SASL_MECHANISM',
  35: 'UNSUPPORTED_VERSION',
  36: 'TOPIC_ALREADY_EXISTS',
  37: 'INVALID_PARTITIONS',
  38: 'INVALID_REPLICATION_FACTOR',
  40: 'INVALID_CONFIG',
  41: 'NOT_CONTROLLER',
  42: 'INVALID_REQUEST',
  43: 'UNSUPPORTED_FOR_MESSAGE_FORMAT',
  44: 'POLICY_VIOLATION',
  45: 'OUT_OF_ORDER_SEQUENCE_NUMBER',
  46: 'DUPLICATE_SEQUENCE_NUMBER',
  47: 'INVALID_PRODUCER_EPOCH',
  53: 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  56: 'KAFKA_STORAGE_ERROR',
  58: 'SASL_AUTHENTICATION_FAILED',
  59: 'UNKNOWN_PRODUCER_ID',
  72: 'LISTENER_NOT_FOUND',
  74: 'FENCED_LEADER_EPOCH',
  75: 'UNKNOWN_LEADER_EPOCH',
  76: 'UNSUPPORTED_COMPRESSION_TYPE',
  78: 'OFFSET_NOT_AVAILABLE',
  87: 'INVALID_RECORD',
  89: 'THROTTLING_QUOTA_EXCEEDED',
};

const RETRIABLE = new Set([3, 5, 6, 7, 8, 9, 13, 14, 15, 16, 19, 20, 41, 56, 72, 74, 75, 78, 89]);

export const KafkaCode = {
  NONE: 0,
  OFFSET_OUT_OF_RANGE: 1,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  NOT_LEADER_OR_FOLLOWER: 6,
  MESSAGE_TOO_LARGE: 10,
  RECORD_LIST_TOO_LARGE: 18,
  TOPIC_ALREADY_EXISTS: 36,
  OUT_OF_ORDER_SEQUENCE_NUMBER: 45,
  DUPLICATE_SEQUENCE_NUMBER: 46,
  UNKNOWN_PRODUCER_ID: 59,
  UNSUPPORTED_COMPRESSION_TYPE: 76,
} as const;

export function kafkaErrorName(code: number): string {
  return NAMES[code] ?? `error ${code}`;
}

export function isRetriable(code: number): boolean {
  return RETRIABLE.has(code);
}

/** A retriable Kafka error, carried up to the retry loop (never seen by callers). */
export class RetriableError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

/** LOGSTORE_REMOTE for `code`, with `what` saying where it came from. */
export function remoteError(code: number, what: string, message?: string | null): LogStoreError {
  const name = kafkaErrorName(code);
  return new LogStoreError(
    'LOGSTORE_REMOTE',
    `${what}: the cluster answered ${name}${message ? ` (${message})` : ''}.`,
    { details: { kind: name } },
  );
}

/** Throws RetriableError or LOGSTORE_REMOTE for a non-zero `code`. */
export function check(code: number, what: string, message?: string | null): void {
  if (code === 0) return;
  if (isRetriable(code)) throw new RetriableError(`${what}: ${kafkaErrorName(code)}`, code);
  throw remoteError(code, what, message);
}
