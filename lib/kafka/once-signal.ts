/**
 * Something that happens once (the listener closing, a connection going away) and that many
 * short waits listen for. A long-poll Fetch ends in milliseconds, the connection lives for days:
 * with `promise.then`, every wait that ended would stay referenced from the connection's promise
 * (its closure, timer and response) until the connection closed. Here a wait removes its listener
 * when it ends.
 */
export class OnceSignal {
  private listeners: Set<() => void> | undefined = new Set();

  get fired(): boolean {
    return this.listeners === undefined;
  }

  /** Listeners waiting (for tests: none may stay behind once their wait ended). */
  get listenerCount(): number {
    return this.listeners?.size ?? 0;
  }

  /** Runs `listener` when the signal fires (at once if it has); returns what removes it. */
  listen(listener: () => void): () => void {
    if (this.listeners === undefined) {
      listener();
      return () => undefined;
    }
    const listeners = this.listeners;
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  /** Runs every listener once; later `fire` calls do nothing. */
  fire(): void {
    const listeners = this.listeners;
    if (listeners === undefined) return;
    this.listeners = undefined;
    for (const listener of listeners) listener();
  }
}
