/**
 * A mirror in's consumer group on the source cluster (`--group G`): where a partition the store
 * has no position for starts (the group's committed offset), and where the mirror's positions are
 * committed afterwards, for the cluster's own lag tools. The store's rows stay the positions that
 * count, so a commit the cluster refuses is a warning, not a failure.
 */
import type { KafkaClient } from '../kafka/client.js';
import type { Struct } from '../kafka/schema/types.js';
import { MirrorStopped } from './cluster.js';
import type { InPartition } from './in-partition.js';
import { check, kafkaErrorName } from './remote-errors.js';
import type { MirrorContext } from './run.js';

export class SourceGroup {
  private coordinatorNode: number | null = null;
  private readonly warned = new Set<string>();

  constructor(
    private readonly ctx: MirrorContext,
    readonly group: string,
  ) {}

  /** The group's committed offsets on `partitions` (`topic-partition` -> offset, -1: none). */
  async offsets(partitions: readonly InPartition[]): Promise<Map<string, number>> {
    const group = this.group;
    return this.ctx.cluster.retry(`OffsetFetch for group ${group}`, async () => {
      const client = await this.coordinator();
      const topics = [...new Set(partitions.map((p) => p.topic))];
      const r = await client.request('OffsetFetch', client.version('OffsetFetch', 1, 7), {
        groupId: group,
        topics: topics.map((name) => ({
          name,
          partitionIndexes: partitions.filter((p) => p.topic === name).map((p) => p.partition),
        })),
        requireStable: false,
      });
      check((r.errorCode as number | undefined) ?? 0, `OffsetFetch for group ${group}`);
      const out = new Map<string, number>();
      for (const t of r.topics as Struct[]) {
        for (const p of t.partitions as Struct[]) {
          check(p.errorCode as number, `OffsetFetch for group ${group}`);
          out.set(`${String(t.name)}-${String(p.partitionIndex)}`, p.committedOffset as number);
        }
      }
      return out;
    });
  }

  /** Commits the positions of `partitions` that moved since the last commit. */
  async commit(partitions: readonly InPartition[]): Promise<void> {
    const group = this.group;
    const changed = partitions.filter((p) => p.remote !== p.groupOffset);
    if (changed.length === 0) return;
    const offsets = changed.map((p) => [p, p.remote] as const);
    try {
      const client = await this.coordinator();
      const r = await client.request('OffsetCommit', client.version('OffsetCommit', 2, 8), {
        groupId: group,
        generationIdOrMemberEpoch: -1,
        memberId: '',
        groupInstanceId: null,
        retentionTimeMs: -1,
        topics: [...new Set(changed.map((p) => p.topic))].map((name) => ({
          name,
          partitions: offsets
            .filter(([p]) => p.topic === name)
            .map(([p, offset]) => ({
              partitionIndex: p.partition,
              committedOffset: offset,
              committedLeaderEpoch: -1,
              committedMetadata: '',
            })),
        })),
      });
      for (const t of r.topics as Struct[]) {
        for (const pr of t.partitions as Struct[]) {
          const code = pr.errorCode as number;
          const p = changed.find((x) => x.topic === t.name && x.partition === pr.partitionIndex);
          if (code === 0 && p) p.groupOffset = offsets.find(([x]) => x === p)![1];
          else if (code !== 0)
            this.warnOnce(
              `group ${group}: committing ${String(t.name)}-${String(pr.partitionIndex)} failed: ${kafkaErrorName(code)}`,
            );
        }
      }
    } catch (err) {
      if (err instanceof MirrorStopped) return;
      this.warnOnce(`group ${group}: committing offsets failed: ${(err as Error).message}`);
    }
  }

  /** The connection to the group's coordinator (found again after a connection fails). */
  private async coordinator(): Promise<KafkaClient> {
    const cluster = this.ctx.cluster;
    if (this.coordinatorNode === null) {
      const client = await cluster.connection('any');
      const r = await client.request('FindCoordinator', client.version('FindCoordinator', 1, 3), {
        key: this.group,
        keyType: 0,
      });
      check(
        r.errorCode as number,
        `FindCoordinator for group ${this.group}`,
        r.errorMessage as string | null,
      );
      this.coordinatorNode = r.nodeId as number;
    }
    try {
      return await cluster.connection(this.coordinatorNode);
    } catch (err) {
      this.coordinatorNode = null;
      throw err;
    }
  }

  private warnOnce(message: string): void {
    if (this.warned.has(message)) return;
    this.warned.add(message);
    this.ctx.emit({ type: 'warning', message });
  }
}
