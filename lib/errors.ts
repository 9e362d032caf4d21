/**
 * Every failure logstore knows about is a `LogStoreError` with one of the stable codes below.
 * The table is the only place codes are defined; callers match on `err.code`, never on wording.
 */
import { readFileSync } from 'node:fs';

export const ErrorCodes = {
  /** An argument or option is missing, of the wrong type, out of range or unknown. */
  LOGSTORE_INVALID_ARGUMENT: 'LOGSTORE_INVALID_ARGUMENT',
  /** The topic does not exist. */
  LOGSTORE_TOPIC_NOT_FOUND: 'LOGSTORE_TOPIC_NOT_FOUND',
  /** `createTopic` for a name that is taken. */
  LOGSTORE_TOPIC_EXISTS: 'LOGSTORE_TOPIC_EXISTS',
  /** Another writer (process or open in this process) holds the store's LOCK. */
  LOGSTORE_LOCKED: 'LOGSTORE_LOCKED',
  /** The store, reader or consumer was closed. */
  LOGSTORE_CLOSED: 'LOGSTORE_CLOSED',
  /** A write on a store opened with `readOnly: true` (a writer poisoned by a failed sync gives LOGSTORE_IO). */
  LOGSTORE_READ_ONLY: 'LOGSTORE_READ_ONLY',
  /** A record (or batch) is larger than `maxRecordBytes` or the segment can hold. */
  LOGSTORE_RECORD_TOO_LARGE: 'LOGSTORE_RECORD_TOO_LARGE',
  /** An offset below the log start or beyond the log end. */
  LOGSTORE_OFFSET_OUT_OF_RANGE: 'LOGSTORE_OFFSET_OUT_OF_RANGE',
  /** Stored bytes fail their checksum or structure checks; the message names file and position. */
  LOGSTORE_CORRUPT: 'LOGSTORE_CORRUPT',
  /** The disk (or the process's file size limit) is full. */
  LOGSTORE_DISK_FULL: 'LOGSTORE_DISK_FULL',
  /** An idempotent producer's batch does not continue its sequence (Kafka's OUT_OF_ORDER_SEQUENCE_NUMBER). */
  LOGSTORE_OUT_OF_ORDER_SEQUENCE: 'LOGSTORE_OUT_OF_ORDER_SEQUENCE',
  /** An idempotent producer's epoch is older than its latest: a newer instance fenced it. */
  LOGSTORE_INVALID_PRODUCER_EPOCH: 'LOGSTORE_INVALID_PRODUCER_EPOCH',
  /** The store was written by a newer logstore (or, for a read-only open, an older one). */
  LOGSTORE_VERSION: 'LOGSTORE_VERSION',
  /**
   * A Kafka cluster (the other end of a mirror) answered with an error that retrying does not fix,
   * or its log does not match what the mirror wrote there; `details.kind` names Kafka's error.
   */
  LOGSTORE_REMOTE: 'LOGSTORE_REMOTE',
  /** Any other I/O failure, including a failed sync (which poisons the writer). */
  LOGSTORE_IO: 'LOGSTORE_IO',
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

/**
 * Where and what, for errors about stored bytes: tests and tools match on these instead of
 * parsing messages. `kind` is one of the problem kinds of format/batches.ts (`bad-crc`,
 * `truncated`, ...) or of the log loader (`segment-gap`, ...).
 */
export interface ErrorDetails {
  file?: string;
  position?: number;
  kind?: string;
}

export class LogStoreError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: ErrorDetails }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LogStoreError';
    this.code = code;
    this.details = options?.details ?? {};
  }
}

/** Turns an fs/native error into a LogStoreError, keeping the original as `cause`. */
export function ioError(err: unknown, what: string): LogStoreError {
  if (err instanceof LogStoreError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EFBIG' || code === 'EDQUOT') {
    return new LogStoreError(
      'LOGSTORE_DISK_FULL',
      `${what}: the disk or the file size limit is full (${code}). Free space or raise the limit, then retry.`,
      { cause: err },
    );
  }
  if (code === 'EMFILE') {
    const limit = openFilesLimit();
    return new LogStoreError(
      'LOGSTORE_IO',
      `${what}: too many open files (EMFILE): this process has used up its limit of open file ` +
        `descriptors (RLIMIT_NOFILE, \`ulimit -n\`${limit === undefined ? '' : `: ${limit}`}). logstore keeps ` +
        'no descriptor per partition or segment, so the descriptors are held elsewhere in the process: ' +
        'raise the limit (`ulimit -n`, LimitNOFILE= in a systemd unit) or close files the application keeps open.',
      { cause: err },
    );
  }
  if (code === 'ENFILE') {
    return new LogStoreError(
      'LOGSTORE_IO',
      `${what}: too many open files in the system (ENFILE): the kernel's limit of open files ` +
        '(fs.file-max) is reached. Raise it (sysctl fs.file-max) or close files elsewhere.',
      { cause: err },
    );
  }
  const detail = err instanceof Error ? err.message : String(err);
  return new LogStoreError('LOGSTORE_IO', `${what}: ${detail}`, { cause: err });
}

let lastOpenFilesLimit: number | undefined;

/**
 * The process's soft limit of open descriptors, from /proc/self/limits (Linux), read now if a
 * descriptor is left for it, else as last read (logstore reads it when it loads).
 */
function openFilesLimit(): number | undefined {
  try {
    const match = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (match) lastOpenFilesLimit = Number(match[1]);
  } catch {
    // No descriptor left to read it with (or not Linux): the value read before, if any.
  }
  return lastOpenFilesLimit;
}
openFilesLimit();
