/**
 * gzip (Kafka codec 1): a gzip stream (RFC 1952), as Java's GZIPOutputStream writes it, through
 * node:zlib. zlib's `maxOutputLength` stops inflation as soon as the output would pass the limit,
 * so a small stream that inflates to gigabytes costs at most `maxBytes` of memory.
 *
 * Several gzip members one after another decode as one stream (as Java's GZIPInputStream does).
 */
import zlib from 'node:zlib';

import { LogStoreError } from '../errors.js';
import { corrupt, describe, tooLarge } from './codec-errors.js';

/** zlib's default (6), which is also what Kafka's producer uses unless `compression.gzip.level` is set. */
const LEVEL = zlib.constants.Z_DEFAULT_COMPRESSION;

export function gzipCompress(data: Uint8Array): Buffer {
  return zlib.gzipSync(data, { level: LEVEL });
}

export function gzipDecompress(data: Uint8Array, maxBytes: number): Buffer {
  try {
    // maxOutputLength must be at least 1; a 0-byte limit is checked below.
    const out = zlib.gunzipSync(data, { maxOutputLength: Math.max(1, maxBytes) });
    if (out.length > maxBytes) throw tooLarge('gzip', `the decompressed size ${out.length}`, maxBytes);
    return out;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw tooLarge('gzip', 'the decompressed size', maxBytes);
    }
    if (err instanceof LogStoreError) throw err;
    throw corrupt('gzip', `not a valid gzip stream (${describe(err)})`, err);
  }
}
