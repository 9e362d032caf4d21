/**
 * Kafka's error codes as a client meets them: each code's name (for messages and
 * `LogStoreError.details.kind`) and whether it is retriable, i.e. goes away after a metadata
 * refresh and a retry (a leader moved, a broker restarts, a topic is being created), as Kafka's
 * own `RetriableException` subclasses say. Anything else stops the mirror with LOGSTORE_REMOTE.
 */
import { LogStoreError } from '../errors.js';
import { KafkaError } from '../kafka/errors.js';

/**
 * Codes a client meets that the listener never answers with (lib/kafka/errors.ts has the others):
 * replicas, leader epochs, quotas and the like.
 */
const CLIENT_ONLY = {
  LEADER_NOT_AVAILABLE: 5,
  BROKER_NOT_AVAILABLE: 8,
  REPLICA_NOT_AVAILABLE: 9,
  NETWORK_EXCEPTION: 13,
  NOT_ENOUGH_REPLICAS: 19,
  NOT_ENOUGH_REPLICAS_AFTER_APPEND: 20,
  LISTENER_NOT_FOUND: 72,
  FENCED_LEADER_EPOCH: 74,
  UNKNOWN_LEADER_EPOCH: 75,
  OFFSET_NOT_AVAILABLE: 78,
  INVALID_RECORD: 87,
  THROTTLING_QUOTA_EXCEEDED: 89,
} as const;

/** Every Kafka error code the mirror names, by name. */
export const KafkaCode = { ...KafkaError, ...CLIENT_ONLY } as const;

const NAMES = new Map<number, string>(Object.entries(KafkaCode).map(([name, code]) => [code, name]));

/** The codes that go away after a metadata refresh and a retry (Kafka's RetriableException). */
const RETRIABLE = new Set<number>([
  KafkaCode.UNKNOWN_TOPIC_OR_PARTITION,
  KafkaCode.LEADER_NOT_AVAILABLE,
  KafkaCode.NOT_LEADER_OR_FOLLOWER,
  KafkaCode.REQUEST_TIMED_OUT,
  KafkaCode.BROKER_NOT_AVAILABLE,
  KafkaCode.REPLICA_NOT_AVAILABLE,
  KafkaCode.NETWORK_EXCEPTION,
  KafkaCode.COORDINATOR_LOAD_IN_PROGRESS,
  KafkaCode.COORDINATOR_NOT_AVAILABLE,
  KafkaCode.NOT_COORDINATOR,
  KafkaCode.NOT_ENOUGH_REPLICAS,
  KafkaCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
  KafkaCode.NOT_CONTROLLER,
  KafkaCode.KAFKA_STORAGE_ERROR,
  KafkaCode.LISTENER_NOT_FOUND,
  KafkaCode.FENCED_LEADER_EPOCH,
  KafkaCode.UNKNOWN_LEADER_EPOCH,
  KafkaCode.OFFSET_NOT_AVAILABLE,
  KafkaCode.THROTTLING_QUOTA_EXCEEDED,
]);

export function kafkaErrorName(code: number): string {
  return NAMES.get(code) ?? `error ${code}`;
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
