/**
 * zstd (Kafka codec 4): standard zstd frames (RFC 8878), level 3 (Kafka's default), with the
 * content size in the frame header (a one-shot encode knows it; kafka-python cannot read a frame
 * over 1 MiB without it).
 *
 * Two implementations of the same libzstd, chosen once per process:
 * - `node:zlib`, where Node has zstd (22.15+, 23.8+): native, no package involved.
 * - `@bokuweb/zstd-wasm` elsewhere (Node 20, early 22.x): libzstd compiled to WebAssembly, one
 *   binary for every platform. Its WebAssembly module is instantiated synchronously on first use
 *   (appends are synchronous), through the Emscripten `instantiateWasm` hook of its glue code.
 *
 * Both are bounded in the same way: `zstdShape` first checks the frames' structure and bounds
 * their decompressed size from their headers; then node:zlib stops at `maxOutputLength`, and the
 * WebAssembly decoder writes into a buffer of min(bound, maxBytes) bytes, which libzstd never
 * passes (it fails with dstSize_tooSmall instead). A frame without a content size (Kafka's Java
 * producer writes none) is thus decoded exactly up to the limit, without a guess.
 */
import fs from 'node:fs';
import zlib from 'node:zlib';

import { LogStoreError } from '../errors.js';
import { corrupt, describe, tooLarge } from './codec-errors.js';
import { loadPackage, packageFile, requireFile } from './codec-packages.js';
import { zstdShape, type ZstdShape } from './zstd-frames.js';

/** Kafka's default zstd level (CompressionType.ZSTD, and libzstd's ZSTD_CLEVEL_DEFAULT). */
export const ZSTD_LEVEL = 3;

export type ZstdBackendName = 'node:zlib' | 'wasm';

export interface ZstdBackend {
  readonly name: ZstdBackendName;
  compress(data: Uint8Array): Buffer;
  /** Decodes the frames zstdShape found (`shape.ranges` of `data`), into at most `capacity` bytes. */
  decompress(data: Uint8Array, capacity: number, shape: ZstdShape): Buffer;
}

/** node:zlib's zstd, typed here: @types/node for Node 20 does not declare it. */
interface ZlibZstd {
  zstdCompressSync(data: Uint8Array, options: { params: Record<number, number> }): Buffer;
  zstdDecompressSync(data: Uint8Array, options: { maxOutputLength: number }): Buffer;
}

const zlibZstd = zlib as unknown as Partial<ZlibZstd>;
const zlibLevelParam = (zlib.constants as unknown as Record<string, number>).ZSTD_c_compressionLevel;

/** Whether this Node has zstd in node:zlib. */
export const zlibHasZstd = typeof zlibZstd.zstdDecompressSync === 'function' && zlibLevelParam !== undefined;

class ZlibBackend implements ZstdBackend {
  readonly name = 'node:zlib';
  private readonly zstd = zlibZstd as ZlibZstd;

  compress(data: Uint8Array): Buffer {
    return this.zstd.zstdCompressSync(data, { params: { [zlibLevelParam!]: ZSTD_LEVEL } });
  }

  /** Frame by frame: node:zlib's zstd stops after the first frame and ignores what follows. */
  decompress(data: Uint8Array, capacity: number, shape: ZstdShape): Buffer {
    const parts: Buffer[] = [];
    let produced = 0;
    for (const [start, end] of shape.ranges) {
      let out: Buffer;
      try {
        out = this.zstd.zstdDecompressSync(data.subarray(start, end), {
          maxOutputLength: Math.max(1, capacity - produced),
        });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw new LimitReached();
        throw corrupt('zstd', `not a valid zstd stream (${describe(err)})`, err);
      }
      produced += out.length;
      if (produced > capacity) throw new LimitReached();
      parts.push(out);
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, produced);
  }
}

/** The decoder ran out of the room it was given. */
class LimitReached extends Error {}

/** The exports of @bokuweb/zstd-wasm's Emscripten glue that this file calls. */
interface WasmModule {
  instantiateWasm?: (
    imports: WebAssembly.Imports,
    receive: (instance: WebAssembly.Instance) => void,
  ) => unknown;
  init(binary?: Uint8Array): unknown;
  calledRun?: boolean;
  HEAPU8: Uint8Array;
  _malloc(size: number): number;
  _free(ptr: number): void;
  _ZSTD_isError(code: number): number;
  _ZSTD_compressBound(size: number): number;
  _ZSTD_createCCtx(): number;
  _ZSTD_createDCtx(): number;
  _ZSTD_compress_usingDict(
    cctx: number,
    dst: number,
    capacity: number,
    src: number,
    size: number,
    dict: number,
    dictSize: number,
    level: number,
  ): number;
  _ZSTD_decompress_usingDict(
    dctx: number,
    dst: number,
    capacity: number,
    src: number,
    size: number,
    dict: number,
    dictSize: number,
  ): number;
}

/** libzstd's error codes (zstd_errors.h) that need words of their own. */
const ZSTD_ERRORS: Record<number, string> = {
  1: 'generic error',
  10: 'unknown frame magic',
  12: 'unsupported format version',
  14: 'unsupported frame parameter',
  16: 'window too large',
  20: 'corruption detected',
  22: 'checksum mismatch',
  24: 'literals header wrong',
  30: 'dictionary corrupted',
  32: 'wrong dictionary (the frame needs one)',
  64: 'out of memory',
  70: 'output buffer too small',
  72: 'wrong input size (a frame is cut short)',
};

