/**
 * A segment's batches as they are on disk, for `logstore dump` (Kafka's DumpLogSegments): each
 * batch's header and, if asked, its records, walked with the batch walker from position 0 until
 * the walk stops; the return value says where and why.
 */
import { headerAt, type BatchHeader, type StopKind } from '../format/batches.js';
import { decodeRecords } from '../format/record-decoder.js';
import type { LogRecord } from '../record.js';
import type { SegmentRow, StoreFiles } from './store-files.js';

export interface DumpedBatch {
  header: BatchHeader;
  /** Present when records were asked for. */
  records?: LogRecord[];
}

export interface DumpEnd {
  /** Where the batches end. */
  end: number;
  fileSize: number;
  /** `end`/`zeros`: the batches ended properly; anything else names the problem at `end`. */
  stop: StopKind | 'bad-records';
  detail: string;
}

export function* dumpSegment(
  files: StoreFiles,
  topic: string,
  partition: number,
  row: SegmentRow,
  withRecords: boolean,
): Generator<DumpedBatch, DumpEnd> {
  const gaps = files.topic(topic)?.config.cleanupPolicy === 'compact';
  const segment = files.openSegment(topic, partition, row);
  try {
    const walker = segment.walker(0, row.baseOffset, gaps, segment.fileSize);
    while (walker.next()) {
      const header = headerAt(segment.buf, walker.position);
      if (!withRecords) {
        yield { header };
      } else {
        const records: LogRecord[] = [];
        try {
          decodeRecords(
            segment.buf,
            walker.position,
            0,
            Number.POSITIVE_INFINITY,
            records,
            topic,
            partition,
            segment.logPath,
          );
        } catch (err) {
          return {
            end: walker.position,
            fileSize: segment.fileSize,
            stop: 'bad-records',
            detail: (err as Error).message,
          };
        }
        yield { header, records };
      }
      segment.touch(walker.size, walker.position);
    }
    return { end: walker.end, fileSize: segment.fileSize, stop: walker.stop!, detail: walker.detail };
  } finally {
    segment.release();
  }
}
