/**
 * The only module that touches the native addon (native/logstore_native.c, built by node-gyp
 * into build/Release/logstore_native.node on `npm install`). It gives logstore what Node's fs
 * module lacks: shared memory mappings that can be released deterministically and need no open
 * descriptor, preallocation with real blocks, hole punching, msync/madvise, syncfs, a hardware
 * CRC32C, and the checks of a batch's records (scanRecords: ~20 ns a record of 100 bytes).
 *
 * Every function validates its arguments in C: a wrong call throws TypeError/RangeError and
 * never crashes the process. System call failures are thrown like Node's fs errors, with
 * `code` ('ENOSPC', 'EFBIG', 'EIO', ...), a negative `errno` and `syscall`.
 */
import { constants as bufferConstants } from 'node:buffer';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * What madvise() accepts. 'populate-write' (Linux 5.14+; EINVAL on older kernels, TypeError on
 * other systems) takes the write faults of every page of the range in one call.
 */
export type Advice = 'sequential' | 'random' | 'willneed' | 'dontneed' | 'populate-write';

interface Binding {
  mapFile(fd: number, length: number, writable: boolean): ArrayBuffer;
  mapPath(path: string, writable: boolean, length?: number): ArrayBuffer;
  unmap(buf: Uint8Array | ArrayBuffer): void;
  fallocate(fd: number, offset: number, length: number): void;
  punchHole(fd: number, offset: number, length: number): void;
  msync(buf: Uint8Array, offset: number, length: number): void;
  msyncAsync(buf: Uint8Array, offset: number, length: number): Promise<void>;
  madvise(buf: Uint8Array, offset: number, length: number, advice: Advice): void;
  syncFileSystem(path: string): void;
  syncFileSystemAsync(path: string): Promise<void>;
  crc32c(buf: Uint8Array, start: number, end: number, seed?: number): number;
  scanTables(): [fields: Int32Array, stamps: Float64Array];
  scanRecords(records: Uint8Array): number;
  keepFreedMemory(trimThreshold: number, topPad: number, prefault?: number): boolean;
  readonly crc32cImpl: 'sse4.2' | 'slicing-by-8';
}

/** The same addon built with LOGSTORE_TEST_HOOKS: for tests only, never loaded by the library. */
export interface TestBinding extends Binding {
  /**
   * 'zeroFill': fallocate() acts as if the filesystem answered EOPNOTSUPP (zero-fill fallback);
   * 'softwareCrc': crc32c() uses the portable slicing-by-8 code even where SSE4.2 is available.
   */
  testHook(name: 'zeroFill' | 'softwareCrc', on: boolean): void;
}

/** The package root: the nearest directory above this file that holds binding.gyp (works from
 * lib/storage/ under ts-node-like loaders and from build/lib/storage/ once compiled). */
function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'binding.gyp'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`logstore: cannot find the package root above ${import.meta.url}`);
    dir = parent;
  }
}

function load<T extends Binding>(name: string): T {
  const root = packageRoot();
  const file = path.join(root, 'build', 'Release', `${name}.node`);
  try {
    return createRequire(import.meta.url)(file) as T;
  } catch (err) {
    throw new Error(
      `logstore: could not load the native addon ${file}. It is built on install by node-gyp ` +
        `(needs python3, make and a C compiler): run \`npm rebuild logstore\` (or \`npm run install\` in ${root}).`,
      { cause: err },
    );
  }
}

const binding = load<Binding>('logstore_native');

/**
 * Maps `length` bytes of `fd` from offset 0 (MAP_SHARED, read-only or read-write). `length`
 * may exceed the file's size, but the caller must never touch bytes beyond EOF (SIGBUS): grow
 * the file with fallocate() first, and never store into a read-only mapping (SIGSEGV): both
 * are faults the kernel raises, not errors JS can catch. Never shrink a mapped file. Release
 * with unmap(); if the Buffer is only dropped, the mapping goes when the GC frees it. V8 counts
 * all of `length` as external memory, touched or not: thousands of mappings far larger than
 * their files keep the GC busy (see mapPath(), which maps what the file holds).
 */
