/**
 * Kafka's error codes that logstore's listener answers with, and the one table that maps the
 * store's LogStoreError codes onto them. Handlers call `kafkaErrorOf(err, context)`; an error the
 * table does not know becomes UNKNOWN_SERVER_ERROR (and is logged by the server).
 */
export const KafkaError = {
  UNKNOWN_SERVER_ERROR: -1,
  NONE: 0,
  OFFSET_OUT_OF_RANGE: 1,
  CORRUPT_MESSAGE: 2,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  INVALID_FETCH_SIZE: 4,
  NOT_LEADER_OR_FOLLOWER: 6,
  REQUEST_TIMED_OUT: 7,
  MESSAGE_TOO_LARGE: 10,
  OFFSET_METADATA_TOO_LARGE: 12,
  COORDINATOR_LOAD_IN_PROGRESS: 14,
  COORDINATOR_NOT_AVAILABLE: 15,
  NOT_COORDINATOR: 16,
  INVALID_TOPIC_EXCEPTION: 17,
  RECORD_LIST_TOO_LARGE: 18,
  INVALID_REQUIRED_ACKS: 21,
  ILLEGAL_GENERATION: 22,
  INCONSISTENT_GROUP_PROTOCOL: 23,
  INVALID_GROUP_ID: 24,
  UNKNOWN_MEMBER_ID: 25,
  INVALID_SESSION_TIMEOUT: 26,
  REBALANCE_IN_PROGRESS: 27,
  INVALID_COMMIT_OFFSET_SIZE: 28,
  TOPIC_AUTHORIZATION_FAILED: 29,
  GROUP_AUTHORIZATION_FAILED: 30,
  CLUSTER_AUTHORIZATION_FAILED: 31,
  INVALID_TIMESTAMP: 32,
  UNSUPPORTED_SASL_MECHANISM: 33,
  ILLEGAL_SASL_STATE: 34,
  UNSUPPORTED_VERSION: 35,
  TOPIC_ALREADY_EXISTS: 36,
  INVALID_PARTITIONS: 37,
  INVALID_REPLICATION_FACTOR: 38,
  INVALID_REPLICA_ASSIGNMENT: 39,
  INVALID_CONFIG: 40,
  NOT_CONTROLLER: 41,
  INVALID_REQUEST: 42,
  UNSUPPORTED_FOR_MESSAGE_FORMAT: 43,
  POLICY_VIOLATION: 44,
  OUT_OF_ORDER_SEQUENCE_NUMBER: 45,
  DUPLICATE_SEQUENCE_NUMBER: 46,
  INVALID_PRODUCER_EPOCH: 47,
  INVALID_TXN_STATE: 48,
  INVALID_PRODUCER_ID_MAPPING: 49,
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED: 53,
  KAFKA_STORAGE_ERROR: 56,
  SASL_AUTHENTICATION_FAILED: 58,
  UNKNOWN_PRODUCER_ID: 59,
  NON_EMPTY_GROUP: 68,
  GROUP_ID_NOT_FOUND: 69,
  FETCH_SESSION_ID_NOT_FOUND: 70,
  UNSUPPORTED_COMPRESSION_TYPE: 76,
  MEMBER_ID_REQUIRED: 79,
  GROUP_MAX_SIZE_REACHED: 81,
  FENCED_INSTANCE_ID: 82,
  UNSTABLE_OFFSET_COMMIT: 88,
} as const;

export type KafkaErrorCode = (typeof KafkaError)[keyof typeof KafkaError];

/** Where an error happened: the same store code can mean different things to a client. */
export type ErrorContext = 'produce' | 'fetch' | 'admin' | 'group';

/**
 * Store code -> Kafka code, with a column per context where they differ from `any`.
 * LOGSTORE_INVALID_ARGUMENT from an append means a batch the store refused (CORRUPT_MESSAGE, as a
 * broker answers a batch that fails validation); from an admin call it means a bad request
 * (INVALID_CONFIG, with the store's message as errorMessage where the API has one).
 * LOGSTORE_CLOSED answers NOT_LEADER_OR_FOLLOWER / COORDINATOR_NOT_AVAILABLE, which clients treat as
 * "retry after refreshing metadata": the store is going away, as a broker that shuts down.
 */
const TABLE: Record<string, { any: KafkaErrorCode } & Partial<Record<ErrorContext, KafkaErrorCode>>> = {
  LOGSTORE_TOPIC_NOT_FOUND: { any: KafkaError.UNKNOWN_TOPIC_OR_PARTITION },
  LOGSTORE_TOPIC_EXISTS: { any: KafkaError.TOPIC_ALREADY_EXISTS },
  LOGSTORE_INVALID_ARGUMENT: {
    any: KafkaError.INVALID_REQUEST,
    produce: KafkaError.CORRUPT_MESSAGE,
    admin: KafkaError.INVALID_CONFIG,
  },
  LOGSTORE_RECORD_TOO_LARGE: { any: KafkaError.MESSAGE_TOO_LARGE },
  LOGSTORE_OFFSET_OUT_OF_RANGE: { any: KafkaError.OFFSET_OUT_OF_RANGE },
  LOGSTORE_CORRUPT: { any: KafkaError.KAFKA_STORAGE_ERROR },
  LOGSTORE_DISK_FULL: { any: KafkaError.KAFKA_STORAGE_ERROR },
  LOGSTORE_IO: { any: KafkaError.KAFKA_STORAGE_ERROR },
  LOGSTORE_CLOSED: {
    any: KafkaError.NOT_LEADER_OR_FOLLOWER,
    group: KafkaError.COORDINATOR_NOT_AVAILABLE,
  },
  LOGSTORE_READ_ONLY: { any: KafkaError.KAFKA_STORAGE_ERROR, admin: KafkaError.POLICY_VIOLATION },
  LOGSTORE_OUT_OF_ORDER_SEQUENCE: { any: KafkaError.OUT_OF_ORDER_SEQUENCE_NUMBER },
  LOGSTORE_INVALID_PRODUCER_EPOCH: { any: KafkaError.INVALID_PRODUCER_EPOCH },
};

/** The Kafka error code for `err` raised in `context`, or undefined if it is not a known store error. */
export function mapStoreError(err: unknown, context: ErrorContext): KafkaErrorCode | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code !== 'string') return undefined;
  const row = TABLE[code];
  return row ? (row[context] ?? row.any) : undefined;
}

/** Like `mapStoreError`, with UNKNOWN_SERVER_ERROR for anything else. */
export function kafkaErrorOf(err: unknown, context: ErrorContext): KafkaErrorCode {
  return mapStoreError(err, context) ?? KafkaError.UNKNOWN_SERVER_ERROR;
}
