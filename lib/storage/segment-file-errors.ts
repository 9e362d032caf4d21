/**
 * The errors a segment's file raises when it is not what the store knows of it, with the
 * details (`file`, `position`, `kind`) tools and tests read: missing, shorter than recorded, or
 * (in a follower) deleted or replaced by the writer since it was listed.
 */
import { LogStoreError } from '../errors.js';

/** The file is not on disk: `inCatalog` when the catalog lists it (opening), else it vanished (mapping). */
export function missingSegment(file: string, inCatalog: boolean, cause?: unknown): LogStoreError {
  const what = inCatalog
    ? 'is in the catalog but missing on disk. Restore it from a backup, or run `logstore verify --repair`.'
    : 'is missing on disk.';
  return new LogStoreError('LOGSTORE_CORRUPT', `Segment ${file} ${what}`, {
    cause,
    details: { file, kind: 'missing-segment' },
  });
}

/**
 * The file holds `size` bytes, fewer than the store knows of: `than` says how many (", shorter
 * than the N bytes it had" or " but the catalog records N bytes of batches in it").
 */
export function shortSegment(file: string, size: number, than: string): LogStoreError {
  return new LogStoreError('LOGSTORE_CORRUPT', `Segment ${file} is ${size} bytes${than}.`, {
    details: { file, position: size, kind: 'short-file' },
  });
}

/** A follower's segment the writer deleted or replaced since the follower listed it. */
export function segmentGone(file: string): LogStoreError {
  return new LogStoreError(
    'LOGSTORE_OFFSET_OUT_OF_RANGE',
    `Segment ${file} was deleted or replaced by the writer (retention, compaction or a topic ` +
      "deletion) since this follower listed it. Seek again (for example to 'earliest').",
    { details: { file, kind: 'segment-gone' } },
  );
}
