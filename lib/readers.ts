/**
 * The readers open on a store (`store.reader()`): each reads one partition, and checks on every
 * call that the store is open and its topic still the one it was made for. A topic's deletion
 * closes its readers, and the store's close closes them all.
 */
import { LogStoreError } from './errors.js';
import { checkKeys, invalidArgument } from './options.js';
import { checkPartition } from './producer.js';
import { checkStartSpec, Reader, type ReaderOptions } from './read/reader.js';
import type { StoreState } from './store-state.js';
import type { Topics } from './topics.js';

/** @internal */
export class Readers {
  private readonly open = new Set<Reader>();

  constructor(
    private readonly topics: Topics,
    private readonly state: StoreState,
    /** A read-only store's readers follow a writer in another process. */
    private readonly follower: boolean,
  ) {}

  /** See `LogStore.reader`. */
  create(topic: string, options?: ReaderOptions): Reader {
    const state = this.topics.get(topic);
    const o = options ?? {};
    checkKeys(o, ['partition', 'from', 'signal'], 'reader option');
    const partition = o.partition === undefined ? 0 : checkPartition(state, o.partition);
    const from = checkStartSpec(o.from ?? 'earliest');
    if (o.signal !== undefined && !(o.signal instanceof AbortSignal))
      throw invalidArgument('`signal` must be an AbortSignal.');
    const source = {
      follower: this.follower,
      log: () => {
        this.state.checkOpen();
        if (!this.topics.isCurrent(state)) {
          throw new LogStoreError('LOGSTORE_TOPIC_NOT_FOUND', `Topic '${topic}' was deleted.`);
        }
        return state.logs[partition]!;
      },
    };
    const reader = new Reader(source, topic, partition, from, o.signal, (r) => this.open.delete(r));
    this.open.add(reader);
    return reader;
  }

  /** Closes the readers of `topic` (it is being deleted). */
  closeTopic(topic: string): void {
    for (const reader of [...this.open]) if (reader.topic === topic) reader.close();
  }

  closeAll(): void {
    for (const reader of [...this.open]) reader.close();
  }
}
