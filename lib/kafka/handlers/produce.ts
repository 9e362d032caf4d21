/**
 * Produce: each partition's records go to the backend as the producer's own batches (validated,
 * offsets assigned, stored as they are). acks=0 sends no response; as Kafka does, a failure then
 * closes the connection, the only way left to tell the producer.
 */
import { KafkaError, kafkaErrorOf } from '../errors.js';
import type { Struct } from '../schema/types.js';
import type { RequestContext } from './context.js';

interface ProduceTopic {
  name: string;
  partitionData: { index: number; records: Buffer | null }[];
}

export function handleProduce(ctx: RequestContext, req: Struct): Struct | undefined {
  const acks = req.acks as number;
  const topics = req.topicData as ProduceTopic[];
  const { backend, options } = ctx.broker;
  let refused: number | undefined;
  // v0-2 carry message format 0/1, which logstore does not store (Kafka 4 dropped them too).
  // They are advertised anyway because librdkafka 2.0 only compresses when Produce v0 is listed.
  if (ctx.version < 3) refused = KafkaError.UNSUPPORTED_FOR_MESSAGE_FORMAT;
  else if (acks !== 0 && acks !== 1 && acks !== -1) refused = KafkaError.INVALID_REQUIRED_ACKS;
  else if (req.transactionalId !== null) refused = KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
  const failures: string[] = [];
  const responses = topics.map((t) => ({
    name: t.name,
    partitionResponses: t.partitionData.map((p) => {
      const base = {
        index: p.index,
        baseOffset: -1,
        logAppendTimeMs: -1,
        logStartOffset: -1,
        recordErrors: [],
        errorMessage: null,
      };
      if (refused !== undefined) return { ...base, errorCode: refused };
      if (p.records === null || p.records.length === 0)
        return { ...base, errorCode: KafkaError.CORRUPT_MESSAGE };
      try {
        const r = backend.appendBatches(t.name, p.index, p.records);
        return {
          ...base,
          errorCode: KafkaError.NONE,
          baseOffset: r.baseOffset,
          logAppendTimeMs: r.logAppendTime,
          logStartOffset: r.logStartOffset,
        };
      } catch (err) {
        const errorCode = kafkaErrorOf(err, 'produce');
        const message = err instanceof Error ? err.message : String(err);
        if (errorCode === KafkaError.UNKNOWN_SERVER_ERROR)
          options.log(`produce to ${t.name}-${p.index} failed: ${message}`);
        failures.push(`${t.name}-${p.index}: ${message}`);
        return { ...base, errorCode, errorMessage: message };
      }
    }),
  }));
  if (acks === 0) {
    if (failures.length > 0)
      ctx.connection.closeAfterResponse = `acks=0 produce failed (${failures.join('; ')})`;
    return undefined;
  }
  return { responses, throttleTimeMs: 0 };
}