class WasmBackend implements ZstdBackend {
  readonly name = 'wasm';
  private readonly wasm: WasmModule;
  private readonly cctx: number;
  private readonly dctx: number;

  constructor() {
    // Loaded through the package's entry point first, so that a missing package reads as such.
    loadPackage('zstd', '@bokuweb/zstd-wasm');
    const glue = requireFile(packageFile('@bokuweb/zstd-wasm', 'zstd.js')) as { Module: WasmModule };
    const wasm = glue.Module;
    if (!wasm.calledRun) {
      const binary = fs.readFileSync(packageFile('@bokuweb/zstd-wasm', 'zstd.wasm'));
      wasm.instantiateWasm = (imports, receive) => {
        const instance = new WebAssembly.Instance(new WebAssembly.Module(binary), imports);
        receive(instance);
        return instance.exports;
      };
      wasm.init();
      if (!wasm.calledRun)
        throw new LogStoreError('LOGSTORE_IO', 'zstd: the WebAssembly module did not start');
    }
    this.wasm = wasm;
    this.cctx = wasm._ZSTD_createCCtx();
    this.dctx = wasm._ZSTD_createDCtx();
    if (this.cctx === 0 || this.dctx === 0)
      throw new LogStoreError('LOGSTORE_IO', 'zstd: no memory for a context');
  }

  /** Error code of a size_t result (libzstd returns -code as an unsigned size), or 0. */
  private errorCode(result: number): number {
    return this.wasm._ZSTD_isError(result) ? -(result | 0) : 0;
  }

  /** Runs `use` with `size` bytes of WebAssembly memory, freed after. */
  private withMemory<T>(size: number, use: (ptr: number) => T): T {
    const ptr = this.wasm._malloc(Math.max(1, size));
    if (ptr === 0) throw new OutOfWasmMemory(size);
    try {
      return use(ptr);
    } finally {
      this.wasm._free(ptr);
    }
  }

  compress(data: Uint8Array): Buffer {
    const wasm = this.wasm;
    const bound = wasm._ZSTD_compressBound(data.length);
    return this.withMemory(data.length, (src) => {
      wasm.HEAPU8.set(data, src);
      return this.withMemory(bound, (dst) => {
        const result = wasm._ZSTD_compress_usingDict(
          this.cctx,
          dst,
          bound,
          src,
          data.length,
          0,
          0,
          ZSTD_LEVEL,
        );
        const code = this.errorCode(result);
        if (code)
          throw new LogStoreError('LOGSTORE_IO', `zstd: compression failed (${ZSTD_ERRORS[code] ?? code})`);
        return Buffer.from(wasm.HEAPU8.subarray(dst, dst + result)); // HEAPU8 is re-read: memory may have grown
      });
    });
  }

  decompress(data: Uint8Array, capacity: number, _shape: ZstdShape): Buffer {
    const wasm = this.wasm;
    try {
      return this.withMemory(data.length, (src) => {
        wasm.HEAPU8.set(data, src);
        return this.withMemory(capacity, (dst) => {
          const result = wasm._ZSTD_decompress_usingDict(this.dctx, dst, capacity, src, data.length, 0, 0);
          const code = this.errorCode(result);
          if (code === 70) throw new LimitReached();
          if (code)
            throw corrupt(
              'zstd',
              `not a valid zstd stream (${ZSTD_ERRORS[code] ?? `libzstd error ${code}`})`,
            );
          return Buffer.from(wasm.HEAPU8.subarray(dst, dst + result));
        });
      });
    } catch (err) {
      if (err instanceof OutOfWasmMemory) {
        throw corrupt('zstd', `${err.size} bytes do not fit in the decoder's 2 GiB of WebAssembly memory`);
      }
      throw err;
    }
  }
}

class OutOfWasmMemory extends Error {
  constructor(readonly size: number) {
    super(`no ${size} bytes of WebAssembly memory`);
  }
}

const backends = new Map<ZstdBackendName, ZstdBackend>();

/** The backends this Node can run, preferred first. */
export function zstdBackendNames(): ZstdBackendName[] {
  return zlibHasZstd ? ['node:zlib', 'wasm'] : ['wasm'];
}

export function zstdBackend(name: ZstdBackendName = zstdBackendNames()[0]!): ZstdBackend {
  let backend = backends.get(name);
  if (!backend) {
    if (name === 'node:zlib' && !zlibHasZstd) {
      throw new LogStoreError(
        'LOGSTORE_INVALID_ARGUMENT',
        `zstd: Node ${process.version} has no zstd in node:zlib`,
      );
    }
    backend = name === 'node:zlib' ? new ZlibBackend() : new WasmBackend();
    backends.set(name, backend);
  }
  return backend;
}

export function zstdCompress(data: Uint8Array, backend = zstdBackend()): Buffer {
  return backend.compress(data);
}

export function zstdDecompress(data: Uint8Array, maxBytes: number, backend = zstdBackend()): Buffer {
  const shape = zstdShape(data);
  if (shape.declared > maxBytes) {
    throw tooLarge('zstd', `the content size its frames declare (${shape.declared} bytes)`, maxBytes);
  }
  const capacity = Math.min(shape.bound, maxBytes);
  try {
    return backend.decompress(data, capacity, shape);
  } catch (err) {
    if (err instanceof LimitReached) {
      // Only possible when the limit, not the frames' own bound, set the room.
      if (capacity < shape.bound) throw tooLarge('zstd', 'the decompressed size', maxBytes);
      throw corrupt('zstd', `the frames decode to more than the ${shape.bound} bytes their headers allow`);
    }
    throw err;
  }
}
