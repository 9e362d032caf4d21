/**
 * The one wait of readers and consumers (`waitForRecords`, and `for await` between reads): a
 * promise that resolves once, when `read()` may return records, when the reader or consumer
 * closes (its `waiters` are woken), or when one of its signals aborts. Whatever the wait set up
 * (a listener on the next append, a file-system watch, a timer) is undone when it resolves.
 */

import { invalidArgument } from '../options.js';

/** Registers something to undo when the wait ends (at once if it has ended already). */
export type OnDone = (cleanup: () => void) => void;

/** What waits: its pending waits (woken all at once by its close or a rebalance) and its state. */
export interface Waiting {
  readonly waiters: Set<() => void>;
  readonly closed: boolean;
}

/** `signal` as given to `waitForRecords`: an AbortSignal or undefined. */
export function checkSignal(signal: unknown): AbortSignal | undefined {
  if (signal !== undefined && !(signal instanceof AbortSignal))
    throw invalidArgument('`signal` must be an AbortSignal.');
  return signal;
}

/** The longest a Node timer waits: the keep-alive of a live wait. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Resolves when `arm` calls `done` (it may do so at once: data is there), when `owner` closes,
 * or when a signal aborts.
 */
export function waitForData(
  owner: Waiting,
  signals: readonly (AbortSignal | undefined)[],
  arm: (done: () => void, onDone: OnDone) => void,
): Promise<void> {
  return new Promise((resolve) => {
    const cleanups: (() => void)[] = [];
    let settled = false;
    const done = () => {
      if (settled) return;
      settled = true;
      owner.waiters.delete(done);
      for (const cleanup of cleanups) cleanup();
      resolve();
    };
    const onDone: OnDone = (cleanup) => (settled ? cleanup() : cleanups.push(cleanup));
    if (owner.closed || signals.some((s) => s?.aborted)) return done();
    owner.waiters.add(done);
    for (const s of signals) {
      if (s === undefined) continue;
      s.addEventListener('abort', done, { once: true });
      onDone(() => s.removeEventListener('abort', done));
    }
    arm(done, onDone);
  });
}

/**
 * A live wait is a pending operation: it keeps the process alive, as a socket does (the wake-up
 * comes from an append in this process; this timer only holds the event loop open).
 */
export function keepProcessAlive(done: () => void, onDone: OnDone): void {
  const keepAlive = setTimeout(done, MAX_TIMER_MS);
  onDone(() => clearTimeout(keepAlive));
}
