/**
 * One run of a mirror, in either direction: the steps both take in the same order, and the state
 * both keep. A run connects to the cluster, settles which topics it copies (creating them on the
 * side that lacks them, refusing a partition count that differs), loads each partition's position,
 * reports `start`, then runs its copy loop until it has copied what there was (without `follow`),
 * is stopped by its signal, or fails; then it reports `done`. The directions fill in the steps:
 * out.ts (store -> cluster) and in.ts (cluster -> store).
 *
 * A stop is not a failure: a run stopped by its signal ends with a `done` snapshot. The first fatal
 * error ends the loop at its next turn and is what the run throws.
 */
import { FIRST_BACKOFF_MS, MAX_BACKOFF_MS, MirrorStopped, type KafkaCluster } from './cluster.js';
import {
  ProgressMeter,
  type MirrorEvent,
  type MirrorProgressEvent,
  type PartitionProgress,
} from './events.js';
import { Waker, type LocalSide } from './local.js';
import type { ResolvedMirrorOptions } from './options.js';
import { connectCluster, linkName } from './remote-log.js';

/** A topic and its partition count, on either side. */
export interface TopicShape {
  name: string;
  partitions: number;
}

/** What the helpers of a run (positions, topics, groups) read from it. */
export interface MirrorContext {
  readonly local: LocalSide;
  readonly options: ResolvedMirrorOptions;
  readonly cluster: KafkaCluster;
  /** The name the positions are kept under in the catalog (`to <cluster id>`, `from ...`). */
  readonly link: string;
  readonly meter: ProgressMeter;
  readonly emit: (e: MirrorEvent) => void;
}

/** A partition being copied, and its failures: each partition retries on its own. */
export class MirrorPartition {
  readonly name: string;
  /** Without --follow: the end, on the side copied from, when the run started (copied up to there). */
  end = Number.POSITIVE_INFINITY;
  /** When the partition's current run of failures began (0: it is not failing). */
  failingSince = 0;
  /** The wait before the next attempt. */
  backoffMs = FIRST_BACKOFF_MS;

  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {
    this.name = `${topic}-${partition}`;
  }

  /** The wait before the next attempt; the one after it doubles (up to MAX_BACKOFF_MS). */
  takeBackoff(): number {
    const wait = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
    return wait;
  }

  /** A request of the partition succeeded: its next failure starts a new count. */
  succeeded(): void {
    this.failingSince = 0;
    this.backoffMs = FIRST_BACKOFF_MS;
  }
}

export abstract class MirrorRun<P extends MirrorPartition> implements MirrorContext {
  readonly link: string;
  readonly meter: ProgressMeter;
  protected partitions: P[] = [];
  protected readonly waker = new Waker();
  /** The first error that ends the run. */
  protected failure: unknown = null;
  /** The run is over: answers that arrive now are dropped. */
  protected finished = false;
  /** Every partition's position is loaded (and, for `to`, saved with this run's producer). */
  protected started = false;

  constructor(
    readonly local: LocalSide,
    readonly options: ResolvedMirrorOptions,
    readonly emit: (e: MirrorEvent) => void,
    readonly cluster: KafkaCluster,
  ) {
    this.link = linkName(options.direction, cluster);
    this.meter = new ProgressMeter(options.direction, cluster.clusterId ?? cluster.bootstrap);
  }

  async run(): Promise<MirrorProgressEvent> {
    const stop = () => this.waker.kick();
    this.options.signal?.addEventListener('abort', stop);
    try {
      const topics = await this.topicsToCopy();
      if (this.options.reset)
        this.local.positions.forget(
          this.link,
          topics.map((t) => t.name),
        );
      const created = await this.ensureTopics(topics);
      this.partitions = topics.flatMap((t) =>
        Array.from({ length: t.partitions }, (_, p) => this.newPartition(t.name, p)),
      );
      await this.loadPositions();
      this.started = true;
      this.emit({
        type: 'start',
        direction: this.options.direction,
        cluster: this.meter.cluster,
        topics: topics.map((t) => ({
          topic: t.name,
          partitions: t.partitions,
          created: created.has(t.name),
        })),
        partitions: this.progress(),
      });
      await this.loop();
      if (this.failure) throw this.failure;
      await this.settle();
      return this.meter.snapshot('done', this.progress());
    } catch (err) {
      if (err instanceof MirrorStopped && this.options.signal?.aborted)
        return this.meter.snapshot('done', this.started ? this.progress() : []);
      throw err;
    } finally {
      this.finished = true;
      this.options.signal?.removeEventListener('abort', stop);
      try {
        if (this.started) this.saveOnExit();
      } finally {
        this.cluster.close();
      }
    }
  }

  /** The topics to copy, as the side copied from has them. */
  protected abstract topicsToCopy(): Promise<TopicShape[]>;
  /** Creates the topics the side copied to lacks; the names it created. */
  protected abstract ensureTopics(topics: TopicShape[]): Promise<Set<string>>;
  protected abstract newPartition(topic: string, partition: number): P;
  /** Where each partition's copy resumes. */
  protected abstract loadPositions(): Promise<void>;
  /** Copies until done, stopped or failed (then `failure` is set). */
  protected abstract loop(): Promise<void>;
  protected abstract progress(): PartitionProgress[];

  /** After a loop that copied everything: what must be saved before `done`. */
  protected async settle(): Promise<void> {}

  /** On any exit once started, failed or not. */
  protected saveOnExit(): void {}

  /** Ends the run with `err` (the first one counts) at the loop's next turn. */
  protected fatal(err: unknown): void {
    this.failure ??= err;
    this.waker.kick();
  }

  /**
   * Counts a failure of `p` (`what` it was doing, e.g. 'Sending to'): true when it is to be tried
   * again (a `retry` event is out), false when it has kept failing for `retryTimeoutMs` (the run
   * then fails with LOGSTORE_IO, its positions saved).
   */
  protected retryLater(p: P, what: string, reason: string): boolean {
    const now = Date.now();
    if (p.failingSince === 0) p.failingSince = now;
    else if (now - p.failingSince > this.options.retryTimeoutMs) {
      this.fatal(this.cluster.unreachable(`${what} ${p.name}`, reason, now - p.failingSince));
      return false;
    }
    this.emit({ type: 'retry', reason: `${p.name}: ${reason}`, delayMs: p.backoffMs });
    return true;
  }
}

/** Connects to the cluster the options name, then runs `Engine` (a direction) over it. */
export async function runMirror(
  Engine: new (
    local: LocalSide,
    options: ResolvedMirrorOptions,
    emit: (e: MirrorEvent) => void,
    cluster: KafkaCluster,
  ) => MirrorRun<MirrorPartition>,
  local: LocalSide,
  options: ResolvedMirrorOptions,
  emit: (e: MirrorEvent) => void,
): Promise<MirrorProgressEvent> {
  const cluster = await connectCluster(options, emit);
  return new Engine(local, options, emit, cluster).run();
}
