/**
 * The partition assignors the serving process's own group members offer when they join a group
 * with Kafka clients, and run when they happen to be its leader. Kafka's assignment is the
 * leader's job: whichever member leads, every member takes what it is given, so the leader only
 * has to cover each subscribed partition exactly once. The names are those the clients use, so
 * that a group always has a protocol in common with its wire members:
 *   range               Kafka's RangeAssignor (Java's default first choice; librdkafka, kafka-python)
 *   roundrobin          Kafka's RoundRobinAssignor (librdkafka, kafka-python)
 *   RoundRobinAssigner  kafkajs's only built-in assigner (round robin, under its own name)
 */
import { rangeAssign } from '../read/groups.js';

/** In order of preference (each member votes for its first choice the whole group supports). */
export const ASSIGNORS = ['range', 'roundrobin', 'RoundRobinAssigner'] as const;

export interface Subscriber {
  memberId: string;
  topics: string[];
}

/** Member id -> topic -> partitions (every member present, possibly with nothing). */
export type Assignment = Map<string, Map<string, number[]>>;

/**
 * Assigns the partitions of every subscribed topic (`partitionsOf` gives a topic's count, 0 for
 * one that does not exist) to the members subscribed to it.
 */
export function assign(
  protocol: string,
  members: Subscriber[],
  partitionsOf: (topic: string) => number,
): Assignment {
  const sorted = [...members].sort((a, b) =>
    a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0,
  );
  const out: Assignment = new Map(sorted.map((m) => [m.memberId, new Map()]));
  const give = (memberId: string, topic: string, partition: number): void => {
    const topics = out.get(memberId)!;
    if (!topics.has(topic)) topics.set(topic, []);
    topics.get(topic)!.push(partition);
  };
  const topics = [...new Set(sorted.flatMap((m) => m.topics))].sort();
  if (protocol === 'range') {
    // Per topic: contiguous ranges to its subscribers in member id order.
    for (const topic of topics) {
      const subscribers = sorted.filter((m) => m.topics.includes(topic));
      rangeAssign(partitionsOf(topic), subscribers.length).forEach((partitions, i) => {
        for (const p of partitions) give(subscribers[i]!.memberId, topic, p);
      });
    }
    return out;
  }
  // Round robin: every topic's partitions in (topic, partition) order, dealt to the members in
  // member id order, skipping members not subscribed to the topic.
  let next = 0;
  for (const topic of topics) {
    for (let p = 0; p < partitionsOf(topic); p++) {
      for (let tries = 0; tries < sorted.length; tries++) {
        const m = sorted[next++ % sorted.length]!;
        if (m.topics.includes(topic)) {
          give(m.memberId, topic, p);
          break;
        }
      }
    }
  }
  return out;
}
