/**
 * How the writer tells read-only followers in other processes that it appended. Batches are
 * written through memory mappings, and inotify reports no change made through a mapping; so after
 * appends the writer sets the timestamps of its LOCK file (futimes on the descriptor it holds: no
 * data is written, LOCK stays empty), and a follower's fs.watch of the store directory sees that
 * (read/store-watch.ts). Every other change a follower must see is a catalog commit, which writes
 * `catalog.sqlite-wal` and needs no signal.
 *
 * Cost: an append only sets a flag; the touch, one system call, runs once the current task has
 * ended, at most once per MIN_INTERVAL_MS, and always after the last append of a burst. A follower
 * therefore learns of an append within that interval plus the time the writer's task runs on.
 */
import fs from 'node:fs';
import { monotonicMs } from '../monotonic-clock.js';

/** Touches at most this often: a few hundred system calls a second at most, whatever the rate. */
export const MIN_INTERVAL_MS = 2;

export class AppendSignal {
  private scheduled = false;
  private lastTouch = -Infinity;

  /** `fd`: the writer's open LOCK file. */
  constructor(private fd: number) {}

  /** Called after every append: schedules a touch unless one is pending. */
  notify(): void {
    if (this.scheduled || this.fd < 0) return;
    this.scheduled = true;
    const wait = this.lastTouch + MIN_INTERVAL_MS - monotonicMs();
    if (wait <= 0) setImmediate(() => this.touch());
    else setTimeout(() => this.touch(), wait);
  }

  /** Stops signalling (before the LOCK descriptor is closed). */
  close(): void {
    this.fd = -1;
  }

  private touch(): void {
    this.scheduled = false;
    if (this.fd < 0) return;
    this.lastTouch = monotonicMs();
    const now = Date.now() / 1000;
    try {
      fs.futimesSync(this.fd, now, now);
    } catch {
      // A lost signal only delays followers until their fallback poll; appends must not fail.
    }
  }
}
