/**
 * Consumer group members for the specs: a kafkajs consumer in its own process that prints every
 * record it reads as `[partition, offset]` (and leaves the group on SIGTERM), and a wait helper.
 */
import type { ChildProcess } from 'node:child_process';
import { startChild } from '../helpers/child.js';

export interface KafkajsMemberConfig {
  bootstrap: string;
  clientId: string;
  group: string;
  topic: string;
  sessionTimeout: number;
  rebalanceTimeout: number;
  heartbeatInterval: number;
  /**
   * kafkajs heartbeats between fetches only: a fetch parked for its default 5 s wait, longer than
   * a short session, gets an idle member expired and the group churns. Keep it well under it.
   */
  maxWaitTimeInMs: number;
  autoCommitInterval: number;
  /** kafkajs's client retry settings (its defaults when absent). */
  retry?: { retries: number; initialRetryTime: number; maxRetryTime: number };
}

const MEMBER = `
import kafkajs from 'kafkajs';
const c = JSON.parse(process.env.MEMBER);
const kafka = new kafkajs.Kafka({ brokers: [c.bootstrap], clientId: c.clientId, logLevel: kafkajs.logLevel.NOTHING, ...(c.retry ? { retry: c.retry } : {}) });
const consumer = kafka.consumer({ groupId: c.group, sessionTimeout: c.sessionTimeout, rebalanceTimeout: c.rebalanceTimeout, heartbeatInterval: c.heartbeatInterval, maxWaitTimeInMs: c.maxWaitTimeInMs });
await consumer.connect();
await consumer.subscribe({ topic: c.topic, fromBeginning: true });
await consumer.run({
  autoCommitInterval: c.autoCommitInterval,
  eachMessage: async ({ partition, message }) => {
    process.stdout.write(JSON.stringify([partition, Number(message.offset)]) + '\\n');
  },
});
process.on('SIGTERM', async () => { await consumer.disconnect(); process.exit(0); });
process.stdout.write('running\\n');
`;

/** Starts a kafkajs member; `onRecord` gets each record it reads. */
export function startKafkajsMember(
  config: KafkajsMemberConfig,
  onRecord: (partition: number, offset: number) => void,
): ChildProcess {
  return startChild(MEMBER, {
    env: { MEMBER: JSON.stringify(config) },
    onLine: (line) => {
      if (!line.startsWith('[')) return;
      const [partition, offset] = JSON.parse(line) as [number, number];
      onRecord(partition, offset);
    },
  }).child;
}

/** Polls `check` until it holds; throws naming `what` after `timeoutMs`. */
export async function until(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
