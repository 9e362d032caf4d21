/** ListOffsets: earliest (-2), latest (-1) or the first offset at or after a timestamp. */
import { KafkaError, kafkaErrorOf } from '../errors.js';
import type { Struct } from '../schema/types.js';
import type { RequestContext } from './context.js';

interface ListTopic {
  name: string;
  partitions: { partitionIndex: number; timestamp: number; maxNumOffsets: number }[];
}

export function handleListOffsets(ctx: RequestContext, req: Struct): Struct {
  const topics = (req.topics as ListTopic[]).map((t) => ({
    name: t.name,
    partitions: t.partitions.map((p) => {
      const base = {
        partitionIndex: p.partitionIndex,
        timestamp: -1,
        offset: -1,
        leaderEpoch: -1,
        oldStyleOffsets: [] as number[],
      };
      try {
        const r = ctx.broker.backend.listOffset(t.name, p.partitionIndex, p.timestamp);
        return {
          ...base,
          errorCode: KafkaError.NONE,
          timestamp: r.timestamp,
          offset: r.offset,
          leaderEpoch: 0,
          // v0 answers a list of offsets (at most maxNumOffsets); one is all logstore has.
          oldStyleOffsets: r.offset >= 0 && p.maxNumOffsets > 0 ? [r.offset] : [],
        };
      } catch (err) {
        return { ...base, errorCode: kafkaErrorOf(err, 'fetch') };
      }
    }),
  }));
  return { throttleTimeMs: 0, topics };
}
