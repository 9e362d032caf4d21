/**
 * Crash and failure points for the reliability tests, driven by environment variables so that a
 * real child process can be made to die (SIGKILL) or fail at an exact step:
 *   LOGSTORE_CRASH_AT=<point>   the process kills itself when it reaches <point>
 *   LOGSTORE_FAIL_SYNC=once|always  fdatasync reports EIO (once, or every time)
 * Unset in production; checking them costs one property read.
 */
const crashAt = process.env.LOGSTORE_CRASH_AT;
let failSync = process.env.LOGSTORE_FAIL_SYNC;

export type CrashPoint =
  | 'roll:after-create'
  | 'roll:after-catalog'
  | 'flush:after-sync'
  | 'close:after-sync'
  | 'delete-topic:after-catalog'
  | 'create-topic:after-files'
  | 'commit:before'
  | 'compact:after-write'
  | 'compact:after-swap';

export function crashPoint(point: CrashPoint): void {
  if (crashAt === point) process.kill(process.pid, 'SIGKILL');
}

/** Throws EIO when a sync failure is being injected. */
export function injectedSyncFailure(): void {
  if (!failSync) return;
  if (failSync === 'once') failSync = undefined;
  const err = new Error(
    'EIO: i/o error, fdatasync (injected by LOGSTORE_FAIL_SYNC)',
  ) as NodeJS.ErrnoException;
  err.code = 'EIO';
  throw err;
}
