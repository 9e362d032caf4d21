/**
 * Fetch, with Kafka's long poll: answer at once when at least `minBytes` are available (or on an
 * error, or with maxWaitMs 0), else wait for the backend's append notification on any requested
 * partition, up to `maxWaitMs`, and answer with whatever is there then. While it waits, what
 * arrives is counted, not read (as Kafka's delayed fetch estimates it): the bytes appended to
 * each partition, up to its `partitionMaxBytes`, added to what the first read found. Reading the
 * log at each append would make every append pay a read of all that has arrived, for each
 * waiting fetch. Records are the stored
 * batches, unmodified. Size limits as Kafka (KIP-74): `maxBytes` for the response and
 * `partitionMaxBytes` per partition, except that the first batch of the first partition with data
 * is always whole, even when larger, so a consumer can never get stuck behind a big batch.
 * Fetch sessions (KIP-227) are not kept: sessionId 0 tells clients to send full requests.
 *
 * Unlike a Kafka broker, the listener checks the CRC of every batch it serves (the walk of the
 * log does): most clients do not (kafkajs never, kafka-python 2.0 not for v2 batches, librdkafka
 * only with check.crcs=true). A batch damaged at rest is answered with KAFKA_STORAGE_ERROR, which
 * clients retry, so the listener's log says once what is damaged and where.
 */
import { KafkaError, kafkaErrorOf } from '../errors.js';
import type { Struct } from '../schema/types.js';
import { ResponseMemory } from '../response-memory.js';
import type { Broker, RequestContext } from './context.js';

interface FetchPartition {
  partition: number;
  fetchOffset: number;
  partitionMaxBytes: number;
}

interface FetchTopic {
  topic: string;
  partitions: FetchPartition[];
}

const EMPTY: Buffer = Buffer.alloc(0);
/** Read failures each listener has logged: clients retry them, the log says each once. */
const reported = new WeakMap<Broker, Set<string>>();
const MAX_REPORTED = 1000;

/** Logs a failed read the client cannot be told about beyond an error code, once per message. */
function reportReadFailure(broker: Broker, where: string, err: unknown): void {
  const message = `fetch from ${where} failed: ${err instanceof Error ? err.message : String(err)}`;
  let seen = reported.get(broker);
  if (!seen) reported.set(broker, (seen = new Set()));
  if (seen.has(message) || seen.size >= MAX_REPORTED) return;
  seen.add(message);
  broker.options.log(message);
}
/** setTimeout's largest delay; a longer maxWaitMs would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

function collect(
  ctx: RequestContext,
  topics: FetchTopic[],
  maxBytes: number,
  memory: ResponseMemory,
): { body: Struct[]; bytes: number; error: boolean } {
  const { backend } = ctx.broker;
  let bytes = 0;
  let error = false;
  const body = topics.map((t) => ({
    topic: t.topic,
    partitions: t.partitions.map((p) => {
      const base = {
        partitionIndex: p.partition,
        highWatermark: -1,
        lastStableOffset: -1,
        logStartOffset: -1,
        abortedTransactions: null as null | [],
        preferredReadReplica: -1,
        records: EMPTY,
      };
      if (ctx.version >= 4) base.abortedTransactions = [];
      try {
        const budget = Math.min(p.partitionMaxBytes, maxBytes - bytes);
        let records = EMPTY;
        let hw: number;
        let start: number;
        if (budget > 0 || bytes === 0) {
          const r = backend.readBatches(
            t.topic,
            p.partition,
            p.fetchOffset,
            Math.max(budget, 1),
            memory.copy,
          );
          // Only the first partition with data may exceed its budget (one whole batch).
          records = bytes === 0 || r.bytes.length <= budget ? r.bytes : EMPTY;
          hw = r.highWatermark;
          start = r.logStartOffset;
        } else {
          const o = backend.offsets(t.topic, p.partition);
          hw = o.highWatermark;
          start = o.logStartOffset;
        }
        bytes += records.length;
        return {
          ...base,
          errorCode: KafkaError.NONE,
          highWatermark: hw,
          lastStableOffset: hw,
          logStartOffset: start,
          records,
        };
      } catch (err) {
        error = true;
        const errorCode = kafkaErrorOf(err, 'fetch');
        if (errorCode === KafkaError.KAFKA_STORAGE_ERROR || errorCode === KafkaError.UNKNOWN_SERVER_ERROR)
          reportReadFailure(ctx.broker, `${t.topic}-${p.partition}`, err);
        return { ...base, errorCode };
      }
    }),
  }));
  return { body, bytes, error };
}

/** The partition's count of appended bytes; NaN when it is gone (deleted meanwhile). */
function appendedBytes(backend: Broker['backend'], topic: string, partition: number): number {
  try {
    return backend.appendedBytes(topic, partition);
  } catch {
    return Number.NaN;
  }
}

export async function handleFetch(ctx: RequestContext, req: Struct): Promise<Struct> {
  const topics = req.topics as FetchTopic[];
  const maxBytes = req.maxBytes as number;
  const answer = (responses: Struct[], errorCode: number = KafkaError.NONE): Struct => ({
    throttleTimeMs: 0,
    errorCode,
    sessionId: 0,
    responses,
  });
  if ((req.sessionId as number) !== 0) return answer([], KafkaError.FETCH_SESSION_ID_NOT_FOUND);
  // The records of the response are copied into memory reused once the socket has sent them.
  const memory = new ResponseMemory();
  ctx.afterResponse(() => memory.release());
  let result = collect(ctx, topics, maxBytes, memory);
  const minBytes = Math.max(1, req.minBytes as number);
  const maxWaitMs = Math.min(req.maxWaitMs as number, MAX_TIMER_MS);
  if (result.bytes >= minBytes || result.error || maxWaitMs <= 0 || ctx.broker.isClosing()) {
    return answer(result.body);
  }
  memory.release(); // the answer is read again when the wait ends
  const { backend } = ctx.broker;
  const firstRead = result.body;
  let arrived = result.bytes;
  await new Promise<void>((resolve) => {
    const cancels: (() => void)[] = [];
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      for (const cancel of cancels) cancel();
      resolve();
    };
    const timer = setTimeout(finish, maxWaitMs);
    topics.forEach((t, ti) => {
      const found = firstRead[ti]!.partitions as Struct[];
      t.partitions.forEach((p, pi) => {
        const since = appendedBytes(backend, t.topic, p.partition);
        const first = (found[pi]!.records as Buffer).length;
        const room = Math.max(0, p.partitionMaxBytes - first);
        let counted = 0; // appended since, as far as partitionMaxBytes leaves room
        const wake = (): void => {
          if (done) return;
          // A partition gone ends the wait (the final read says why).
          const grown = appendedBytes(backend, t.topic, p.partition) - since;
          const now = Number.isNaN(grown) ? Number.POSITIVE_INFINITY : Math.min(room, grown);
          arrived += now - counted;
          counted = now;
          if (Math.min(arrived, maxBytes) >= minBytes) finish();
        };
        try {
          cancels.push(backend.onAppend(t.topic, p.partition, wake));
        } catch {
          // A partition that vanished: its error shows in the final read.
        }
      });
    });
    // Last: a signal that already fired runs `finish` at once, which cancels what came before.
    cancels.push(ctx.broker.closing.listen(finish), ctx.connection.gone.listen(finish));
  });
  result = collect(ctx, topics, maxBytes, memory);
  return answer(result.body);
}