export function mapFile(fd: number, length: number, writable: boolean): Buffer {
  if (typeof length === 'number' && length > bufferConstants.MAX_LENGTH) {
    throw new RangeError(`mapFile: length ${length} exceeds buffer.constants.MAX_LENGTH`);
  }
  const ab = binding.mapFile(fd, length, writable);
  return Buffer.from(ab, 0, length);
}

/**
 * Maps the file at `path` (MAP_SHARED, read-only or read-write): its whole current size, or its
 * first `length` bytes. The file is opened and closed within the call, so the mapping holds no
 * descriptor: thousands of mappings fit under `ulimit -n 1024` (the kernel's own reference to
 * the open file does not count). A mapping never reaches past EOF, so it cannot SIGBUS as long
 * as nothing shrinks the file; to see a file that grew, map it again. V8 counts the mapping's
 * length as external memory (a GC starts per 64 MiB of growth), which is why mapping what the
 * file holds, rather than a segment's capacity, keeps thousands of mappings cheap.
 *
 * Throws like fs: `code` 'ENOENT', 'EACCES', 'EMFILE'/'ENFILE' (descriptors exhausted: see
 * descriptorsExhausted()), with `syscall` ('open', 'fstat', 'mmap') and `path`; 'EINVAL' for an
 * empty file (mmap cannot map 0 bytes), 'EISDIR'/'ENODEV' for what is not a regular file,
 * RangeError when `length` exceeds the file's size.
 */
export function mapPath(path: string, writable: boolean, length?: number): Buffer {
  const ab = binding.mapPath(path, writable, length);
  if (ab.byteLength > bufferConstants.MAX_LENGTH) {
    binding.unmap(ab);
    throw new RangeError(`mapPath: ${path} is larger than buffer.constants.MAX_LENGTH`);
  }
  return Buffer.from(ab, 0, ab.byteLength);
}

/**
 * Whether an error from open (mapPath(), fs.openSync()...) means the process or the system ran
 * out of file descriptors ('EMFILE' past `ulimit -n`, 'ENFILE' past fs.file-max): not a problem
 * with the file, so a caller can close descriptors it caches, or say which limit to raise.
 */
export function descriptorsExhausted(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null | undefined)?.code;
  return code === 'EMFILE' || code === 'ENFILE';
}

/**
 * Releases a mapping now: detaches the ArrayBuffer (every Buffer or subarray over it becomes
 * length 0, so no view can reach freed memory), then munmap. Idempotent. Accepts the Buffer
 * from mapFile() or mapPath(), any view over the same ArrayBuffer, or the ArrayBuffer itself.
 * Do not unmap while an async operation (fs.write, a stream, zlib, crypto) still reads the
 * buffer; an msyncAsync() in flight is safe (the range is given back when it finishes).
 */
export const unmap: (buf: Uint8Array | ArrayBuffer) => void = binding.unmap;

/**
 * Reserves real blocks for [offset, offset + length) (fallocate mode 0, extending the file's
 * size), so later stores through a mapping can never hit a full disk. Where the filesystem
 * has no fallocate, writes zeros from EOF to offset + length instead. Throws ENOSPC / EDQUOT / EFBIG (past
 * `ulimit -f`: Node ignores SIGXFSZ) like fs errors. A length of 0 does nothing.
 */
export const fallocate: (fd: number, offset: number, length: number) => void = binding.fallocate;

/** Frees the blocks of [offset, offset + length) without changing the file's size (a no-op
 * where the filesystem cannot punch holes). */
export const punchHole: (fd: number, offset: number, length: number) => void = binding.punchHole;

/**
 * msync(MS_SYNC) of the pages covering [offset, offset + length) of a mapping. On Linux this is
 * fdatasync restricted to that range (the kernel calls the same vfs_fsync_range(datasync)): as
 * durable, and it needs no open descriptor, since the mapping holds the file.
 */
