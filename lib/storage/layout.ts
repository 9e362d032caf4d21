/**
 * The on-disk layout, in one place (docs/format.md describes each file's contents):
 *
 *   <dir>/catalog.sqlite                    topics, segments, recovery points, committed offsets
 *   <dir>/LOCK                              flock'ed by the one writer process
 *   <dir>/<topic>-<partition>/              one directory per partition
 *       <20-digit base offset>.log          record batches
 *       <20-digit base offset>.index        sparse offset index (a cache)
 *       <20-digit base offset>.timeindex    sparse time index (a cache)
 *       <20-digit base offset>.cleaned      a compaction's rewrite, before its swap
 *   <dir>/quarantine/<open time>/<topic>-<partition>/   files an open found that the catalog does
 *                                           not list and could not adopt: set aside, never deleted
 *
 * File names are zero-padded base offsets so that `ls` sorts them in offset order.
 */
import fs from 'node:fs';
import path from 'node:path';
import fsExt from 'fs-ext';
import { ioError, LogStoreError } from '../errors.js';
import * as native from './native.js';

export const CATALOG_FILE = 'catalog.sqlite';
export const LOCK_FILE = 'LOCK';
/**
 * Where an open sets aside files the catalog does not list and that do not continue a log. Not a
 * partition directory's name (no `-<digits>` suffix), so never taken for one.
 */
export const QUARANTINE_DIR = 'quarantine';

export type SegmentFileKind = 'log' | 'index' | 'timeindex' | 'cleaned';

/** `<topic>-<partition>`: what a partition directory's name looks like. */
const PARTITION_DIR = /^(.+)-(\d+)$/;
const SEGMENT_FILE = /^(\d{20})\.(log|index|timeindex|cleaned)$/;

export function catalogPath(dir: string): string {
  return path.join(dir, CATALOG_FILE);
}

export function lockPath(dir: string): string {
  return path.join(dir, LOCK_FILE);
}

export function quarantinePath(dir: string): string {
  return path.join(dir, QUARANTINE_DIR);
}

export function partitionDirName(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

export function partitionDir(dir: string, topic: string, partition: number): string {
  return path.join(dir, partitionDirName(topic, partition));
}

export function isPartitionDirName(name: string): boolean {
  return PARTITION_DIR.test(name);
}

/** The topic and partition a partition directory's name stands for, or null. */
export function parsePartitionDirName(name: string): { topic: string; partition: number } | null {
  const m = PARTITION_DIR.exec(name);
  return m ? { topic: m[1]!, partition: Number(m[2]) } : null;
}

export function segmentFileName(baseOffset: number, kind: SegmentFileKind): string {
  return `${String(baseOffset).padStart(20, '0')}.${kind}`;
}

export function segmentPath(partitionDirectory: string, baseOffset: number, kind: SegmentFileKind): string {
  return path.join(partitionDirectory, segmentFileName(baseOffset, kind));
}

/** The base offset and kind of a segment file's name, or null for any other name. */
export function parseSegmentFileName(name: string): { baseOffset: number; kind: SegmentFileKind } | null {
  const m = SEGMENT_FILE.exec(name);
  return m ? { baseOffset: Number(m[1]), kind: m[2] as SegmentFileKind } : null;
}

/** fsync of a directory: makes file creations, renames and deletions in it durable. */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch (err) {
    throw ioError(err, `Cannot sync the directory ${dir}`);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * Makes what was created in each of `dirs` (files, subdirectories) durable: an fsync of each, or,
 * for more than two, one syncfs of their filesystem: one device flush instead of one per
 * directory, so that creating a topic of 100 partitions costs about what one partition does.
 * `dirs` are on one filesystem (a store's directory and its partition directories).
 */
export function syncDirs(dirs: readonly string[]): void {
  if (dirs.length > 2) {
    try {
      native.syncFileSystem(dirs[0]!);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOSYS') {
        throw ioError(err, `Cannot sync the filesystem of ${dirs[0]}`);
      }
    }
  }
  for (const dir of dirs) fsyncDir(dir);
}

/**
 * `dir` must be a directory (or not exist yet): a regular file there, or a file where one of its
 * parents should be (ENOTDIR), is a clear error rather than a failed mkdir.
 */
export function checkIsDirectory(dir: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOTDIR') return;
    throw new LogStoreError(
      'LOGSTORE_INVALID_ARGUMENT',
      `${dir} is not a directory: a part of that path is a file. Pass the directory that holds (or will hold) the store.`,
    );
  }
  if (!stat.isDirectory()) {
    throw new LogStoreError(
      'LOGSTORE_INVALID_ARGUMENT',
      `${dir} is not a directory. Pass the directory that holds (or will hold) the store.`,
    );
  }
}

export function lockedError(dir: string): LogStoreError {
  return new LogStoreError(
    'LOGSTORE_LOCKED',
    `Another writer (a process, or an open LogStore in this one) holds ${lockPath(dir)}. ` +
      'Close it first, or open with readOnly: true to follow it.',
  );
}

/** Creates the directory if needed and takes its LOCK (flock, non-blocking); returns its fd. */
export function takeLock(dir: string): number {
  let fd: number;
  try {
    fs.mkdirSync(dir, { recursive: true });
    fd = fs.openSync(lockPath(dir), 'a');
  } catch (err) {
    throw ioError(err, `Cannot open ${lockPath(dir)}`);
  }
  try {
    fsExt.flockSync(fd, 'exnb');
  } catch (err) {
    fs.closeSync(fd);
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EAGAIN' || code === 'EWOULDBLOCK') throw lockedError(dir);
    throw ioError(err, `Cannot lock ${lockPath(dir)}`);
  }
  return fd;
}
