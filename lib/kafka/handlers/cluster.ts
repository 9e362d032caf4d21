/** ApiVersions, Metadata, FindCoordinator and InitProducerId: what a client asks the cluster. */
import { LogStoreError } from '../../errors.js';
import { checkTopicName } from '../../options.js';
import { KafkaError, kafkaErrorOf } from '../errors.js';
import { APIS } from '../schema/index.js';
import type { Struct } from '../schema/types.js';
import type { RequestContext } from './context.js';

/** Kafka's "authorized operations not requested" marker (INT32_MIN). */
const OPS_NOT_REQUESTED = -2147483648;

export function apiVersionsBody(errorCode: number): Struct {
  return {
    errorCode,
    apiKeys: APIS.map((api) => ({
      apiKey: api.key,
      minVersion: api.versions[0],
      maxVersion: api.versions[1],
    })),
    throttleTimeMs: 0,
  };
}

export function handleApiVersions(): Struct {
  return apiVersionsBody(KafkaError.NONE);
}

function partitionsOf(ctx: RequestContext, count: number): Struct[] {
  return Array.from({ length: count }, (_, i) => ({
    errorCode: KafkaError.NONE,
    partitionIndex: i,
    leaderId: ctx.broker.nodeId,
    leaderEpoch: 0,
    replicaNodes: [ctx.broker.nodeId],
    isrNodes: [ctx.broker.nodeId],
    offlineReplicas: [],
  }));
}

function topicEntry(ctx: RequestContext, name: string, errorCode: number, partitions: number): Struct {
  return {
    errorCode,
    name,
    isInternal: false,
    partitions: errorCode === KafkaError.NONE ? partitionsOf(ctx, partitions) : [],
    topicAuthorizedOperations: OPS_NOT_REQUESTED,
  };
}

export function handleMetadata(ctx: RequestContext, req: Struct): Struct {
  const { backend, options } = ctx.broker;
  const requested = req.topics as { name: string }[] | null;
  // v0 asks for every topic with an empty list; v1+ with null.
  const all = requested === null || (ctx.version === 0 && requested.length === 0);
  const topics: Struct[] = [];
  if (all) {
    for (const t of backend.listTopics()) topics.push(topicEntry(ctx, t.name, KafkaError.NONE, t.partitions));
  } else {
    const allowCreate = options.autoCreateTopics && (ctx.version < 4 || req.allowAutoTopicCreation === true);
    for (const { name } of requested) {
      let t = backend.describeTopic(name);
      if (!t && allowCreate) {
        try {
          checkTopicName(name);
          backend.createTopic(name, options.defaultPartitions, {});
          options.log(`auto-created topic ${name} with ${options.defaultPartitions} partition(s)`);
        } catch (err) {
          const invalidName = err instanceof LogStoreError && err.code === 'LOGSTORE_INVALID_ARGUMENT';
          // Another connection may have created it meanwhile: then describe it below.
          if (!(err as { code?: string }).code?.endsWith('TOPIC_EXISTS')) {
            topics.push(
              topicEntry(
                ctx,
                name,
                invalidName ? KafkaError.INVALID_TOPIC_EXCEPTION : kafkaErrorOf(err, 'admin'),
                0,
              ),
            );
            continue;
          }
        }
        t = backend.describeTopic(name);
      }
      topics.push(
        t
          ? topicEntry(ctx, name, KafkaError.NONE, t.partitions)
          : topicEntry(ctx, name, KafkaError.UNKNOWN_TOPIC_OR_PARTITION, 0),
      );
    }
  }
  return {
    throttleTimeMs: 0,
    brokers: [{ nodeId: ctx.broker.nodeId, host: ctx.broker.host, port: ctx.broker.port, rack: null }],
    clusterId: ctx.broker.clusterId,
    controllerId: ctx.broker.nodeId,
    topics,
    clusterAuthorizedOperations: OPS_NOT_REQUESTED,
  };
}

export function handleFindCoordinator(ctx: RequestContext, req: Struct): Struct {
  // keyType 1 asks for a transaction coordinator: logstore has no transactions.
  const isGroup = (req.keyType as number) === 0;
  return {
    throttleTimeMs: 0,
    errorCode: isGroup ? KafkaError.NONE : KafkaError.COORDINATOR_NOT_AVAILABLE,
    errorMessage: isGroup ? null : 'logstore does not support transactions',
    nodeId: isGroup ? ctx.broker.nodeId : -1,
    host: isGroup ? ctx.broker.host : '',
    port: isGroup ? ctx.broker.port : -1,
  };
}

export function handleInitProducerId(ctx: RequestContext, req: Struct): Struct {
  if (req.transactionalId !== null) {
    return {
      throttleTimeMs: 0,
      errorCode: KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
      producerId: -1,
      producerEpoch: -1,
    };
  }
  try {
    const given = req.producerId as number;
    const id =
      given >= 0
        ? ctx.broker.backend.initProducerId({ producerId: given, producerEpoch: req.producerEpoch as number })
        : ctx.broker.backend.initProducerId();
    return {
      throttleTimeMs: 0,
      errorCode: KafkaError.NONE,
      producerId: id.producerId,
      producerEpoch: id.producerEpoch,
    };
  } catch (err) {
    return { throttleTimeMs: 0, errorCode: kafkaErrorOf(err, 'produce'), producerId: -1, producerEpoch: -1 };
  }
}
