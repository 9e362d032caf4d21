/**
 * `store.mirror()`'s handle: the mirror runs as soon as it is created, whether or not anyone
 * listens, and reports through three doors:
 *   - `for await (const event of mirror)`: every event in order (progress snapshots coalesced
 *     when the loop falls behind), ending after the `done` event, or throwing the mirror's error;
 *   - `mirror.on('progress' | 'start' | 'retry' | 'warning' | 'done', listener)`;
 *   - `await mirror.done`: the final `done` snapshot, or the error.
 * Events from before the first iteration are kept for it, so `for await` right after
 * `store.mirror()` misses nothing. Stop it with the `signal` given in its options (or `stop()`):
 * in-flight batches are settled and positions saved before `done` resolves.
 */
import { EventEmitter } from 'node:events';
import { LogStoreError } from '../errors.js';
import type { MirrorEvent, MirrorProgressEvent } from './events.js';
import type { LocalSide } from './local.js';
import { normalizeMirrorOptions, type MirrorOptions, type ResolvedMirrorOptions } from './options.js';

/** Events kept for an iterator that is not reading; progress snapshots replace each other. */
const MAX_QUEUED = 1000;

interface Listener {
  push(e: MirrorEvent): void;
  end(err?: unknown): void;
}

export class Mirror extends EventEmitter implements AsyncIterable<MirrorEvent> {
  /** Resolves with the last `done` snapshot; rejects with the mirror's error. */
  readonly done: Promise<MirrorProgressEvent>;
  private readonly controller = new AbortController();
  private readonly iterators = new Set<Listener>();
  /** Events before the first iteration (for it). */
  private early: MirrorEvent[] | null = [];
  private outcome: { error?: unknown } | null = null;

  /** @internal Use `store.mirror(options)`. */
  constructor(
    options: ResolvedMirrorOptions,
    local: () => LocalSide,
    run: (
      local: LocalSide,
      options: ResolvedMirrorOptions,
      emit: (e: MirrorEvent) => void,
    ) => Promise<MirrorProgressEvent>,
  ) {
    super();
    const outer = options.signal;
    if (outer) {
      if (outer.aborted) this.controller.abort();
      else outer.addEventListener('abort', () => this.controller.abort(), { once: true });
    }
    const resolved = { ...options, signal: this.controller.signal };
    this.done = (async () => {
      await Promise.resolve(); // the caller gets the handle (and attaches listeners) first
      let side: LocalSide;
      try {
        side = local();
      } catch (err) {
        this.finish(err);
        throw err;
      }
      try {
        const last = await run(side, resolved, (e) => this.publish(e));
        this.publish(last);
        this.finish();
        return last;
      } catch (err) {
        const failure = withResumeNote(err);
        this.finish(failure);
        throw failure;
      } finally {
        side.release();
      }
    })();
    // Nobody may be waiting on `done`: its rejection is reported through the iterators or
    // `done`, never as an unhandled rejection.
    this.done.catch(() => undefined);
  }

  /** Asks the mirror to stop (as its `signal` would); `done` resolves once positions are saved. */
  stop(): Promise<MirrorProgressEvent> {
    this.controller.abort();
    return this.done;
  }

  [Symbol.asyncIterator](): AsyncIterator<MirrorEvent> {
    const queue: MirrorEvent[] = this.early ?? [];
    this.early = null;
    let waiting: ((r: IteratorResult<MirrorEvent>) => void) | null = null;
    let failing: ((err: unknown) => void) | null = null;
    let ended: { error?: unknown } | null = this.outcome;
    const listener: Listener = {
      push: (e) => {
        if (waiting) {
          const w = waiting;
          waiting = failing = null;
          w({ value: e, done: false });
        } else enqueue(queue, e);
      },
      end: (error) => {
        ended = error === undefined ? {} : { error };
        this.iterators.delete(listener);
        if (!waiting) return;
        const w = waiting;
        const f = failing!;
        waiting = failing = null;
        if (error === undefined) w({ value: undefined, done: true });
        else f(error);
      },
    };
    if (!ended) this.iterators.add(listener);
    return {
      next: () => {
        const e = queue.shift();
        if (e) return Promise.resolve({ value: e, done: false });
        if (ended) {
          return ended.error === undefined
            ? Promise.resolve({ value: undefined, done: true })
            : Promise.reject(ended.error);
        }
        return new Promise((resolve, reject) => {
          waiting = resolve;
          failing = reject;
        });
      },
      return: () => {
        this.iterators.delete(listener);
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }

  private publish(e: MirrorEvent): void {
    if (this.early) enqueue(this.early, e);
    for (const it of this.iterators) it.push(e);
    this.emit(e.type, e);
  }

  private finish(error?: unknown): void {
    this.outcome = error === undefined ? {} : { error };
    for (const it of [...this.iterators]) it.end(error);
  }
}

/** A cluster that went away is worth another try later: the message says that nothing is lost. */
function withResumeNote(err: unknown): unknown {
  if (!(err instanceof LogStoreError) || err.code !== 'LOGSTORE_IO') return err;
  return new LogStoreError(
    'LOGSTORE_IO',
    `${err.message} The mirror's position is saved: run it again to resume.`,
    {
      cause: err,
      details: err.details,
    },
  );
}

function enqueue(queue: MirrorEvent[], e: MirrorEvent): void {
  const last = queue[queue.length - 1];
  if (e.type === 'progress' && last?.type === 'progress') queue[queue.length - 1] = e;
  else if (queue.length < MAX_QUEUED) queue.push(e);
}

/**
 * @internal Validates `options` (throwing LOGSTORE_INVALID_ARGUMENT now) and starts the mirror;
 * the engine and the Kafka client are loaded on first use.
 */
export function startMirror(options: MirrorOptions, local: () => LocalSide): Mirror {
  const resolved = normalizeMirrorOptions(options);
  return new Mirror(resolved, local, async (side, opts, emit) => {
    const { runMirror } = await import('./run.js');
    const direction =
      opts.direction === 'to' ? (await import('./out.js')).OutMirror : (await import('./in.js')).InMirror;
    return runMirror(direction, side, opts, emit);
  });
}

export type { MirrorOptions };
