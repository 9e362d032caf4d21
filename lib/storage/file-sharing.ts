/**
 * A file another process may delete, or rename another file over, while this one maps it (a
 * follower's view of the writer's segments): how a mapped file (mapped-file.ts) tells that its
 * path no longer names the file it opened, and so never maps or measures another one in its place.
 */
import fs from 'node:fs';
import { ioError, type LogStoreError } from '../errors.js';

/** How the file is shared with other processes. */
export interface Sharing {
  /**
   * Another process may delete the file or rename another over it (a follower's view): every
   * mapping made after `open` checks that the path still names the file that was opened, and
   * `gone()` makes the error when it does not.
   */
  gone?: () => LogStoreError;
  /** Map at `open` and never let the cache unmap it: the mapping keeps the file as it was. */
  hold?: boolean;
}

/** The file a path named when it was opened: its device and inode. */
export class OpenedFile {
  private readonly dev: number;
  private readonly ino: number;

  constructor(
    readonly path: string,
    stat: fs.Stats,
    /** The error for a caller that finds the file gone. */
    readonly gone: () => LogStoreError,
  ) {
    this.dev = stat.dev;
    this.ino = stat.ino;
  }

  /** Whether `stat` is of the file opened. */
  is(stat: fs.Stats): boolean {
    return stat.ino === this.ino && stat.dev === this.dev;
  }

  /** Whether the path still names the file opened. */
  stillNamed(): boolean {
    try {
      return this.is(fs.statSync(this.path));
    } catch {
      return false;
    }
  }
}

/**
 * The length of the file at `path` now, or null when it is gone or (with `opened`) is no longer
 * the file opened.
 */
export function currentSize(path: string, opened: OpenedFile | null): number | null {
  try {
    const stat = fs.statSync(path);
    return opened === null || opened.is(stat) ? stat.size : null;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError(err, `Cannot stat ${path}`);
    return null;
  }
}
