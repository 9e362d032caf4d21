/**
 * Ending long-running commands cleanly: SIGINT, SIGTERM or the output pipe closing (`| head`)
 * abort one AbortSignal; the command's loop sees it, closes its readers and the store, and exits
 * 0. A second signal while shutting down exits at once (130), in case the shutdown is stuck.
 */
import type { Output } from './output.js';

export class Stopper {
  private readonly controller = new AbortController();
  /** Why the command stopped: a signal name, 'EPIPE', or null while running. */
  reason: string | null = null;
  private readonly onSignal = (signal: NodeJS.Signals) => {
    if (this.reason !== null && this.reason !== 'EPIPE') process.exit(130);
    this.stop(signal);
  };

  constructor(private readonly out?: Output) {
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
    out?.onClose(() => this.stop('EPIPE'));
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get stopped(): boolean {
    return this.reason !== null;
  }

  stop(reason: string): void {
    if (this.reason !== null) return;
    this.reason = reason;
    this.out?.interrupt();
    this.controller.abort();
  }

  dispose(): void {
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
  }
}

/** Waits `ms`, or less if `signal` aborts; never rejects. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
