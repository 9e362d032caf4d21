/**
 * The one way a codec reports bad input: `LOGSTORE_CORRUPT`, naming the codec and what was wrong.
 * A compressed records section comes from disk or from a producer; whatever a library underneath
 * throws (a RangeError, a native error, a WebAssembly error code) is turned into this, with the
 * original kept as `cause`.
 */
import { LogStoreError } from '../errors.js';

export type CodecName = 'gzip' | 'snappy' | 'lz4' | 'zstd';

export function corrupt(codec: CodecName, what: string, cause?: unknown): LogStoreError {
  return new LogStoreError(
    'LOGSTORE_CORRUPT',
    `${codec}: ${what}`,
    cause === undefined ? undefined : { cause },
  );
}

/** The message of a decompressed size that would pass the caller's limit. */
export function tooLarge(codec: CodecName, what: string, maxBytes: number): LogStoreError {
  return corrupt(codec, `${what} exceeds the limit of ${maxBytes} bytes`);
}

/** The message of an error thrown by a library, for the text after the codec's own words. */
export function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
