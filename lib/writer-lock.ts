/**
 * The writer's hold on a store directory: its LOCK file, locked with flock for as long as the
 * store is open (storage/layout.ts takes it), so that one writer at a time, in any process, opens
 * the directory. A second open in the same process is refused at once, before it touches the
 * file. The locked descriptor also carries the append signal that wakes followers in other
 * processes (storage/append-signal.ts). A read-only store holds no lock.
 */
import fs from 'node:fs';
import { AppendSignal } from './storage/append-signal.js';
import { lockedError, takeLock } from './storage/layout.js';

/** Directories of stores opened for writing in this process: a second open is refused at once. */
const openWriters = new Set<string>();

/** @internal */
export class WriterLock {
  private readonly appendSignal: AppendSignal;

  private constructor(
    private readonly dir: string,
    private fd: number,
  ) {
    this.appendSignal = new AppendSignal(fd);
  }

  /** Locks `dir` (LOGSTORE_LOCKED when another writer, here or elsewhere, holds it). */
  static take(dir: string): WriterLock {
    if (openWriters.has(dir)) throw lockedError(dir);
    const lock = new WriterLock(dir, takeLock(dir));
    openWriters.add(dir);
    return lock;
  }

  /** A read-only store's: no lock, no signal. */
  static none(dir: string): WriterLock {
    return new WriterLock(dir, -1);
  }

  /** Wakes followers in other processes (called after appends). */
  notify(): void {
    this.appendSignal.notify();
  }

  /** Releases the lock (safe to call twice). */
  release(): void {
    if (this.fd < 0) return;
    this.appendSignal.close();
    fs.closeSync(this.fd); // releases the flock
    this.fd = -1;
    openWriters.delete(this.dir);
  }
}
