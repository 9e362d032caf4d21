/**
 * Making many segments durable at once. One segment is an msync of its mapping (mapped-file.ts):
 * one device flush each. A store of thousands of partitions can have thousands of segments
 * written since the last sync; flushing the device once per segment would take seconds (a flush
 * costs milliseconds), so above SYNC_FILESYSTEM_ABOVE segments one syncfs(2) of the filesystem
 * that holds them replaces their msyncs: every dirty page written, the journal committed and the
 * device flushed once, for all of them.
 *
 * syncfs also writes what other programs left dirty on that filesystem, and reports any writeback
 * error of it that nobody has seen yet: a failure anywhere there poisons the writer, which errs
 * on the safe side. Where the platform has no syncfs (ENOSYS), the segments are synced one by one.
 */
import fs from 'node:fs';
import * as native from './native.js';
import type { Segment } from './segment.js';

/** Up to this many segments are synced one by one (a thread-pool msync each, in parallel). */
export const SYNC_FILESYSTEM_ABOVE = 32;

/**
 * The most bytes past a segment's data that a sync prefaults (64 pages; group commit of 100
 * writers appends about 17 KiB between syncs).
 */
const PREFAULT_MAX_BYTES = 256 * 1024;
/** Each segment's size when its last ranged sync began (how much a sync cycle appends). */
const sizeAtLastSync = new WeakMap<Segment, number>();

/** The filesystem of each segment's directory, found once per segment. */
const devices = new WeakMap<Segment, number>();

/** One directory per filesystem the segments are on (a store is one filesystem, as a rule). */
function fileSystemsOf(segments: readonly Segment[]): string[] {
  const dirs = new Map<number, string>();
  for (const s of segments) {
    let dev = devices.get(s);
    if (dev === undefined) {
      dev = fs.statSync(s.dir).dev;
      devices.set(s, dev);
    }
    if (!dirs.has(dev)) dirs.set(dev, s.dir);
  }
  return [...dirs.values()];
}

function unsupported(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOSYS';
}

/** Resolves once everything written through the segments' mappings is on stable storage. */
export async function syncSegments(segments: readonly Segment[]): Promise<void> {
  const live = segments.filter((s) => !s.released);
  if (live.length > SYNC_FILESYSTEM_ABOVE) {
    try {
      for (const dir of fileSystemsOf(live)) await native.syncFileSystemAsync(dir);
      return;
    } catch (err) {
      if (!unsupported(err)) throw err;
    }
  }
  const syncs = live.map((s) => s.sync());
  // While the syncs run on the thread pool, the JS thread takes the page faults of the appends
  // that will follow: as many bytes as each segment got since its last sync.
  for (const s of live) {
    const before = sizeAtLastSync.get(s) ?? s.size;
    sizeAtLastSync.set(s, s.size);
    if (s.size > before) s.prefault(Math.min(s.size - before, PREFAULT_MAX_BYTES));
  }
  await Promise.all(syncs);
}

/** The same, synchronously (close, and an open after recovery). */
export function syncSegmentsNow(segments: readonly Segment[]): void {
  const live = segments.filter((s) => !s.released);
  if (live.length > SYNC_FILESYSTEM_ABOVE) {
    try {
      for (const dir of fileSystemsOf(live)) native.syncFileSystem(dir);
      return;
    } catch (err) {
      if (!unsupported(err)) throw err;
    }
  }
  for (const s of live) s.syncSync();
}
