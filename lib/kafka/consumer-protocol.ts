/**
 * Kafka's "consumer" embedded protocol: what consumers put in JoinGroup's protocol metadata (a
 * subscription) and what the leader hands back through SyncGroup (an assignment). The broker
 * passes both through untouched; only the serving process's own members (local-member.ts) read
 * and write them. Both start the same way in every version (v0-v3: version, topics / assigned
 * partitions, user data; later fields are appended), so reading the prefix is enough.
 *
 *   Subscription: int16 version, [string topic], bytes userData, ...
 *   Assignment:   int16 version, [string topic, [int32 partition]], bytes userData
 */

/** A v0 subscription to `topics`, with empty user data. */
export function encodeSubscription(topics: readonly string[]): Buffer {
  const names = topics.map((t) => Buffer.from(t, 'utf8'));
  const out = Buffer.alloc(2 + 4 + names.reduce((n, b) => n + 2 + b.length, 0) + 4);
  let pos = out.writeInt16BE(0, 0);
  pos = out.writeInt32BE(names.length, pos);
  for (const b of names) {
    pos = out.writeInt16BE(b.length, pos);
    pos += b.copy(out, pos);
  }
  out.writeInt32BE(0, pos); // userData: empty
  return out;
}

/** The topics of a subscription; [] when the bytes are not one (a member's own bug). */
export function subscribedTopics(metadata: Buffer): string[] {
  try {
    let pos = 2;
    const count = metadata.readInt32BE(pos);
    pos += 4;
    if (count < 0 || count > metadata.length) return [];
    const topics: string[] = [];
    for (let i = 0; i < count; i++) {
      const len = metadata.readInt16BE(pos);
      if (len < 0 || pos + 2 + len > metadata.length) return [];
      topics.push(metadata.toString('utf8', pos + 2, pos + 2 + len));
      pos += 2 + len;
    }
    return topics;
  } catch {
    return []; // RangeError: truncated
  }
}

/** A v0 assignment: partitions per topic, empty user data. */
export function encodeAssignment(assignment: ReadonlyMap<string, readonly number[]>): Buffer {
  const topics = [...assignment].map(([t, ps]) => [Buffer.from(t, 'utf8'), ps] as const);
  const size = topics.reduce((n, [name, ps]) => n + 2 + name.length + 4 + 4 * ps.length, 2 + 4 + 4);
  const out = Buffer.alloc(size);
  let pos = out.writeInt16BE(0, 0);
  pos = out.writeInt32BE(topics.length, pos);
  for (const [name, partitions] of topics) {
    pos = out.writeInt16BE(name.length, pos);
    pos += name.copy(out, pos);
    pos = out.writeInt32BE(partitions.length, pos);
    for (const p of partitions) pos = out.writeInt32BE(p, pos);
  }
  out.writeInt32BE(0, pos);
  return out;
}

/** Partitions per topic of an assignment; empty for an empty (or unreadable) one. */
export function decodeAssignment(bytes: Buffer): Map<string, number[]> {
  const out = new Map<string, number[]>();
  try {
    if (bytes.length < 6) return out;
    let pos = 2;
    const topics = bytes.readInt32BE(pos);
    pos += 4;
    for (let t = 0; t < topics && pos < bytes.length; t++) {
      const len = bytes.readInt16BE(pos);
      if (len < 0) return new Map();
      const topic = bytes.toString('utf8', pos + 2, pos + 2 + len);
      pos += 2 + len;
      const n = bytes.readInt32BE(pos);
      pos += 4;
      if (n < 0 || pos + 4 * n > bytes.length) return new Map();
      const partitions: number[] = [];
      for (let i = 0; i < n; i++, pos += 4) partitions.push(bytes.readInt32BE(pos));
      out.set(topic, [...(out.get(topic) ?? []), ...partitions]);
    }
    return out;
  } catch {
    return new Map(); // RangeError: truncated
  }
}
