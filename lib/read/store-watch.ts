/**
 * What wakes a read-only follower when the writer, in another process, changes the store: one
 * fs.watch (inotify on Linux) of the store directory, shared by every follower of that directory
 * in this process. It sees the two signs of a writer at work:
 *   - `LOCK`'s timestamps: the writer touches them after appends (storage/append-signal.ts),
 *     because batches written through a memory mapping raise no inotify event;
 *   - `catalog.sqlite-wal` (and `catalog.sqlite` at a checkpoint): every catalog commit, which
 *     is how rolls, retention, compaction and topic changes become visible.
 * A follower waiting for records costs nothing while the writer is idle. The watch is held while
 * someone waits and keeps the process alive then (a live iterator is a pending operation, like a
 * socket); unwatched, it is dropped after a short idle time.
 *
 * The watch also polls, with one timer for all its followers: slowly (FALLBACK_POLL_MS) in case
 * an event never comes (a writer of an older logstore that does not signal its appends, a file
 * system that drops notifications), or every POLL_MS where the watch cannot be set up at all (the
 * inotify limits). A poll is a 'catalog' change: followers look at everything.
 */
import fs from 'node:fs';
import { LOCK_FILE } from '../storage/layout.js';

/** What an event means for a follower. */
export type StoreChange = 'appended' | 'catalog';

/** An unwatched directory's watch is closed after this long (a live loop re-waits at once). */
const IDLE_CLOSE_MS = 2000;
/** The poll while events arrive: a safety net, so rare that an idle follower costs nothing. */
export const FALLBACK_POLL_MS = 5000;
/** The poll where no event can arrive: what bounds a follower's latency then. */
export const POLL_MS = 5;

const watches = new Map<string, StoreWatch>();

/** The shared watch of the store directory `dir`. */
export function watchStore(dir: string): StoreWatch {
  let watch = watches.get(dir);
  if (!watch || watch.closed) {
    watch = new StoreWatch(dir);
    watches.set(dir, watch);
  }
  return watch;
}

export class StoreWatch {
  private watcher: fs.FSWatcher | null = null;
  private readonly listeners = new Set<(change: StoreChange) => void>();
  private idleTimer: NodeJS.Timeout | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  closed = false;

  constructor(private readonly dir: string) {
    try {
      this.watcher = fs.watch(dir, { persistent: true }, (_event, file) => this.onEvent(file));
      this.watcher.on('error', () => this.fail());
      this.watcher.unref();
    } catch {
      this.watcher = null; // no inotify here (or its limits reached): followers poll
    }
  }

  /** True while file-system events arrive; false: changes are found by polling every POLL_MS. */
  get watching(): boolean {
    return this.watcher !== null;
  }

  /**
   * Calls `listener` on every change (and every poll) until the returned function is called.
   * While anyone listens, the watch and its poll keep the process alive.
   */
  subscribe(listener: (change: StoreChange) => void): () => void {
    this.listeners.add(listener);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    this.watcher?.ref();
    this.pollTimer ??= setInterval(() => this.emit('catalog'), this.watching ? FALLBACK_POLL_MS : POLL_MS);
    return () => {
      if (!this.listeners.delete(listener) || this.listeners.size > 0) return;
      this.stopPolling();
      this.watcher?.unref();
      this.idleTimer = setTimeout(() => this.closeIdle(), IDLE_CLOSE_MS);
      this.idleTimer.unref();
    };
  }

  private stopPolling(): void {
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = null;
  }

  /** A file-system event: LOCK touched means appended; anything else may be a catalog change. */
  private onEvent(file: string | Buffer | null): void {
    this.emit(file !== null && String(file) === LOCK_FILE ? 'appended' : 'catalog');
  }

  private emit(change: StoreChange): void {
    for (const listener of [...this.listeners]) listener(change);
  }

  /** The watch failed (the directory went away): waiters wake, look, and wait on a new watch. */
  private fail(): void {
    this.drop();
    this.emit('catalog');
  }

  private closeIdle(): void {
    if (this.listeners.size === 0) this.drop();
  }

  private drop(): void {
    this.stopPolling();
    this.watcher?.close();
    this.watcher = null;
    this.closed = true;
    if (watches.get(this.dir) === this) watches.delete(this.dir);
  }
}
