/**
 * A segment's sparse indexes, with the meaning Kafka gives them (`LogSegment.append/recover`),
 * kept in memory and saved beside the log in Kafka's layout:
 *
 *   `.index`      8-byte entries: offset - segment base (int32 BE), position (int32 BE).
 *                 An entry is the LAST offset of a batch and that batch's position.
 *   `.timeindex`  12-byte entries: timestamp (int64 BE), offset - segment base (int32 BE).
 *                 An entry is the largest timestamp so far and the last offset of the batch that
 *                 first reached it; timestamps strictly increase (Kafka's `maybeAppend`).
 *
 * Entries are added at the first batch that starts more than `INDEX_INTERVAL_BYTES` after the
 * position of the last entry (so never at position 0), both files at once; when a segment is
 * closed (rolled, or the store closed) the time index gets its final (max timestamp, offset)
 * entry if that is newer than its last. Kafka's own lookups over these files give the answers
 * they give over files Kafka wrote for the same batches:
 *   offset -> the last entry whose offset is <= it, then a scan from its position;
 *   timestamp -> the last time entry below or at it, its offset looked up as above, then a scan.
 *
 * The files are a cache: written when a segment rolls and when the store closes cleanly, checked
 * against the log before use, never trusted after a crash (the segment is walked again).
 */
export const INDEX_INTERVAL_BYTES = 4096;

/** A position to scan from, and the last offset of the batch there (-1: the segment's start). */
export interface IndexEntry {
  position: number;
  offset: number;
}

const START: IndexEntry = Object.freeze({ position: 0, offset: -1 });

/** No entries yet: most segments of a store of many small partitions never get one. */
const NONE = new Float64Array(0);

/** Sorted growable pairs of numbers. */
class Entries {
  keys = NONE;
  values = NONE;
  count = 0;

  push(key: number, value: number): void {
    if (this.count === this.keys.length) {
      const keys = new Float64Array(Math.max(16, this.count * 2));
      keys.set(this.keys);
      const values = new Float64Array(Math.max(16, this.count * 2));
      values.set(this.values);
      this.keys = keys;
      this.values = values;
    }
    this.keys[this.count] = key;
    this.values[this.count] = value;
    this.count++;
  }

  /** The index of the last entry whose key is <= `key`, or -1. */
  floor(key: number): number {
    let lo = 0;
    let hi = this.count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.keys[mid]! <= key) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }
}

export class SparseIndex {
  /** Last offset of a batch -> its position. */
  readonly offsets = new Entries();
  /** Largest timestamp so far -> last offset of the batch that reached it. */
  readonly times = new Entries();
  /** The largest batch max timestamp seen (-1: none), and the last offset of the batch that reached it. */
  maxTimestamp = 0.5; // -1 once constructed; see the constructor
  maxTimestampOffset = -1;
  /** Position of the last offset entry (0 before the first). */
  private lastEntryPosition = 0;

  constructor(readonly baseOffset: number) {
    // A field V8 first sees holding a small integer (-1) is stored as one; the first timestamp (a
    // double) then changes its representation, and every index object made before (one per
    // partition) moves to a new shape when next touched: ~1.5 µs of CPU at the first append to
    // each of 5,000 partitions. Created holding a double, the field stays one.
    this.maxTimestamp = -1;
  }

  /** Called for every batch appended or walked, in order. */
  onBatch(position: number, lastOffset: number, batchMaxTimestamp: number): void {
    if (batchMaxTimestamp > this.maxTimestamp) {
      this.maxTimestamp = batchMaxTimestamp;
      this.maxTimestampOffset = lastOffset;
    }
    if (position - this.lastEntryPosition > INDEX_INTERVAL_BYTES) {
      this.offsets.push(lastOffset, position);
      this.appendTime();
      this.lastEntryPosition = position;
    }
  }

  /** The segment is closed (rolled, or the store closes): record its max timestamp. */
  seal(): void {
    this.appendTime();
  }

