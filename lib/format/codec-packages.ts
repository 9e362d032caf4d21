/**
 * The codec packages, loaded on first use: a platform without a prebuilt binary for one of them
 * (see the README, "Compression codecs") can still open stores and read every other codec; only
 * the batches that need the missing codec fail, with a LogStoreError that names it.
 */
import { createRequire } from 'node:module';
import path from 'node:path';

import { LogStoreError } from '../errors.js';
import { describe, type CodecName } from './codec-errors.js';

const require = createRequire(import.meta.url);

/** `snappy` 7.x (napi-rs over the Rust snap crate): raw snappy blocks (compression only, see snappy-block.ts). */
export interface SnappyBinding {
  compressSync(input: Uint8Array): Buffer;
}

/** `lz4-napi` 2.x (napi-rs over lz4_flex): raw LZ4 blocks behind a 4-byte little-endian size. */
export interface Lz4Binding {
  compressSync(data: Buffer): Buffer;
  uncompressSync(data: Uint8Array): Buffer;
}

const loaded = new Map<string, unknown>();

export function loadPackage<T>(codec: CodecName, name: string): T {
  let pkg = loaded.get(name);
  if (pkg === undefined) {
    try {
      pkg = require(name) as unknown;
    } catch (err) {
      throw new LogStoreError(
        'LOGSTORE_IO',
        `${codec}: the package ${name} could not be loaded on ${process.platform}-${process.arch} (${describe(err)})`,
        { cause: err },
      );
    }
    loaded.set(name, pkg);
  }
  return pkg as T;
}

/** Resolves a file inside an installed package (for files its `exports` map does not list). */
export function packageFile(name: string, file: string): string {
  return path.join(path.dirname(require.resolve(name)), file);
}

export function requireFile(path: string): unknown {
  return require(path);
}
