/**
 * A store as it is on disk, read without opening it as a store: no lock, no recovery, nothing
 * written. `verify` and `dump` use it, so they work on a damaged store and beside a live writer.
 * Segments are mapped read-only and walked with the batch walker, like the store reads them.
 */
import fs from 'node:fs';
import { Catalog, type TopicRow } from '../catalog/catalog.js';
import type { CommittedOffset } from '../catalog/group-offsets.js';
import { invalidArgument } from '../options.js';
import { catalogPath, checkIsDirectory, partitionDir, segmentPath } from '../storage/layout.js';
import type { PartitionRow, SegmentRow } from '../storage/partition-catalog.js';
import { Segment } from '../storage/segment.js';

export type { TopicRow, PartitionRow, SegmentRow, CommittedOffset };

export class StoreFiles {
  private constructor(
    readonly dir: string,
    private readonly catalog: Catalog,
  ) {}

  /** Opens the catalog of the store in `dir` read-only; LOGSTORE_INVALID_ARGUMENT if there is none. */
  static open(dir: string): StoreFiles {
    checkIsDirectory(dir);
    if (!fs.existsSync(catalogPath(dir))) {
      throw invalidArgument(`No logstore at ${dir} (no ${catalogPath(dir)}).`);
    }
    return new StoreFiles(dir, Catalog.open(catalogPath(dir), true));
  }

  get catalogFile(): string {
    return catalogPath(this.dir);
  }

  /** SQLite's quick_check of the catalog: 'ok', or what is wrong. */
  quickCheck(): string[] {
    return (this.catalog.db.pragma('quick_check') as { quick_check: string }[]).map((r) => r.quick_check);
  }

  /** Whether the last writer closed the store cleanly. */
  cleanShutdown(): boolean {
    return this.catalog.getMeta('clean_shutdown') !== '0';
  }

  /** Whether the index files have the meaning this logstore writes (see unlisted-dirs.ts). */
  currentIndexFormat(): boolean {
    return this.catalog.getMeta('index_format') === '2';
  }

  /** Topics whose deletion had not removed all their files yet (catalog `meta`, unlisted-dirs.ts). */
  deletingTopics(): string[] {
    try {
      const names: unknown = JSON.parse(this.catalog.getMeta('deleting_topics') ?? '[]');
      return Array.isArray(names) ? names.filter((n): n is string => typeof n === 'string') : [];
    } catch {
      return [];
    }
  }

  topics(): TopicRow[] {
    return this.catalog.topics();
  }

  topic(name: string): TopicRow | undefined {
    return this.catalog.topic(name);
  }

  partition(
    topic: string,
    partition: number,
  ): { row: PartitionRow | undefined; segments: SegmentRow[]; dir: string } {
    const view = this.catalog.partitions.forPartition(topic, partition);
    return { row: view.state(), segments: view.segments(), dir: partitionDir(this.dir, topic, partition) };
  }

  committedOffsets(): CommittedOffset[] {
    return this.catalog.groups.all();
  }

  segmentFile(
    topic: string,
    partition: number,
    baseOffset: number,
    kind: 'log' | 'index' | 'timeindex' = 'log',
  ): string {
    return segmentPath(partitionDir(this.dir, topic, partition), baseOffset, kind);
  }

  /** Opens a listed segment read-only, its extent to be found by walking it. */
  openSegment(topic: string, partition: number, row: SegmentRow): Segment {
    const fileSize = fs.statSync(this.segmentFile(topic, partition, row.baseOffset)).size;
    return Segment.open(
      partitionDir(this.dir, topic, partition),
      row.baseOffset,
      Math.max(row.capacity, fileSize),
      false,
      {
        size: 0,
        nextOffset: row.baseOffset,
        maxTimestamp: -1,
        indexTrusted: false,
      },
    );
  }

  close(): void {
    this.catalog.close();
  }
}
