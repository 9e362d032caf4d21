/**
 * `verify`'s check of a segment's index files against the batches a walk of its log found: the
 * files, where present, must mean what Kafka's mean (storage/sparse-index.ts), or the store would
 * seek to the wrong batch if it trusted them.
 */
import fs from 'node:fs';
import { SparseIndex } from '../storage/sparse-index.js';
import type { SegmentRow, StoreFiles } from './store-files.js';

/** A batch as the index check needs it. */
export interface WalkedBatch {
  position: number;
  lastOffset: number;
  ownMax: number;
  /** The largest timestamp up to and including this batch. */
  runningMax: number;
}

/**
 * The index files, where present, must mean what Kafka's mean (sparse-index.ts): every offset
 * entry names a batch's last offset and that batch's position; every time entry names the last
 * offset of the batch that first reached its timestamp, the largest so far.
 */
export function checkIndex(
  files: StoreFiles,
  topic: string,
  partition: number,
  row: SegmentRow,
  walked: readonly WalkedBatch[],
  end: number,
  damage: (file: string, kind: string, message: string) => void,
): void {
  const indexFile = files.segmentFile(topic, partition, row.baseOffset, 'index');
  let index: Buffer;
  let timeIndex: Buffer;
  try {
    index = fs.readFileSync(indexFile);
    timeIndex = fs.readFileSync(files.segmentFile(topic, partition, row.baseOffset, 'timeindex'));
  } catch {
    return; // no index files: they are rebuilt when needed
  }
  const fix = 'delete the index files (they are rebuilt)';
  const last = walked[walked.length - 1];
  const loaded = SparseIndex.load(
    row.baseOffset,
    index,
    timeIndex,
    end,
    last ? last.lastOffset : row.baseOffset - 1,
    last ? last.runningMax : -1,
  );
  if (!loaded) {
    damage(
      indexFile,
      'bad-index',
      `the index files are not well formed or out of order (${index.length} and ${timeIndex.length} bytes); ${fix}`,
    );
    return;
  }
  const byLastOffset = new Map(walked.map((b, i) => [b.lastOffset, i]));
  const { offsets, times } = loaded;
  for (let k = 0; k < offsets.count; k++) {
    const offset = offsets.keys[k]!;
    const position = offsets.values[k]!;
    const batch = walked[byLastOffset.get(offset) ?? -1];
    if (!batch || batch.position !== position) {
      damage(
        indexFile,
        'bad-index',
        `entry ${k} (offset ${offset}, position ${position}) does not name a batch's last offset and position; ${fix}`,
      );
      return;
    }
  }
  for (let k = 0; k < times.count; k++) {
    const timestamp = times.keys[k]!;
    const offset = times.values[k]!;
    const i = byLastOffset.get(offset) ?? -1;
    const batch = walked[i];
    const before = i > 0 ? walked[i - 1]!.runningMax : -1;
    if (!batch || batch.ownMax !== timestamp || batch.runningMax !== timestamp || before >= timestamp) {
      damage(
        files.segmentFile(topic, partition, row.baseOffset, 'timeindex'),
        'bad-index',
        `entry ${k} (timestamp ${timestamp}, offset ${offset}) does not name the batch that first reached that largest timestamp; ${fix}`,
      );
      return;
    }
  }
}
