/**
 * Which topics a mirror copies, and making both sides agree on them: a topic the side copied to
 * lacks is created there with the same partition count; a topic whose partition count differs is
 * refused, since keys would land on other partitions. Out (store -> cluster) reads the store's
 * topics and creates on the cluster; in (cluster -> store) reads the cluster's and creates in the
 * store.
 */
import { LogStoreError } from '../errors.js';
import type { Struct } from '../kafka/schema/types.js';
import type { LogStore } from '../store.js';
import type { KafkaCluster } from './cluster.js';
import { check, KafkaCode } from './remote-errors.js';
import type { TopicShape } from './run.js';

/** The store's topics named by `names` (null: all of them); LOGSTORE_TOPIC_NOT_FOUND for a missing one. */
export function storeTopics(store: LogStore, names: readonly string[] | null): TopicShape[] {
  const all = store.topics().map((t) => ({ name: t.name, partitions: t.partitionCount }));
  if (names === null) {
    if (all.length === 0)
      throw new LogStoreError(
        'LOGSTORE_TOPIC_NOT_FOUND',
        `The store at ${store.dir} has no topics to mirror.`,
      );
    return all;
  }
  return names.map((name) => {
    const t = all.find((x) => x.name === name);
    if (!t)
      throw new LogStoreError(
        'LOGSTORE_TOPIC_NOT_FOUND',
        `Topic '${name}' does not exist in the store at ${store.dir}.`,
      );
    return t;
  });
}

/**
 * Creates the topics the cluster lacks, with the store's partition counts (CreateTopics; a
 * cluster without it, as librdkafka's mock, creates them on Metadata with its default count),
 * and refuses a topic whose partition count differs. The names it created.
 */
export async function ensureClusterTopics(
  cluster: KafkaCluster,
  topics: readonly TopicShape[],
  requestTimeoutMs: number,
): Promise<Set<string>> {
  // Every topic: naming them would make a broker that auto-creates (Metadata before v4) create them.
  await cluster.retry('Metadata', () => cluster.refresh(null));
  const missing = topics.filter((t) => {
    const meta = cluster.topics.get(t.name);
    return !meta || meta.errorCode === KafkaCode.UNKNOWN_TOPIC_OR_PARTITION;
  });
  let autoCreate = false;
  if (missing.length > 0) {
    autoCreate = !(await createClusterTopics(cluster, missing, requestTimeoutMs));
  }
  for (const t of topics) {
    const meta = await cluster.topic(t.name, autoCreate);
    if (meta.partitions.length !== t.partitions) {
      throw new LogStoreError(
        'LOGSTORE_INVALID_ARGUMENT',
        `Topic '${t.name}' has ${t.partitions} partition(s) in the store and ${meta.partitions.length} on the cluster ` +
          `at ${cluster.bootstrap}: keys would land on other partitions. Create it there with ${t.partitions} ` +
          'partition(s) (or delete it there so that the mirror creates it), or leave it out with --topics.',
        { details: { kind: 'partition-count' } },
      );
    }
  }
  return new Set(missing.map((t) => t.name));
}

/** CreateTopics for `topics`; false when the cluster does not serve it. */
async function createClusterTopics(
  cluster: KafkaCluster,
  topics: readonly TopicShape[],
  requestTimeoutMs: number,
): Promise<boolean> {
  return cluster.retry('CreateTopics', async () => {
    const client = await cluster.connection('any');
    const version = client.pick('CreateTopics', 2, 5);
    if (version === undefined) return false;
    const r = await client.request('CreateTopics', version, {
      topics: topics.map((t) => ({
        name: t.name,
        numPartitions: t.partitions,
        // -1: the cluster's default replication factor (version 4+); before, as many as it has, up to 3.
        replicationFactor: version >= 4 ? -1 : Math.min(3, Math.max(1, cluster.brokerCount)),
        assignments: [],
        configs: [],
      })),
      timeoutMs: Math.min(requestTimeoutMs, 30_000),
      validateOnly: false,
    });
    for (const t of r.topics as Struct[]) {
      const code = t.errorCode as number;
      if (code !== KafkaCode.TOPIC_ALREADY_EXISTS)
        check(code, `Creating topic ${String(t.name)}`, t.errorMessage as string | null);
    }
    return true;
  });
}

/** The cluster's topics named by `names` (null: all but its internal ones), with their partition counts. */
export async function clusterTopics(
  cluster: KafkaCluster,
  names: readonly string[] | null,
): Promise<TopicShape[]> {
  await cluster.retry('Metadata', () => cluster.refresh(names === null ? null : [...names]));
  const wanted = names ?? [...cluster.topics.values()].filter((t) => !t.internal).map((t) => t.name);
  if (wanted.length === 0)
    throw new LogStoreError(
      'LOGSTORE_TOPIC_NOT_FOUND',
      `The cluster at ${cluster.bootstrap} has no topics to mirror.`,
    );
  const out = [];
  for (const name of wanted) {
    const meta = cluster.topics.get(name);
    if (!meta || meta.errorCode === KafkaCode.UNKNOWN_TOPIC_OR_PARTITION)
      throw new LogStoreError(
        'LOGSTORE_TOPIC_NOT_FOUND',
        `Topic '${name}' does not exist on the cluster at ${cluster.bootstrap}.`,
      );
    out.push({ name, partitions: (await cluster.topic(name, false)).partitions.length });
  }
  return out;
}

/** Creates the topics the store lacks with the cluster's partition counts; refuses a different count. */
export function ensureStoreTopics(
  store: LogStore,
  topics: readonly TopicShape[],
  cluster: KafkaCluster,
): Set<string> {
  const created = new Set<string>();
  const existing = new Map(store.topics().map((t) => [t.name, t.partitionCount]));
  for (const t of topics) {
    const count = existing.get(t.name);
    if (count === undefined) {
      store.createTopic(t.name, { partitions: t.partitions });
      created.add(t.name);
    } else if (count !== t.partitions) {
      throw new LogStoreError(
        'LOGSTORE_INVALID_ARGUMENT',
        `Topic '${t.name}' has ${t.partitions} partition(s) on the cluster at ${cluster.bootstrap} and ${count} ` +
          'in the store: keys would land on other partitions. Delete it from the store (the mirror creates it), ' +
          'or leave it out with --topics.',
        { details: { kind: 'partition-count' } },
      );
    }
  }
  return created;
}