export const msync: (buf: Uint8Array, offset: number, length: number) => void = binding.msync;

/**
 * msync() on the libuv thread pool: resolves once the range is on disk, rejects with an fs-like
 * error (`syscall` 'msync'). The range is checked now (TypeError/RangeError thrown synchronously).
 * unmap() during the sync still detaches every view at once; the address range itself is given
 * back when the sync finishes, so the thread pool never touches a range reused by a newer mapping.
 */
export const msyncAsync: (buf: Uint8Array, offset: number, length: number) => Promise<void> =
  binding.msyncAsync;

/** madvise() on the pages covering [offset, offset + length) of a mapping. */
export const madvise: (buf: Uint8Array, offset: number, length: number, advice: Advice) => void =
  binding.madvise;

/**
 * syncfs(2) of the filesystem that holds `path` (a directory or a file; opened and closed within
 * the call): every dirty page and inode of that filesystem is written, its journal committed and
 * the device cache flushed, once. Where thousands of new directory entries or written files must
 * become durable together, this is one device flush instead of one per fsync()/fdatasync(). It
 * also writes what other programs left dirty on the same filesystem, so it pays only when many
 * files are at stake. Reports writeback errors of the filesystem nobody has seen yet, like fs
 * errors (`syscall` 'syncfs', `path`); 'ENOSYS' where the platform has no syncfs (not Linux).
 */
export const syncFileSystem: (path: string) => void = binding.syncFileSystem;

/** syncFileSystem() on the libuv thread pool: resolves once the filesystem is synced. */
export const syncFileSystemAsync: (path: string) => Promise<void> = binding.syncFileSystemAsync;

/**
 * CRC32C (Castagnoli) of buf[start, end), as Kafka's RecordBatch v2 uses. `seed` continues a
 * previous CRC: crc32c(b, 0, n) === crc32c(b, k, n, crc32c(b, 0, k)). Returns an unsigned
 * 32-bit number. Works on any byte view, including views over a mapping.
 */
export const crc32c: (buf: Uint8Array, start: number, end: number, seed?: number) => number = binding.crc32c;

/**
 * Checks a batch's records and says where each one's fields are, through the two tables
 * `scanTables()` returns (the same ones at every call in a thread): the layout is in
 * native/logstore_native.c, the one caller lib/format/record-decoder.ts.
 */
export const scanTables: () => [fields: Int32Array, stamps: Float64Array] = binding.scanTables;
export const scanRecords: (records: Uint8Array) => number = binding.scanRecords;

/**
 * glibc's mallopt(M_TRIM_THRESHOLD, trimThreshold) and mallopt(M_TOP_PAD, topPad), in bytes (at
 * most 2^31 - 1): the C heap keeps up to `trimThreshold` freed bytes at its top instead of giving
 * them back to the kernel at each free, and grows by `topPad` beyond each request. Then `prefault`
 * bytes (at most `trimThreshold`; default 0) of heap are allocated in 64 KiB pieces, written and
 * freed, so that their page faults are taken now, not by the first requests that need the memory.
 * It changes the whole process's allocator (like GLIBC_TUNABLES=glibc.malloc.trim_threshold=...),
 * so only code that owns the process calls it (`logstore serve`), never the library on its own.
 * Returns false, changing nothing, where the C library is not glibc.
 */
export const keepFreedMemory: (trimThreshold: number, topPad: number, prefault?: number) => boolean =
  binding.keepFreedMemory;

/** Which CRC32C code the addon chose at load time. */
export const crc32cImpl: 'sse4.2' | 'slicing-by-8' = binding.crc32cImpl;

let testBinding: TestBinding | null = null;

/**
 * For tests only: the addon built with its test hooks (a separate .node file, so that nothing
 * in the production build can change behaviour at run time). Its functions work like the ones
 * above and can be made to take the code paths this machine would not otherwise take.
 */
export function testingBinding(): TestBinding {
  testBinding ??= load<TestBinding>('logstore_native_test');
  return testBinding;
}