  private appendTime(): void {
    const times = this.times;
    if (this.maxTimestamp < 0) return;
    if (times.count > 0 && this.maxTimestamp <= times.keys[times.count - 1]!) return;
    times.push(this.maxTimestamp, this.maxTimestampOffset);
  }

  /** Where to scan from for `offset`: the last entry whose offset is <= it. */
  entryFor(offset: number): IndexEntry {
    const i = this.offsets.floor(offset);
    return i < 0 ? START : { position: this.offsets.values[i]!, offset: this.offsets.keys[i]! };
  }

  /**
   * Where to scan from for the first record with a timestamp >= `timestamp`: the last time
   * entry at or below it names an offset all records before which are older; its position is
   * found through the offset index.
   */
  entryForTimestamp(timestamp: number): {
    entry: IndexEntry;
    time: { timestamp: number; offset: number } | null;
  } {
    const t = this.times.floor(timestamp);
    if (t < 0) return { entry: START, time: null };
    const time = { timestamp: this.times.keys[t]!, offset: this.times.values[t]! };
    return { entry: this.entryFor(time.offset), time };
  }

  /** The two index files' bytes. */
  serialize(): { index: Buffer; timeIndex: Buffer } {
    const { offsets, times } = this;
    const index = Buffer.allocUnsafe(offsets.count * 8);
    for (let i = 0; i < offsets.count; i++) {
      index.writeInt32BE(offsets.keys[i]! - this.baseOffset, i * 8);
      index.writeInt32BE(offsets.values[i]!, i * 8 + 4);
    }
    const timeIndex = Buffer.allocUnsafe(times.count * 12);
    for (let i = 0; i < times.count; i++) {
      timeIndex.writeBigInt64BE(BigInt(times.keys[i]!), i * 12);
      timeIndex.writeInt32BE(times.values[i]! - this.baseOffset, i * 12 + 8);
    }
    return { index, timeIndex };
  }

  /**
   * Loads saved files for a segment of `size` bytes whose last offset is `lastOffset` and max
   * timestamp `maxTimestamp`, or returns null when they cannot be trusted: wrong sizes, entries
   * out of order or outside the segment, or files written with another meaning (an older
   * logstore put an entry at position 0, which Kafka never does).
   */
  static load(
    baseOffset: number,
    index: Buffer,
    timeIndex: Buffer,
    size: number,
    lastOffset: number,
    maxTimestamp: number,
  ): SparseIndex | null {
    if (index.length % 8 !== 0 || timeIndex.length % 12 !== 0) return null;
    const result = new SparseIndex(baseOffset);
    let lastPosition = 0;
    for (let i = 0; i < index.length; i += 8) {
      const offset = baseOffset + index.readInt32BE(i);
      const position = index.readInt32BE(i + 4);
      const previous =
        result.offsets.count > 0 ? result.offsets.keys[result.offsets.count - 1]! : baseOffset - 1;
      if (offset <= previous || offset > lastOffset || position <= lastPosition || position >= size)
        return null;
      result.offsets.push(offset, position);
      lastPosition = position;
    }
    result.lastEntryPosition = lastPosition;
    let previousTime = Number.NEGATIVE_INFINITY;
    let previousOffset = baseOffset - 1;
    for (let i = 0; i < timeIndex.length; i += 12) {
      const timestamp = Number(timeIndex.readBigInt64BE(i));
      const offset = baseOffset + timeIndex.readInt32BE(i + 8);
      if (
        timestamp <= previousTime ||
        offset < previousOffset ||
        offset > lastOffset ||
        timestamp > maxTimestamp
      )
        return null;
      result.times.push(timestamp, offset);
      previousTime = timestamp;
      previousOffset = offset;
    }
    if (result.times.count > 0) {
      result.maxTimestamp = previousTime;
      result.maxTimestampOffset = previousOffset;
    }
    return result;
  }
}
