/**
 * A mirror's view of the cluster: the connection made from its options, the name its positions
 * are kept under, and reading a partition (one Fetch or ListOffsets at its leader, answered as
 * data, error code included, for the caller to judge).
 */
import type { Struct } from '../kafka/schema/types.js';
import { KafkaCluster } from './cluster.js';
import type { MirrorDirection, MirrorEvent } from './events.js';
import type { ResolvedMirrorOptions } from './options.js';
import { check, RetriableError } from './remote-errors.js';

/** Reaches the cluster named by the mirror's options; retries are reported as `retry` events. */
export function connectCluster(
  options: ResolvedMirrorOptions,
  emit: (e: MirrorEvent) => void,
): Promise<KafkaCluster> {
  return KafkaCluster.connect({
    brokers: options.brokers,
    clientId: options.clientId,
    tls: options.tls,
    sasl: options.sasl,
    retryTimeoutMs: options.retryTimeoutMs,
    requestTimeoutMs: options.requestTimeoutMs,
    signal: options.signal,
    onRetry: (reason, delayMs) => emit({ type: 'retry', reason, delayMs }),
  });
}

/**
 * `to <cluster id>` / `from <cluster id>`: positions belong to a cluster, whichever of its brokers
 * the bootstrap list names (a cluster without an id is named by that list).
 */
export function linkName(direction: MirrorDirection, cluster: KafkaCluster): string {
  return `${direction} ${cluster.clusterId ?? cluster.bootstrap}`;
}

export interface FetchedPartition {
  errorCode: number;
  highWatermark: number;
  lastStableOffset: number;
  logStartOffset: number;
  abortedTransactions: { producerId: number; firstOffset: number }[];
  records: Buffer;
}

export interface FetchTarget {
  topic: string;
  partition: number;
  offset: number;
}

/** Largest response and per-partition share asked for. */
export const FETCH_MAX_BYTES = 16 * 1024 * 1024;
export const FETCH_PARTITION_MAX_BYTES = 4 * 1024 * 1024;

const EMPTY = Buffer.alloc(0);

/**
 * One Fetch of several partitions led by `leader` (read_committed when `committedOnly`); the
 * answer per partition in the order asked. A request-level error is thrown (retriable or not).
 */
export async function fetchFrom(
  cluster: KafkaCluster,
  leader: number,
  targets: readonly FetchTarget[],
  maxWaitMs: number,
  committedOnly: boolean,
): Promise<FetchedPartition[]> {
  const client = await cluster.connection(leader);
  const version = client.version('Fetch', 4, 12);
  const topics = new Map<string, FetchTarget[]>();
  for (const t of targets) topics.set(t.topic, [...(topics.get(t.topic) ?? []), t]);
  const r = await client.request(
    'Fetch',
    version,
    {
      replicaId: -1,
      maxWaitMs,
      minBytes: maxWaitMs > 0 ? 1 : 0,
      maxBytes: FETCH_MAX_BYTES,
      isolationLevel: committedOnly ? 1 : 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [...topics].map(([topic, ts]) => ({
        topic,
        partitions: ts.map((t) => ({
          partition: t.partition,
          currentLeaderEpoch: -1,
          fetchOffset: t.offset,
          lastFetchedEpoch: -1,
          logStartOffset: -1,
          partitionMaxBytes: FETCH_PARTITION_MAX_BYTES,
        })),
      })),
      forgottenTopicsData: [],
      rackId: '',
    },
    maxWaitMs,
  );
  check((r.errorCode as number | undefined) ?? 0, 'Fetch');
  const answers = new Map<string, FetchedPartition>();
  for (const t of r.responses as Struct[]) {
    for (const p of t.partitions as Struct[]) {
      answers.set(`${String(t.topic)}\0${String(p.partitionIndex)}`, {
        errorCode: p.errorCode as number,
        highWatermark: p.highWatermark as number,
        lastStableOffset: p.lastStableOffset as number,
        logStartOffset: p.logStartOffset as number,
        abortedTransactions: (p.abortedTransactions as FetchedPartition['abortedTransactions'] | null) ?? [],
        records: (p.records as Buffer | null) ?? EMPTY,
      });
    }
  }
  return targets.map((t) => {
    const a = answers.get(`${t.topic}\0${t.partition}`);
    if (!a) throw new RetriableError(`Fetch: no answer for ${t.topic}-${t.partition}`, 13);
    return a;
  });
}

/** One partition's Fetch at its leader (read_uncommitted: a mirror looks for its own batches). */
export async function fetchOnce(
  cluster: KafkaCluster,
  topic: string,
  partition: number,
  offset: number,
  maxWaitMs: number,
): Promise<FetchedPartition> {
  const leader = cluster.leader(topic, partition);
  if (leader < 0) throw new RetriableError(`no leader for ${topic}-${partition}`, 5);
  return (await fetchFrom(cluster, leader, [{ topic, partition, offset }], maxWaitMs, false))[0]!;
}

/**
 * ListOffsets at the partition's leader: -1 the end (for read_committed, the last stable
 * offset), -2 the log start.
 */
export async function listOffset(
  cluster: KafkaCluster,
  topic: string,
  partition: number,
  timestamp: -1 | -2,
  committedOnly = false,
): Promise<number> {
  const leader = cluster.leader(topic, partition);
  if (leader < 0) throw new RetriableError(`no leader for ${topic}-${partition}`, 5);
  const client = await cluster.connection(leader);
  // Version 3 at most: librdkafka 2.0's mock broker writes version 4's leader epoch as 8 bytes.
  const r = await client.request('ListOffsets', client.version('ListOffsets', 1, 3), {
    replicaId: -1,
    isolationLevel: committedOnly ? 1 : 0,
    topics: [{ name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp }] }],
  });
  const p = ((r.topics as Struct[])[0]?.partitions as Struct[] | undefined)?.[0];
  if (!p) throw new RetriableError(`ListOffsets: no answer for ${topic}-${partition}`, 13);
  check(p.errorCode as number, `ListOffsets ${topic}-${partition}`);
  return p.offset as number;
}
