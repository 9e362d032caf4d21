/**
 * The state each call of an open store checks before it does anything: the store is open, and
 * for a write, writable (not opened read-only, and not poisoned by a failed sync: durability.ts).
 * The parts that serve calls on their own (consumers, readers, the Kafka listener, mirrors) check
 * it too, through the same two methods.
 */
import { LogStoreError } from './errors.js';

/** @internal */
export class StoreState {
  /** Set by `close()`: from then on every call is refused with LOGSTORE_CLOSED. */
  closed = false;

  constructor(
    private readonly dir: string,
    private readonly readOnly: boolean,
    private readonly poisoned: () => LogStoreError | null,
  ) {}

  checkOpen = (): void => {
    if (this.closed)
      throw new LogStoreError('LOGSTORE_CLOSED', `The store at ${this.dir} is closed; open it again.`);
  };

  checkWritable = (): void => {
    this.checkOpen();
    if (this.readOnly) {
      throw new LogStoreError(
        'LOGSTORE_READ_ONLY',
        `The store at ${this.dir} was opened with readOnly: true.`,
      );
    }
    const poisoned = this.poisoned();
    if (poisoned) throw poisoned;
  };
}
