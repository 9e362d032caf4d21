/**
 * CreateTopics, DeleteTopics, DescribeConfigs and CreatePartitions. Topic configs travel under
 * Kafka's names (`retention.ms`, `cleanup.policy`, ...); the backend decides which it supports
 * and refuses the rest with a message the client sees. CreatePartitions is refused: a topic's
 * partition count is fixed in logstore, since keys map to partitions by count.
 */
import { LogStoreError } from '../../errors.js';
import { checkTopicName } from '../../options.js';
import { KafkaError, kafkaErrorOf } from '../errors.js';
import type { Struct } from '../schema/types.js';
import type { RequestContext } from './context.js';

const RESOURCE_TOPIC = 2;
const RESOURCE_BROKER = 4;
const SOURCE_TOPIC_CONFIG = 1;

interface CreatableTopic {
  name: string;
  numPartitions: number;
  replicationFactor: number;
  assignments: unknown[];
  configs: { name: string; value: string | null }[];
}

function refusal(err: unknown): { errorCode: number; errorMessage: string } {
  const invalidName =
    err instanceof LogStoreError &&
    err.code === 'LOGSTORE_INVALID_ARGUMENT' &&
    /topic name/.test(err.message);
  return {
    errorCode: invalidName ? KafkaError.INVALID_TOPIC_EXCEPTION : kafkaErrorOf(err, 'admin'),
    errorMessage: err instanceof Error ? err.message : String(err),
  };
}

export function handleCreateTopics(ctx: RequestContext, req: Struct): Struct {
  const { backend, options } = ctx.broker;
  const validateOnly = req.validateOnly === true;
  const topics = (req.topics as CreatableTopic[]).map((t) => {
    const partitions = t.numPartitions === -1 ? options.defaultPartitions : t.numPartitions;
    const base = {
      name: t.name,
      numPartitions: -1,
      replicationFactor: -1,
      configs: null as Struct[] | null,
      errorMessage: null as string | null,
    };
    if (t.replicationFactor !== -1 && t.replicationFactor !== 1) {
      return {
        ...base,
        errorCode: KafkaError.INVALID_REPLICATION_FACTOR,
        errorMessage: 'logstore keeps one replica: use replication factor 1 or -1',
      };
    }
    if (t.assignments.length > 0) {
      return {
        ...base,
        errorCode: KafkaError.INVALID_REPLICA_ASSIGNMENT,
        errorMessage: 'logstore has one broker: give a partition count, not an assignment',
      };
    }
    if (partitions < 1) {
      return {
        ...base,
        errorCode: KafkaError.INVALID_PARTITIONS,
        errorMessage: `partition count must be at least 1, got ${partitions}`,
      };
    }
    const config: Record<string, string> = {};
    for (const c of t.configs) if (c.value !== null) config[c.name] = c.value;
    try {
      checkTopicName(t.name);
      if (validateOnly) {
        if (backend.describeTopic(t.name)) {
          return {
            ...base,
            errorCode: KafkaError.TOPIC_ALREADY_EXISTS,
            errorMessage: `topic ${t.name} exists`,
          };
        }
      } else {
        backend.createTopic(t.name, partitions, config);
      }
    } catch (err) {
      return { ...base, ...refusal(err) };
    }
    const created = backend.describeTopic(t.name);
    return {
      ...base,
      errorCode: KafkaError.NONE,
      numPartitions: partitions,
      replicationFactor: 1,
      configs: Object.entries(created?.config ?? config).map(([name, value]) => ({
        name,
        value,
        readOnly: false,
        configSource: SOURCE_TOPIC_CONFIG,
        isSensitive: false,
      })),
    };
  });
  return { throttleTimeMs: 0, topics };
}

export function handleDeleteTopics(ctx: RequestContext, req: Struct): Struct {
  const responses = (req.topicNames as string[]).map((name) => {
    try {
      ctx.broker.backend.deleteTopic(name);
      return { name, errorCode: KafkaError.NONE, errorMessage: null };
    } catch (err) {
      return { name, ...refusal(err) };
    }
  });
  return { throttleTimeMs: 0, responses };
}

interface ConfigResource {
  resourceType: number;
  resourceName: string;
  configurationKeys: string[] | null;
}

export function handleDescribeConfigs(ctx: RequestContext, req: Struct): Struct {
  const results = (req.resources as ConfigResource[]).map((r) => {
    const base = {
      resourceType: r.resourceType,
      resourceName: r.resourceName,
      errorMessage: null as string | null,
      configs: [] as Struct[],
    };
    if (r.resourceType === RESOURCE_BROKER) return { ...base, errorCode: KafkaError.NONE };
    if (r.resourceType !== RESOURCE_TOPIC) {
      return {
        ...base,
        errorCode: KafkaError.INVALID_REQUEST,
        errorMessage: `resource type ${r.resourceType} is not supported`,
      };
    }
    const topic = ctx.broker.backend.describeTopic(r.resourceName);
    if (!topic) {
      return {
        ...base,
        errorCode: KafkaError.UNKNOWN_TOPIC_OR_PARTITION,
        errorMessage: `no topic ${r.resourceName}`,
      };
    }
    const wanted = r.configurationKeys;
    const configs = Object.entries(topic.config)
      .filter(([name]) => wanted === null || wanted.includes(name))
      .map(([name, value]) => ({
        name,
        value,
        readOnly: false,
        isDefault: false,
        configSource: SOURCE_TOPIC_CONFIG,
        isSensitive: false,
        synonyms: [],
        configType: 0,
        documentation: null,
      }));
    return { ...base, errorCode: KafkaError.NONE, configs };
  });
  return { throttleTimeMs: 0, results };
}

export function handleCreatePartitions(ctx: RequestContext, req: Struct): Struct {
  const results = (req.topics as { name: string; count: number }[]).map((t) => {
    const topic = ctx.broker.backend.describeTopic(t.name);
    if (!topic)
      return {
        name: t.name,
        errorCode: KafkaError.UNKNOWN_TOPIC_OR_PARTITION,
        errorMessage: `no topic ${t.name}`,
      };
    if (t.count <= topic.partitions) {
      return {
        name: t.name,
        errorCode: KafkaError.INVALID_PARTITIONS,
        errorMessage: `topic ${t.name} has ${topic.partitions} partition(s); a new count must be larger`,
      };
    }
    return {
      name: t.name,
      errorCode: KafkaError.POLICY_VIOLATION,
      errorMessage:
        `logstore does not add partitions to an existing topic (${t.name} keeps ${topic.partitions}): ` +
        'keys map to partitions by count, so create a new topic with the count you need and copy the data',
    };
  });
  return { throttleTimeMs: 0, results };
}
